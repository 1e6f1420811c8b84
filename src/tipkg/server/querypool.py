"""Queries run in worker processes, so a query past its time limit is really stopped.

pyoxigraph cannot cancel a running query, and a thread cannot be killed, so each query goes to
one of ``max_concurrent_queries`` worker processes. Each worker loads the build from dist/ once
(and again only when the build's version changes). A query that outlives ``query_timeout`` has
its worker killed and replaced; the event loop never waits on a query, so other clients keep
being answered meanwhile. Requests beyond the pool's size wait for a free worker, at most
``query_timeout`` seconds.

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
import struct
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

WORKER_START_SECONDS = 120.0
WORKER_NICENESS = 5
RESPAWN_RETRY_SECONDS = 1.0
# The result cache is bounded by bytes (settings.query_cache_bytes); one answer larger than
# this is never kept.
CACHE_ENTRY_BYTES = 4 * 1024 * 1024

log = logging.getLogger(__name__)


class QueryTimeout(Exception):
    """The query ran past ``query_timeout``; its worker was killed."""


class PoolBusy(Exception):
    """No worker became free within ``query_timeout``."""


class WorkerFailed(Exception):
    """A worker died or its handler raised: a bug or a resource problem, not the client's fault."""


def _worker_main(
    conn: Connection, dist_dir: Path, settings: Settings, handler: Handler, offline: bool
) -> None:
    """A worker's life: leave the network if asked (first: it needs a single thread), load
    the build, say ready, then answer jobs one at a time forever."""
    not_offline = isolate_network() if offline else None
    # Below the event loop in priority: a worker woken by a job must not preempt the process
    # that answers every client, and a runaway query must not slow it down.
    os.nice(WORKER_NICENESS)
    fd = conn.fileno()
    try:
        published = load_published(dist_dir, settings)
    except InputError as error:
        _write_frame(fd, ("failed", str(error)))
        return
    _write_frame(fd, ("ready", not_offline))
    while True:
        try:
            version, job = _read_frame(fd)
        except (EOFError, OSError):
            return
        try:
            if version != published.version:
                published = load_published(dist_dir, settings)
            reply = ("ok", handler(published, job))
        except Exception as error:  # reported to the parent, which answers 500 and logs it
            reply = ("error", f"{type(error).__name__}: {error}")
        _write_frame(fd, reply)


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

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process = process
        self.conn = conn
        self.fd = conn.fileno()
        os.set_blocking(self.fd, False)
        self._buffer = bytearray()

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
                    future.set_exception(WorkerFailed(f"query worker died ({error})"))
                    return
                if not chunk:
                    future.set_exception(WorkerFailed("query worker died"))
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
                raise WorkerFailed(f"cannot reach the query worker ({error})") from None
        return await self.receive(timeout)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class QueryPool:
    """``max_concurrent_queries`` worker processes and a queue in front of them. With
    ``offline``, every worker gives up the network before it loads anything
    (:mod:`.isolation`); a worker that cannot is logged once and runs anyway."""

    def __init__(self, dist_dir: Path, settings: Settings, handler: Handler, offline: bool):
        self.dist_dir = dist_dir
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

    async def start(self) -> None:
        """Start every worker and wait until each has loaded the build."""
        workers = await asyncio.gather(*(self._spawn() for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        self._closed = True
        for task in self._respawns:
            task.cancel()
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()

    async def run(self, version: str, job: Any) -> Any:
        """``handler(published, job)`` in a free worker, within ``query_timeout`` seconds.

        Raises ``PoolBusy`` when no worker frees up in time, ``QueryTimeout`` when the query
        itself runs too long (its worker is killed and replaced), ``WorkerFailed`` otherwise.
        """
        timeout = self.settings.query_timeout
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout)
        except TimeoutError:
            raise PoolBusy() from None
        try:
            status, value = await worker.call((version, job), timeout)
        except TimeoutError:
            self._replace(worker)
            raise QueryTimeout() from None
        except BaseException:
            # A cancelled request or a dead worker: its pipe may still hold a stale answer.
            self._replace(worker)
            raise
        self._idle.put_nowait(worker)
        if status != "ok":
            raise WorkerFailed(value)
        return value

    async def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child_end, self.dist_dir, self.settings, self.handler, self.offline),
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
        """Kill ``worker`` now; start its successor in the background."""
        self._discard(worker)
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._respawn())
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self) -> None:
        while not self._closed:
            try:
                worker = await self._spawn()
            except (InputError, WorkerFailed, TimeoutError) as error:
                log.warning("query worker failed to start, retrying: %s", error)
                await asyncio.sleep(RESPAWN_RETRY_SECONDS)
                continue
            self._idle.put_nowait(worker)
            return


class ResultCache:
    """Finished answers by key, least recently used out first, bounded in bytes."""

    def __init__(self, max_bytes: int, max_entry_bytes: int = CACHE_ENTRY_BYTES):
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
        if size > min(self.max_entry_bytes, self.max_bytes) or key in self._entries:
            return
        self._entries[key] = (size, value)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (evicted_size, _) = self._entries.popitem(last=False)
            self._bytes -= evicted_size
