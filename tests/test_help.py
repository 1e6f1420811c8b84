"""Every example in every ``--help`` text runs, as written, in a curator's copy of the project.

The examples are read from the help the CLI prints; each runs in a shell from the copy's
directory. ``tipkg serve`` examples must answer on the port they name within the time limit and
are then stopped; every other example must exit 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from tipkg.cli import main
from tipkg.dist import SEARCH_INDEX_DIR

from support import copy_project, start_oxigraph

BIN = str(Path(sys.executable).parent)
SERVE_START_SECONDS = 60.0


def examples(*command: str) -> list[str]:
    """The command lines under ``Example:`` in one help text, without their comments."""
    text = CliRunner().invoke(main, [*command, "--help"], terminal_width=200).output
    block = text.split("Example:", 1)[1]
    lines = []
    for line in block.splitlines()[1:]:
        if not line.strip():
            break
        lines.append(re.sub(r"\s+#.*$", "", line.strip()))
    return lines


COMMANDS = [(), *((name,) for name in sorted(main.commands))]
ALL_EXAMPLES = [(" ".join(c) or "tipkg", line) for c in COMMANDS for line in examples(*c)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A curator's copy of the project, built once (serve examples need a build)."""
    project = copy_project(tmp_path_factory.mktemp("help") / "project")
    subprocess.run(
        [f"{BIN}/tipkg", "build", "--quiet"], cwd=project, check=True, env=env_for(project)
    )
    assert (project / "dist" / SEARCH_INDEX_DIR).is_dir()  # search examples read it
    return project


def env_for(project: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "TIPKG_CACHE_DIR": str(project.parent / "cache"),
    }


def test_every_command_has_examples() -> None:
    assert {command for command, _ in ALL_EXAMPLES} == {
        "tipkg",
        *(" ".join(c) for c in COMMANDS[1:]),
    }


@pytest.mark.parametrize(("command", "line"), ALL_EXAMPLES, ids=[line for _, line in ALL_EXAMPLES])
def test_the_example_runs(sandbox: Path, command: str, line: str) -> None:
    if " serve" in f" {line}":
        serve_and_stop(sandbox, line)
        return
    if line.startswith("tipkg publish"):
        publish_into_oxigraph(sandbox, line)
        return
    if line.startswith("tipkg --project corpus"):  # the synth example writes corpus/ first
        shutil.rmtree(sandbox / "corpus", ignore_errors=True)
        subprocess.run(
            examples("synth")[0], shell=True, cwd=sandbox, env=env_for(sandbox), check=True
        )
    elif "synth" in line:
        shutil.rmtree(sandbox / "corpus", ignore_errors=True)
    result = subprocess.run(
        line, shell=True, cwd=sandbox, env=env_for(sandbox), capture_output=True, text=True
    )
    assert result.returncode == 0, f"{line}\n{result.stderr}"
    assert "Traceback" not in result.stderr


def publish_into_oxigraph(project: Path, line: str) -> None:
    """Run a publish example against a real ``oxigraph serve`` on the port it names, and see
    the build's graphs arrive."""
    endpoint = re.search(r"--endpoint http://127.0.0.1:(\d+)/store", line)
    assert endpoint, f"{line}: the examples publish into Oxigraph's /store on 127.0.0.1"
    location = project.parent / f"oxigraph-{endpoint.group(1)}"
    shutil.rmtree(location, ignore_errors=True)
    store = start_oxigraph(location, int(endpoint.group(1)))
    try:
        result = subprocess.run(
            line, shell=True, cwd=project, env=env_for(project), capture_output=True, text=True
        )
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        manifest = json.loads((project / "dist" / "manifest.json").read_text())
        graphs = {row["g"] for row in store.select("SELECT DISTINCT ?g { GRAPH ?g {} }")}
        assert {graph["iri"] for graph in manifest["graphs"]} <= graphs
    finally:
        store.kill()


def wait_for_port(process: subprocess.Popen[bytes], port: int, line: str) -> None:
    deadline = time.monotonic() + SERVE_START_SECONDS
    while True:
        assert process.poll() is None, f"{line}: the server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"{line}: nothing listens on {port}"
            time.sleep(0.2)


def serve_and_stop(project: Path, line: str) -> None:
    port = int(m.group(1)) if (m := re.search(r"--port (\d+)", line)) else 8080
    process = subprocess.Popen(
        line,
        shell=True,
        cwd=project,
        env=env_for(project),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(process, port, line)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
