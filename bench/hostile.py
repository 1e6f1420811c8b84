"""Measure the hostile cases of issue 8 against `tipkg serve`, before and after a change.

Usage (after `tipkg build`):
    .venv/bin/python bench/hostile.py [--dist dist] [--source OTHER/src] [--full] [CASE ...]

Each case starts `tipkg serve` as its own process on a loopback port (the probes are those of
tests/hostile/probes.py), does what the issue describes, and prints one markdown row: the status
the attacker got, how long it took, the worst wait of a bystander client asking a cached query
meanwhile (and how many of its questions failed), and how far the server's peak memory rose.
`--source` runs another checkout's code (e.g. `git archive main src | tar -x -C /tmp/before`),
for the "before" column; `--full` uses the issue's sizes (a 160 MB header, 8 x 200 MB headers,
20,000 idle connections) instead of the test suite's smaller ones. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile.probes import (  # noqa: E402
    HOSTILE_QUADS,
    JAVASCRIPT_QUERY,
    MEETING,
    Listener,
    ServerProcess,
    Watch,
    big_header_request,
    raw_exchange,
    serve,
    watched,
)
from support import add_quads_to_build, swap_in  # noqa: E402

MB = 1 << 20
# The comment ends at the CR for pyoxigraph, at the LF for rdflib (which then sees no SERVICE).
CR_SERVICE = "SELECT * WHERE {{\n  # x\rSERVICE <{url}> {{ ?a ?b ?c }}\n}} LIMIT 3"
NESTED = "SELECT (" + "(" * 5_000 + "1" + ")" * 5_000 + " AS ?x) {}"
GROUP_CONCAT = (
    "SELECT (GROUP_CONCAT(CONCAT(STR(?o), STR(?o2))) AS ?x) WHERE { ?s ?p ?o . ?s2 ?p2 ?o2 }"
)


@dataclass
class Row:
    case: str
    status: str
    seconds: float | None = None
    others: str = ""
    memory_mb: float | None = None
    note: str = ""

    def markdown(self) -> str:
        seconds = f"{self.seconds:.2f} s" if self.seconds is not None else ""
        memory = f"+{self.memory_mb:.0f} MB" if self.memory_mb is not None else ""
        return (
            f"| {self.case} | {self.status} | {seconds} | {self.others} | {memory} | {self.note} |"
        )


@dataclass
class Bench:
    dist: Path
    hostile_dist: Path
    source: Path | None
    full: bool
    logs: Path

    @contextlib.contextmanager
    def server(self, dist: Path | None = None, **settings: object) -> Iterator[ServerProcess]:
        with serve(dist or self.hostile_dist, self.logs, source=self.source, **settings) as s:
            yield s


def others(watch: object) -> str:
    worst = getattr(watch, "bystander_worst", 0.0) * 1000
    failed = len(getattr(watch, "bystander_failures", []))
    return f"worst {worst:.0f} ms, {failed} failed"


def statuses(answers: list[httpx.Response | str]) -> str:
    return "/".join(str(getattr(answer, "status_code", answer)) for answer in answers)


def get(client: httpx.Client, path: str, **params: str) -> httpx.Response | str:
    """The response, or what happened instead (the old server dropped some connections)."""
    try:
        return client.get(path, params=params)
    except httpx.HTTPError as error:
        return type(error).__name__


# ------------------------------------------------------------------ the cases


def service_cr(bench: Bench) -> Row:
    listener = Listener()
    try:
        with bench.server() as server:
            query = CR_SERVICE.format(url=listener.url)
            answers = [
                httpx.get(server.sparql, params={"query": query}, timeout=30),
                httpx.post(server.sparql, data={"query": query}, timeout=30),
            ]
            time.sleep(0.3)
    finally:
        listener.close()
    texts = "; ".join(sorted({answer.text.strip()[:60] for answer in answers}))
    return Row(
        "1 SERVICE behind a CR comment (GET, form POST)",
        statuses(answers),
        note=f"listener got {len(listener.received)} calls; {texts}",
    )


def huge_header(bench: Bench) -> Row:
    size = 160 * MB if bench.full else 16 * MB
    with bench.server() as server, watched(server) as watch:
        status, _ = raw_exchange(server.port, big_header_request(size), timeout=120)
    return Row(
        f"2 one header of {size // MB} MB",
        str(status),
        watch.seconds,
        others(watch),
        watch.memory_growth_mb,
    )


def eight_huge_headers(bench: Bench) -> Row:
    size = 200 * MB if bench.full else 24 * MB
    with bench.server() as server, watched(server) as watch, ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: raw_exchange(server.port, big_header_request(size), 300), range(8))
        )
    codes = "/".join(sorted({str(status) for status, _ in results}))
    return Row(
        f"2 eight headers of {size // MB} MB at once",
        codes,
        watch.seconds,
        others(watch),
        watch.memory_growth_mb,
    )


def huge_accept(bench: Bench) -> Row:
    accept = "".join(f"text/x-{n};q=0.5," for n in range(200_000)).encode()
    request = b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: "
    with bench.server() as server, watched(server) as watch:
        status, _ = raw_exchange(server.port, [request + accept + b"\r\n\r\n"], timeout=120)
    return Row(
        f"2 Accept of {len(accept) / MB:.1f} MB, 200k ranges",
        str(status),
        watch.seconds,
        others(watch),
        watch.memory_growth_mb,
    )


def javascript_links(bench: Bench) -> Row:
    with bench.server() as server, httpx.Client(base_url=server.url, timeout=30) as client:
        html = {"Accept": "text/html"}
        table = client.get("/sparql", params={"query": JAVASCRIPT_QUERY}, headers=html).text
        page = client.get(f"/{MEETING}.html").text
        headers = client.get("/", headers=html).headers
    links = table.count('href="javascript:') + page.count('href="javascript:')
    present = [
        name
        for name in ("content-security-policy", "x-content-type-options", "x-frame-options")
        if name in headers
    ]
    return Row(
        "3 javascript: IRIs in a result table and a resource page",
        f"{links} links",
        note=f"headers: {', '.join(present) or 'none'}",
    )


def bad_iris(bench: Bench) -> Row:
    with bench.server() as server, httpx.Client(base_url=server.url, timeout=30) as client:
        answers = [get(client, path) for path in ("/id/%3Cx%3E", "/id/a%20b", "/id/%7Bx%7D")]
        answers.append(get(client, "/sparql", query="ASK {}", **{"default-graph-uri": "not iri"}))
        tracebacks = server.log().count("Traceback")
    return Row(
        "4 /id/%3Cx%3E, %20, %7B; bad default-graph-uri",
        statuses(answers),
        note=f"{tracebacks} tracebacks logged",
    )


def bad_iri_flood(bench: Bench) -> Row:
    seconds = 10.0
    with bench.server() as server:
        before = server.log_bytes()
        stop = time.monotonic() + seconds
        count = [0]

        def hammer() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while time.monotonic() < stop:
                    get(client, "/id/%3Cx%3E")
                    count[0] += 1

        with ThreadPoolExecutor(4) as pool:
            for future in [pool.submit(hammer) for _ in range(4)]:
                future.result()
        time.sleep(0.5)
        grown = server.log_bytes() - before
    return Row(
        "4 flood of /id/%3Cx%3E for 10 s",
        f"{count[0]} requests",
        seconds,
        note=f"log grew {grown / MB:.2f} MB",
    )


def nested(bench: Bench) -> Row:
    with bench.server() as server, watched(server) as watch:
        workers = server.workers()
        answer = httpx.post(server.sparql, data={"query": NESTED}, timeout=60)
        time.sleep(0.5)
        replaced = len(workers - server.workers())
    return Row(
        "4 5,000 nested parentheses",
        str(answer.status_code),
        watch.seconds,
        others(watch),
        watch.memory_growth_mb,
        f"{replaced} workers died; {answer.text.strip()[:50]}",
    )


def nested_32(bench: Bench) -> Row:
    with bench.server() as server:
        fresh = httpx.Client(base_url=server.url, timeout=60)
        with ThreadPoolExecutor(32) as pool:
            futures = [
                pool.submit(httpx.post, server.sparql, data={"query": NESTED}, timeout=60)
                for _ in range(32)
            ]
            time.sleep(0.2)
            started = time.monotonic()
            other = fresh.get("/sparql", params={"query": f"ASK {{}} # {time.time()}"})
            waited = time.monotonic() - started
            answers = [future.result() for future in futures]
        fresh.close()
    codes = "/".join(sorted({str(a.status_code) for a in answers}))
    return Row(
        "4 32 clients send the nesting; another client's new query",
        codes,
        waited,
        note=f"the other query: {other.status_code}",
    )


def killed_idle_workers(bench: Bench) -> Row:
    with bench.server() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for pid in server.workers():
            os.kill(pid, signal.SIGKILL)
        started = time.monotonic()
        answers = [client.get("/sparql", params={"query": f"ASK {{}} #{n}"}) for n in range(4)]
        seconds = time.monotonic() - started
    return Row("4 idle workers killed (-9); the next 4 queries", statuses(answers), seconds)


def dataset(bench: Bench) -> Row:
    with bench.server() as server, httpx.Client(base_url=server.url, timeout=30) as client:
        query = f"SELECT (COUNT(*) AS ?n) FROM <{server.url}graph/ontology> WHERE {{ ?s ?p ?o }}"
        count = client.get("/sparql", params={"query": query}).json()
        empty = client.get("/sparql", params={"query": ""})
        bad = quote("ASK {} # ") + "%FF"
        by_get = client.get(f"/sparql?query={bad}")
        by_form = client.post(
            "/sparql",
            content=f"query={bad}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        by_body = client.post(
            "/sparql",
            content=b"ASK {} # \xff",
            headers={"Content-Type": "application/sparql-query"},
        )
    manifest = json.loads((bench.hostile_dist / "manifest.json").read_text())
    ontology = next(g["triples"] for g in manifest["graphs"] if g["iri"].endswith("ontology"))
    n = count["results"]["bindings"][0]["n"]["value"]
    return Row(
        "5 FROM <graph/ontology>; empty query; bad UTF-8 by GET/form/POST",
        f"{empty.status_code}; {statuses([by_get, by_form, by_body])}",
        note=f"COUNT(*) FROM ontology = {n} (the graph holds {ontology})",
    )


def two_builds(bench: Bench, folder: Path) -> tuple[Path, Path]:
    a, b = folder / "a", folder / "b"
    shutil.copytree(bench.hostile_dist, a)
    shutil.copytree(bench.hostile_dist, b)
    add_quads_to_build(b, '<urn:tipkg:build> <urn:tipkg:is> "B" .\n')
    return a, b


def publish(build: Path, dist: Path) -> None:
    swap_in(build, dist)


def rebuild_under_load(bench: Bench) -> Row:
    folder = Path(tempfile.mkdtemp(dir=bench.logs))
    a, b = two_builds(bench, folder)
    dist = folder / "dist"
    publish(a, dist)
    mismatched, total = [0], [0]
    with bench.server(dist) as server:
        stop = threading.Event()

        def swap() -> None:
            while not stop.is_set():
                for build in (b, a):
                    publish(build, dist)
                    time.sleep(0.5)

        def download() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                while not stop.is_set():
                    answer = client.get("/download/tipkg.nq")
                    total[0] += 1
                    if (
                        answer.headers["etag"]
                        != f'W/"{hashlib.sha256(answer.content).hexdigest()}"'
                    ):
                        mismatched[0] += 1

        threads = [threading.Thread(target=swap)] + [
            threading.Thread(target=download) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        time.sleep(10)
        stop.set()
        for thread in threads:
            thread.join()
        # A build that fails to load: tipkg.nq garbled at its size.
        broken = folder / "broken"
        shutil.copytree(b, broken)
        (broken / "tipkg.nq").write_bytes(b"<" * (broken / "tipkg.nq").stat().st_size)
        publish(broken, dist)
        for _ in range(30):
            httpx.get(server.url)
            time.sleep(0.1)
        after = httpx.get(server.url + "download/tipkg.nq")
        after_ok = after.headers["etag"] == f'W/"{hashlib.sha256(after.content).hexdigest()}"'
    shutil.rmtree(folder, ignore_errors=True)
    return Row(
        "6 rebuild every 0.5 s for 10 s, 4 clients downloading tipkg.nq",
        f"{mismatched[0]} of {total[0]} ETags wrong",
        10.0,
        note=f"after a failed load: ETag matches body: {after_ok}",
    )


def host_header(bench: Bench) -> Row:
    with bench.server() as server:
        evil = {"Host": "evil.example"}
        landing = httpx.get(server.url, headers={**evil, "Accept": "text/html"})
        description = httpx.get(server.sparql, headers={**evil, "Accept": "text/turtle"})
    found = landing.text.count("evil.example") + description.text.count("evil.example")
    return Row("7 Host: evil.example (landing page, service description)", f"{found} mentions")


def idle_connections(bench: Bench) -> Row:
    """The bystander is measured twice: while the connections are opened (every new one makes
    the server close the one idle the longest), and while they are held."""
    count = 20_000 if bench.full else 2_000
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_process = min(5_000, soft - 100)
    openers = []
    with bench.server() as server:
        with watched(server, fresh=True) as opening:
            for start in range(0, count, per_process):
                size = str(min(per_process, count - start))
                opener = subprocess.Popen(
                    [sys.executable, "-c", HOLD_IDLE, str(server.port), size],
                    stdout=subprocess.PIPE,
                )
                openers.append(opener)
            opened = sum(int((opener.stdout.readline() or b"0").strip()) for opener in openers)
        try:
            with watched(server, fresh=True) as holding:
                time.sleep(5)
        except (OSError, http.client.HTTPException, AssertionError) as error:
            holding = Watch(bystander_failures=[repr(error)])  # it could not even start
        files = server.open_files()
        for opener in openers:
            opener.terminate()
            opener.wait()
    return Row(
        f"7 {count:,} idle connections: opened, then held 5 s",
        f"{opened:,} opened",
        opening.seconds,
        f"opening: {others(opening)}; held: {others(holding)}",
        max(opening.memory_growth_mb, holding.memory_growth_mb),
        f"server holds {files:,} files",
    )


# Holds N idle connections to 127.0.0.1:PORT until killed (trying for 60 s at most); prints
# how many it opened.
HOLD_IDLE = """
import socket, sys, time
held = []
deadline = time.monotonic() + 60
for _ in range(int(sys.argv[2])):
    if time.monotonic() > deadline:
        break
    try:
        held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
