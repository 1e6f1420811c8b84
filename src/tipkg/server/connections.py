"""The bounds of an HTTP connection that uvicorn's httptools protocol does not keep.

uvicorn buffers a request's URL and headers for as long and as large as a client sends them
(one 160 MB header took 35 s to answer and stalled every other client; eight of them grew the
server by 1.6 GB), never closes a connection that opens and says nothing, and lets idle
connections pile up until the process runs out of file descriptors. :func:`guarded_protocol`
makes a subclass of that protocol which, per connection:

- counts a request head's bytes *before* handing them to the parser, so no more than
  ``max_url_bytes + max_header_bytes`` of it is ever buffered; a longer request line is 414, more
  header bytes or fields than ``max_header_bytes``/``max_headers`` is 431;
- gives a client ``request_read_timeout`` seconds to send a whole request (from connecting, or
  from starting the next one): a slow sender is answered 408, or dropped if it sent nothing;
- keeps at most ``max_connections`` open: past it, the connection idle the longest (no request
  being answered) is closed to make room, and when every one is busy the new one is answered
  503 with ``Retry-After``.

A refused connection is answered in one line of text, then read and discarded for a moment
before it is closed, so the client can read the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from tipkg.settings import Settings

# How long a refused connection is still read (and its bytes discarded) before it is closed.
LINGER_SECONDS = 1.0
# File descriptors kept for everything but connections: workers' pipes, the build's files, logs.
RESERVED_FILES = 256

log = logging.getLogger(__name__)


def guarded_protocol(settings: Settings) -> type[HttpToolsProtocol]:
    """The protocol class of one server: its limits, and the registry of its connections."""
    max_connections = connection_budget(settings.max_connections)

    class ServerProtocol(GuardedProtocol):
        limits = settings
        connection_limit = max_connections
        open_connections: ClassVar[OrderedDict[GuardedProtocol, None]] = OrderedDict()

    return ServerProtocol


def connection_budget(wanted: int) -> int:
    """``wanted``, or less if the open-file limit (raised to its hard limit first) is lower: a
    process that runs out of file descriptors cannot even accept the connection that would
    have replaced an idle one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = raised
    if soft != resource.RLIM_INFINITY and soft < needed:
        allowed = max(soft - RESERVED_FILES, 1)
        log.warning(
            "max_connections lowered from %d to %d: the open-file limit is %d",
            wanted,
            allowed,
            soft,
        )
        return allowed
    return wanted


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds above (see :func:`guarded_protocol`)."""

    limits: ClassVar[Settings]
    connection_limit: ClassVar[int]
    open_connections: ClassVar[OrderedDict[GuardedProtocol, None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # reading a request line and headers
        self._head_bytes = 0  # bytes since the previous request ended
        self._url_bytes = 0
        self._header_bytes = 0
        self._header_count = 0
        self._too_large: tuple[int, str] | None = None
        self._read_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # ---------------------------------------------------------------- the connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.open_connections[self] = None
        self._start_read_timer()
        if len(self.open_connections) > self.connection_limit and not self._evict_one():
            self._refuse(503, "too many connections: try again shortly", retry_after=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open_connections.pop(self, None)
        self._stop_read_timer()
        super().connection_lost(exc)

    def _busy(self) -> bool:
        """Whether a request of this connection is being answered (it must not be evicted)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _evict_one(self) -> bool:
        """Close the connection idle the longest to make room; ``False`` if all are busy."""
        for connection in self.open_connections:
            if connection is not self and not connection._busy() and not connection._refused:
                connection._refused = True
                self.open_connections.pop(connection, None)
                connection.transport.close()
                return True
        return False

    # ---------------------------------------------------------------- reading a request

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: read and dropped
        head_limit = self.limits.max_url_bytes + self.limits.max_header_bytes
        while data and self._in_head:
            room = head_limit - self._head_bytes
            if room <= 0:
                self._refuse_head()
                return
            chunk, data = data[:room], data[room:]
            self._head_bytes += len(chunk)
            super().data_received(chunk)
            if self._too_large is not None:
                self._refuse(*self._too_large)
                return
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def _refuse_head(self) -> None:
        if self._header_count == 0:
            self._refuse(414, f"the request line is longer than {self.limits.max_url_bytes} bytes")
        else:
            self._refuse(431, f"the request headers exceed {self.limits.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = self._header_bytes = self._header_count = 0
        self.open_connections.pop(self, None)
        self.open_connections[self] = None  # the most recently active goes last
        self._start_read_timer()

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            self._too_large = (414, f"the URL is longer than {self.limits.max_url_bytes} bytes")
        if self._too_large is None:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > self.limits.max_headers:
            self._too_large = (431, f"more than {self.limits.max_headers} header fields")
        elif self._header_bytes > self.limits.max_header_bytes:
            limit = self.limits.max_header_bytes
            self._too_large = (431, f"the request headers exceed {limit} bytes")
        if self._too_large is None:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._too_large is None:  # else no request is started: it is refused
            super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop_read_timer()
        self._in_head = True  # what comes next is the head of the next request
        self._head_bytes = 0
        if self._too_large is None:
            super().on_message_complete()

    # ---------------------------------------------------------------- timing out and refusing

    def _start_read_timer(self) -> None:
        self._stop_read_timer()
        self._read_timer = self.loop.call_later(
            self.limits.request_read_timeout, self._read_timed_out
        )

    def _stop_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self._refused or self.transport.is_closing():
            return
        if self._busy() or self._head_bytes == 0:
            # A body too slow for a request already being answered, or a connection that
            # never sent a byte: nothing useful can be said, so it is closed.
            self.transport.close()
            return
        timeout = self.limits.request_read_timeout
        self._refuse(408, f"the request was not sent within {timeout:g} s")

    def _refuse(self, status: int, message: str, retry_after: bool = False) -> None:
        """Answer ``status`` in one line, then linger before closing (see the module doc)."""
        self._refused = True
        self._stop_read_timer()
        body = (message + "\n").encode()
        head = [
            STATUS_LINE[status],
            b"content-type: text/plain; charset=utf-8\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n",
        ]
        if retry_after:
            head.append(b"retry-after: 1\r\n")
        self.transport.write(b"".join([*head, b"\r\n", body]))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
