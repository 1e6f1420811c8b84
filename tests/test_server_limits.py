"""Every limit of the SPARQL endpoint, each hit by a real request against a real server.

The session server runs with ``SERVER_LIMITS`` (2 s timeout, 100 rows, 5,000-byte queries,
8,000-byte bodies, 2 workers); tests that need other limits start their own server.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from conftest import RunningServer

from tipkg.server.protocol import TRUNCATED_HEADER

# A cross join of every triple with every triple with every triple: about 1.8e9 rows here.
CUBED = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SIMPLE = "SELECT ?meeting WHERE { ?meeting a tip:Meeting }"


def fresh(query: str) -> str:
    """The query with a unique comment, so the server's result cache cannot answer it."""
    return f"# {uuid.uuid4()}\n{query}"


def worker_pids() -> set[int]:
    """Query workers are children of this process, since the test server runs in a thread."""
    return {p.pid for p in multiprocessing.active_children() if p.name == "tipkg-query-worker"}


def timed_get(url: str, query: str, outcome: dict[str, Any]) -> None:
    started = time.monotonic()
    answer = httpx.get(url, params={"query": query}, timeout=60)
    outcome.update(
        status=answer.status_code,
        text=answer.text,
        headers=answer.headers,
        elapsed=time.monotonic() - started,
        ended=time.monotonic(),
    )


# ------------------------------------------------------------------ query_timeout


def test_slow_query_is_stopped_while_other_clients_are_answered(server: RunningServer) -> None:
    timeout = server.settings.query_timeout
    before = worker_pids()
    slow: dict[str, Any] = {}
    thread = threading.Thread(target=timed_get, args=(server.sparql, fresh(CUBED), slow))
    thread.start()
    time.sleep(0.3)  # let the slow query reach its worker
    latencies = []
    with httpx.Client(timeout=30) as client:
        while thread.is_alive():
            started = time.monotonic()
            answer = client.get(server.sparql, params={"query": fresh(SIMPLE)})
            latencies.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
            time.sleep(0.05)
    thread.join()

    assert slow["status"] == 503
    assert f"query stopped: it ran longer than {timeout:g} s (query_timeout)" in slow["text"]
    assert timeout <= slow["elapsed"] < timeout + 3
    assert len(latencies) >= 10
    assert max(latencies) < 1.0, latencies  # a behaviour check with a generous bound

    # The worker that ran it is gone (killed, not merely abandoned) and has a successor.
    stopped = before - worker_pids()
    assert len(stopped) == 1
    deadline = time.monotonic() + 30
    while len(worker_pids()) < server.settings.max_concurrent_queries:
        assert time.monotonic() < deadline, "no replacement worker started"
        time.sleep(0.1)
    answers = [httpx.get(server.sparql, params={"query": fresh(SIMPLE)}) for _ in range(4)]
    assert all(answer.status_code == 200 for answer in answers)


