"""Benchmark `tipkg serve` against rdflib-endpoint and Oxigraph's server on the same data.

Usage (after `tipkg build`):
    .venv/bin/python bench/serve.py [--dist dist] [--seconds 5] [--concurrency 1 4 16]

Each server is started here on a free loopback port over the same quads (dist/tipkg.nq plus
void.ttl in <base>graph/void, as `tipkg serve` loads them). The load comes from `wrk` (Debian
package): every request is a GET of one of the example queries in dist/queries, in turn, with
`Accept: application/sparql-results+json, text/turtle;q=0.9`. Before any timing, each query is
sent once to each server and the answers are compared, so all servers do the same work.

`tipkg serve` caches answers by (build, query, format). Its "uncached" rows send every query with
a unique trailing comment, so no request can be answered from the cache (the other servers get
the same requests); its "cached" rows send the plain queries. The table is printed as markdown;
wrk's raw output goes to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"
START_SECONDS = 120


@dataclass
class Server:
    """A running endpoint: its name, where queries go, and its process."""

    name: str
    endpoint: str  # full URL of the query path
    process: subprocess.Popen[bytes]


@dataclass
class Measurement:
    server: str
    concurrency: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def example_queries(dist: Path) -> list[tuple[str, str]]:
    manifest = json.loads((dist / "manifest.json").read_text())
    queries = [(q["name"], (dist / q["file"]).read_text()) for q in manifest["queries"]]
    if not queries:
        sys.exit(f"{dist}: the build has no example queries to run")
    return queries


def combined_quads(dist: Path, into: Path) -> Path:
    """tipkg.nq plus void.ttl in <base>graph/void: exactly what `tipkg serve` loads."""
    base = json.loads((dist / "manifest.json").read_text())["base_iri"]
    void_graph = ox.NamedNode(base + "graph/void")
    void = ox.parse(path=dist / "void.ttl", format=ox.RdfFormat.TURTLE, base_iri=base)
    extra = ox.serialize(
        [ox.Quad(t.subject, t.predicate, t.object, void_graph) for t in void],
        format=ox.RdfFormat.N_QUADS,
    )
    path = into / "bench.nq"
    path.write_bytes((dist / "tipkg.nq").read_bytes() + extra)
    return path


def wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"{server.name} exited with status {server.process.returncode}")
        try:
            answer = httpx.get(
                server.endpoint, params={"query": "ASK {}"}, headers={"Accept": ACCEPT}
            )
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"{server.name} did not answer within {START_SECONDS} s")


def launch(name: str, command: list[str], endpoint: str, cwd: Path | None = None) -> Server:
    log = (RESULTS / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(name, endpoint, process)
    wait_until_answering(server)
    return server


def stop(server: Server) -> None:
    """Stop the server and anything it started (it leads its own process group)."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@contextmanager
