"""Probing a real tipkg server as an attacker would, shared by the hostile tests and by
``bench/hostile.py`` (which runs the same probes at full size, before and after a change).

The server runs as its own process (``tipkg serve``, uvicorn on 127.0.0.1), so its memory and
its log are its own: :class:`ServerProcess` reads its resident memory from ``/proc`` and its log
from a file. A :class:`Bystander` is another client asking a cached query again and again while a
probe runs, to show whether everyone else is still served. A :class:`Listener` is a loopback
socket that records every connection made to it. Nothing here opens a connection beyond
127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

# The cached query a bystander repeats.
CACHED_ASK = "ASK { ?s a tip:Meeting }"
# Bounds for what other clients see while a probe runs and for the server's memory. The
# targets are 100 ms and a few MB (measured by bench/hostile.py); these leave room for a shared
# 2-core machine running the rest of the tests.
BYSTANDER_WORST_SECONDS = 0.5
MEMORY_GROWTH_MB = 40.0
START_SECONDS = 90.0
CANONICAL = "https://w3id.org/tipkg/"
MEETING = "id/event/tipcom-2021"
# An IRI that a page must never make a clickable link.
JAVASCRIPT_QUERY = 'SELECT ?x WHERE { BIND(IRI("javascript:alert(document.domain)") AS ?x) }'
# Statements a hostile curator (or a hostile source) could put in the data: IRIs whose scheme
# runs code when followed, as a link target, a property, a class and an incoming link.
HOSTILE_QUADS = f"""\
<{CANONICAL}{MEETING}> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <javascript:alert(document.domain)> <{CANONICAL}graph/shared> .
<{CANONICAL}{MEETING}> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <vbscript:msgbox(1)> <{CANONICAL}graph/shared> .
<{CANONICAL}{MEETING}> <javascript:alert(2)> <data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==> <{CANONICAL}graph/shared> .
<{CANONICAL}{MEETING}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <javascript:alert(4)> <{CANONICAL}graph/shared> .
<javascript:alert(5)> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <{CANONICAL}{MEETING}> <{CANONICAL}graph/shared> .
"""  # noqa: E501


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def proc_status(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` field in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> set[int]:
    """The direct children of ``pid``."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.update(int(child) for child in (task / "children").read_text().split())
    return found


