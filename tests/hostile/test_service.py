"""Why 1, "SERVICE runs with federation off": no spelling of a SERVICE call reaches anything.

``service_spellings.json`` holds the spellings (comments ended by CR, CRLF, U+2028; escapes
in keywords and IRIs; SILENT; variables; nested in subqueries, EXISTS, OPTIONAL, FILTER;
prefixed and relative IRIs). Each is aimed at a loopback listener that must receive nothing.
Each wall is tested alone — the query check in this process, a worker with no network without
the check — and then together through the real server, with federation off and on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tipkg.server.errors import HttpError
from tipkg.server.evaluation import SERVICE_FAILED
from tipkg.server.federation import federation_refusal
from tipkg.server.querytext import QueryText
from tipkg.settings import Settings
from tipkg.vocab import Iris

from hostile.probes import Listener, ServerProcess, free_port, watched

DIRECT = {"Content-Type": "application/sparql-query"}
CORPUS = json.loads((Path(__file__).parent / "service_spellings.json").read_text())["cases"]


def spelled(query: str, listener: Listener) -> str:
    return query.replace("@ENDPOINT@", listener.url).replace("@PORT@", str(listener.port))


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


def test_the_check_alone_refuses_every_spelling(listener: Listener) -> None:
    """The first wall: read as the engine will read it, each query is refused by the check."""
    settings = Settings.load(environ={})
    for case in CORPUS:
        query = spelled(case["query"], listener)
        try:
            refusal = federation_refusal(QueryText(query, "http://127.0.0.1:9/", {}), settings)
        except HttpError as error:
            refusal = error.message
        assert refusal is not None, case["name"]
        # Refused as a SERVICE call, or as a text the check cannot read (so cannot vouch for).
        assert refusal == "SERVICE is disabled on this server (federation is off)" or (
            refusal.startswith(("cannot check this query's SERVICE calls: ", "the escape "))
            or refusal == "the query's \\u escapes decode into further escapes"
        ), (case["name"], refusal)


def refusal_for(query: str, server: ServerProcess, settings: Settings) -> str:
    """What ``server`` must answer ``query`` with: the check's own words, as the server makes
    them (its base IRI and prefixes, its settings)."""
    prefixes = {name: str(namespace) for name, namespace in Iris(server.base).prefixes().items()}
    try:
        refusal = federation_refusal(QueryText(query, server.base, prefixes), settings)
    except HttpError as error:
        return error.message
    assert refusal is not None, query
    return refusal


def assert_refused(answer: httpx.Response, refusal: str, name: str) -> None:
    """A 400 with the check's own words (Python's message for a too-deep parse depends on
    where the stack ran out, so that one is compared up to its fixed part)."""
    assert answer.status_code == 400, (name, answer.text)
    deep = "maximum recursion depth exceeded"
    if deep in refusal:
        assert answer.text.startswith(refusal[: refusal.index(deep) + len(deep)]), name
    else:
        assert answer.text == refusal + "\n", name


ENGINE_ALONE = """
import json, sys
import pyoxigraph as ox
from tipkg.server.isolation import isolate_network
if sys.argv[1] == "offline":
    assert isolate_network() is None
store = ox.Store()
for query in json.loads(sys.stdin.read()):
    try:
        result = store.query(query, base_iri="http://127.0.0.1:9/", use_default_graph_as_union=True)
        list(result) if not isinstance(result, ox.QueryBoolean) else bool(result)
    except Exception:
        pass
"""


def test_a_worker_with_no_network_reaches_nothing_even_without_the_check(
    listener: Listener,
) -> None:
    """The second wall: pyoxigraph runs every spelling as sent, unchecked, in a process that
    left the network the way query workers do. The same run with the network reaches the
    listener, so the listener would have seen a call."""
    queries = json.dumps([spelled(case["query"], listener) for case in CORPUS])
    for mode, expect_calls in (("offline", False), ("online", True)):
        subprocess.run(
            [sys.executable, "-c", ENGINE_ALONE, mode], input=queries, text=True, check=True
        )
        time.sleep(0.2)
        assert bool(listener.received) is expect_calls, (mode, listener.received[:3])


def test_no_spelling_reaches_a_listener_through_the_server(
    hostile: ServerProcess, listener: Listener
) -> None:
    """Every spelling by GET; those hiding the call behind a comment also by both POSTs."""
    with watched(hostile) as watch, httpx.Client(timeout=30) as client:
        for case in CORPUS:
            query = spelled(case["query"], listener)
            answers = [client.get(hostile.sparql, params={"query": query})]
            if "comment" in case["name"]:
                answers.append(client.post(hostile.sparql, data={"query": query}))
                answers.append(client.post(hostile.sparql, content=query.encode(), headers=DIRECT))
            refusal = refusal_for(query, hostile, Settings.load(environ={}))
            for answer in answers:
                assert_refused(answer, refusal, case["name"])
    time.sleep(0.2)
    assert listener.received == []
    watch.assert_contained(seconds=30)
    assert "keep network access" not in hostile.log()  # the workers really are offline


@pytest.fixture(scope="module")
def remote_ends() -> Iterator[dict[str, str]]:
    """Endpoints a federating server may call, each failing in its own way: an HTTP 500
    with a body that must not be relayed, an open port that answers nothing, an answer that
    is not HTTP, and a closed port."""
    listeners = {
        "error with a body": Listener(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 24\r\nConnection: close\r\n\r\nSECRET-REMOTE-BODY-4242\n"
        ),
        "open, silent": Listener(),
        "not HTTP": Listener(b"SSH-2.0-OpenSSH_9.2\r\n"),
    }
    endpoints = {name: listening.url for name, listening in listeners.items()}
    endpoints["closed port"] = f"http://127.0.0.1:{free_port()}/sparql"
    yield endpoints
    for listening in listeners.values():
        listening.close()


@pytest.fixture(scope="module")
def federating(
    start_hostile: Callable[..., AbstractContextManager[ServerProcess]],
    remote_ends: dict[str, str],
) -> Iterator[ServerProcess]:
    with start_hostile(federation=True, federation_allow=",".join(remote_ends.values())) as fed:
        yield fed


def test_with_federation_on_the_allow_list_holds_against_every_spelling(
    federating: ServerProcess, listener: Listener, remote_ends: dict[str, str]
) -> None:
    allowed = ",".join(remote_ends.values())
    settings = Settings.load({"federation": True, "federation_allow": allowed}, environ={})
    with watched(federating) as watch, httpx.Client(timeout=30) as client:
        for case in CORPUS:
            query = spelled(case["query"], listener)
            answer = client.get(federating.sparql, params={"query": query})
            assert_refused(answer, refusal_for(query, federating, settings), case["name"])
    time.sleep(0.2)
    assert listener.received == []
    watch.assert_contained(seconds=30)


def test_a_failed_service_call_reads_the_same_whatever_the_remote_did(
    federating: ServerProcess, remote_ends: dict[str, str]
) -> None:
    """No remote status or body is relayed, and a closed port reads like an open one."""
    answers = {
        name: httpx.get(
            federating.sparql,
            params={"query": f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}"},
        )
        for name, endpoint in remote_ends.items()
    }
    for name, answer in answers.items():
        assert (answer.status_code, answer.text) == (502, SERVICE_FAILED + "\n"), name
    assert "SECRET-REMOTE-BODY" not in federating.log()