def servers(dist: Path, scratch: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        port = free_port()
        started.append(
            launch(
                "tipkg",
                [str(VENV_BIN / "tipkg"), "serve", "--dist", str(dist), "--port", str(port)],
                f"http://127.0.0.1:{port}/sparql",
                cwd=ROOT,
            )
        )
        quads = combined_quads(dist, scratch)
        port = free_port()
        rdflib_endpoint = launch(
            "rdflib-endpoint",
            [
                str(VENV_BIN / "rdflib-endpoint"),
                "serve",
                str(quads),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            f"http://127.0.0.1:{port}/",
        )
        started.append(rdflib_endpoint)
        location = scratch / "oxigraph"
        subprocess.run(
            [str(VENV_BIN / "oxigraph"), "load", "--location", str(location), "--file", str(quads)],
            check=True,
            capture_output=True,
        )
        port = free_port()
        started.append(
            launch(
                "oxigraph",
                [
                    str(VENV_BIN / "oxigraph"),
                    "serve-read-only",
                    "--location",
                    str(location),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--union-default-graph",
                ],
                f"http://127.0.0.1:{port}/query",
            )
        )
        yield started
    finally:
        for server in started:
            stop(server)


def answer_size(answer: httpx.Response) -> int:
    """Rows of a SELECT, 1 for an ASK, triples of a CONSTRUCT: comparable across servers."""
    media_type = answer.headers["content-type"].split(";")[0].strip()
    if media_type in ("application/sparql-results+json", "application/json"):
        document = answer.json()
        return 1 if "boolean" in document else len(document["results"]["bindings"])
    return len(list(ox.parse(answer.content, format=ox.RdfFormat.TURTLE)))


def check_same_answers(running: list[Server], queries: list[tuple[str, str]]) -> None:
    """Every server answers every query with 200 and the same number of rows or triples."""
    for name, text in queries:
        sizes = {}
        for server in running:
            answer = httpx.get(
                server.endpoint, params={"query": text}, headers={"Accept": ACCEPT}, timeout=60
            )
            if answer.status_code != 200:
                sys.exit(f"{server.name} answered {answer.status_code} to {name}: {answer.text}")
            sizes[server.name] = answer_size(answer)
        if len(set(sizes.values())) != 1:
            sys.exit(f"servers disagree on {name}: {sizes}")


LUA = """
local paths = {%(paths)s}
local unique = %(unique)s
local thread_count = 0
local counter = 0
setup = function(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end
request = function()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  if unique then
    path = path .. "%%0A%%23" .. thread_number .. "-" .. counter
  end
  return wrk.format("GET", path, {["Accept"] = "%(accept)s"})
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""


def wrk_script(endpoint: str, queries: list[tuple[str, str]], unique: bool, into: Path) -> Path:
    path_prefix = "/" + endpoint.split("/", 3)[3]
    paths = ", ".join(
        json.dumps(f"{path_prefix}?query={quote(text, safe='')}") for _, text in queries
    )
    script = into / f"{'unique' if unique else 'plain'}-{abs(hash(endpoint))}.lua"
    script.write_text(
        LUA % {"paths": paths, "unique": "true" if unique else "false", "accept": ACCEPT}
    )
    return script


def run_wrk(label: str, endpoint: str, script: Path, concurrency: int, seconds: int) -> Measurement:
    threads = min(2, concurrency)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        endpoint.rsplit("/", 1)[0] + "/",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (RESULTS / f"wrk-{label}-c{concurrency}.txt").write_text(output)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    requests, duration_us, p50_us, p99_us, errors = (int(v) for v in line.split()[1:])
    return Measurement(
        label, concurrency, requests / (duration_us / 1e6), p50_us / 1000, p99_us / 1000, errors
    )


@contextmanager
def profiled(pid: int, py_spy: Path, seconds: int, label: str) -> Iterator[None]:
    """Sample the process ``pid`` with py-spy while the block runs; print where it spent time."""
    output = RESULTS / f"profile-{label}.raw"
    command = [str(py_spy), "record", "-p", str(pid), "-r", "250", "-d", str(seconds + 1)]
    recorder = subprocess.Popen(
        [*command, "-f", "raw", "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        recorder.wait(timeout=seconds + 30)
    print(profile_summary(output))


def profile_summary(raw: Path, top: int = 12) -> str:
    """Where the sampled process spent its time: the frames it was in, by share of samples."""
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frame = stack.rsplit(";", 1)[-1]
        own[frame] = own.get(frame, 0) + int(count)
        total += int(count)
    rows = sorted(own.items(), key=lambda item: -item[1])[:top]
    lines = [f"\nprofile of {raw.name} ({total} samples; top frames by own time)"]
    lines += [f"  {100 * count / total:5.1f}%  {frame}" for frame, count in rows]
    return "\n".join(lines)


def markdown(measurements: list[Measurement]) -> str:
    lines = [
        "| server | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        lines.append(
            f"| {m.server} | {m.concurrency} | {m.requests_per_second:,.0f} | "
            f"{m.p50_ms:.2f} | {m.p99_ms:.2f} | {m.errors} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="py-spy binary: after the measurements, profile tipkg's main process under load",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    dist = args.dist.resolve()
    if not (dist / "manifest.json").is_file():
        sys.exit(f"{dist}: no build here; run `tipkg build` first")
    RESULTS.mkdir(parents=True, exist_ok=True)
    queries = example_queries(dist)
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="tipkg-bench-") as scratch_name:
        scratch = Path(scratch_name)
        with servers(dist, scratch) as running:
            check_same_answers(running, queries)
            by_name = {server.name: server for server in running}
            plans = [
                ("tipkg (uncached)", by_name["tipkg"], True),
                ("tipkg (cached)", by_name["tipkg"], False),
                ("rdflib-endpoint", by_name["rdflib-endpoint"], True),
                ("oxigraph", by_name["oxigraph"], True),
            ]
            for label, server, unique in plans:
                script = wrk_script(server.endpoint, queries, unique, scratch)
                for concurrency in args.concurrency:
                    measurement = run_wrk(label, server.endpoint, script, concurrency, args.seconds)
                    measurements.append(measurement)
                    print(markdown([measurement]).splitlines()[-1], flush=True)
            if args.py_spy is not None:  # extra runs: a sampled process is a slower one
                tipkg = by_name["tipkg"]
                for label, unique in (("uncached", True), ("cached", False)):
                    script = wrk_script(tipkg.endpoint, queries, unique, scratch)
                    concurrency = max(args.concurrency)
                    with profiled(tipkg.process.pid, args.py_spy, args.seconds, label):
                        run_wrk(
                            f"profiled-{label}", tipkg.endpoint, script, concurrency, args.seconds
                        )
    print(f"\n{len(queries)} example queries, {args.seconds} s per run, wrk over loopback\n")
    print(markdown(measurements))


if __name__ == "__main__":
    main()
