"""Why 5, "Wrong answers": the dataset a query names is the one it gets (FROM and FROM NAMED,
overridden by the protocol's graph URIs), an empty query is a 400, and text that is not UTF-8
is a 400 by every transport instead of being silently replaced."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
import pyoxigraph
import pytest

from hostile.probes import ServerProcess, raw_exchange, watched

COUNT_ONTOLOGY = "SELECT (COUNT(*) AS ?n) FROM <{g}ontology> WHERE {{ ?s ?p ?o }}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


def graph_triples(server: ServerProcess, kind: str) -> int:
    """The triples the server was given in one graph (the hostile build adds quads that no
    build would publish, so the manifest's counts of graphs do not hold)."""
    manifest = json.loads((server.dist_dir / "manifest.json").read_text())
    if kind == "dataset":  # the description: void.ttl, a file of the manifest
        return next(f["triples"] for f in manifest["files"] if f["name"] == "void.ttl")
    graph = pyoxigraph.NamedNode(manifest["base_iri"] + "graph/" + kind)
    quads = pyoxigraph.parse(path=server.dist_dir / "tipkg.nq", format=pyoxigraph.RdfFormat.N_QUADS)
    return sum(1 for quad in quads if quad.graph_name == graph)


def count(answer: httpx.Response) -> int:
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def test_from_is_honoured_and_the_protocol_overrides_it(hostile: ServerProcess) -> None:
    graphs = hostile.base + "graph/"
    query = COUNT_ONTOLOGY.format(g=graphs)
    with watched(hostile) as watch:
        by_from = httpx.get(hostile.sparql, params={"query": query})
        overridden = httpx.get(
            hostile.sparql, params={"query": query, "default-graph-uri": graphs + "shared"}
        )
    watch.assert_contained(seconds=3)
    assert count(by_from) == graph_triples(hostile, "ontology")  # not the whole union
    assert count(overridden) == graph_triples(hostile, "shared")


def test_from_named_gives_named_graphs_and_an_empty_default_graph(
    hostile: ServerProcess,
) -> None:
    graphs = hostile.base + "graph/"
    named = (
        f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{graphs}ontology> "
        "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    )
    rows = httpx.get(hostile.sparql, params={"query": named}).json()["results"]["bindings"]
    assert [(row["g"]["value"], int(row["n"]["value"])) for row in rows] == [
        (graphs + "ontology", graph_triples(hostile, "ontology"))
    ]
    empty_default = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{graphs}ontology> WHERE {{ ?s ?p ?o }}"
    assert count(httpx.get(hostile.sparql, params={"query": empty_default})) == 0


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?s prov:wasDerivedFrom ?from }",
        'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER(?o != "from") }',
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o } # FROM <nowhere>",
    ],
)
def test_the_word_from_elsewhere_keeps_the_union(hostile: ServerProcess, query: str) -> None:
    union = query.replace("FROM", "").replace("from", "x")
    expected = count(httpx.get(hostile.sparql, params={"query": union}))
    assert expected > 0
    assert count(httpx.get(hostile.sparql, params={"query": query})) == expected


def test_an_empty_query_is_400_by_every_transport(hostile: ServerProcess) -> None:
    with watched(hostile) as watch:
        answers = [
            httpx.get(hostile.sparql, params={"query": ""}),
            httpx.get(hostile.sparql, params={"query": "  \n"}),
            httpx.post(hostile.sparql, data={"query": ""}),
            httpx.post(hostile.sparql, content=b"", headers=DIRECT),
        ]
    watch.assert_contained(seconds=3)
    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.text == "the query is empty\n"


def test_text_that_is_not_utf8_is_400_by_every_transport(hostile: ServerProcess) -> None:
    query = quote("SELECT ?t WHERE { BIND('") + "%FF" + quote("' AS ?t) }")
    raw_url = b"/sparql?query=ASK%7B%7D%20%23\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with watched(hostile) as watch:
        by_get = httpx.get(f"{hostile.sparql}?query={query}")
        raw_status, raw_answer = raw_exchange(hostile.port, [b"GET " + raw_url])
        by_form = httpx.post(hostile.sparql, content=f"query={query}".encode(), headers=FORM)
        by_body = httpx.post(hostile.sparql, content=b"ASK {} # \xff", headers=DIRECT)
    watch.assert_contained(seconds=3)
    assert (by_get.status_code, by_get.text) == (400, "the query string is not valid UTF-8\n")
    assert raw_status == 400, raw_answer
    assert (by_form.status_code, by_form.text) == (400, "the form body is not valid UTF-8\n")
    assert (by_body.status_code, by_body.text) == (400, "the request body is not valid UTF-8\n")


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize("value", ["not an iri", "relative/path", "<x>", ""])
def test_a_graph_uri_that_is_not_an_iri_is_400(
    hostile: ServerProcess, parameter: str, value: str
) -> None:
    answer = httpx.get(hostile.sparql, params={"query": "ASK {}", parameter: value})
    assert answer.status_code == 400
    assert answer.text == f"{parameter} {value!r} is not an absolute IRI\n"
