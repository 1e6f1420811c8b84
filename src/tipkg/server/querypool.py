"""Queries run in worker processes, so a query past its time limit is really stopped.

pyoxigraph cannot cancel a running query, and a thread cannot be killed, so each query goes to
one of ``max_concurrent_queries`` worker processes. Each worker opens the build once (its store,
read-only; again only when a job names another version), from the snapshot the server itself
answers from, so parent and workers always answer from the same build. The server answers once
the first worker has opened it; the others start meanwhile. A query that outlives
``query_timeout`` has its worker killed and replaced; the event loop never waits on a query, so
other clients keep being answered meanwhile. Requests beyond the pool's size wait for a free
worker, at most ``query_timeout`` seconds.

Workers are started with the ``spawn`` method (a fresh interpreter; forking a threaded server is
unsafe), so a script that calls ``create_app`` itself must guard its entry point with
``if __name__ == "__main__":``.

The pool knows nothing about SPARQL: it runs ``handler(published, job)`` in a worker and hands
back what the handler returned (both must pickle). ``ResultCache`` keeps finished answers, which
is safe because a build never changes: a new build has a new version, and the version is part of
every key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tipkg.errors import InputError
from tipkg.server.isolation import isolate_network
from tipkg.server.published import Published, load_published
from tipkg.settings import Settings

Handler = Callable[[Published, Any], Any]
# A build as a job names it: its version, and the directory (a snapshot) it is read from.
Build = tuple[str, Path]

WORKER_START_SECONDS = 120.0
WORKER_NICENESS = 5
RESPAWN_RETRY_SECONDS = 1.0
STACK_BYTES_PER_QUERY_BYTE = 4096
MIN_STACK_BYTES = 64 * 1024 * 1024
MAX_STACK_BYTES = 1024 * 1024 * 1024
# The result cache is bounded by bytes (settings.query_cache_bytes); one answer larger than
# this is never kept.
CACHE_ENTRY_BYTES = 4 * 1024 * 1024
# What an entry costs beyond the bytes it is counted as (its answer's body and its query's
# text): the key's and the answer's objects, measured at ~520 bytes (tracemalloc, 5,000 answers),
# with a margin for the allocator's rounding.
CACHE_ENTRY_OVERHEAD = 640

log = logging.getLogger(__name__)


class QueryTimeout(Exception):
    """The query ran past ``query_timeout``; its worker was killed."""


class PoolBusy(Exception):
    """No worker became free within ``query_timeout``."""


class WorkerFailed(Exception):
    """A worker's handler raised: a bug, not the client's fault."""


class WorkerDied(Exception):
    """The worker died while it held the job (killed from outside, or the job crashed it)."""


class WorkerUnreachable(Exception):
    """The job could not be handed to the worker: it never ran, another worker may take it."""


def _worker_main(
    conn: Connection,
    dist_dir: Path,
    settings: Settings,
    handler: Handler,
    offline: bool,
    stack_bytes: int,
) -> None:
    """A worker's life: leave the network if asked (first: it needs a single thread), then
    answer jobs in one thread whose stack is ``stack_bytes``."""
    not_offline = isolate_network() if offline else None
    # Below the event loop in priority: a worker woken by a job must not preempt the process
    # that answers every client, and a runaway query must not slow it down.
    os.nice(WORKER_NICENESS)
    threading.stack_size(stack_bytes)
    jobs = threading.Thread(
        target=_answer_jobs, args=(conn.fileno(), dist_dir, settings, handler, not_offline)
    )
    jobs.start()
    jobs.join()


def _answer_jobs(
    fd: int, dist_dir: Path, settings: Settings, handler: Handler, not_offline: str | None
) -> None:
    """Load the build, say ready, then answer jobs one at a time forever."""
    try:
        published = load_published(dist_dir, settings)
    except InputError as error:
        _write_frame(fd, ("failed", str(error)))
        return
    _write_frame(fd, ("ready", not_offline))
    while True:
        try:
            (version, build_dir), job = _read_frame(fd)
        except (EOFError, OSError):
            return
        try:
            if version != published.version:
                published = load_published(build_dir, settings)
            reply = ("ok", handler(published, job))
        except Exception as error:  # reported to the parent, which answers 500 and logs it
            reply = ("error", f"{type(error).__name__}: {error}")
        _write_frame(fd, reply)


def worker_stack_bytes(max_query_bytes: int) -> int:
    """The stack a worker's job thread gets. pyoxigraph's parser and evaluator recurse once per
    level of nesting, and a query's nesting is bounded by its size: 20,000 bytes of ``{`` or
    ``STR(`` took ~35 MB of stack (8 MB, a main thread's, died at a few thousand levels and
    took the worker with it). Only the pages used are ever committed."""
    wanted = STACK_BYTES_PER_QUERY_BYTE * max_query_bytes
    return min(max(wanted, MIN_STACK_BYTES), MAX_STACK_BYTES)


# Messages cross the pipe as frames: an 8-byte big-endian length, then a pickle.
FRAME_HEADER = struct.Struct("!Q")


def _write_frame(fd: int, message: Any) -> None:
    """Write one whole frame (blocking: the worker has nothing else to do meanwhile)."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(FRAME_HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> Any:
    (size,) = FRAME_HEADER.unpack(_read_exactly(fd, FRAME_HEADER.size))
    return pickle.loads(_read_exactly(fd, size))


class _Worker:
    """The parent's end of one worker process; its pipe is read without ever blocking the loop."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        self._buffer = bytearray()
        self.retired = False  # killed, or found dead: never given another job
        self._watched = False

    def _take_frame(self) -> tuple[bool, Any]:
        """(True, message) when the buffer holds a whole frame, else (False, None)."""
        if len(self._buffer) < FRAME_HEADER.size:
            return False, None
        (size,) = FRAME_HEADER.unpack_from(self._buffer)
        end = FRAME_HEADER.size + size
        if len(self._buffer) < end:
            return False, None
        message = pickle.loads(self._buffer[FRAME_HEADER.size : end])
        del self._buffer[:end]
        return True, message

    async def receive(self, timeout: float) -> Any:
        """The worker's next message, read as it arrives, on the event loop; ``TimeoutError``
        after ``timeout`` seconds. (A timer on the future, not ``asyncio.wait_for``: no extra
        task per query, and no cancellation racing an answer that arrives just in time.)"""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def on_timeout() -> None:
            if not future.done():
                future.set_exception(TimeoutError())

        def on_readable() -> None:
            if future.done():
                return
            while True:
                try:
                    chunk = os.read(self.fd, 1 << 20)
                except BlockingIOError:
                    break  # everything available has been read
                except OSError as error:
                    future.set_exception(WorkerDied(f"query worker died ({error})"))
                    return
                if not chunk:
                    future.set_exception(WorkerDied("query worker died"))
                    return
                self._buffer += chunk
            complete, message = self._take_frame()
            if complete:
                future.set_result(message)

        loop.add_reader(self.fd, on_readable)
        timer = loop.call_later(timeout, on_timeout)
        try:
            return await future
        finally:
            timer.cancel()
            loop.remove_reader(self.fd)

    async def call(self, message: Any, timeout: float) -> Any:
        """Send a job and await its answer. A job is usually far smaller than the pipe's
        buffer, so the first write takes it all; a larger one waits for the worker to read."""
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(FRAME_HEADER.pack(len(payload)) + payload)
        while view:
            try:
                view = view[os.write(self.fd, view) :]
            except BlockingIOError:
                await asyncio.sleep(0.001)
            except OSError as error:
                raise WorkerUnreachable(f"cannot reach the query worker ({error})") from None
        return await self.receive(timeout)

    def watch_idle(self, on_death: Callable[[], None]) -> None:
        """While idle the worker says nothing, so its pipe turning readable means it died
        (or broke the protocol): ``on_death`` is called at once, before a job is sent to it."""

        def on_readable() -> None:
            with contextlib.suppress(OSError):
                os.read(self.fd, 1 << 16)
            self.unwatch()
            on_death()

        asyncio.get_running_loop().add_reader(self.fd, on_readable)
        self._watched = True

    def unwatch(self) -> None:
        """Stop watching; only if watching (once the pipe is closed its number is reused)."""
        if self._watched:
            self._watched = False
            asyncio.get_running_loop().remove_reader(self.fd)

    def kill(self) -> None:
        self.retired = True
        self.unwatch()
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class QueryPool:
    """``max_concurrent_queries`` worker processes and a queue in front of them. With
    ``offline``, every worker gives up the network before it loads anything
    (:mod:`.isolation`); a worker that cannot is logged once and runs anyway."""

    def __init__(
        self, build_dir: Callable[[], Path], settings: Settings, handler: Handler, offline: bool
    ) -> None:
        self.build_dir = build_dir
        self.settings = settings
        self.handler = handler
        self.offline = offline
        self._warned_online = False
        self.size = max(1, settings.max_concurrent_queries)
        self._context = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._workers: set[_Worker] = set()
        self._respawns: set[asyncio.Task[None]] = set()
        self._closed = False
        self._announced = False  # the pool has been full once (said in the log)

    async def start(self) -> None:
        """Start the workers and wait until the first has opened the build (so a build no
        worker can open fails the start). The others open it in the background while the
        server already answers: opening a build costs no more than opening its store, but
        each worker is an interpreter of its own to start, and a query arriving meanwhile
        waits for a free worker as it would under load."""
        self._make_idle(await self._spawn())
        self._announce_when_full()
        for _ in range(self.size - 1):
            self._start_in_background()

    @property
    def full(self) -> bool:
        """Whether every worker has opened the build and none is starting."""
        return not self._respawns and len(self._workers) == self.size

    async def close(self) -> None:
        self._closed = True
        for task in self._respawns:
            task.cancel()
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()

    async def run(self, build: Build, job: Any) -> Any:
        """``handler(published, job)`` in a free worker, within ``query_timeout`` seconds, on
        ``build``: the version and the directory of the build the caller answers from (a
        worker holding another version loads that directory first).

        Raises ``PoolBusy`` when no worker frees up in time, ``QueryTimeout`` when the query
        itself runs too long (its worker is killed and replaced), ``WorkerDied`` when its
        worker dies meanwhile (replaced too), ``WorkerFailed`` when the handler raised.
        """
        timeout = self.settings.query_timeout
        deadline = asyncio.get_running_loop().time() + timeout
        kills_to_retry = self.size
        while True:
            worker = await self._take(deadline)
            try:
                status, value = await worker.call((build, job), timeout)
            except WorkerUnreachable:
                self._replace(worker)
                continue  # the job never reached it: the next free worker takes it
            except WorkerDied:
                self._replace(worker)
                # SIGKILL comes from outside (an operator, the OOM killer), and may have been
                # sent while the worker was idle, just before it took this job: the job goes
                # to another worker, a few times at most. A crash is the job's own doing.
                if worker.process.exitcode == -signal.SIGKILL and kills_to_retry > 0:
                    kills_to_retry -= 1
                    continue
                raise
            except TimeoutError:
                self._replace(worker)
                raise QueryTimeout() from None
            except BaseException:
                # A cancelled request or a dead worker: its pipe may still hold a stale answer.
                self._replace(worker)
                raise
            self._make_idle(worker)
            if status != "ok":
                raise WorkerFailed(value)
            return value

    async def _take(self, deadline: float) -> _Worker:
        """The next idle worker that is alive, waiting until ``deadline`` (``PoolBusy``)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                worker = await asyncio.wait_for(self._idle.get(), deadline - loop.time())
            except TimeoutError:
                raise PoolBusy() from None
            worker.unwatch()
            if not worker.retired and worker.process.is_alive():
                return worker
            self._replace(worker)

    def _make_idle(self, worker: _Worker) -> None:
        worker.watch_idle(lambda: self._replace(worker))
        self._idle.put_nowait(worker)

    async def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(
                child_end,
                self.build_dir(),
                self.settings,
                self.handler,
                self.offline,
                worker_stack_bytes(self.settings.max_query_bytes),
            ),
            name="tipkg-query-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        self._workers.add(worker)
        try:
            status, detail = await worker.receive(WORKER_START_SECONDS)
        except BaseException:
            self._discard(worker)
            raise
        if status != "ready":
            self._discard(worker)
            raise InputError(f"query worker could not load the build: {detail}")
        if detail is not None and not self._warned_online:
            self._warned_online = True
            log.warning(
                "query workers keep network access (%s): with federation off, SERVICE is "
                "refused by the query check alone",
                detail,
            )
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` now; start its successor in the background (once per worker)."""
        if worker.retired:
            return
        self._discard(worker)
        if self._closed:
            return
        self._start_in_background()

    def _start_in_background(self) -> None:
        task = asyncio.get_running_loop().create_task(self._respawn())
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self) -> None:
        while not self._closed:
            try:
                worker = await self._spawn()
            except (InputError, WorkerDied, TimeoutError) as error:
                log.warning("query worker failed to start, retrying: %s", error)
                await asyncio.sleep(RESPAWN_RETRY_SECONDS)
                continue
            self._make_idle(worker)
            self._announce_when_full()
            return

    def _announce_when_full(self) -> None:
        """Say once, in the log, when every worker has first opened the build."""
        if not self._announced and len(self._workers) == self.size:
            self._announced = True
            log.info("all %d query workers have opened the build", self.size)


class ResultCache:
    """Finished answers by key, least recently used out first, bounded in bytes."""

    def __init__(self, max_bytes: int, max_entry_bytes: int = CACHE_ENTRY_BYTES) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value``, counted as ``size`` bytes plus the objects every entry costs."""
        size += CACHE_ENTRY_OVERHEAD
        if size > min(self.max_entry_bytes, self.max_bytes) or key in self._entries:
            return
        self._entries[key] = (size, value)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (evicted_size, _) = self._entries.popitem(last=False)
            self._bytes -= evicted_size
