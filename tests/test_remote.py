"""`tipkg publish` into a real Oxigraph server (the `oxigraph` binary from PyPI) on a loopback
port: every graph arrives with its count, a second run sends only what changed, credentials are
sent, a 503 is retried, and a store that dies mid-way is reported in one line and resumed.

Requests are observed by a loopback proxy in front of the store, which records each one and can
answer some itself (a 503, a 401) or drop connections (a store that died).
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result

from tipkg import remote
from tipkg.cli import main
from tipkg.dist import QUADS_NAME, STORE_DIR, read_manifest
from tipkg.errors import InputError
from tipkg.query import load_queries

from support import (
    PROJECT_ROOT,
    REPORT_SLUG,
    Oxigraph,
    build_dist,
    copy_project,
    one_line_error,
    start_oxigraph,
)

BASE = "https://w3id.org/tipkg/"
VOID = BASE + "graph/dataset"
RECORD = BASE + "graph/publication"
FAST_RETRIES = ["--publish-retries", "2", "--publish-backoff", "0.01"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Oxigraph]:
    started = start_oxigraph(tmp_path / "oxigraph")
    yield started
    started.kill()


@dataclass
class Proxy:
    """A loopback HTTP proxy in front of a store. ``answers`` are statuses it gives itself, each
    to the next request of its method; ``required_authorization`` is the header it asks for
    (401 otherwise);
    ``before_put(n)`` runs when the n-th PUT of a build graph arrives; when the store is gone,
    the proxy drops the connection without an answer, as a dead server does."""

    upstream: str  # the store's http://127.0.0.1:PORT/
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (method, graph)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (method, status)
    required_authorization: str | None = None
    before_put: Callable[[int], None] = lambda n: None
    graph_puts: int = 0
    url: str = ""

    def sent(self, method: str = "PUT") -> list[str]:
        """The graphs of the build that requests with ``method`` named (the record aside)."""
        return [g for m, g in self.requests if m == method and g is not None and g != RECORD]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        target = urlsplit(request.path)
        graph = parse_qs(target.query).get("graph", [None])[0]
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        self.requests.append((request.command, graph))
        own = next((a for a in self.answers if a[0] == request.command), None)
        if own is not None:
            self.answers.remove(own)
        authorization = request.headers.get("Authorization")
        if self.required_authorization not in (None, authorization):
            own = (request.command, 401)
        if own is not None:
            request.send_response(own[1])
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if request.command == "PUT" and graph != RECORD:
            self.graph_puts += 1
            self.before_put(self.graph_puts)
        upstream = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
        try:
            connection.request(request.command, request.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        except OSError:
            request.close_connection = True
            return
        finally:
            connection.close()
        request.send_response(answer.status)
        for name in ("Content-Type",):
            if answer.getheader(name):
                request.send_header(name, answer.getheader(name))
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)


FORWARDED_HEADERS = {"content-type", "accept"}


@contextmanager
def proxy_to(store: Oxigraph, **options: object) -> Iterator[Proxy]:
    proxy = Proxy(store.url, **options)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            proxy.handle(self)

        do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()


def publish(url: str, dist: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(
        main, ["publish", "--endpoint", url + "store", "--dist", str(dist), *args], env=env
    )


def assert_published(result: Result) -> None:
    assert result.exit_code == 0, (result.stdout, result.stderr)


def build_graphs(dist: Path) -> dict[str, int]:
    """Every graph a publish of ``dist`` must leave in the store, with its count."""
    manifest = read_manifest(dist)
    void = next(f.triples for f in manifest.files if f.name == "void.ttl")
    return {**{g["iri"]: g["triples"] for g in manifest.graphs}, VOID: void or 0}


@pytest.fixture(scope="module")
def changed_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with one Wikidata link fewer and no GeoNames linkset, built."""
    project = copy_project(tmp_path_factory.mktemp("changed") / "project")
    wikidata = project / "data" / "linksets" / "wikidata.ttl"
    lines = wikidata.read_text(encoding="utf-8").splitlines(keepends=True)
    first_link = next(i for i, line in enumerate(lines) if "owl:sameAs" in line)
    wikidata.write_text("".join(lines[:first_link] + lines[first_link + 1 :]), encoding="utf-8")
    (project / "data" / "linksets" / "geonames.ttl").unlink()
    out = project.parent / "dist"
    build_dist(project, out)
    return out


