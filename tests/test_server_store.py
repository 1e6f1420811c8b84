"""The server answers from the store the build leaves in dist/: opened read-only by the server and
its query workers (no dump is loaded), its default graph the RDF merge of the named graphs (a set,
so two reports stating one triple give one row), every count of the build the same wherever it is
stated, and a rebuild swapped in while serving without a failed request.

The project here has two reports that share triples: the real one, and the same account under a
second slug (its document, sentences and text are its own; its statements about the meetings,
states and organisations are the same triples). A real server answers on a loopback port, over a
build made for its URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from conftest import RunningServer, loopback_listener, running_server
from rdflib.namespace import RDF, VOID

from tipkg.dist import read_manifest
from tipkg.pipeline import assemble
from tipkg.project import load_project
from tipkg.query import QueryResult, load_queries, run_oxigraph, run_rdflib
from tipkg.server.pages import landing
from tipkg.server.published import load_published
from tipkg.settings import Settings
from tipkg.terms import from_oxigraph
from tipkg.vocab import SD, Iris

from support import build_dist, copy_project, report_dir, second_account

SECOND_SLUG = "saint-lucia-tip-meetings-2021-retold"
TIPKG = str(Path(sys.executable).parent / "tipkg")
STATS_JSON = ("stats", "--format", "json")
MEETINGS_WITH_DATES = "SELECT (COUNT(*) AS ?n) WHERE { ?m a tip:Meeting ; schema:startDate ?d }"
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@dataclass(frozen=True)
class TwoReports:
    """The project with two reports sharing triples, its build for ``server``, and the server."""

    project: Path
    dist: Path
    server: RunningServer

    @property
    def settings(self) -> Settings:
        return Settings.load({"base_iri": self.server.url}, environ={})


@pytest.fixture(scope="module")
def two_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoReports]:
    project = copy_project(tmp_path_factory.mktemp("two-reports") / "project")
    second_account(report_dir(project), SECOND_SLUG)
    listener, url = loopback_listener()
    with listener:
        dist = project / "dist"
        build_dist(project, dist, base_iri=url)
        with running_server(dist, listener) as server:  # default limits: whole answers
            yield TwoReports(project, dist, server)


def test_the_two_reports_share_triples(two_reports: TwoReports) -> None:
    manifest = read_manifest(two_reports.dist)
    assert [d["slug"] for d in manifest.documents] == sorted(
        ["saint-lucia-tip-meetings-2021", SECOND_SLUG]
    )
    assert manifest.triples < sum(graph["triples"] for graph in manifest.graphs)


# ------------------------------------------------------------------ the same rows everywhere


def sparql(server: RunningServer, query: str, accept: str) -> httpx.Response:
    answer = httpx.post(
        server.sparql, data={"query": query}, headers={"Accept": accept}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert "x-tipkg-truncated" not in answer.headers
    return answer


def served(server: RunningServer, query: str) -> QueryResult:
    """The server's answer in the shape the other engines give."""
    answer = sparql(server, query, "application/sparql-results+json, application/n-triples")
    if answer.headers["content-type"].startswith("application/n-triples"):
        graph = rdflib.Graph().parse(data=answer.text, format="nt")
        return QueryResult("graph", triples=graph)
    parsed = ox.parse_query_results(answer.content, format=ox.QueryResultsFormat.JSON)
    if isinstance(parsed, ox.QueryBoolean):
        return QueryResult("ask", boolean=bool(parsed))
    variables = tuple(variable.value for variable in parsed.variables)
    rows = [tuple(from_oxigraph(row[index]) for index in range(len(variables))) for row in parsed]
    return QueryResult("select", variables=variables, rows=rows)


def comparable(result: QueryResult) -> Any:
    """What two engines must agree on: the rows as a multiset (order aside: several examples
    order by a label only), the boolean, or the set of triples."""
    if result.kind == "select":
        return result.variables, Counter(tuple(map(str, row)) for row in result.rows)
    if result.kind == "ask":
        return result.boolean
    assert result.triples is not None
    return {tuple(map(str, triple)) for triple in result.triples}


