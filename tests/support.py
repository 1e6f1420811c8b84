"""Helpers the tests share: where the real project is, how to copy it for a curator's edit, and
how to start Debian's chromium for the browser tests."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tipkg.dist import Manifest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPORT_SLUG = "saint-lucia-tip-meetings-2021"
PROJECT_PARTS = ("ontology", "shapes", "data", "queries")


def copy_project(destination: Path) -> Path:
    """A curator's copy of the project inputs (no code, no dist/), ready to be edited."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        shutil.copytree(PROJECT_ROOT / part, destination / part)
    return destination


def report_dir(project: Path) -> Path:
    return project / "data" / "reports" / REPORT_SLUG


def second_account(report: Path, slug: str) -> Path:
    """Another report telling what ``report`` tells: its text, sentences and document under a
    new slug (so its IRIs are its own), its statements about the same meetings, states and
    organisations as they are (so the two reports share triples). Adding or removing it
    orphans no shared entity."""
    copy = report.parent / slug
    shutil.copytree(report, copy)
    for path in copy.glob("*.ttl"):
        path.write_text(path.read_text(encoding="utf-8").replace(report.name, slug))
    return copy


def build_dist(project_root: Path, out: Path, **settings: object) -> Manifest:
    """Assemble, validate and publish a project into ``out`` the way ``tipkg build`` does, with
    a cache of its own beside ``out`` (never the repository's)."""
    from tipkg.pipeline import build
    from tipkg.project import load_project
    from tipkg.settings import Settings

    overrides = {"cache_dir": str(out.parent / f"{out.name}-cache"), **settings}
    _, manifest, _ = build(load_project(project_root), Settings.load(overrides, environ={}), out)
    return manifest


def add_quads_to_build(dist_dir: Path, nquads: str) -> None:
    """Add N-Quads lines to a build as a build stating them would have: appended to
    ``tipkg.nq``, stated in the store (in their named graph and in the merge, its default
    graph), and the new version written in the manifest and in the store's description of
    ``tipkg.nq``, which the server checks (the other dumps are left alone). ``dist_dir`` must
    not be served meanwhile: a build is written beside dist/ and swapped in."""
    import pyoxigraph as ox

    from tipkg.dist import MANIFEST_NAME, QUADS_NAME, STORE_DIR

    quads_path = dist_dir / QUADS_NAME
    data = quads_path.read_bytes() + nquads.encode()
    quads_path.write_bytes(data)
    manifest_path = dist_dir / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    entry = next(f for f in manifest["files"] if f["name"] == QUADS_NAME)
    old_version = manifest["version"]
    entry["bytes"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    manifest["version"] = entry["sha256"]
    store = ox.Store(str(dist_dir / STORE_DIR))
    try:
        added = list(ox.parse(nquads.encode(), format=ox.RdfFormat.N_QUADS))
        store.extend(added)
        store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in added)
        checksum = ox.NamedNode("http://spdx.org/rdf/terms#checksumValue")
        for quad in list(store.quads_for_pattern(None, checksum, None)):
            if quad.object.value.lower() == old_version:
                store.remove(quad)
                value = ox.Literal(manifest["version"], datatype=quad.object.datatype)
                store.add(ox.Quad(quad.subject, checksum, value, quad.graph_name))
        store.flush()
    finally:
        del store
    manifest_path.write_text(json.dumps(manifest, indent=2))


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run, if they cannot."""
    if Path(CHROMIUM).is_file():
        return None
    return (
        f"{CHROMIUM} is missing: install Debian's chromium (sudo apt-get install chromium), "
        "or run `make test` as root, which installs it"
    )


OXIGRAPH = Path(sys.executable).with_name("oxigraph")


@dataclass
class Oxigraph:
    """A running `oxigraph serve` over a store directory."""

    location: Path
    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:PORT/

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def select(self, query: str, **params: str | list[str]) -> list[dict[str, str]]:
        answer = httpx.post(
            self.url + "query",
            params=params,
            data={"query": query},
            headers={"Accept": "application/sparql-results+json"},
        )
        answer.raise_for_status()
        return [
            {name: term["value"] for name, term in row.items()}
            for row in answer.json()["results"]["bindings"]
        ]

    def counts(self) -> dict[str, int]:
        rows = self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return {row["g"]: int(row["n"]) for row in rows}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_oxigraph(location: Path, port: int | None = None) -> Oxigraph:
    """`oxigraph serve` (the binary of the PyPI package) on ``port`` (a free loopback port by
    default), once it answers."""
    assert OXIGRAPH.exists(), "the oxigraph server binary: pip install -e '.[test]'"
    port = port or free_port()
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.head(url, timeout=1)
            return Oxigraph(location, process, url)
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"oxigraph serve did not start on {url}") from None
            time.sleep(0.05)


def swap_in(build: Path, dist: Path, nquads: str = "") -> None:
    """Put a copy of ``build`` (plus ``nquads``, stated as a build would) in place of ``dist``
    the way ``tipkg build`` does: a new tree beside it, swapped in by renames (tipkg.publish's
    own swap: no public door swaps a tree already made, and building anew is too slow for the
    tests that flip builds under load)."""
    from tipkg.publish import _swap

    staging = dist.parent / f".staging-{time.monotonic_ns()}"
    shutil.copytree(build, staging)
    if nquads:
        add_quads_to_build(staging, nquads)
    _swap(staging, dist)


# The tipkg executable of this environment, for the tests that run it as a user does.
TIPKG = str(Path(sys.executable).parent / "tipkg")


def tipkg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``tipkg ARGS`` in ``cwd`` as a user would, capturing what it prints."""
    return subprocess.run([TIPKG, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, by relative path, with its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def one_line_error(result: object, status: int, *fragments: str) -> str:
    """The one line a failed command printed (a subprocess's or a click runner's result):
    exit ``status``, no traceback, one line holding every fragment."""
    code = getattr(result, "returncode", None)
    code = getattr(result, "exit_code", None) if code is None else code
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert code == status, (code, result.stdout, stderr)  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