def test_queries_beyond_max_concurrent_queries_wait_their_turn(
    start_server: Callable[..., AbstractContextManager[RunningServer]],
) -> None:
    """With one worker, two slow queries sent together cannot both run: one runs until it is
    stopped, the other waits for the worker until its own time is up and is told so."""
    with start_server(max_concurrent_queries=1, query_timeout=1.5) as one_worker:
        outcomes: list[dict[str, Any]] = [{}, {}]
        threads = [
            threading.Thread(target=timed_get, args=(one_worker.sparql, fresh(CUBED), outcome))
            for outcome in outcomes
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [o["status"] for o in outcomes] == [503, 503]
    messages = sorted(o["text"] for o in outcomes)
    assert messages[0].startswith("all 1 query workers stayed busy for 1.5 s")
    assert messages[1].startswith("query stopped: it ran longer than 1.5 s")
    busy = next(o for o in outcomes if o["text"].startswith("all 1"))
    assert busy["headers"]["retry-after"] == "1"


# ------------------------------------------------------------------ max_rows


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_rows_are_cut_at_max_rows_and_the_cut_is_signalled(server: RunningServer, fmt: str) -> None:
    max_rows = server.settings.max_rows
    answer = httpx.get(server.sparql, params={"query": "SELECT * { ?s ?p ?o }", "format": fmt})
    assert answer.status_code == 200
    assert answer.headers[TRUNCATED_HEADER] == "true"
    if fmt == "csv":
        assert len(list(csv.reader(io.StringIO(answer.text, newline="")))) == max_rows + 1
    else:
        formats = {
            "json": ox.QueryResultsFormat.JSON,
            "xml": ox.QueryResultsFormat.XML,
            "tsv": ox.QueryResultsFormat.TSV,
        }
        assert len(list(ox.parse_query_results(answer.content, format=formats[fmt]))) == max_rows


def test_exactly_max_rows_is_not_a_cut(server: RunningServer) -> None:
    query = f"SELECT * {{ ?s ?p ?o }} LIMIT {server.settings.max_rows}"
    answer = httpx.get(server.sparql, params={"query": query})
    assert len(answer.json()["results"]["bindings"]) == server.settings.max_rows
    assert TRUNCATED_HEADER not in answer.headers


def test_construct_is_cut_at_max_rows_triples(server: RunningServer) -> None:
    answer = httpx.get(
        server.sparql, params={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"}
    )
    assert answer.headers[TRUNCATED_HEADER] == "true"
    triples = list(ox.parse(answer.content, format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == server.settings.max_rows


def test_truncation_header_is_readable_by_browser_scripts(server: RunningServer) -> None:
    answer = httpx.get(
        server.sparql,
        params={"query": "SELECT * { ?s ?p ?o }"},
        headers={"Origin": "http://example.org"},
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert TRUNCATED_HEADER.lower() in exposed


# ------------------------------------------------------------------ max_query_bytes, max_body_bytes


def padded_query(size: int) -> str:
    """An ASK query of exactly ``size`` bytes (padded with a comment)."""
    tail = "\nASK {}"
    return "#" + "x" * (size - 1 - len(tail)) + tail


def test_query_over_max_query_bytes_is_413(server: RunningServer) -> None:
    limit = server.settings.max_query_bytes
    assert httpx.get(server.sparql, params={"query": padded_query(limit)}).status_code == 200
    for answer in (
        httpx.get(server.sparql, params={"query": padded_query(limit + 1)}),
        httpx.post(
            server.sparql,
            content=padded_query(limit + 1).encode(),
            headers={"Content-Type": "application/sparql-query"},
        ),
    ):
        assert answer.status_code == 413
        assert f"larger than {limit} bytes (max_query_bytes)" in answer.text


def test_body_over_max_body_bytes_is_413(server: RunningServer) -> None:
    limit = server.settings.max_body_bytes
    oversized = padded_query(limit + 1).encode()
    declared = httpx.post(
        server.sparql, content=oversized, headers={"Content-Type": "application/sparql-query"}
    )
    streamed = httpx.post(
        server.sparql,
        content=iter([oversized[: limit // 2], oversized[limit // 2 :]]),  # chunked, no length
        headers={"Content-Type": "application/sparql-query"},
    )
    elsewhere = httpx.post(server.url + "download/SHA256SUMS", content=oversized)
    for answer in (declared, streamed, elsewhere):
        assert answer.status_code == 413
        assert f"larger than {limit} bytes (max_body_bytes)" in answer.text


# ------------------------------------------------------------------ federation


def test_service_is_refused_when_federation_is_off(server: RunningServer) -> None:
    query = f"SELECT * WHERE {{ SERVICE <{server.sparql}> {{ ?s ?p ?o }} }} LIMIT 1"
    answer = httpx.get(server.sparql, params={"query": query})
    assert answer.status_code == 400
    assert answer.text == "SERVICE is disabled on this server (federation is off)\n"
    # Spelling the keyword with an escape does not get around the check.
    escaped = query.replace("SERVICE", "\\u0053ERVICE")
    assert httpx.get(server.sparql, params={"query": escaped}).status_code == 400


def test_the_word_service_elsewhere_is_not_a_service_call(server: RunningServer) -> None:
    query = 'SELECT ?x WHERE { BIND("customer service" AS ?x) } # not a SERVICE call'
    answer = httpx.get(server.sparql, params={"query": query})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["bindings"] == [
        {"x": {"type": "literal", "value": "customer service"}}
    ]


def test_service_reaches_only_allowed_endpoints(
    server: RunningServer, start_server: Callable[..., AbstractContextManager[RunningServer]]
) -> None:
    port = server.url.rsplit(":", 1)[1].strip("/")
    by_name = f"http://localhost:{port}/sparql"
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    with start_server(federation=True, federation_allow=f"{server.sparql},{by_name}") as fed:
        remote = f"SELECT ?n WHERE {{ SERVICE <{server.sparql}> {{ {count} }} }}"
        answer = httpx.get(fed.sparql, params={"query": remote})
        assert answer.status_code == 200, answer.text
        direct = httpx.get(server.sparql, params={"query": count})
        assert answer.json()["results"]["bindings"] == direct.json()["results"]["bindings"]

        refusals = {
            "http://127.0.0.1:9999/sparql": "SERVICE <http://127.0.0.1:9999/sparql> is not in "
            "the allowed endpoints (federation_allow)",
            by_name: f"SERVICE <{by_name}>: localhost resolves to the non-public address 127.0.0.1",
        }
        for endpoint, message in refusals.items():
            query = f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}"
            answer = httpx.get(fed.sparql, params={"query": query})
            assert answer.status_code == 400
            assert answer.text.startswith(message), answer.text
        answer = httpx.get(
            fed.sparql, params={"query": "SELECT * WHERE { SERVICE ?where { ?s ?p ?o } }"}
        )
        assert answer.status_code == 400
        assert "variable endpoint" in answer.text


def test_result_cache_is_bounded_and_can_be_turned_off() -> None:
    from tipkg.server.querypool import CACHE_ENTRY_OVERHEAD, ResultCache

    cache = ResultCache(max_bytes=2 * CACHE_ENTRY_OVERHEAD + 10)  # two entries of 5 bytes
    cache.put("a", "first", 6)
    cache.put("b", "second", 6)  # over the bound: the least recently used answer goes
    assert cache.get("a") is None and cache.get("b") == "second"
    cache.put("huge", "x", 2 * CACHE_ENTRY_OVERHEAD + 11)  # larger than the cache: never kept
    assert cache.get("huge") is None
    off = ResultCache(max_bytes=0)
    off.put("a", "first", 1)
    assert off.get("a") is None