def test_every_example_query_gives_the_same_rows_on_rdflib_tipkg_query_and_sparql(
    two_reports: TwoReports,
) -> None:
    """rdflib over the merged dump (tipkg.ttl), the engine of `tipkg query` (Oxigraph over the
    assembled merge) and /sparql (the served store) give the same multiset of rows."""
    iris = Iris(two_reports.server.url)
    prefixes = {name: str(namespace) for name, namespace in iris.prefixes().items()}
    merged = rdflib.Dataset()
    merged.parse(two_reports.dist / "tipkg.ttl", format="turtle")
    assembled = assemble(load_project(two_reports.project), two_reports.settings)
    store = assembled.knowledge_graph().store()
    manifest = read_manifest(two_reports.dist)
    examples = load_queries(two_reports.dist / entry["file"] for entry in manifest.queries)
    assert len(examples) == len(list((two_reports.project / "queries").glob("*.rq"))) > 10
    for example in examples:
        on_rdflib = comparable(run_rdflib(merged, example.text, iris.base, prefixes))
        on_query = comparable(run_oxigraph(store, example.text, iris.base, prefixes))
        answer = served(two_reports.server, example.text)
        assert answer.rows or answer.triples or answer.kind == "ask", example.name
        assert on_rdflib == on_query == comparable(answer), example.name


def test_a_triple_two_reports_state_is_one_row(two_reports: TwoReports) -> None:
    """Both reports say when each meeting started: /sparql counts each (meeting, date) once,
    as rdflib does over the merged dump, not once per report."""
    merged = rdflib.Graph().parse(two_reports.dist / "tipkg.ttl", format="turtle")
    prefixes = Iris(two_reports.server.url).prefixes()
    [(expected,)] = list(merged.query(MEETINGS_WITH_DATES, initNs=prefixes))
    distinct = sparql(
        two_reports.server,
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?m ?d "
        "{ ?m a tip:Meeting ; schema:startDate ?d } }",
        "application/sparql-results+json",
    )
    answer = sparql(two_reports.server, MEETINGS_WITH_DATES, "application/sparql-results+json")
    count = int(answer.json()["results"]["bindings"][0]["n"]["value"])
    assert count == int(expected) == int(distinct.json()["results"]["bindings"][0]["n"]["value"])
    per_report = sparql(
        two_reports.server,
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?m a tip:Meeting ; schema:startDate ?d } }",
        "application/sparql-results+json",
    )
    assert int(per_report.json()["results"]["bindings"][0]["n"]["value"]) > count > 0


def test_the_triple_count_is_the_same_everywhere(two_reports: TwoReports) -> None:
    """/sparql, `tipkg stats`, the manifest, the landing page, the service description and
    void.ttl all give the merge's size."""
    server = two_reports.server
    manifest = read_manifest(two_reports.dist)
    answer = sparql(server, COUNT_TRIPLES, "application/sparql-results+json")
    on_sparql = int(answer.json()["results"]["bindings"][0]["n"]["value"])

    stats = subprocess.run(
        [TIPKG, "--project", str(two_reports.project), "--base-iri", server.url, *STATS_JSON],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TIPKG_CACHE_DIR": str(two_reports.project / "build" / "cache")},
    )
    in_stats = json.loads(stats.stdout)["triples"]

    landing = httpx.get(server.url, headers={"Accept": "text/html"}).text
    on_landing = int(re.search(r"([\d,]+) statements", landing).group(1).replace(",", ""))

    description = rdflib.Graph().parse(
        data=httpx.get(server.sparql, headers={"Accept": "text/turtle"}).text, format="turtle"
    )
    default_graph = next(description.objects(None, SD.defaultGraph))
    in_service_description = int(description.value(default_graph, VOID.triples))

    void = rdflib.Graph().parse(two_reports.dist / "void.ttl", format="turtle")
    dataset = rdflib.URIRef(Iris(server.url).dataset)
    assert (dataset, RDF.type, VOID.Dataset) in void
    in_void = int(void.value(dataset, VOID.triples))

    counts = {
        "/sparql": on_sparql,
        "tipkg stats": in_stats,
        "manifest": manifest.triples,
        "landing page": on_landing,
        "service description": in_service_description,
        "void.ttl": in_void,
    }
    assert len(set(counts.values())) == 1, counts


