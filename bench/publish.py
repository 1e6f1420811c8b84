"""Benchmark `tipkg publish` into a local Oxigraph server: a first publish of a synthetic corpus,
then a re-publish of the same build (which must send nothing).

Usage:
    .venv/bin/python bench/publish.py [--documents 10000] [--work /tmp/tipkg-bench-publish]
    .venv/bin/python bench/publish.py --dist DIR       # an existing build instead

The corpus is written by `tipkg synth` and built by `tipkg build` under --work, once: a later run
with the same --work and --documents reuses the build. Each measurement starts a fresh
`oxigraph serve` (the `oxigraph` package of the bench extra) on a free loopback port over a new
store directory, and times the real CLI (`tipkg publish`, wall clock, as a user sees it). The
result is printed as a markdown table, with the CPU time `tipkg publish` and the store each used
(on a shared machine the wall clock depends on the neighbours; the CPU time much less).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent
TIPKG = VENV_BIN / "tipkg"
OXIGRAPH = VENV_BIN / "oxigraph"
SUMMARY = re.compile(r"(\d+) graphs sent, (\d+) skipped, (\d+) deleted; ([\d,]+) triples")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def built_corpus(work: Path, documents: int) -> Path:
    """The dist/ of a synthetic corpus of ``documents`` reports, built once per --work."""
    project = work / f"corpus-{documents}"
    dist = project / "dist"
    if (dist / "manifest.json").is_file():
        return dist
    shutil.rmtree(project, ignore_errors=True)
    for args in (
        ["synth", "--documents", str(documents), "--out", str(project)],
        ["--project", str(project), "--cache-dir", str(work / "cache"), "build", "--quiet"],
    ):
        started = time.perf_counter()
        subprocess.run([TIPKG, *args], check=True, stdout=subprocess.DEVNULL)
        print(f"tipkg {args[0]} …: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return dist


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def oxigraph(location: Path) -> Iterator[tuple[str, int]]:
    """A fresh `oxigraph serve` over ``location``: its Graph Store endpoint and process id."""
    shutil.rmtree(location, ignore_errors=True)
    port = free_port()
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.head(url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"oxigraph serve did not start on {url}")
                time.sleep(0.1)
        yield url + "store", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def publish(endpoint: str, dist: Path) -> tuple[float, tuple[int, int, int, int]]:
    """Seconds a `tipkg publish` took, and its (sent, skipped, deleted, triples)."""
    started = time.perf_counter()
    done = subprocess.run(
        [TIPKG, "publish", "--endpoint", endpoint, "--dist", str(dist), "--quiet"],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"tipkg publish failed: {done.stderr.strip()}")
    found = SUMMARY.search(done.stdout)
    if found is None:
        sys.exit(f"unexpected output: {done.stdout!r}")
    sent, skipped, deleted, triples = (int(group.replace(",", "")) for group in found.groups())
    return seconds, (sent, skipped, deleted, triples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tipkg-bench-publish"))
    parser.add_argument("--dist", type=Path, help="publish this build (no synth, no build)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    dist = args.dist or built_corpus(args.work, args.documents)
    manifest = json.loads((dist / "manifest.json").read_text())
    graphs = len(manifest["graphs"])
    nq_bytes = (dist / "tipkg.nq").stat().st_size
    reports = len(manifest["documents"])
    print(f"{reports:,} reports: {manifest['triples']:,} triples in {graphs:,} graphs")
    print(f"(tipkg.nq {nq_bytes / 1e6:.0f} MB; sent as {graphs + 1:,} PUTs with void.ttl)\n")
    print(
        "| run | seconds | graphs sent | skipped | triples sent | triples/s | CPU s: tipkg, store |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with oxigraph(args.work / "oxigraph") as (endpoint, store_pid):
        for label in ("first publish (empty store)", "re-publish, unchanged build"):
            cpu_before = (children_cpu_seconds(), cpu_seconds(store_pid))
            seconds, (sent, skipped, _, triples) = publish(endpoint, dist)
            client_cpu = children_cpu_seconds() - cpu_before[0]
            store_cpu = cpu_seconds(store_pid) - cpu_before[1]
            rate = f"{triples / seconds:,.0f}" if triples else "—"
            print(
                f"| {label} | {seconds:.1f} | {sent:,} | {skipped:,} | {triples:,} | {rate} "
                f"| {client_cpu:.1f}, {store_cpu:.1f} |"
            )
    if sent:
        sys.exit("the re-publish of an unchanged build sent graphs")


if __name__ == "__main__":
    main()
