"""The linked-data and HTML side of the server, driven in-process (see ``conftest.site``).

Every minted IRI answers 303 to a document chosen by Accept; the documents come in HTML,
Turtle, JSON-LD, N-Triples and RDF/XML with validators and 304s; pages name things by label,
quote the cited sentence, flag editorial notes, link out, embed JSON-LD and escape all literal
text; the landing page, the ontology page and the browser query editor show what they promise.
"""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from conftest import MARKUP, InProcessSite, in_process
from rdflib.namespace import DCTERMS, FOAF, OWL, RDF, RDFS, VOID

from tipkg.project import load_project
from tipkg.server import descriptions
from tipkg.server.pages import facts
from tipkg.validate import check_description

from support import PROJECT_ROOT, REPORT_SLUG, report_dir

SUFFIX_MEDIA_TYPES = {
    "html": "text/html",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
}
RDFLIB_FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml"}
MEETING = "id/event/tipcom-2021"
SCHEMA = rdflib.Namespace("https://schema.org/")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")


# ------------------------------------------------------------------ helpers


class Page(HTMLParser):
    """Just enough of an HTML page to check it: elements by id, links, scripts, text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[dict[str, str]] = []  # <a> with their text
        self.head_links: list[dict[str, str]] = []  # <link>
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.marks: list[str] = []
        self.text_parts: list[str] = []
        self._open_link: dict[str, str] | None = None
        self._script: tuple[dict[str, str], list[str]] | None = None
        self._mark_depth = 0
        self._mark_text: list[str] = []
        self.feed(html)
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a":
            self._open_link = {**attributes, "text": ""}
            self.links.append(self._open_link)
        elif tag == "link":
            self.head_links.append(attributes)
        elif tag == "script":
            self._script = (attributes, [])
        elif tag == "mark":
            self._mark_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open_link = None
        elif tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        elif tag == "mark":
            self._mark_depth -= 1
            if self._mark_depth == 0:
                self.marks.append("".join(self._mark_text))
                self._mark_text = []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
            return
        self.text_parts.append(data)
        if self._open_link is not None:
            self._open_link["text"] += data
        if self._mark_depth:
            self._mark_text.append(data)

    def json_ld(self) -> list[dict]:
        return [
            json.loads(body)
            for attributes, body in self.scripts
            if attributes.get("type") == "application/ld+json"
        ]

    def link_texts_to(self, href_part: str) -> list[str]:
        return [
            " ".join(link["text"].split())
            for link in self.links
            if href_part in link.get("href", "")
        ]


@pytest.fixture(scope="module")
def http(site: InProcessSite) -> httpx.Client:
    return site.client


def get_page(http: httpx.Client, path: str) -> Page:
    response = http.get(path, headers={"Accept": "text/html"}, follow_redirects=True)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def manifest(site: InProcessSite) -> dict:
    return json.loads((site.dist_dir / "manifest.json").read_text(encoding="utf-8"))


def served_quads(site: InProcessSite) -> list[ox.Quad]:
    """What the build describes: the data's named graphs (``tipkg.nq``) and the dataset's
    description (``void.ttl``, served from ``graph/dataset``)."""
    data = list(ox.parse(path=site.dist_dir / "tipkg.nq", format=ox.RdfFormat.N_QUADS))
    void = ox.parse(path=site.dist_dir / "void.ttl", format=ox.RdfFormat.TURTLE)
    return [*data, *(ox.Quad(t.subject, t.predicate, t.object) for t in void)]


def parse_rdf(body: bytes, suffix: str, base: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=body, format=RDFLIB_FORMATS[suffix], publicID=base)
    return graph


# ------------------------------------------------------------------ the IRI scheme


@pytest.mark.parametrize(
    ("accept", "suffix"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html"),
        ("text/turtle", "ttl"),
        ("application/ld+json", "jsonld"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "rdf"),
        ("text/turtle;q=0.5, application/rdf+xml;q=0.9", "rdf"),
        ("*/*", "html"),
        (None, "html"),
    ],
)
def test_an_iri_answers_303_to_the_document_the_client_prefers(
    http: httpx.Client, accept: str | None, suffix: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = http.get(MEETING, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == f"/{MEETING}.{suffix}"
    assert "accept" in response.headers["vary"].lower()


@pytest.mark.parametrize(
    ("wanted", "suffix"),
    [
        ("ttl", "ttl"),
        ("turtle", "ttl"),
        ("text/turtle", "ttl"),
        ("jsonld", "jsonld"),
        ("nt", "nt"),
        ("rdf", "rdf"),
        ("rdfxml", "rdf"),
        ("html", "html"),
    ],
)
def test_format_parameter_overrides_accept(http: httpx.Client, wanted: str, suffix: str) -> None:
    response = http.get(MEETING, params={"format": wanted}, headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/{MEETING}.{suffix}"


def test_unknown_format_parameter_is_400_and_unacceptable_accept_is_406(http: httpx.Client) -> None:
    assert http.get(MEETING, params={"format": "docx"}).status_code == 400
    refused = http.get(MEETING, headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert "text/turtle" in refused.text
    assert http.get(MEETING, headers={"Accept": "text/html;q=x"}).status_code == 400


@pytest.mark.parametrize("suffix", list(SUFFIX_MEDIA_TYPES))
def test_every_document_format_answers_200_with_validators(
    http: httpx.Client, site: InProcessSite, suffix: str
) -> None:
    path = f"/{MEETING}.{suffix}"
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(SUFFIX_MEDIA_TYPES[suffix])
    assert response.headers["content-location"] == path
    assert "accept" in response.headers["vary"].lower()
    assert response.headers["etag"]
    assert response.headers["last-modified"]
    if suffix == "html":
        return
    graph = parse_rdf(response.content, suffix, site.url)
    meeting = rdflib.URIRef(site.url + MEETING)
    start = rdflib.Literal("2021-05-06", datatype=rdflib.XSD.date)
    assert (meeting, SCHEMA.startDate, start) in graph
    # incoming links are part of the description, Pubby style
    statement = rdflib.URIRef(site.url + "id/statement/may-2021-renewed-commitment")
    assert (statement, rdflib.URIRef(site.url + "ontology#statedAt"), meeting) in graph


def test_documents_revalidate_with_304(http: httpx.Client) -> None:
    for path in (f"/{MEETING}.ttl", f"/{MEETING}.html", "/", "/ontology.html"):
        first = http.get(path)
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        again = http.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        since = http.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
        assert since.status_code == 304, path
        assert http.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_representations_of_one_resource_have_different_etags(http: httpx.Client) -> None:
    etags = {http.get(f"/{MEETING}.{suffix}").headers["etag"] for suffix in SUFFIX_MEDIA_TYPES}
    assert len(etags) == len(SUFFIX_MEDIA_TYPES)


def test_every_minted_iri_dereferences(http: httpx.Client, site: InProcessSite) -> None:
    """Every IRI under the base that the build describes (or names a graph) answers with a
    description that contains it: slash IRIs by their own document, hash IRIs by theirs."""
    minted: set[str] = set()
    for quad in served_quads(site):
        for term in (quad.subject, quad.graph_name):
            if isinstance(term, ox.NamedNode) and term.value.startswith(site.url):
                minted.add(term.value)
    kinds = {iri[len(site.url) :].split("/", 1)[0].split("#", 1)[0] for iri in minted}
    assert {"id", "ontology", "graph", "dataset"} <= kinds
    documents: dict[str, rdflib.Graph] = {}
    for iri in sorted(minted):
        document_iri = iri.split("#", 1)[0]
        if document_iri == site.url + "sparql":  # the endpoint describes itself, in place
            response = http.get(document_iri, headers={"Accept": "text/turtle"})
            assert response.status_code == 200
            documents[document_iri] = parse_rdf(response.content, "ttl", site.url)
        if document_iri not in documents:
            response = http.get(document_iri, headers={"Accept": "text/turtle"})
            assert response.status_code == 303, iri
            assert response.headers["location"].endswith(".ttl")
            body = http.get(response.headers["location"])
            assert body.status_code == 200, iri
            documents[document_iri] = parse_rdf(body.content, "ttl", site.url)
        node = rdflib.URIRef(iri)
        graph = documents[document_iri]
        assert (node, None, None) in graph or (None, None, node) in graph, iri


def test_unknown_iris_are_404_with_a_helpful_page(http: httpx.Client) -> None:
    page = http.get("/id/event/no-such-meeting", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    parsed = Page(page.text)
    assert "Nothing is known" in parsed.text
    # it offers the resources next to the one asked for
    assert f"/{MEETING}.html" in [link.get("href") for link in parsed.links]
    plain = http.get("/id/event/no-such-meeting", headers={"Accept": "text/turtle"})
    assert plain.status_code == 404
    assert plain.headers["content-type"].startswith("text/plain")
    assert http.get("/id/event/no-such-meeting.ttl").status_code == 404
    assert http.get(f"/{MEETING}.docx").status_code == 404


def test_every_error_is_one_line_of_text_or_a_page_for_a_browser(http: httpx.Client) -> None:
    """One renderer for every error: ours, and Starlette's own 404 and 405, in our words."""
    plain = http.get(MEETING, params={"format": "docx"})
    assert plain.status_code == 400
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"
    assert plain.text == "unknown format 'docx'; use one of: html, ttl, jsonld, nt, rdf\n"
    page = http.get(MEETING, params={"format": "docx"}, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "Bad Request unknown format 'docx'" in Page(page.text).text
    wrong_method = http.post("/download/tipkg.ttl")
    assert wrong_method.status_code == 405
    assert wrong_method.text == "Method Not Allowed\n"
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}
    missing = http.get("/static/missing.css", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert "Nothing is known about this address" in Page(missing.text).text


# ------------------------------------------------------------------ what a document says it is


def dataset_licences(site: InProcessSite) -> set[rdflib.URIRef]:
    """The dataset's licences as the build's description (dist/void.ttl) states them."""
    canonical = manifest(site)["base_iri"]
    description = rdflib.Graph().parse(site.dist_dir / "void.ttl")
    return set(description.objects(rdflib.URIRef(canonical + "dataset"), DCTERMS.license))


@pytest.mark.parametrize("suffix", [suffix for suffix in SUFFIX_MEDIA_TYPES if suffix != "html"])
def test_every_rdf_document_says_what_it_is_about_its_dataset_and_licence(
    http: httpx.Client, site: InProcessSite, suffix: str
) -> None:
    """Each representation names itself by its own URL (suffix and all), as Pubby names the
    document it served; nothing else in it is said to be a document about something."""
    graph = parse_rdf(http.get(f"/{MEETING}.{suffix}").content, suffix, site.url)
    document = rdflib.URIRef(f"{site.url}{MEETING}.{suffix}")
    licences = dataset_licences(site)
    assert licences == {rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")}
    assert set(graph.predicate_objects(document)) == {
        (FOAF.primaryTopic, rdflib.URIRef(site.url + MEETING)),
        (VOID.inDataset, rdflib.URIRef(site.url + "dataset")),
        *((DCTERMS.license, licence) for licence in licences),
    }
    assert set(graph.subjects(FOAF.primaryTopic, None)) == {document}


def test_what_a_document_says_of_itself_is_held_to_the_shapes(
    http: httpx.Client, site: InProcessSite
) -> None:
    """The build never publishes these statements, so its validation cannot see them: the
    served ones are checked here against every shape file (shapes/served.ttl, values.ttl)."""
    document = ox.NamedNode(f"{site.url}{MEETING}.nt")
    served = ox.parse(http.get(f"/{MEETING}.nt").content, format=ox.RdfFormat.N_TRIPLES)
    about = [triple for triple in served if triple.subject == document]
    shape_files = load_project(PROJECT_ROOT).shape_files
    report = check_description(site.url, [], about, shape_files)
    assert report.conforms, report.format_text()
    assert len(about) == 3

    unlicensed = [t for t in about if t.predicate.value != str(DCTERMS.license)]
    as_text = [
        ox.Triple(t.subject, t.predicate, ox.Literal(t.object.value))
        if t.predicate.value == str(FOAF.primaryTopic)
        else t
        for t in about
    ]
    for broken, message in (
        (
            unlicensed,
            "A served document is about exactly one resource (foaf:primaryTopic), "
            "in exactly one dataset (void:inDataset), under the dataset's licence (dct:license).",
        ),
        (
            as_text,
            "This property links to another resource: its value must be an IRI, not "
            "text or a blank node.",
        ),
    ):
        refused = check_description(site.url, [], broken, shape_files)
        assert [finding.message for finding in refused.results] == [message]


@pytest.mark.parametrize("path", [MEETING, f"id/document/{REPORT_SLUG}"])
def test_every_statement_a_document_serves_is_one_the_build_wrote(
    http: httpx.Client, site: InProcessSite, path: str
) -> None:
    """Datatypes and all: pyoxigraph's store reads every type derived from xsd:integer back as
    xsd:integer; the documents give each its type back."""
    built = {quad.triple for quad in served_quads(site)}
    served = ox.parse(http.get(f"/{path}.nt").content, format=ox.RdfFormat.N_TRIPLES)
    document = ox.NamedNode(f"{site.url}{path}.nt")
    statements = [quad.triple for quad in served if quad.subject != document]
    assert [t for t in statements if t not in built] == []
    integer_types = {
        t.object.datatype.value.rsplit("#", 1)[1]
        for t in statements
        if isinstance(t.object, ox.Literal) and "Integer" in t.object.datatype.value
    }
    assert integer_types == ({"positiveInteger"} if path == MEETING else {"nonNegativeInteger"})


@pytest.mark.parametrize(
    ("path", "shown"),
    [(MEETING, "positive integer"), (f"id/document/{REPORT_SLUG}", "non negative integer")],
)
def test_a_page_names_the_integer_type_the_build_wrote(
    http: httpx.Client, path: str, shown: str
) -> None:
    """The page shows the type the dumps carry, not the store's ``xsd:integer``."""
    datatypes = re.findall(r'class="datatype">([^<]*)<', http.get(f"/{path}.html").text)
    assert shown in datatypes
    assert "integer" not in datatypes


def test_the_jsonld_document_is_compacted_with_the_dumps_context(
    http: httpx.Client, site: InProcessSite
) -> None:
    """The context is dist/context.jsonld's, its IRIs under the server's base, embedded."""
    document = http.get(f"/{MEETING}.jsonld").json()
    canonical = manifest(site)["base_iri"]
    context = (site.dist_dir / "context.jsonld").read_text(encoding="utf-8")
    assert document["@context"] == json.loads(context.replace(canonical, site.url))["@context"]
    assert set(document) == {"@context", "@graph"}
    (meeting,) = [node for node in document["@graph"] if node["@id"] == "event:tipcom-2021"]
    assert meeting["ordinal"] == [1]
    assert meeting["startDate"] == ["2021-05-06"]
    assert meeting["convenedBy"] == ["tiporg:tipcom"]
    assert sorted(meeting["@type"]) == ["Activity", "Event", "Meeting"]
    assert all(isinstance(values, list) for key, values in meeting.items() if key != "@id")


def link_values(response: httpx.Response) -> set[tuple[str, str, str]]:
    """(target, rel, type) of each value of the response's ``Link`` header."""
    header = response.headers["link"]
    values = re.findall(r'<([^>]*)>; rel="([^"]*)"; type="([^"]*)"', header)
    assert len(values) == header.count("<")
    return set(values)


def test_every_answer_about_a_resource_links_its_other_representations(
    http: httpx.Client,
) -> None:
    """RFC 8288 ``Link`` on the 303 (every representation; the RDF ones also describe the
    resource, the 303's link context) and on each representation and its 304 (the others)."""
    alternates = {
        (f"/{MEETING}.{suffix}", "alternate", media_type)
        for suffix, media_type in SUFFIX_MEDIA_TYPES.items()
    }
    descriptions = {
        (path, "describedby", media_type)
        for path, _, media_type in alternates
        if media_type != "text/html"
    }
    redirect = http.get(MEETING, headers={"Accept": "application/ld+json"})
    assert redirect.status_code == 303
    assert link_values(redirect) == alternates | descriptions
    for suffix, media_type in SUFFIX_MEDIA_TYPES.items():
        others = alternates - {(f"/{MEETING}.{suffix}", "alternate", media_type)}
        response = http.get(f"/{MEETING}.{suffix}", headers={"Origin": "https://example.org"})
        assert response.status_code == 200
        assert link_values(response) == others, suffix
        assert "link" in response.headers["access-control-expose-headers"].lower()
        again = http.get(
            f"/{MEETING}.{suffix}", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304
        assert link_values(again) == others, suffix


# ------------------------------------------------------------------ resource pages


def test_resource_page_names_things_by_label_and_links_them(
    http: httpx.Client, site: InProcessSite
) -> None:
    page = get_page(http, f"/{MEETING}")
    assert "First annual regional Trafficking In Persons Committee Meeting (TIPCOM)" in page.text
    # types and properties by their ontology labels, not IRIs
    assert "meeting" in page.link_texts_to("/ontology.html#Meeting")
    for label in ("hosted by", "convened by", "in series", "theme", "ordinal"):
        assert label in page.text, label
    # values link to the local documents by label
    assert set(page.link_texts_to("/id/org/tipcom.html")) == {
        "Regional Trafficking In Persons Committee"
    }
    assert "6 May 2021" in page.text
    # incoming links
    assert "Referred to by" in page.text
    assert page.link_texts_to("/id/participation/saint-lucia-at-tipcom-2021.html")
    # alternates, in the head and visibly
    alternates = {
        link["type"]: link["href"] for link in page.head_links if link.get("rel") == "alternate"
    }
    for suffix, media_type in SUFFIX_MEDIA_TYPES.items():
        if suffix != "html":
            assert alternates[media_type] == f"/{MEETING}.{suffix}"
        assert page.link_texts_to(f"/{MEETING}.{suffix}"), suffix


def test_incoming_links_come_a_page_at_a_time(
    http: httpx.Client, site: InProcessSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links into a resource (from the data and from the dataset's description) are read a page
    at a time (``?page=N``), in HTML and in every RDF format; the pages together hold every
    link, each once."""
    monkeypatch.setattr(descriptions, "PAGE_SIZE", 3)
    place = site.url + "id/place/saint-lucia"
    pointing = {
        (row["s"].value, row["p"].value)
        for row in ox.Store.read_only(str(site.dist_dir / "store")).query(
            f"SELECT ?s ?p WHERE {{ {{ ?s ?p <{place}> }} "
            f"UNION {{ GRAPH <{site.url}graph/dataset> {{ ?s ?p <{place}> }} }} }}"
        )
    }
    assert len(pointing) > 6
    seen: list[tuple[str, str]] = []
    etags = set()
    page_number = 1
    while True:
        page = get_page(http, f"/id/place/saint-lucia.html?page={page_number}")
        turtle = http.get(f"/id/place/saint-lucia.ttl?page={page_number}")
        assert turtle.status_code == 200
        etags.add(turtle.headers["etag"])
        graph = parse_rdf(turtle.content, "ttl", site.url)
        document = f"{place}.ttl"  # the document's own description (foaf:primaryTopic)
        incoming = [
            (str(s), str(p))
            for s, p in graph.subject_predicates(rdflib.URIRef(place))
            if str(s) != document
        ]
        assert 0 < len(incoming) <= 3
        seen += incoming
        assert "Referred to by" in page.text
        previous = [link for link in page.links if link.get("rel") == "prev"]
        assert [link["href"] for link in previous] == (
            [f"?page={page_number - 1}#pages"] if page_number > 1 else []
        )
        following = [link["href"] for link in page.links if link.get("rel") == "next"]
        if not following:
            break
        assert following == [f"?page={page_number + 1}#pages"]
        page_number += 1
    assert len(seen) == len(set(seen)) and set(seen) == pointing
    assert len(etags) == page_number > 2
    assert http.get("/id/place/saint-lucia.html?page=0").status_code == 400
    assert http.get("/id/place/saint-lucia.ttl?page=two").status_code == 400


def test_a_property_with_more_values_than_a_page_is_paginated_too(
    http: httpx.Client, site: InProcessSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dataset has a void:subset per graph: with pages of 3, each page of its description
    has 3 of them (its other properties whole), and the pages together have all, each once."""
    monkeypatch.setattr(descriptions, "PAGE_SIZE", 3)
    dataset = rdflib.URIRef(site.url + "dataset")
    void = rdflib.Graph().parse(site.dist_dir / "void.ttl")
    subsets = set(void.objects(dataset, VOID.subset))
    assert len(subsets) > 6
    seen: list[rdflib.term.Node] = []
    page_number = 1
    while True:
        turtle = http.get(f"/dataset.ttl?page={page_number}")
        graph = parse_rdf(turtle.content, "ttl", site.url)
        on_page = list(graph.objects(dataset, VOID.subset))
        assert len(on_page) == min(3, len(subsets) - len(seen))  # other lists may run longer
        assert graph.value(dataset, rdflib.DCTERMS.title) is not None
        seen += on_page
        html = get_page(http, f"/dataset.html?page={page_number}")
        if not [link for link in html.links if link.get("rel") == "next"]:
            break
        page_number += 1
    assert len(seen) == len(set(seen)) and set(seen) == subsets


def test_the_landing_page_lists_a_class_a_page_at_a_time(
    site_dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each class card shows one page of its instances, with a link to the next
    (``?class=tip:Meeting&page=2``); an unknown class is a 404."""
    monkeypatch.setattr(facts, "LIST_PAGE_SIZE", 1)
    with in_process(site_dist) as fresh:  # a new build's first page, read with the page size 1
        first = Page(fresh.client.get("/").text)
        following = [link["href"] for link in first.links if link.get("rel") == "next"]
        assert "?class=tip%3AMeeting&page=2#class-tip-Meeting" in following
        second = Page(fresh.client.get("/?class=tip:Meeting&page=2").text)
        card = [attrs for tag, attrs in second.elements if attrs.get("id") == "class-tip-Meeting"]
        assert "open" in card[0]
        meetings = {
            link["href"]
            for page in (first, second)
            for link in page.links
            if link.get("href", "").startswith("/id/event/tipcom-2021.html")
            or link.get("href", "").startswith("/id/event/oas-national-authorities-tip-2021.html")
        }
        assert meetings == {
            "/id/event/tipcom-2021.html",
            "/id/event/oas-national-authorities-tip-2021.html",
        }
        assert fresh.client.get("/?class=tip:Nothing").status_code == 404
        assert fresh.client.get("/?page=-1").status_code == 400


def test_resource_page_quotes_the_cited_sentence_in_its_paragraph(http: httpx.Client) -> None:
    page = get_page(http, f"/{MEETING}")
    source = (report_dir(Path(__file__).resolve().parent.parent) / "source.txt").read_text()
    sentence_2 = (
        "On Thursday, May 6, 2021, the Commonwealth of the Bahamas National Security Ministry "
        "hosted the first annual regional Trafficking In Persons Committee Meeting (TIPCOM)."
    )
    assert sentence_2 in source
    assert sentence_2 in page.marks
    # the rest of the paragraph is there as context, unmarked
    assert "each participating country delivered a ten-minute presentation" in page.text
    assert page.link_texts_to(f"/id/document/{REPORT_SLUG}/sentence/2.html") == ["Sentence 2"]


def test_a_cited_phrase_is_highlighted_inside_its_sentence(http: httpx.Client) -> None:
    page = get_page(http, "/id/concept/theme-challenges-in-times-of-pandemic")
    assert "Challenges in the fight against trafficking in times of pandemic" in page.marks


def test_editorial_notes_are_flagged(http: httpx.Client) -> None:
    response = http.get("/id/membership/tipcom-antigua-and-bermuda.html")
    page = Page(response.text)
    notes = [
        attrs
        for tag, attrs in page.elements
        if tag == "aside" and "notes" in attrs.get("class", "")
    ]
    assert notes, "no editorial note box"
    assert "Editor’s note" in page.text
    assert "No state or territory is called 'Antigua and Bermuda'" in page.text


def test_external_links_go_out_named_by_their_dataset(http: httpx.Client) -> None:
    response = http.get("/id/place/saint-lucia.html")
    page = Page(response.text)
    wikidata = [
        link for link in page.links if link.get("href") == "http://www.wikidata.org/entity/Q760"
    ]
    assert wikidata and "external" in wikidata[0].get("rel", "")
    assert "Wikidata" in page.text and "DBpedia" in page.text and "GeoNames" in page.text


def test_resource_page_embeds_schema_org_json_ld(http: httpx.Client, site: InProcessSite) -> None:
    page = get_page(http, f"/{MEETING}")
    (node,) = page.json_ld()
    assert node["@id"] == site.url + MEETING
    assert "Event" in node["@type"]
    assert node["startDate"] == "2021-05-06"
    assert node["name"].startswith("First annual regional")
    place = Page(http.get("/id/place/saint-lucia.html").text).json_ld()[0]
    assert "http://www.wikidata.org/entity/Q760" in place["sameAs"]


def test_document_page_shows_the_full_text_with_anchors(
    http: httpx.Client, site: InProcessSite
) -> None:
    entry = manifest(site)["documents"][0]
    page = get_page(http, f"/id/document/{entry['slug']}")
    assert entry["title"] in page.text
    assert {f"sentence-{n}" for n in range(1, entry["sentences"] + 1)} <= page.ids
    # every quoted phrase (a hash IRI in the document) has its anchor in the text
    document = entry["iri"]
    phrases = {
        quad.subject.value.split("#", 1)[1]
        for quad in served_quads(site)
        if isinstance(quad.subject, ox.NamedNode) and quad.subject.value.startswith(document + "#")
    }
    assert phrases and phrases <= page.ids
    assert "Antigua and Bermuda" in page.text


def test_sentence_page_lists_the_facts_drawn_from_it(http: httpx.Client) -> None:
    page = get_page(http, f"/id/document/{REPORT_SLUG}/sentence/8")
    assert "The virtual meeting was hosted by Argentina." in page.marks
    assert "facts drawn from this" in page.text
    assert page.link_texts_to("/id/place/argentina.html") == ["Argentina"]


def test_named_graph_page_tells_its_size_and_offers_its_triples(
    http: httpx.Client, site: InProcessSite
) -> None:
    graph = next(g for g in manifest(site)["graphs"] if g["kind"] == "linkset")
    path = "/" + graph["iri"].removeprefix(site.url)
    page = get_page(http, path)
    assert f"{graph['triples']:,}" in page.text
    query_link = next(link for link in page.links if link["text"] == "Show its triples")
    answer = http.get(query_link["href"] + "&format=nt")
    assert answer.status_code == 200
    assert len(answer.text.strip().splitlines()) == graph["triples"]


# ------------------------------------------------------------------ the ontology


def test_ontology_page_documents_every_class_and_property_with_an_anchor(
    http: httpx.Client, site: InProcessSite
) -> None:
    ontology = rdflib.Graph().parse(site.dist_dir / "ontology.ttl")
    namespace = manifest(site)["base_iri"] + "ontology#"
    terms = {
        str(term)[len(namespace) :]
        for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
        for term in ontology.subjects(RDF.type, kind)
        if str(term).startswith(namespace)
    }
    assert len(terms) > 20
    redirect = http.get("/ontology", headers={"Accept": "text/html"})
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/ontology.html"
    page = get_page(http, "/ontology")
    assert terms <= page.ids
    for term in terms:
        label = ontology.value(rdflib.URIRef(namespace + term), RDFS.label)
        assert str(label) in page.link_texts_to(f"#{term}"), term
    assert "A gathering of representatives held on given dates" in page.text


def test_ontology_negotiates_turtle_at_the_same_iri(
    http: httpx.Client, site: InProcessSite
) -> None:
    response = http.get("/ontology", headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    served = rdflib.Graph().parse(data=response.text, format="turtle")
    published = rdflib.Graph().parse(site.dist_dir / "ontology.ttl", format="turtle")
    assert set(published) <= set(served)


# ------------------------------------------------------------------ the landing page


def test_landing_page_says_what_the_dataset_is(http: httpx.Client, site: InProcessSite) -> None:
    page = get_page(http, "/")
    dataset = rdflib.Graph().parse(site.dist_dir / "void.ttl")
    dataset_iri = rdflib.URIRef(manifest(site)["base_iri"] + "dataset")
    assert str(dataset.value(dataset_iri, rdflib.DCTERMS.title)) in page.text
    assert str(dataset.value(dataset_iri, rdflib.DCTERMS.description)) in page.text
    assert f"{manifest(site)['triples']:,} statements" in page.text
    assert page.link_texts_to("https://creativecommons.org/licenses/by/4.0/")
    assert page.link_texts_to("/.well-known/void")
    # counts per class of the ontology, with the things listed
    assert re.search(r"Meeting\s+2\b", page.text)
    assert page.link_texts_to(f"/{MEETING}.html")
    for document in manifest(site)["documents"]:
        assert page.link_texts_to(f"/id/document/{document['slug']}.html") == [document["title"]]


def test_landing_page_runs_every_example_query_with_one_click(
    http: httpx.Client, site: InProcessSite
) -> None:
    examples = manifest(site)["queries"]
    assert examples
    page = get_page(http, "/")
    run_links = [link["href"] for link in page.links if link["text"] == "Run this query"]
    assert len(run_links) == len(examples)
    for entry, href in zip(examples, run_links, strict=True):
        query = parse_qs(urlsplit(href).query)["query"][0]
        assert query == (site.dist_dir / entry["file"]).read_text()
        editor = http.get(href, headers={"Accept": "text/html"})
        assert editor.status_code == 200, entry["name"]
        shown = Page(editor.text)
        assert "Results" in shown.text, entry["name"]
        assert "could not run" not in shown.text, (entry["name"], shown.text[-500:])


def test_landing_page_lists_every_download_with_size_and_sha256(
    http: httpx.Client, site: InProcessSite
) -> None:
    page = get_page(http, "/")
    for entry in manifest(site)["files"]:
        href = f"/download/{entry['name']}"
        assert page.link_texts_to(href), entry["name"]
        assert entry["sha256"] in page.text
        cell = next(
            attrs
            for tag, attrs in page.elements
            if tag == "td" and attrs.get("data-bytes") == str(entry["bytes"])
        )
        assert cell
        body = http.get(href).content
        assert len(body) == entry["bytes"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]


def test_landing_page_embeds_a_schema_org_dataset(http: httpx.Client, site: InProcessSite) -> None:
    (dataset,) = get_page(http, "/").json_ld()
    assert dataset["@type"] == "Dataset"
    assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
    files = {entry["name"]: entry for entry in manifest(site)["files"]}
    assert {d["name"] for d in dataset["distribution"]} == set(files)
    for distribution in dataset["distribution"]:
        assert distribution["contentUrl"] == f"{site.url}download/{distribution['name']}"
        assert distribution["sha256"] == files[distribution["name"]]["sha256"]


def test_well_known_void_is_negotiable(http: httpx.Client) -> None:
    turtle = http.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert (None, RDF.type, rdflib.URIRef("http://rdfs.org/ns/void#Dataset")) in graph
    jsonld = http.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert len(rdflib.Graph().parse(data=jsonld.text, format="json-ld")) == len(graph)
    # Names are taken as they are here: reading a results format as its RDF kin is for SPARQL
    # answers only (a client sends one return format whatever the query's form).
    for name in ("csv", "sparql"):
        refused = http.get("/.well-known/void", params={"format": name})
        assert refused.status_code == 406, (name, refused.headers["content-type"])


# ------------------------------------------------------------------ the editor without JavaScript


def test_sparql_editor_for_browsers_has_a_plain_form(
    http: httpx.Client, site: InProcessSite
) -> None:
    page = get_page(http, "/sparql")
    # the frame's search box aside
    forms = [
        attrs for tag, attrs in page.elements if tag == "form" and attrs.get("role") != "search"
    ]
    assert forms == [
        {"class": "query-form", "id": "query-form", "method": "get", "action": "/sparql"}
    ]
    assert (
        "textarea",
        {"id": "query-text", "name": "query", "rows": "14", "spellcheck": "false"},
    ) in page.elements
    assert len([link for link in page.links if "example-link" in link.get("class", "")]) == len(
        manifest(site)["queries"]
    )
    # machines asking the same URL still get the service description
    described = http.get("/sparql", headers={"Accept": "text/turtle"})
    assert described.headers["content-type"].startswith("text/turtle")


def test_sparql_editor_renders_results_as_a_table_with_downloads(http: httpx.Client) -> None:
    query = (
        "SELECT ?meeting ?start WHERE { ?meeting a tip:Meeting ; schema:startDate ?start } "
        "ORDER BY ?start"
    )
    response = http.get("/sparql", params={"query": query}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = Page(response.text)
    headers = [attrs for tag, attrs in page.elements if tag == "th"]
    assert len(headers) == 2
    assert "6 May 2021" in page.text and "13 May 2021" in page.text
    assert page.link_texts_to(f"/{MEETING}.html")
    downloads = {
        link["text"]: link["href"] for link in page.links if "format=" in link.get("href", "")
    }
    csv = http.get(downloads["CSV"])
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "meeting,start"
    json_results = http.get(downloads["SPARQL JSON"]).json()
    assert len(json_results["results"]["bindings"]) == 2


def test_sparql_editor_shows_query_errors(http: httpx.Client) -> None:
    response = http.get(
        "/sparql", params={"query": "SELECT WHERE {"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    page = Page(response.text)
    assert "could not run" in page.text
    assert "SPARQL syntax error" in page.text


# ------------------------------------------------------------------ escaping


@pytest.mark.parametrize(
    "path", [f"/{MEETING}.html", "/id/statement/tipcom-2021-going-forward.html", "/"]
)
def test_markup_in_literals_is_inert(edited_site: InProcessSite, path: str) -> None:
    response = edited_site.client.get(path)
    assert response.status_code == 200
    html = response.text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<!--&" not in html
    page = Page(html)
    scripts = [attrs for tag, attrs in page.elements if tag == "script"]
    assert all(attrs.get("type") == "application/ld+json" for attrs in scripts)
    assert not [tag for tag, attrs in page.elements if tag == "img"]
    if path == f"/{MEETING}.html":
        # shown as text, exactly
        assert MARKUP in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        # and the embedded JSON-LD still parses back to the same string
        (node,) = page.json_ld()
        assert node["name"] == MARKUP


def test_blank_nodes_are_folded_into_the_description(edited_site: InProcessSite) -> None:
    page = Page(edited_site.client.get(f"/{MEETING}.html").text)
    nested = [
        attrs for tag, attrs in page.elements if tag == "div" and attrs.get("class") == "nested"
    ]
    assert len(nested) == 2  # the place, and the address inside it
    assert "A nested place" in page.text and "BS" in page.text
    turtle = edited_site.client.get(f"/{MEETING}.ttl")
    graph = parse_rdf(turtle.content, "ttl", edited_site.url)
    place = graph.value(rdflib.URIRef(edited_site.url + MEETING), SCHEMA.location)
    assert isinstance(place, rdflib.BNode)
    address = graph.value(place, SCHEMA.address)
    assert graph.value(address, SCHEMA.addressCountry) == rdflib.Literal("BS")


def test_markup_in_literals_is_inert_in_the_editor(edited_site: InProcessSite) -> None:
    response = edited_site.client.get(
        "/sparql",
        params={
            "query": f"SELECT ?name WHERE {{ <{edited_site.url}{MEETING}> schema:name ?name }}"
        },
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 200
    page = Page(response.text)
    assert MARKUP in page.text
    assert "<script>alert" not in response.text
    assert not [tag for tag, attrs in page.elements if tag == "img"]
