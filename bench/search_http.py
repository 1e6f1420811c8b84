"""Benchmark ``/search`` over HTTP, as a page and as JSON, against the engine called in-process.

    tipkg synth --documents 1000 --out /tmp/c1000
    tipkg --project /tmp/c1000 build --quiet
    .venv/bin/python bench/search_http.py --dist /tmp/c1000/dist

A real ``tipkg serve`` is started on a loopback port over ``--dist``; one client sends one
request at a time on a kept-alive connection (no ``If-None-Match``, so every answer is computed),
for the one-word and the phrase queries of ``bench/search.py``. The peer is the same search made
by :class:`tipkg.search.engine.SearchIndex` in this process, with no HTTP, no page and no
labels: what the route adds is the difference. Each query is timed ``--repeat`` times after one
warm-up per mode; the table gives the median and the 95th percentile over every timing of a
kind of query. The browse pages (a late page of each listing, the timeline) are timed the same
way, to show that their cost does not follow the corpus. The load average is printed before and
after: on a shared machine, compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from search import ONE_WORD, PHRASES  # noqa: E402  (the queries bench/search.py measures)

START_SECONDS = 900.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(dist: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [  # served under the build's own base IRI: request paths map onto it
        str(ROOT / ".venv" / "bin" / "tipkg"),
        "serve",
        "--dist",
        str(dist),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def wait_until_answering(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped before it answered: see its log in /tmp")
        try:
            if client.get("/", timeout=60).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not answer in time")


def timings(call: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls, after one warm-up."""
    call()
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        found.append((time.perf_counter() - started) * 1000)
    return found


def summary(values: list[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    return statistics.median(values), statistics.quantiles(values, n=20)[-1]


def fetch(client: httpx.Client, path: str, accept: str, **params: str) -> Callable[[], object]:
    def call() -> object:
        response = client.get(path, params=params, headers={"Accept": accept})
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
        return response.content

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, required=True, help="a build of a synthetic corpus")
    parser.add_argument("--repeat", type=int, default=9, help="timings per query and mode")
    args = parser.parse_args()
    dist = args.dist.resolve()
    manifest = json.loads((dist / "manifest.json").read_text())
    documents = len(manifest["documents"])

    from tipkg.search.engine import SearchIndex

    index = SearchIndex(dist / "search")
    port = free_port()
    log = Path(f"/tmp/bench-search-http-{port}.log")
    load_before = os.getloadavg()
    process = start_server(dist, port, log)
    rows: dict[str, dict[str, list[float]]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            started = time.perf_counter()
            wait_until_answering(client, process)
            print(f"server answering after {time.perf_counter() - started:.1f} s", flush=True)
            for kind, queries in (("one word", ONE_WORD), ("phrase", PHRASES)):
                modes: dict[str, list[float]] = {"engine": [], "JSON": [], "HTML": []}
                for query in queries:
                    modes["engine"] += timings(lambda q=query: index.search(q), args.repeat)
                    modes["JSON"] += timings(
                        fetch(client, "/search", "application/json", q=query), args.repeat
                    )
                    modes["HTML"] += timings(
                        fetch(client, "/search", "text/html", q=query), args.repeat
                    )
                rows[kind] = modes
            browse: dict[str, list[float]] = {}
            for entry in manifest["listings"]:
                name = entry["name"]
                path = "/timeline" if name == "timeline" else f"/id/{name}/"
                last_page = str(max(1, -(-entry["rows"] // 50)))
                params = {"page": last_page}
                if "date" in entry["orders"] and name != "timeline":
                    params["sort"] = "date"
                label = f"{path}?" + "&".join(f"{k}={v}" for k, v in params.items())
                browse[f"{label} ({entry['rows']:,} rows)"] = timings(
                    fetch(client, path, "text/html", **params), args.repeat
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
    load_after = os.getloadavg()

    print(f"\n{documents:,} reports, {manifest['triples']:,} triples; ", end="")
    print(f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after\n")
    print("| query | engine in-process, median / p95 ms | /search JSON | /search HTML |")
    print("|---|---:|---:|---:|")
    for kind, modes in rows.items():
        cells = [
            "{:.1f} / {:.1f}".format(*summary(modes[mode])) for mode in ("engine", "JSON", "HTML")
        ]
        print(f"| {kind} ({len(modes['engine'])} timings) | " + " | ".join(cells) + " |")
    print("\n| browse page (its last page) | median / p95 ms |")
    print("|---|---:|")
    for label, values in browse.items():
        print(f"| `{label}` | " + "{:.1f} / {:.1f}".format(*summary(values)) + " |")


if __name__ == "__main__":
    main()
