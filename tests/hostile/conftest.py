"""The hostile suite's servers: ``tipkg serve`` as its own process over a build whose data
holds hostile IRIs (``probes.HOSTILE_QUADS``), with small limits so every bound is reached
quickly (see ``HOSTILE_LIMITS``).

``hostile`` (session scope) is the one most tests share; ``start_hostile`` starts another with
other settings. Every test says what it asserts: the status, a time bound, that a bystander
client was served meanwhile, and that the server's memory stayed bounded.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from hostile.probes import HOSTILE_QUADS, ServerProcess, serve
from support import add_quads_to_build

HOSTILE_LIMITS: dict[str, Any] = {
    # Long enough for a killed worker's successor to start on a busy machine.
    "query_timeout": 5.0,
    "max_rows": 100,
    "max_concurrent_queries": 2,
}


@pytest.fixture(scope="session")
def hostile_dist(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project's build with ``HOSTILE_QUADS`` added."""
    copy = tmp_path_factory.mktemp("hostile") / "dist"
    shutil.copytree(dist_dir, copy)
    add_quads_to_build(copy, HOSTILE_QUADS)
    return copy


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-logs")


@pytest.fixture(scope="session")
def start_hostile(
    hostile_dist: Path, log_dir: Path
) -> Callable[..., AbstractContextManager[ServerProcess]]:
    """Start another server over the hostile build: ``with start_hostile(federation=True):``."""

    def start(dist: Path | None = None, **settings: Any) -> AbstractContextManager[ServerProcess]:
        return serve(dist or hostile_dist, log_dir, **{**HOSTILE_LIMITS, **settings})

    return start


@pytest.fixture(scope="session")
def hostile(
    start_hostile: Callable[..., AbstractContextManager[ServerProcess]],
) -> Iterator[ServerProcess]:
    with start_hostile() as server:
        yield server