def has_opened_a_store(pid: int) -> bool:
    """Whether the process holds a file of a build's store open (a query worker that has
    opened its build; the store's files stay open while it is)."""
    try:
        targets = [os.readlink(link) for link in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any("/store/" in target for target in targets)


@dataclass
class ServerProcess:
    """A ``tipkg serve`` process answering at ``url``, under its build's base IRI ``base``
    (the hostile builds are not made for the port each server happens to get: requests go
    by path)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    dist_dir: Path

    @property
    def base(self) -> str:
        return json.loads((self.dist_dir / "manifest.json").read_text())["base_iri"]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def sparql(self) -> str:
        return self.url + "sparql"

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def rss_mb(self) -> float:
        """Resident memory of the server process (not its query workers), in MB."""
        return proc_status(self.pid, "VmRSS") / 1024

    def peak_mb(self) -> float:
        """The most resident memory the server process has had, in MB."""
        return proc_status(self.pid, "VmHWM") / 1024

    def workers(self) -> set[int]:
        return children(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_bytes(self) -> int:
        return self.log_path.stat().st_size

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@contextlib.contextmanager
def serve(
    dist_dir: Path, log_dir: Path, source: Path | None = None, **settings: Any
) -> Iterator[ServerProcess]:
    """``tipkg serve`` over ``dist_dir`` on a free loopback port, with ``settings`` given as
    ``TIPKG_*`` variables, until the block ends. ``source`` runs another checkout's code
    (the measurements before a change)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIPKG_")}
    env.update({f"TIPKG_{name.upper()}": str(value) for name, value in settings.items()})
    if source is not None:
        env["PYTHONPATH"] = str(source)
    log_path = log_dir / f"server-{port}.log"
    command = [
        sys.executable,
        "-c",
        "from tipkg.cli import main; main()",
        "serve",
        "--dist",
        str(dist_dir),
        "--port",
        str(port),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(url, process, log_path, dist_dir)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"tipkg serve exited: {server.log()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "sparql", params={"query": CACHED_ASK}).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"tipkg serve did not start: {server.log()[-2000:]}")
            time.sleep(0.2)
        # It answers once one query worker is up; the tests count on all of them.
        workers = int(settings.get("max_concurrent_queries", 4))
        while sum(has_opened_a_store(pid) for pid in server.workers()) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tipkg serve's workers did not start: {server.log()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Bystander:
    """Another client asking a cached query every ``interval`` seconds, recording how long
    each answer took and which failed. It keeps one connection open (reconnecting when the
    server closes it), or with ``fresh`` opens a new one for every question, as a newcomer
    would while the server is under siege."""

    def __init__(self, url: str, interval: float = 0.02, fresh: bool = False):
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.target = "/sparql?" + urlencode({"query": CACHED_ASK})
        self.interval = interval
        self.fresh = fresh
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def ask(self, connection: http.client.HTTPConnection) -> None:
        connection.request("GET", self.target)
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            self.failures.append(f"{answer.status} {body[:80]!r}")

    def _run(self) -> None:
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            if connection is None or self.fresh:
                connection = http.client.HTTPConnection(*self.address, timeout=30)
            try:
                try:
                    self.ask(connection)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # The server closed the connection before answering: a kept one it found
                    # idle, or (under a flood of connections, before its request was read) a
                    # new one. A browser retries an idempotent request once on a new
                    # connection; so does the bystander, and a second failure counts.
                    connection = http.client.HTTPConnection(*self.address, timeout=30)
                    self.ask(connection)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                connection = None
            self.latencies.append(time.monotonic() - started)
            if self.fresh and connection is not None:
                connection.close()
            self._stop.wait(self.interval)

    def __enter__(self) -> Bystander:
        self.ask(http.client.HTTPConnection(*self.address, timeout=30))  # cached from now on
        assert not self.failures, self.failures
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)


@dataclass
class Watch:
    """What one probe did to everyone else: its own time, the bystander's worst wait and
    failures, and how far the server's resident memory rose."""

    seconds: float = 0.0
    bystander_worst: float = 0.0
    bystander_answers: int = 0
    bystander_failures: list[str] = field(default_factory=list)
    memory_growth_mb: float = 0.0

    def assert_contained(self, seconds: float, memory_mb: float = MEMORY_GROWTH_MB) -> None:
        """The probe was answered within ``seconds``, everyone else was served meanwhile
        within ``BYSTANDER_WORST_SECONDS``, and the server's memory rose by < ``memory_mb``."""
        assert self.seconds < seconds, self.summary()
        assert not self.bystander_failures, self.summary()
        assert self.bystander_answers >= 1, self.summary()
        assert self.bystander_worst < BYSTANDER_WORST_SECONDS, self.summary()
        assert self.memory_growth_mb < memory_mb, self.summary()

    def summary(self) -> str:
        return (
            f"{self.seconds:.2f} s; others: worst {self.bystander_worst * 1000:.0f} ms over "
            f"{self.bystander_answers} answers, {len(self.bystander_failures)} failed; "
            f"server memory +{self.memory_growth_mb:.0f} MB"
        )


@contextlib.contextmanager
def watched(server: ServerProcess, fresh: bool = False) -> Iterator[Watch]:
    """Measure the block: its time, a bystander's experience (see :class:`Bystander` for
    ``fresh``), the server's peak memory."""
    watch = Watch()
    before = server.rss_mb()
    peak_before = server.peak_mb()
    started = time.monotonic()
    with Bystander(server.url, fresh=fresh) as bystander:
        yield watch
        watch.seconds = time.monotonic() - started
        time.sleep(0.1)  # one more answer after the probe
    watch.bystander_worst = bystander.worst
    watch.bystander_answers = len(bystander.latencies)
    watch.bystander_failures = bystander.failures
    watch.memory_growth_mb = max(server.peak_mb() - max(peak_before, before), 0.0)


# ------------------------------------------------------------------ raw HTTP


def raw_exchange(
    port: int, chunks: Iterator[bytes] | list[bytes], timeout: float = 30.0
) -> tuple[int | None, bytes]:
    """Send ``chunks`` on a fresh connection, then read what comes back until the server
    closes it or stops talking: (status or ``None``, response bytes). Sending stops early when
    the server has already closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        with contextlib.suppress(OSError):
            for chunk in chunks:
                connection.sendall(chunk)
        received = b""
        with contextlib.suppress(OSError):
            while chunk := connection.recv(65536):
                received += chunk
    return status_of(received), received


def status_of(response: bytes) -> int | None:
    """The status code of a raw HTTP response, ``None`` when there is none."""
    parts = response.split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
        return int(parts[1])
    return None


def big_header_request(size: int, name: bytes = b"X-Filler") -> Iterator[bytes]:
    """A GET whose one header carries ``size`` bytes, sent in 1 MB pieces."""
    yield b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + name + b": "
    piece = b"a" * (1 << 20)
    sent = 0
    while sent < size:
        chunk = piece[: min(len(piece), size - sent)]
        sent += len(chunk)
        yield chunk
    yield b"\r\n\r\n"


# ------------------------------------------------------------------ a loopback listener


class Listener:
    """A TCP socket on 127.0.0.1 that records every connection it is offered. ``reply`` (raw
    bytes) is sent to each caller before closing; by default the caller gets nothing."""

    def __init__(self, reply: bytes = b""):
        self.reply = reply
        self.received: list[bytes] = []
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(1.0)
                data = b""
                with contextlib.suppress(OSError):
                    data = connection.recv(65536)
                self.received.append(data or b"(connected, sent nothing)")
                if self.reply:
                    with contextlib.suppress(OSError):
                        connection.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