print(len(held), flush=True)
time.sleep(3600)
"""


def slow_connection(bench: Bench) -> Row:
    with bench.server() as server, socket.create_connection(("127.0.0.1", server.port)) as slow:
        started = time.monotonic()
        slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        slow.settimeout(0.5)
        answer = b""
        while time.monotonic() - started < 30:
            try:
                answer = slow.recv(4096)
                break
            except TimeoutError:
                with contextlib.suppress(OSError):
                    slow.sendall(b"X-Slow: 1\r\n")
        seconds = time.monotonic() - started
    status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "still open"
    return Row("7 a header line every 0.5 s (cut at 30 s)", status, seconds)


def cache_memory(bench: Bench) -> Row:
    queries = 15_000
    with bench.server(query_cache_bytes=MB) as server:
        before = server.rss_mb()

        def ask(start: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for n in range(start, queries, 4):
                    client.get("/sparql", params={"query": f"ASK {{}} # {n:08d}"})

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(ask, range(4)))
        grown = server.rss_mb() - before
    return Row(f"7 {queries:,} small answers in a 1 MiB result cache", "", memory_mb=grown)


def group_concat(bench: Bench) -> Row:
    with bench.server() as server, watched(server) as watch:
        answer = httpx.get(server.sparql, params={"query": GROUP_CONCAT}, timeout=120)
    truncated = answer.headers.get("x-tipkg-truncated", "no")
    said = answer.text[:60].strip() if answer.status_code != 200 else ""
    return Row(
        "7 GROUP_CONCAT of a cross join: one huge row",
        str(answer.status_code),
        watch.seconds,
        others(watch),
        watch.memory_growth_mb,
        f"{len(answer.content) / MB:.1f} MB body, truncated: {truncated} {said}",
    )


CASES: dict[str, Callable[[Bench], Row]] = {
    "service": service_cr,
    "header": huge_header,
    "headers": eight_huge_headers,
    "accept": huge_accept,
    "javascript": javascript_links,
    "iris": bad_iris,
    "flood": bad_iri_flood,
    "nested": nested,
    "nested32": nested_32,
    "workers": killed_idle_workers,
    "dataset": dataset,
    "rebuild": rebuild_under_load,
    "host": host_header,
    "idle": idle_connections,
    "slow": slow_connection,
    "cache": cache_memory,
    "concat": group_concat,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--source", type=Path, help="another checkout's src/ to measure")
    parser.add_argument("--full", action="store_true", help="the issue's full sizes")
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="tipkg-hostile-") as scratch:
        hostile_dist = Path(scratch) / "hostile" / "dist"
        shutil.copytree(args.dist, hostile_dist)
        add_quads_to_build(hostile_dist, HOSTILE_QUADS)
        bench = Bench(args.dist, hostile_dist, args.source, args.full, Path(scratch))
        print("| case | status | time | a bystander meanwhile | server memory | notes |")
        print("|---|---|---|---|---|---|")
        for name in args.cases or CASES:
            try:
                row = CASES[name](bench)
            except Exception as error:  # a case that breaks the old server is a result too
                traceback.print_exc()
                row = Row(name, "failed", note=f"{type(error).__name__}: {str(error)[:80]}")
            print(row.markdown(), flush=True)


if __name__ == "__main__":
    main()