def test_the_landing_page_lists_the_documents_a_page_at_a_time(
    two_reports: TwoReports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(landing, "LIST_PAGE_SIZE", 1)
    server = two_reports.server
    slugs = []
    for page, rel in ((1, 'rel="next" href="?page=2#documents"'), (2, 'rel="prev"')):
        html = httpx.get(server.url, params={"page": page}, headers={"Accept": "text/html"}).text
        assert rel in html
        assert "2 reports in all" in html
        slugs += re.findall(r'class="doc-title" href="/id/document/([^".]+)\.html"', html)
    assert sorted(slugs) == sorted(["saint-lucia-tip-meetings-2021", SECOND_SLUG])


# ------------------------------------------------------------------ the store, read-only


def store_state(store: Path) -> dict[str, str]:
    """Every file of a store directory with its SHA-256, size and modification time."""
    return {
        str(path.relative_to(store)): (
            f"{hashlib.sha256(path.read_bytes()).hexdigest()} "
            f"{path.stat().st_size} {path.stat().st_mtime_ns}"
        )
        for path in sorted(store.rglob("*"))
        if path.is_file()
    }


def test_the_store_is_opened_read_only(two_reports: TwoReports) -> None:
    published = load_published(two_reports.dist, two_reports.settings)
    quad = ox.Quad(ox.NamedNode("urn:x"), ox.NamedNode("urn:y"), ox.NamedNode("urn:z"))
    with pytest.raises(RuntimeError, match="read-write"):
        published.store.add(quad)
    with pytest.raises(RuntimeError, match="read-write"):
        published.store.update("INSERT DATA { <urn:x> <urn:y> <urn:z> }")


def test_serving_leaves_the_store_as_the_build_wrote_it(two_reports: TwoReports) -> None:
    """The server and its workers answer queries and pages from the store's files (hard-linked
    into their snapshot) and change none of them."""
    before = store_state(two_reports.dist / "store")
    server = two_reports.server
    for path in ("/", "/id/place/saint-lucia.html", "/ontology.html", "/dataset.ttl"):
        assert httpx.get(server.url.rstrip("/") + path).status_code == 200, path
    sparql(server, COUNT_TRIPLES + " # uncached", "application/sparql-results+json")
    assert store_state(two_reports.dist / "store") == before


def test_workers_answer_from_the_store_not_the_dumps(
    two_reports: TwoReports, tmp_path: Path
) -> None:
    """A build whose dumps are garbage (of the sizes the manifest lists, so it is accepted) is
    served whole: neither the server nor a query worker reads a dump to answer."""
    dist = tmp_path / "dist"
    shutil.copytree(two_reports.dist, dist)
    for name in ("tipkg.nq", "tipkg.nt", "tipkg.ttl", "tipkg.trig", "tipkg.jsonld"):
        dump = dist / name
        dump.write_bytes(b"<" * dump.stat().st_size)
    manifest = read_manifest(dist)
    with running_server(dist, base_iri=manifest.base_iri, max_concurrent_queries=1) as running:
        answer = sparql(running, COUNT_TRIPLES, "application/sparql-results+json")
        assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) == manifest.triples
        page = httpx.get(running.url + "id/place/saint-lucia.html")
        assert page.status_code == 200 and "Saint Lucia" in page.text


# ------------------------------------------------------------------ a rebuild while serving


def test_a_rebuild_while_serving_swaps_builds_without_a_failed_request(
    two_reports: TwoReports,
) -> None:
    """`tipkg build` replaces dist/ (new store included) under a server answering a steady
    stream of queries and pages: every answer is a 200, and the new build is served after."""
    server, project = two_reports.server, two_reports.project
    ask = "ASK { ?m schema:name 'A meeting renamed by the rebuild'@en }"
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def ask_again_and_again() -> None:
        nonlocal answered
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                for path, params in (("/sparql", {"query": ask}), ("/id/event/tipcom-2021", {})):
                    response = client.get(path, params=params, follow_redirects=True)
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code} {response.text[:80]}")
                    answered += 1

    name = '"First annual regional Trafficking In Persons Committee Meeting (TIPCOM)"@en'
    originals = {
        facts: facts.read_text(encoding="utf-8")
        for facts in (project / "data" / "reports").glob("*/facts.ttl")
    }
    assert len(originals) == 2 and all(text.count(name) == 1 for text in originals.values())
    clients = [threading.Thread(target=ask_again_and_again) for _ in range(2)]
    for client in clients:
        client.start()
    try:
        for facts, text in originals.items():  # both reports name the meeting anew
            renamed = text.replace(name, '"A meeting renamed by the rebuild"@en')
            facts.write_text(renamed, encoding="utf-8")
        build_dist(project, two_reports.dist, base_iri=server.url)
        deadline = time.monotonic() + 20
        while not httpx.get(server.sparql, params={"query": ask}).json()["boolean"]:
            assert time.monotonic() < deadline, "the rebuilt dist/ was not picked up"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        stop.set()
        for client in clients:
            client.join()
        for facts, text in originals.items():
            facts.write_text(text, encoding="utf-8")
        build_dist(project, two_reports.dist, base_iri=server.url)
    assert not failures, failures[:5]
    assert answered > 20
