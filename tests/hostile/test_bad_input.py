"""Why 4, "500s with tracebacks": whatever a client sends is answered with a 4xx and one
line, never a 500 and never a traceback in the log; no query kills a worker, a worker killed
from outside costs no one an error, and a flood cannot grow the log without bound."""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tipkg.server.logs import RateLimit

from hostile.probes import MEETING, ServerProcess, raw_exchange, watched

# Paths that are not IRIs once decoded: pyoxigraph refuses to make a NamedNode of them.
NOT_IRIS = ["/id/%3Cx%3E", "/id/a%20b", "/id/%22q%22", "/id/%7Bx%7D", "/id/%5C", "/id/%60x"]


@pytest.mark.parametrize("path", NOT_IRIS)
def test_a_path_that_is_no_iri_is_404_in_one_line(hostile: ServerProcess, path: str) -> None:
    with watched(hostile) as watch:
        as_text = httpx.get(hostile.url.rstrip("/") + path)
        as_page = httpx.get(hostile.url.rstrip("/") + path, headers={"Accept": "text/html"})
    watch.assert_contained(seconds=3)
    assert as_text.status_code == 404
    assert as_text.text.startswith("nothing is known about <") and as_text.text.count("\n") == 1
    assert as_page.status_code == 404 and "<html" in as_page.text
    assert "Traceback" not in hostile.log()


# Malformed parameters, escapes, paths and headers of every kind the server reads, each with the
# status it gets (measured; a 200 where the odd part is ignored, as HTTP says to).
ODD_REQUESTS = [
    ("GET", "/sparql?query=ASK%7B%7D&format=%FF", {}, 400),
    ("GET", "/sparql?query=ASK%7B%7D&format=" + "x" * 1000, {}, 400),
    ("GET", f"/{MEETING}?format=%00", {}, 400),
    ("GET", "/download/..%2F..%2Fetc%2Fpasswd", {}, 404),
    ("GET", "/download/%00", {}, 404),
    ("GET", "/static/..%2F..%2Fsettings.py", {}, 404),
    ("GET", "/%FF", {}, 404),
    ("GET", "/graph/%2e%2e", {}, 404),
    ("PUT", "/sparql", {}, 405),
    ("DELETE", "/", {}, 405),
    ("GET", "/sparql?query=ASK%7B%7D&named-graph-uri=%20", {}, 400),
    ("GET", "/sparql?query=ASK%7B%7D%20%23%5CuD800", {}, 400),
    ("GET", "/sparql?query=ASK%7B%7D%20%23%5CU00110000", {}, 400),
    ("GET", "/sparql?query=SELECT%20*%20%7B%7D%20LIMIT%2099999999999999999999", {}, 400),
    (
        "GET",
        "/sparql?query=SELECT%20*%20%7B%20BIND(%3Cnot%20an%20iri%3E%20AS%20%3Fx)%20%7D",
        {},
        400,
    ),
    ("GET", "/sparql?query=ASK%7B%7D", {"Accept": "*/*;q=2"}, 400),
    ("GET", "/.well-known/void?format=zz", {}, 406),
    ("GET", f"/{MEETING}.html", {"If-Modified-Since": "garbage", "If-None-Match": '""""'}, 200),
    ("OPTIONS", "/sparql", {"Origin": "http://x", "Access-Control-Request-Method": "PUT"}, 400),
]


