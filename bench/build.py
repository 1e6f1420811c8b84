"""The build at scale: synthetic corpora of 100, 1,000 and 10,000 reports.

For each size: the cold build (every stage's time and peak memory, from ``tipkg build
--timings``, and the peak memory of the whole process tree), the dump sizes, a rebuild after
one report changes, after one is added and after one shape's message is edited; then
``tipkg serve`` on the build: seconds until it answers, the process tree's memory, and the
latency of the landing page and of the busiest resource page (the resource most facts point
at). In the same run, the naive pipeline (rdflib parses everything, one pyshacl run over the
union, rdflib's serialisers) on the sizes it finishes within ``--naive-limit`` seconds.

    .venv/bin/python bench/build.py                 # 100, 1,000 and 10,000 reports
    .venv/bin/python bench/build.py --sizes 100 1000 --naive-limit 600

Corpora and builds go to bench/results/build/ (git-ignored); the table is printed and written
to bench/results/build/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from serve import process_tree  # bench/serve.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results" / "build"
BASE = "https://w3id.org/tipkg/"


@dataclass
class Run:
    """One command's wall time, peak memory of its process tree, and its output."""

    seconds: float
    peak_mb: float
    output: str
    returncode: int


class TreeMemory:
    """Samples the resident memory of a process and all its descendants (the build's and the
    server's worker processes included) every 50 ms; keeps the peak of the sums."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self.last_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_rss_kb(pid) for pid in process_tree(self.pid))
            self.last_kb = total
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    memory = TreeMemory(process.pid)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        output += "\n(timed out)"
    return Run(time.perf_counter() - started, memory.stop(), output, process.returncode)


def tipkg(project: Path, *args: str) -> list[str]:
    return [str(BIN / "tipkg"), "--project", str(project), *args]


def corpus(size: int) -> Path:
    path = RESULTS / f"corpus-{size}"
    if not (path / "data").is_dir():
        shutil.rmtree(path, ignore_errors=True)
        result = run(
            [
                str(BIN / "tipkg"),
                "synth",
                "--documents",
                str(size),
                "--out",
                str(path),
                "--seed",
                "1",
            ]
        )
        assert result.returncode == 0, result.output
    return path


def stages(output: str) -> dict[str, float]:
    """The ``--timings`` table, stage → seconds."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^  (\S.*?)\s{2,}(\d+\.\d\d)\s+(\d+)\s+(\d+)$", line)
        if match and match.group(1) != "stage":
            found[match.group(1)] = float(match.group(2))
    return found


@dataclass
class SizeResult:
    size: int
    triples: int = 0
    cold: Run | None = None
    cold_stages: dict[str, float] = field(default_factory=dict)
    dumps_mb: dict[str, float] = field(default_factory=dict)
    changed: Run | None = None
    added: Run | None = None
    shape: Run | None = None
    serve_ready: float = 0.0
    serve_mb: float = 0.0
    landing_ms: float = 0.0
    busiest_ms: float = 0.0
    busiest_iri: str = ""
    naive: Run | None = None


