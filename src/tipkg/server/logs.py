"""Log volume that a flood of requests cannot grow without bound.

A client can make the server log: uvicorn warns about every malformed request, and a bug that
a request can reach logs a traceback each time (6,114 such requests in 10 s once added 27 MiB of
log). :class:`RateLimit` passes the first ``burst`` records of each kind (logger and message
template) per ``window`` seconds and counts the rest; the next record of that kind to pass says
how many were left out. It is added to every handler the server's logs go through.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

# Kinds of message remembered at once; more are forgotten (a message made per request with
# its details in the template rather than in the arguments would otherwise grow the table).
MAX_KINDS = 1_000
# The loggers whose handlers carry the limit: uvicorn's own, and the root logger's (or
# Python's last-resort handler, which prints the warnings of loggers nobody configured).
SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio")


@dataclass
class _Kind:
    window_start: float
    passed: int = 0
    left_out: int = 0


class RateLimit(logging.Filter):
    """At most ``burst`` records of one kind per ``window`` seconds."""

    def __init__(self, burst: int = 10, window: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._kinds: dict[tuple[str, str], _Kind] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        key = (record.name, str(record.msg))
        kind = self._kinds.get(key)
        if kind is None or now - kind.window_start >= self.window:
            if len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()
            left_out = kind.left_out if kind is not None else 0
            kind = self._kinds[key] = _Kind(window_start=now)
            if left_out:
                record.msg = f"{record.msg} [{left_out} more like this were not logged]"
        if kind.passed < self.burst:
            kind.passed += 1
            return True
        kind.left_out += 1
        return False


def limit_log_volume(limit: RateLimit) -> None:
    """Put ``limit`` on every handler the server logs through (call once logging is set up)."""
    handlers = {handler for name in SERVER_LOGGERS for handler in logging.getLogger(name).handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for handler in handlers:
        handler.addFilter(limit)
