"""Shared fixtures: a real build of the project, the app driven in-process, and the real server
running on a loopback port.

``site`` (session scope) is the app driven in this process through Starlette's ``TestClient``
(its lifespan run, so the query workers start), for tests of what the app answers: pages,
downloads, descriptions. ``server`` (session scope) is the same app under uvicorn on a free
127.0.0.1 port, for tests about the real server: clients that need a socket, timeouts, limits,
reloading. A server answers under the base IRI its build was made with, so each serves a build
of the project made for its own URL (once per session), and every minted IRI dereferences from
it; both have small limits so tests can hit them quickly (see ``SERVER_LIMITS``).
``start_server`` starts another real one with other settings, on a port of its own kept for the
session, with its own build.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from tipkg.settings import Settings

from support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PROJECT_ROOT,
    build_dist,
    chromium_missing,
    copy_project,
    report_dir,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SERVER_LIMITS: dict[str, Any] = {
    "query_timeout": 2.0,
    "max_rows": 100,
    "max_query_bytes": 5_000,
    "max_body_bytes": 8_000,
    "max_concurrent_queries": 2,
}
START_SECONDS = 60.0
# Where the in-process app believes it is served (no socket is opened for it).
IN_PROCESS_URL = "http://tipkg.test/"


@dataclass(frozen=True)
class RunningServer:
    """A server under test: where it answers and what it serves."""

    url: str  # "http://127.0.0.1:PORT/", also the served base IRI
    dist_dir: Path
    settings: Settings

    @property
    def sparql(self) -> str:
        return self.url + "sparql"


@dataclass(frozen=True)
class InProcessSite:
    """The app driven in this process: ``client`` sends requests to it without a socket."""

    url: str  # also the served base IRI
    dist_dir: Path
    settings: Settings
    client: TestClient

    @property
    def sparql(self) -> str:
        return self.url + "sparql"


@pytest.fixture(scope="session")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built and published once per test session (under its canonical base IRI)."""
    out = tmp_path_factory.mktemp("server") / "dist"
    build_dist(PROJECT_ROOT, out)
    return out


def built_for(url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built with ``url`` as its base IRI: what a server at ``url`` serves."""
    out = tmp_path_factory.mktemp("served") / "dist"
    build_dist(PROJECT_ROOT, out, base_iri=url)
    return out


def loopback_listener() -> tuple[socket.socket, str]:
    """A socket bound to a free 127.0.0.1 port, and the URL it makes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/"


@contextmanager
def running_server(
    dist_dir: Path, listener: socket.socket | None = None, **overrides: Any
) -> Iterator[RunningServer]:
    """The app under uvicorn in a background thread for the block, on ``listener`` (bound,
    and left open: uvicorn is given a duplicate) or else a free loopback port. The build's base
    IRI must be the server's URL for the IRIs in it to dereference here; unless ``overrides``
    says otherwise, the server is told that URL as its base, as `tipkg serve` would be."""
    from tipkg.server.app import create_app, uvicorn_config

    if listener is None:
        listener, url = loopback_listener()
        owned = listener
    else:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        owned = None
    settings = Settings.load(
        {"host": "127.0.0.1", "port": listener.getsockname()[1], "base_iri": url, **overrides},
        environ={},
    )
    app = create_app(settings, dist_dir)
    server = uvicorn.Server(uvicorn_config(app, settings, "warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener.dup()]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    # It answers once one query worker is up; the tests count on all of them.
    while not (server.started and app.state.query_pool.full):
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on {url} did not start")
        time.sleep(0.05)
    try:
        yield RunningServer(url, dist_dir, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if owned is not None:
            owned.close()


@contextmanager
def in_process(dist_dir: Path, **overrides: Any) -> Iterator[InProcessSite]:
    """The app over ``dist_dir`` with its lifespan running, driven through a ``TestClient``
    that believes it is at ``IN_PROCESS_URL`` (so ``dist_dir`` should be built for it)."""
    from tipkg.server.app import create_app

    settings = Settings.load({"base_iri": IN_PROCESS_URL, **overrides}, environ={})
    app = create_app(settings, dist_dir)
    with TestClient(app, base_url=IN_PROCESS_URL.rstrip("/"), follow_redirects=False) as client:
        deadline = time.monotonic() + START_SECONDS
        while not app.state.query_pool.full:  # the query workers start after the app answers
            if time.monotonic() > deadline:
                raise RuntimeError("the in-process app's query workers did not start")
            time.sleep(0.05)
        yield InProcessSite(IN_PROCESS_URL, dist_dir, settings, client)


@pytest.fixture(scope="session")
def site_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built for ``IN_PROCESS_URL``, once per session."""
    return built_for(IN_PROCESS_URL, tmp_path_factory)


@pytest.fixture(scope="session")
def site(site_dist: Path) -> Iterator[InProcessSite]:
    """The app most page tests talk to, in-process, with the limits of ``SERVER_LIMITS``."""
    with in_process(site_dist, **SERVER_LIMITS) as driven:
        yield driven


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The server most tests talk to, with the small limits of ``SERVER_LIMITS``, over a build
    made for its URL."""
    listener, url = loopback_listener()
    with listener:
        dist = built_for(url, tmp_path_factory)
        with running_server(dist, listener, **SERVER_LIMITS) as running:
            yield running


@pytest.fixture(scope="session")
def start_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., AbstractContextManager[RunningServer]]]:
    """Start another server: ``with start_server(federation=True) as s:``. Each runs on one
    port kept for the session, over a build made for it once, so one runs at a time."""
    listener, url = loopback_listener()
    with listener:
        dist = built_for(url, tmp_path_factory)

        def start(**overrides: Any) -> AbstractContextManager[RunningServer]:
            return running_server(dist, listener, **{**SERVER_LIMITS, **overrides})

        yield start


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium through Playwright, one per test module; without it, one line saying
    what to install (never a skip)."""
    from playwright.sync_api import sync_playwright

    missing = chromium_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


# Markup that must reach a reader as text, never as markup.
MARKUP = """<script>alert(1)</script>"><img src=x onerror=alert(2)></script><!--&amp;"""


@pytest.fixture(scope="session")
def edited_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessSite]:
    """The app over a build whose meeting name and editorial note carry markup, and whose
    meeting has a blank node (the curated data has none): built once, for the page tests and
    the search tests."""
    project = copy_project(tmp_path_factory.mktemp("edited") / "project")
    facts = report_dir(project) / "facts.ttl"
    escaped = MARKUP.replace("\\", "\\\\").replace('"', '\\"')
    text = facts.read_text(encoding="utf-8")
    meeting = "event:tipcom-2021 a tip:Meeting ;"
    name = "First annual regional Trafficking In Persons Committee Meeting (TIPCOM)"
    edits = {
        f'schema:name "{name}"@en': f'schema:name "{escaped}"@en',
        'skos:editorialNote "The report gives no attendance mode': (
            f'skos:editorialNote "{escaped}"@en , "The report gives no attendance mode'
        ),
        meeting: meeting + '\n    schema:location [ schema:name "A nested place"@en ;'
        ' schema:address [ schema:addressCountry "BS" ] ] ;',
    }
    for old, new in edits.items():
        assert text.count(old) == 1, f"facts.ttl changed: cannot find {old!r}"
        text = text.replace(old, new)
    facts.write_text(text, encoding="utf-8")
    dist = project / "dist"
    build_dist(project, dist, base_iri=IN_PROCESS_URL)
    with in_process(dist) as driven:
        yield driven