@pytest.mark.parametrize(("method", "path", "headers", "status"), ODD_REQUESTS)
def test_each_odd_request_gets_its_status_and_one_line(
    hostile: ServerProcess, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    answer = httpx.request(method, hostile.url.rstrip("/") + path, headers=headers)
    assert answer.status_code == status, answer.text
    if status != 200:  # an error says why in one line
        assert answer.text.count("\n") <= 1 and answer.text.strip(), answer.text
    assert "Traceback" not in hostile.log()


def nested(kind: str, room: int) -> str:
    """A query nested as deep as ``room`` bytes allow, in one of the ways that killed a worker
    (its parser recursed past the end of an 8 MB stack)."""
    shapes = {
        "parentheses": ("SELECT (", "(", "1", ")", " AS ?x) {}"),
        "braces": ("SELECT * WHERE ", "{", "", "}", ""),
        "function calls": ("SELECT (", "STR(", "1", ")", " AS ?x) {}"),
        "EXISTS": ("SELECT * WHERE { ", "FILTER EXISTS {", "", "}", " }"),
        "negations": ("SELECT * WHERE { FILTER(", "!", "true", "", ") }"),
    }
    head, open_, middle, close, tail = shapes[kind]
    depth = (room - len(head) - len(middle) - len(tail)) // (len(open_) + len(close))
    return head + open_ * depth + middle + close * depth + tail


NESTINGS = ["parentheses", "braces", "function calls", "EXISTS", "negations"]


@pytest.mark.parametrize("kind", NESTINGS)
def test_the_deepest_nesting_a_query_can_have_kills_no_worker(
    hostile: ServerProcess, kind: str
) -> None:
    query = nested(kind, 20_000)  # max_query_bytes, the default
    assert len(query) <= 20_000
    workers = hostile.workers()
    with watched(hostile) as watch:
        answer = httpx.post(hostile.sparql, data={"query": query}, timeout=30)
    watch.assert_contained(seconds=5)
    assert answer.status_code == 200, answer.text  # evaluated, on a stack sized for it
    assert hostile.workers() == workers  # none died, none was replaced


def test_many_clients_sending_deep_nesting_slow_no_one_else(hostile: ServerProcess) -> None:
    queries = [nested(NESTINGS[n % len(NESTINGS)], 20_000) for n in range(32)]
    workers = hostile.workers()
    with watched(hostile) as watch, ThreadPoolExecutor(32) as clients:
        answers = list(
            clients.map(
                lambda q: httpx.post(hostile.sparql, data={"query": q}, timeout=60), queries
            )
        )
    watch.assert_contained(seconds=30)
    for answer in answers:
        # Two workers for 32 heavy queries: on a busy machine some may wait past query_timeout
        # and be told so; none may find its worker dead.
        busy = answer.status_code == 503 and answer.text.startswith("all 2 query workers")
        assert answer.status_code == 200 or busy, answer.text
    assert hostile.workers() == workers


def fresh_ask() -> str:
    return f"ASK {{ ?s ?p ?o }} # {uuid.uuid4()}"


def test_idle_workers_killed_from_outside_are_replaced_before_they_take_a_query(
    hostile: ServerProcess,
) -> None:
    for pid in hostile.workers():
        os.kill(pid, signal.SIGKILL)
    with watched(hostile) as watch:
        answers = [httpx.get(hostile.sparql, params={"query": fresh_ask()}) for _ in range(4)]
    watch.assert_contained(seconds=20)
    assert [answer.status_code for answer in answers] == [200] * 4, [a.text for a in answers]


def test_a_worker_crashing_under_a_query_is_a_503_for_that_query_only(
    hostile: ServerProcess,
) -> None:
    """SIGABRT is how a worker dies when pyoxigraph overflows its stack or panics."""
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } # " + str(uuid.uuid4())
    with ThreadPoolExecutor(1) as background:
        pending = background.submit(httpx.get, hostile.sparql, params={"query": slow}, timeout=30)
        time.sleep(0.5)  # it reached a worker
        for pid in hostile.workers():
            os.kill(pid, signal.SIGABRT)
        answer = pending.result()
    assert answer.status_code == 503
    assert answer.text.startswith("the query worker stopped while evaluating this query")
    others = [httpx.get(hostile.sparql, params={"query": fresh_ask()}) for _ in range(4)]
    assert [other.status_code for other in others] == [200] * 4


def test_a_flood_of_malformed_requests_leaves_a_bounded_log(hostile: ServerProcess) -> None:
    """uvicorn warns about each malformed request; the server logs the first few per minute."""
    before = hostile.log_bytes()
    with watched(hostile) as watch, httpx.Client(base_url=hostile.url) as client:
        for _ in range(1_000):
            raw_exchange(hostile.port, [b"NOT HTTP AT ALL\r\n\r\n"], timeout=5)
        for path in NOT_IRIS * 100:
            assert client.get(path).status_code == 404
    watch.assert_contained(seconds=30)
    assert hostile.log_bytes() - before < 4_000, hostile.log()[-4_000:]
    assert "Traceback" not in hostile.log()


def test_the_log_limit_passes_a_burst_then_counts_what_it_left_out() -> None:
    limit = RateLimit(burst=2, window=0.2)
    records = [logging.makeLogRecord({"name": "x", "msg": "bad request"}) for _ in range(5)]
    assert [limit.filter(record) for record in records] == [True, True, False, False, False]
    time.sleep(0.25)
    later = logging.makeLogRecord({"name": "x", "msg": "bad request"})
    assert limit.filter(later)
    assert later.getMessage() == "bad request [3 more like this were not logged]"