def build_size(size: int, naive_limit: float) -> SizeResult:
    result = SizeResult(size)
    project = corpus(size)
    work = RESULTS / f"build-{size}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out, cache = work / "dist", work / "cache"
    env = {**os.environ, "TIPKG_CACHE_DIR": str(cache)}
    build = [*tipkg(project, "build", "--out", str(out), "--quiet", "--timings")]
    result.cold = run(build, env)
    assert result.cold.returncode == 0, result.cold.output[-2000:]
    result.cold_stages = stages(result.cold.output)
    manifest = json.loads((out / "manifest.json").read_text())
    result.triples = manifest["triples"]
    result.dumps_mb = {f["name"]: f["bytes"] / 1e6 for f in manifest["files"]}
    reports = sorted((project / "data" / "reports").iterdir())
    facts = reports[len(reports) // 2] / "facts.ttl"
    original = facts.read_text()
    try:
        line = next(x for x in original.splitlines() if "schema:description" in x)
        facts.write_text(original.replace(line, line.replace('"@en', ' (edited)"@en', 1)))
        result.changed = run(build, env)
    finally:
        facts.write_text(original)
    run(build, env)
    extra = reports[0].parent / "zz-bench-second-account"
    shutil.copytree(reports[0], extra)
    try:
        for path in extra.glob("*.ttl"):
            path.write_text(path.read_text().replace(reports[0].name, extra.name))
        result.added = run(build, env)
    finally:
        shutil.rmtree(extra)
    run(build, env)
    shapes = project / "shapes" / "meetings.ttl"
    text = shapes.read_text()
    try:
        shapes.write_text(text.replace("exactly one start date", "one start date", 1))
        result.shape = run(build, env)
    finally:
        shapes.write_text(text)
    run(build, env)
    serve(result, project, out, env)
    if naive_limit > 0:
        result.naive = run(
            [sys.executable, str(Path(__file__).with_name("naive.py")), str(project)],
            timeout=naive_limit,
        )
    return result


def serve(result: SizeResult, project: Path, out: Path, env: dict[str, str]) -> None:
    port = 18080 + result.size % 1000
    started = time.perf_counter()
    process = subprocess.Popen(
        [*tipkg(project, "serve", "--dist", str(out), "--port", str(port))],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                try:
                    if http.get("/").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
                if time.perf_counter() - started > 600:
                    raise RuntimeError("serve did not answer in 600 s")
            result.serve_ready = time.perf_counter() - started
            memory = TreeMemory(process.pid)
            time.sleep(0.5)
            result.busiest_iri = busiest(http)
            result.landing_ms = latency(http, "/")
            path = "/" + result.busiest_iri[len(BASE) :] + ".html"
            result.busiest_ms = latency(http, path)
            result.serve_mb = memory.stop()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def busiest(http: httpx.Client) -> str:
    """The resource the most triples point at: the page with the most incoming links."""
    query = (
        "SELECT ?o (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(isIRI(?o) && "
        f'STRSTARTS(STR(?o), "{BASE}id/")) }} GROUP BY ?o ORDER BY DESC(?n) LIMIT 1'
    )
    answer = http.get(
        "/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}
    ).json()
    value = answer["results"]["bindings"][0]["o"]["value"]
    return value.replace(str(http.base_url), BASE)


def latency(http: httpx.Client, path: str, count: int = 30) -> float:
    """Median milliseconds of ``count`` uncached GETs (each with a new query string, so no
    validator or cache in front of the page answers in its place)."""
    samples = []
    for index in range(count):
        started = time.perf_counter()
        response = http.get(path, params={"nocache": str(index)}, headers={"Accept": "text/html"})
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples)


def table(results: list[SizeResult]) -> str:
    rows = [
        "| reports | triples | cold build s | s per 1,000 reports | peak MB (tree) | "
        "1 changed s | 1 added s | shape edited s | serve ready s | serve MB | landing ms | "
        "busiest page ms | naive s |",
        "|" + "---:|" * 13,
    ]
    for r in results:
        naive = (
            "—"
            if r.naive is None
            else f"{r.naive.seconds:.1f}"
            if r.naive.returncode == 0
            else f"> {r.naive.seconds:.0f} (stopped)"
        )
        rows.append(
            f"| {r.size:,} | {r.triples:,} | {r.cold.seconds:.1f} | "
            f"{1000 * r.cold.seconds / r.size:.1f} | {r.cold.peak_mb:,.0f} | "
            f"{r.changed.seconds:.2f} | {r.added.seconds:.2f} | {r.shape.seconds:.2f} | "
            f"{r.serve_ready:.2f} | {r.serve_mb:,.0f} | {r.landing_ms:.1f} | "
            f"{r.busiest_ms:.1f} | {naive} |"
        )
    rows.append("")
    rows.append("Cold build by stage (seconds):")
    names = sorted({name for r in results for name in r.cold_stages}, key=lambda n: n)
    rows.append("| reports | " + " | ".join(names) + " |")
    rows.append("|" + "---:|" * (len(names) + 1))
    for r in results:
        rows.append(
            f"| {r.size:,} | " + " | ".join(f"{r.cold_stages.get(n, 0):.2f}" for n in names) + " |"
        )
    rows.append("")
    rows.append(
        "Dump sizes (MB): "
        + "; ".join(
            f"{r.size:,}: "
            + ", ".join(f"{k} {v:.1f}" for k, v in r.dumps_mb.items() if k.startswith("tipkg"))
            for r in results
        )
    )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--naive-limit",
        type=float,
        default=600.0,
        help="seconds the naive pipeline may take per size (0: skip it)",
    )
    options = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for size in options.sizes:
        print(f"== {size} reports", flush=True)
        results.append(build_size(size, options.naive_limit))
        print(table(results), flush=True)
    text = table(results)
    (RESULTS / "results.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