def test_first_publish_holds_every_graph_and_answers_like_the_build(
    store: Oxigraph, dist_dir: Path
) -> None:
    result = publish(store.url, dist_dir)
    assert_published(result)
    expected = build_graphs(dist_dir)
    assert result.stdout.startswith(f"published to {store.url}store: {len(expected)} graphs sent")
    assert result.stderr == ""  # no line per graph when stderr is not a terminal
    counts = store.counts()
    assert {g: counts[g] for g in expected} == expected
    record = store.select(f"SELECT ?g ?d WHERE {{ GRAPH <{RECORD}> {{ ?g ?p ?d }} }}")
    assert {row["g"] for row in record} == {*expected, RECORD}
    assert read_manifest(dist_dir).version in {row["d"] for row in record}

    built = ox.Store.read_only(str(dist_dir / STORE_DIR))
    named = [g for g in expected if g != VOID]
    for query in load_queries(sorted((PROJECT_ROOT / "queries").glob("*.rq"))):
        answer = httpx.post(
            store.url + "query",
            params={"default-graph-uri": named},  # the build's default graph: their merge
            data={"query": query.text},
            headers={"Accept": f"{RESULTS_JSON}, application/n-triples"},
        )
        assert answered(answer.content, answer.headers["content-type"]) == answered(
            *serialised(built.query(query.text))
        ), query.name


RESULTS_JSON = "application/sparql-results+json"


def serialised(answer: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples) -> tuple[bytes, str]:
    if isinstance(answer, ox.QueryTriples):
        return answer.serialize(format=ox.RdfFormat.N_TRIPLES), "application/n-triples"
    return answer.serialize(format=ox.QueryResultsFormat.JSON), RESULTS_JSON


def answered(body: bytes, media_type: str) -> list[str]:
    """An answer as sorted lines (result rows as JSON, or triples), blank node labels blanked:
    each store has its own."""
    if media_type.startswith(RESULTS_JSON):
        rows = json.loads(body).get("results", {}).get("bindings", [])
        return sorted(
            json.dumps(
                {k: {**t, "value": "_"} if t["type"] == "bnode" else t for k, t in row.items()},
                sort_keys=True,
            )
            for row in rows
        ) or [body.decode()]
    triples = ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
    return sorted(str(q.triple) for q in triples)


def test_republishing_an_unchanged_build_sends_nothing(store: Oxigraph, dist_dir: Path) -> None:
    assert_published(publish(store.url, dist_dir))
    with proxy_to(store) as proxy:
        result = publish(proxy.url, dist_dir)
    assert_published(result)
    assert proxy.requests == [("POST", None)]  # the one query that reads the record
    assert f"0 graphs sent, {len(build_graphs(dist_dir))} skipped, 0 deleted" in result.stdout


def test_a_changed_build_sends_what_changed_and_deletes_what_went(
    store: Oxigraph, dist_dir: Path, changed_dist: Path
) -> None:
    assert_published(publish(store.url, dist_dir))
    with proxy_to(store) as proxy:
        result = publish(proxy.url, changed_dist)
    assert_published(result)
    # void.ttl counts every graph and checksums every dump, so it changes with any graph.
    assert sorted(proxy.sent("PUT")) == sorted([BASE + "graph/linkset/wikidata", VOID])
    assert proxy.sent("DELETE") == [BASE + "graph/linkset/geonames"]
    assert proxy.requests[-1] == ("PUT", RECORD)
    assert "2 graphs sent, 4 skipped, 1 deleted" in result.stdout
    changed = build_graphs(changed_dist)
    assert store.counts() == {**changed, RECORD: len(changed) + 1}  # a digest each, the version

    with proxy_to(store) as proxy:
        assert_published(publish(proxy.url, dist_dir))  # and back again
    assert sorted(proxy.sent("PUT")) == sorted(
        [BASE + "graph/linkset/geonames", BASE + "graph/linkset/wikidata", VOID]
    )


@pytest.mark.parametrize(
    ("env", "authorization"),
    [
        (
            {"TIPKG_PUBLISH_USER": "curator", "TIPKG_PUBLISH_PASSWORD": "s3cret"},
            "Basic Y3VyYXRvcjpzM2NyZXQ=",
        ),
        ({"TIPKG_PUBLISH_TOKEN": "t0ken"}, "Bearer t0ken"),
    ],
    ids=["basic", "bearer"],
)
def test_credentials_from_the_environment_are_sent(
    store: Oxigraph, dist_dir: Path, env: dict[str, str], authorization: str
) -> None:
    with proxy_to(store, required_authorization=authorization) as proxy:
        assert_published(publish(proxy.url, dist_dir, env=env))
        assert proxy.sent("PUT")
        proxy.requests.clear()
        refused = publish(proxy.url, dist_dir, *FAST_RETRIES, env={"TIPKG_PUBLISH_TOKEN": "wrong"})
    line = one_line_error(refused, 3)
    assert "HTTP 401" in line
    assert "wrong" not in line
    assert proxy.requests == [("POST", None)]  # a 401 is not retried


