"""Benchmark `tipkg serve`: against rdflib-endpoint and Oxigraph's server on the same data, and
(``--scale``) serving builds of every size from their store.

Usage (after `tipkg build`):
    .venv/bin/python bench/serve.py [--dist dist] [--seconds 5] [--concurrency 1 4 16]
    .venv/bin/python bench/serve.py --scale DIST [DIST ...]

Comparison. Each server is started here on a free loopback port over the same data: the named
graphs of dist/tipkg.nq, the dataset's description (void.ttl) in <base>graph/dataset, and as the
default graph their merge (dist/tipkg.nt), as `tipkg serve` has them in dist/store. The load
comes from `wrk` (Debian package): every request is a GET of one of the example queries in
dist/queries, in turn, with `Accept: application/sparql-results+json, text/turtle;q=0.9`. Before
any timing, each query is sent once to each server and the answers are compared, so all servers
do the same work. `tipkg serve` caches answers by (build, query, format). Its "uncached" rows send
every query with a unique trailing comment, so no request can be answered from the cache (the
other servers get the same requests); its "cached" rows send the plain queries. The table is
printed as markdown; wrk's raw output goes to bench/results/.

Scale. For each built dist/ (any size): `tipkg serve` (the real CLI, default settings, so four
query workers) is started and asked for a SPARQL ASK every 10 ms until it answers: the seconds
from starting the process are its ready time; the seconds until all four workers have opened
the store follow in brackets (they start once the first answers). Then, each the median of 20
requests after one first (cold) request: the landing page and the busiest resource page as HTML
(the state that the most reports point at, found by a SPARQL count over the store), and a
/sparql query for the busiest state's incoming links (answered from the result cache after the
first). The named peer, measured in the same run in this process: pyoxigraph reading the same
statements from the same store (opened read-only) directly, and evaluating the same query.
Last, the resident memory of the whole process tree (server and workers, RSS; PSS shares the
library and store pages between them). One markdown table; each server's log goes to
bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
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
    """tipkg.nq plus void.ttl in <base>graph/dataset: the named graphs `tipkg serve` has."""
    base = json.loads((dist / "manifest.json").read_text())["base_iri"]
    description_graph = ox.NamedNode(base + "graph/dataset")
    void = ox.parse(path=dist / "void.ttl", format=ox.RdfFormat.TURTLE, base_iri=base)
    extra = ox.serialize(
        [ox.Quad(t.subject, t.predicate, t.object, description_graph) for t in void],
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
        load = [str(VENV_BIN / "oxigraph"), "load", "--location", str(location), "--file"]
        for data in (quads, dist / "tipkg.nt"):  # the named graphs, then the merge as default
            subprocess.run([*load, str(data)], check=True, capture_output=True)
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


# ------------------------------------------------------------------ serving from dist/store

SCALE_REPEATS = 20
READY_POLL_SECONDS = 0.01
# Query workers of `tipkg serve` with its default settings (max_concurrent_queries).
WORKERS = 4
# The incoming links a resource page shows (tipkg.server.descriptions.PAGE_SIZE).
PAGE_OF_LINKS = 100
BUSIEST_STATE = """SELECT ?state (COUNT(DISTINCT ?g) AS ?reports) WHERE {
  ?state a tip:SovereignState .
  GRAPH ?g { ?s ?p ?state }
  FILTER(STRSTARTS(STR(?g), "%sgraph/document/"))
} GROUP BY ?state ORDER BY DESC(?reports) ?state LIMIT 1"""
INCOMING_QUERY = "SELECT ?s ?p WHERE { ?s ?p <%s> } LIMIT %d"


@dataclass
class ScaleRow:
    """What one build costs to serve."""

    reports: int
    triples: int
    ready_s: float
    full_s: float
    rss_mb: float
    pss_mb: float
    busiest: str
    busiest_reports: int
    landing_first_ms: float
    landing_ms: float
    page_first_ms: float
    page_ms: float
    page_peer_ms: float
    sparql_ms: float
    sparql_peer_ms: float


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def holds_a_store(pid: int) -> bool:
    """Whether the process has a build's store open (the server, or a worker that opened it)."""
    try:
        return any("/store/" in os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def tree_memory_mb(root: int) -> tuple[float, float]:
    """(RSS, PSS) of a process tree, in MB: RSS counts a page shared by two processes twice."""
    rss = pss = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def timed_ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def first_and_median_ms(action: Callable[[], object]) -> tuple[float, float]:
    """The first call's milliseconds, and the median of the next ``SCALE_REPEATS``."""
    first = timed_ms(action)
    return first, statistics.median(timed_ms(action) for _ in range(SCALE_REPEATS))


def busiest_state(store: ox.Store, base: str) -> tuple[str, int]:
    """The state the most reports point at, and how many do."""
    [row] = list(store.query(BUSIEST_STATE % base, prefixes={"tip": base + "ontology#"}))
    return row["state"].value, int(row["reports"].value)


def peer_description(store: ox.Store, iri: str) -> None:
    """What the busiest page reads, read by pyoxigraph directly: the resource's statements in
    the merge and one page of the statements pointing at it."""
    node, merge = ox.NamedNode(iri), ox.DefaultGraph()
    list(store.quads_for_pattern(node, None, None, merge))
    list(islice(store.quads_for_pattern(None, None, node, merge), PAGE_OF_LINKS))


def measure_serving(dist: Path) -> ScaleRow:
    manifest = json.loads((dist / "manifest.json").read_text())
    base = manifest["base_iri"]
    store = ox.Store.read_only(str(dist / "store"))
    busiest, busiest_reports = busiest_state(store, base)
    page = "/" + busiest[len(base) :] + ".html"
    query = INCOMING_QUERY % (busiest, PAGE_OF_LINKS)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (RESULTS / f"scale-{len(manifest['documents'])}.log").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(VENV_BIN / "tipkg"), "serve", "--dist", str(dist), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server("tipkg", url + "sparql", process)
    try:
        with httpx.Client(base_url=url, timeout=120) as http:
            while True:
                if process.poll() is not None:
                    sys.exit(f"tipkg serve exited with status {process.returncode}")
                try:
                    if http.get("/sparql", params={"query": "ASK {}"}).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(READY_POLL_SECONDS)
            ready = time.perf_counter() - started
            while sum(holds_a_store(pid) for pid in process_tree(process.pid)) < 1 + WORKERS:
                time.sleep(READY_POLL_SECONDS)  # the other workers start after the first answer
            full = time.perf_counter() - started

            def get(path: str, **params: str) -> None:
                answer = http.get(path, params=params, headers={"Accept": "text/html"})
                assert answer.status_code == 200, (path, answer.status_code)

            def ask() -> None:
                answer = http.get("/sparql", params={"query": query}, headers={"Accept": ACCEPT})
                assert answer.status_code == 200, answer.text

            landing_first, landing = first_and_median_ms(lambda: get("/"))
            page_first, page_ms = first_and_median_ms(lambda: get(page))
            _, sparql_ms = first_and_median_ms(ask)
            rss, pss = tree_memory_mb(process.pid)
    finally:
        stop(server)
        log.close()
    _, page_peer = first_and_median_ms(lambda: peer_description(store, busiest))
    _, sparql_peer = first_and_median_ms(lambda: list(store.query(query)))
    return ScaleRow(
        reports=len(manifest["documents"]),
        triples=manifest["triples"],
        ready_s=ready,
        full_s=full,
        rss_mb=rss,
        pss_mb=pss,
        busiest=busiest[len(base) :],
        busiest_reports=busiest_reports,
        landing_first_ms=landing_first,
        landing_ms=landing,
        page_first_ms=page_first,
        page_ms=page_ms,
        page_peer_ms=page_peer,
        sparql_ms=sparql_ms,
        sparql_peer_ms=sparql_peer,
    )


def scale_table(rows: list[ScaleRow]) -> str:
    lines = [
        "| reports | triples | first answer s (all workers) | tree RSS MB (PSS) | "
        "landing ms (first) | busiest page | page ms (first) | peer ms | cached /sparql ms | "
        "peer ms | ratio |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.reports:,} | {r.triples:,} | {r.ready_s:.2f} ({r.full_s:.2f}) | {r.rss_mb:,.0f} "
            f"({r.pss_mb:,.0f}) | {r.landing_ms:.1f} ({r.landing_first_ms:.0f}) | "
            f"`{r.busiest}` ({r.busiest_reports:,} reports) | {r.page_ms:.1f} "
            f"({r.page_first_ms:.0f}) | {r.page_peer_ms:.2f} | {r.sparql_ms:.2f} | "
            f"{r.sparql_peer_ms:.2f} | {r.sparql_ms / r.sparql_peer_ms:.1f}× |"
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
    parser.add_argument(
        "--scale",
        type=Path,
        nargs="+",
        default=None,
        metavar="DIST",
        help="measure serving each of these builds from its store instead (no wrk)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.scale is not None:
        rows = []
        for dist in args.scale:
            rows.append(measure_serving(dist.resolve()))
            print(scale_table(rows).splitlines()[-1], flush=True)
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\nload average after the run: {load} ({os.cpu_count()} cores)\n")
        print(scale_table(rows))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package wrk)")
    dist = args.dist.resolve()
    if not (dist / "manifest.json").is_file():
        sys.exit(f"{dist}: no build here; run `tipkg build` first")
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
