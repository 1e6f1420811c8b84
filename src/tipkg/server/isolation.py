"""No network for query workers: with federation off, a worker process moves into a network
namespace of its own before it loads anything, so no spelling of any query can reach any
address. The namespace has one interface, a loopback that is down: a connection to
127.0.0.1 fails with "network unreachable", and so does every DNS lookup.

This is the wall that holds by construction; the SERVICE check in :mod:`.federation` comes
first only to answer with a clear message. Linux lets a process unshare its network namespace
when it is root (``CLONE_NEWNET``) or, unprivileged, together with a user namespace of its own
(``CLONE_NEWUSER``, on by default in Debian 12). Both need a process with one thread, so it is
done first thing in a freshly spawned worker. Where neither is allowed (another OS, a container
whose seccomp profile forbids ``unshare``), the worker keeps the network, the server says so in
its log, and the SERVICE check is the only wall (see the README's "Known limits").
"""

from __future__ import annotations

import ctypes
import os
import threading

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> str | None:
    """Leave the network; ``None`` when done, else why it could not be done."""
    if threading.active_count() > 1:
        return "the process already runs threads"
    try:
        unshare = ctypes.CDLL(None, use_errno=True).unshare
    except (AttributeError, OSError):
        return "this system has no unshare(2)"
    error = 0
    # As root, the network namespace alone keeps file access exactly as it was; unprivileged,
    # Linux wants a user namespace with it.
    for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
        if unshare(flags) == 0:
            return None
        error = ctypes.get_errno()
    return f"unshare(2) refused: {os.strerror(error)}"