def test_a_503_and_a_429_are_retried_with_growing_waits(
    store: Oxigraph, dist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(remote.time, "sleep", lambda s: waits.append(s) or real_sleep(s))
    with proxy_to(store, answers=[("POST", 503), ("PUT", 503), ("PUT", 429)]) as proxy:
        result = publish(proxy.url, dist_dir, "--publish-connections", "1", *FAST_RETRIES)
    assert_published(result)
    first_graph = proxy.sent("PUT")[0]
    assert proxy.sent("PUT")[:3] == [first_graph] * 3
    assert waits == [0.01, 0.01, 0.02]  # the query once; the PUT twice, doubling
    expected = build_graphs(dist_dir)
    assert {g: n for g, n in store.counts().items() if g in expected} == expected


def test_a_store_that_dies_mid_way_is_reported_in_one_line_and_the_next_run_resumes(
    tmp_path: Path, dist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "CHECKPOINT_SECONDS", 0.0)  # the record after every graph
    first = start_oxigraph(tmp_path / "oxigraph")
    second: Oxigraph | None = None
    try:
        with proxy_to(first) as proxy:
            proxy.before_put = lambda n: first.kill() if n == 4 else None
            failed = publish(proxy.url, dist_dir, "--publish-connections", "1", *FAST_RETRIES)
            line = one_line_error(failed, 3)
            published = proxy.sent("PUT")[:3]
            assert "failed at graph/" in line and "Server disconnected" in line, line
            assert (
                f"published 3 graphs ({', '.join(g.removeprefix(BASE) for g in published)})" in line
            )
            assert "not published 4 (" in line and line.endswith("; run again to resume"), line

            second = start_oxigraph(first.location)
            proxy.upstream = second.url
            proxy.requests.clear()
            resumed = publish(proxy.url, dist_dir, *FAST_RETRIES)
        assert_published(resumed)
        resent = proxy.sent("PUT")
        expected = build_graphs(dist_dir)
        assert published[0] not in resent  # the store's record had it before the store died
        assert set(expected) - set(published) <= set(resent)
        assert {g: n for g, n in second.counts().items() if g in expected} == expected
    finally:
        for server in (first, second):
            if server is not None and server.process.poll() is None:
                server.kill()


def test_a_graph_the_store_did_not_keep_fails_the_count_check(
    store: Oxigraph, dist_dir: Path
) -> None:
    with proxy_to(store, answers=[("PUT", 204)]) as proxy:  # the first PUT never reaches it
        line = one_line_error(publish(proxy.url, dist_dir, *FAST_RETRIES), 3)
        swallowed = proxy.sent("PUT")[0]
        name = swallowed.removeprefix(BASE)
        expected = build_graphs(dist_dir)[swallowed]
        assert f"failed at the count check: {name} holds 0 triples in the store, " in line
        assert f"the build has {expected}" in line and f"not published 1 ({name})" in line
        proxy.requests.clear()
        assert_published(publish(proxy.url, dist_dir))
    assert proxy.sent("PUT") == [swallowed]
    assert store.counts()[swallowed] == expected


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[1:] + lines[:1], "holds 421 triples of .* in one run of lines"),
        (lambda lines: lines + lines[:422], "not grouped by graph: .*/document/.*> comes twice"),
    ],
    ids=["split", "repeated"],
)
def test_a_dump_not_grouped_by_graph_is_refused(
    tmp_path: Path, dist_dir: Path, edit: Callable[[list[bytes]], list[bytes]], message: str
) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(dist_dir, copy, ignore=shutil.ignore_patterns(STORE_DIR))
    manifest = read_manifest(copy)
    first = manifest.graphs[0]
    assert (first["iri"], first["triples"]) == (BASE + "graph/document/" + REPORT_SLUG, 422)
    quads = copy / QUADS_NAME
    quads.write_bytes(b"".join(edit(quads.read_bytes().splitlines(keepends=True))))
    with pytest.raises(InputError, match=message):
        list(remote.graphs_of(copy, manifest))
