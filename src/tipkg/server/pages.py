"""The HTML side of the server: landing page, resource pages, ontology docs and the query editor.

Every page is readable with no JavaScript. Templates autoescape everything; the only markup that
is not escaped by Jinja is the embedded JSON-LD, which :func:`script_json` makes safe to sit
inside ``<script>`` by escaping ``<``, ``>`` and ``&`` as JSON ``\\u`` escapes.

Page data comes from the running build (:class:`Published`): labels, types and text from its
store, counts and files from its manifest. What is costly to compute and fixed for a build
(class counts, the dataset names of external IRI spaces) is kept per build in :class:`BuildFacts`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from tipkg.server import linkeddata
from tipkg.server.linkeddata import HTML, Description
from tipkg.server.negotiation import AcceptError, best_match
from tipkg.server.published import Published, current_published
from tipkg.server.querypool import ResultCache
from tipkg.server.sparql import (
    ProtocolError,
    QueryJob,
    query_form,
    read_protocol_request,
    run_in_pool,
)
from tipkg.vocab import DCAT, DCTERMS, FOAF, NIF, OWL, PROV, RDF, RDFS, SCHEMA, SKOS, XSD

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
YASGUI_ASSETS = ("yasgui.min.js", "yasgui.min.css")

# Predicates that name a resource, in order of preference.
LABEL_PREDICATES = (
    str(RDFS.label),
    str(SKOS.prefLabel),
    str(SCHEMA.name),
    str(DCTERMS.title),
    str(FOAF.name),
)
# Predicates whose first value is the lead paragraph of a page.
DESCRIPTION_PREDICATES = (
    str(SCHEMA.description),
    str(DCTERMS.description),
    str(RDFS.comment),
    str(SKOS.definition),
)
RDF_TYPE = str(RDF.type)
EDITORIAL_NOTE = str(SKOS.editorialNote)
DERIVED_FROM = str(PROV.wasDerivedFrom)
IS_STRING = str(NIF.isString)
REFERENCE_CONTEXT = str(NIF.referenceContext)
BEGIN_INDEX = str(NIF.beginIndex)
END_INDEX = str(NIF.endIndex)
SUPER_STRING = str(NIF.superString)
NIF_SENTENCE = str(NIF.Sentence)
NIF_PHRASE = str(NIF.Phrase)
SAME_AS = str(OWL.sameAs)
XSD_STRING = str(XSD.string)
XSD_DATE = str(XSD.date)
RDF_LANG_STRING = str(RDF.langString)
# Shown in their own sections of a resource page, not in its table of properties.
SECTION_PREDICATES = frozenset({RDF_TYPE, EDITORIAL_NOTE, DERIVED_FROM, IS_STRING})
# A resource with no label is named by the start of its description, this long at most.
NAME_FROM_DESCRIPTION_CHARACTERS = 90
# The most instances listed per class on the landing page.
MAX_LISTED_INSTANCES = 50
CLASS_TERM_TYPES = (str(OWL.Class), str(RDFS.Class))
PROPERTY_TERM_TYPES = (
    str(OWL.ObjectProperty),
    str(OWL.DatatypeProperty),
    str(OWL.AnnotationProperty),
    str(RDF.Property),
)
PROPERTY_KIND_NAMES = {
    str(OWL.ObjectProperty): "object property",
    str(OWL.DatatypeProperty): "datatype property",
    str(OWL.AnnotationProperty): "annotation property",
    str(OWL.FunctionalProperty): "functional",
    str(OWL.InverseFunctionalProperty): "inverse functional",
    str(OWL.TransitiveProperty): "transitive",
    str(OWL.SymmetricProperty): "symmetric",
}
KNOWN_LICENSES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "http://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "http://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
}
# Download formats offered for query results, by query form.
RESULT_DOWNLOADS = {
    "SELECT": (("csv", "CSV"), ("tsv", "TSV"), ("json", "SPARQL JSON"), ("xml", "SPARQL XML")),
    "ASK": (("json", "SPARQL JSON"), ("xml", "SPARQL XML")),
    "CONSTRUCT": (("ttl", "Turtle"), ("jsonld", "JSON-LD"), ("nt", "N-Triples")),
    "DESCRIBE": (("ttl", "Turtle"), ("jsonld", "JSON-LD"), ("nt", "N-Triples")),
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _fingerprint(folders: Iterable[Path]) -> str:
    """A digest of the templates and our own static files: part of every page's ETag, so a new
    release of the pages is never answered with a 304 for a page rendered by the old one."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.glob("*") if p.is_file()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


PAGES_VERSION = _fingerprint((TEMPLATES_DIR, STATIC_DIR))

templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)


def yasgui_available() -> bool:
    """Whether ``scripts/vendor-assets.sh`` has copied the YASGUI build into static/vendor/."""
    return all((VENDOR_DIR / name).is_file() for name in YASGUI_ASSETS)


def select(published: Published, query: str, **terms: Any) -> ox.QuerySolutions:
    """A SELECT over the union of the build's graphs with the project's prefixes; ``$name`` in
    the text is replaced by ``terms[name]`` written as N-Triples (page queries are ours, small,
    and run in-process)."""
    text = Template(query).substitute({name: str(term) for name, term in terms.items()})
    return published.store.query(
        text,
        use_default_graph_as_union=True,
        prefixes={name: str(ns) for name, ns in published.iris.prefixes().items()},
    )


# ------------------------------------------------------------------ routes


def page_routes() -> list[BaseRoute]:
    """The landing page, static files and (last, a catch-all) the dereferencing of IRIs."""
    return [
        Route("/", landing, methods=["GET", "HEAD"], name="landing"),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
        linkeddata.dereference_route(render_resource, render_not_found, PAGES_VERSION),
    ]


def render(
    request: Request,
    published: Published,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from ``template`` with what every page needs (site title, navigation)."""
    facts = build_facts(published)
    body = templates.get_template(template).render(
        request_path=request.url.path,
        site_title=facts.dataset_title,
        license=facts.license,
        **context,
    )
    return HTMLResponse(body, status_code=status_code)


def html_variant(name: str) -> str:
    """The ETag variant of an HTML page: its name and the version of the pages code."""
    return f"html {PAGES_VERSION} {name}"


# ------------------------------------------------------------------ facts fixed per build


@dataclass(frozen=True)
class ExternalDataset:
    """A dataset our IRIs link into, from the VoID description (``void:uriSpace``)."""

    uri_space: str
    title: str
    homepage: str | None


@dataclass(frozen=True)
class ClassSummary:
    """How many things of one class the data holds, and the first of them."""

    iri: str
    name: str
    prefixed: str
    count: int
    href: str
    members: tuple[tuple[str, str], ...]
    query_href: str


@dataclass
class BuildFacts:
    """What the pages compute once per build."""

    dataset_title: str
    license: tuple[str, str] | None
    external_datasets: tuple[ExternalDataset, ...]
    own_classes: tuple[ClassSummary, ...]
    other_classes: tuple[tuple[str, int], ...]
    texts: dict[str, str] = field(default_factory=dict)


def example_links(published: Published) -> list[dict[str, str]]:
    """The example queries as the landing page and the editor list them, each runnable by link."""
    return [
        {
            "name": example.name,
            "title": example.title,
            "question": example.question,
            "text": example.text,
            "href": sparql_href(example.text),
        }
        for example in published.queries.values()
    ]


def build_facts(published: Published) -> BuildFacts:
    """The facts of this build, computed once per build."""
    return published.derived("build_facts", _compute_build_facts)


def _compute_build_facts(published: Published) -> BuildFacts:
    store = published.store
    namer = Namer(published)
    dataset = str(published.iris.dataset)
    title = namer.label(dataset) or "tipkg"
    license_iri = _first_iri(store, dataset, str(DCTERMS.license))
    external = []
    for row in select(
        published,
        "SELECT DISTINCT ?d ?space ?title ?home WHERE { ?d void:uriSpace ?space "
        "OPTIONAL { ?d dct:title ?title } OPTIONAL { ?d foaf:homepage ?home } }",
    ):
        space = row["space"].value
        if space.startswith(published.base_iri) or space.startswith(published.canonical_base):
            continue
        name = row["title"].value if row["title"] is not None else space
        home = row["home"].value if row["home"] is not None else None
        external.append(ExternalDataset(space, name, home))
    external.sort(key=lambda item: -len(item.uri_space))
    described = ", ".join(
        f"<{published.iris.graph(name)}>" for name in ("ontology", "dataset", "void")
    )
    counts: list[tuple[str, int]] = [
        (row["class"].value, int(row["n"].value))
        for row in store.query(
            "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?class } "
            f"FILTER(?g NOT IN ({described}) && isIRI(?class)) }} GROUP BY ?class"
        )
    ]
    own: list[ClassSummary] = []
    other: list[tuple[str, int]] = []
    for cls, count in counts:
        if cls.startswith(str(published.iris.tip)):
            members = _members(published, namer, cls)
            own.append(
                ClassSummary(
                    iri=cls,
                    name=namer.term_name(cls),
                    prefixed=namer.prefixed(cls) or cls,
                    count=count,
                    href=namer.href(cls),
                    members=members,
                    query_href=sparql_href(_instances_query(namer, cls)),
                )
            )
        else:
            other.append((namer.prefixed(cls) or cls, count))
    own.sort(key=lambda summary: (-summary.count, summary.name))
    other.sort(key=lambda item: (-item[1], item[0]))
    return BuildFacts(
        dataset_title=title,
        license=(license_iri, license_name(license_iri)) if license_iri else None,
        external_datasets=tuple(external),
        own_classes=tuple(own),
        other_classes=tuple(other),
    )


def _members(published: Published, namer: Namer, cls: str) -> tuple[tuple[str, str], ...]:
    iris = [
        row["s"].value
        for row in select(
            published,
            f"SELECT DISTINCT ?s WHERE {{ ?s a $cls FILTER(isIRI(?s)) }} "
            f"LIMIT {MAX_LISTED_INSTANCES}",
            cls=ox.NamedNode(cls),
        )
    ]
    members = sorted(
        ((namer.display_name(iri), namer.href(iri)) for iri in iris), key=lambda m: m[0]
    )
    return tuple(members)


def _instances_query(namer: Namer, cls: str) -> str:
    prefixed = namer.prefixed(cls) or f"<{cls}>"
    return (
        f"# Everything of the class {namer.term_name(cls)}, with its label\n"
        f"SELECT ?thing ?label WHERE {{\n  ?thing a {prefixed} .\n"
        "  OPTIONAL { ?thing rdfs:label ?label }\n}\nORDER BY ?label\n"
    )


def _first_iri(store: ox.Store, subject: str, predicate: str) -> str | None:
    for quad in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None):
        if isinstance(quad.object, ox.NamedNode):
            return quad.object.value
    return None


def license_name(iri: str) -> str:
    """A short name for a well-known licence IRI, else the IRI itself."""
    return KNOWN_LICENSES.get(iri, iri)


def document_text(published: Published, document: str) -> str | None:
    """The full text (``nif:isString``) of a source document, cached per build."""
    texts = build_facts(published).texts
    if document not in texts:
        literal = next(
            (
                quad.object
                for quad in published.store.quads_for_pattern(
                    ox.NamedNode(document), ox.NamedNode(IS_STRING), None
                )
            ),
            None,
        )
        if literal is None:
            return None
        texts[document] = literal.value
    return texts[document]


# ------------------------------------------------------------------ names of things


def humanise(local_name: str) -> str:
    """``wasDerivedFrom`` → ``was derived from``; a name with no letters stays as it is."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local_name).replace("_", " ").replace("-", " ")
    return words.lower() if words.strip() else local_name


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary before ``limit`` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def local_name(iri: str) -> str:
    """An IRI's last segment: after ``#``, else after the last ``/`` (a trailing one ignored)."""
    if "#" in iri and iri.rsplit("#", 1)[1]:
        return iri.rsplit("#", 1)[1]
    return iri.rstrip("/").rsplit("/", 1)[-1] or iri


def spelled_path(path: str) -> str:
    """``id/participation/saint-lucia-at-x`` → ``Participation › saint lucia at x``: a name
    for a resource with no label that stays unambiguous (its whole path, less ``id/``)."""
    segments = [humanise(segment) for segment in path.split("/") if segment]
    if len(segments) > 1 and segments[0] == "id":
        segments = segments[1:]
    spelled = " › ".join(segments) or path
    return spelled[:1].upper() + spelled[1:]


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts ``Sentence 2`` before ``Sentence 10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


class Namer:
    """Names, links and literal values for one page; lookups are memoised for the page's life."""

    def __init__(self, published: Published):
        self.published = published
        self.store = published.store
        self._labels: dict[str, str | None] = {}
        self._prefixes = sorted(
            ((name, str(ns)) for name, ns in published.iris.prefixes().items()),
            key=lambda pair: -len(pair[1]),
        )

    def literal_values(self, subject: str, predicate: str) -> list[ox.Literal]:
        """The literal values, each once (the same triple may sit in several graphs)."""
        quads = self.store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)
        return list(dict.fromkeys(q.object for q in quads if isinstance(q.object, ox.Literal)))

    def best_literal(self, subject: str, predicates: Iterable[str]) -> ox.Literal | None:
        """The first predicate's value in English, else with no language, else any."""
        for predicate in predicates:
            values = self.literal_values(subject, predicate)
            if values:
                values.sort(
                    key=lambda lit: (
                        lit.language not in ("en", None),
                        lit.language != "en",
                        lit.value,
                    )
                )
                return values[0]
        return None

    def label(self, iri: str) -> str | None:
        if iri not in self._labels:
            literal = self.best_literal(iri, LABEL_PREDICATES)
            if literal is None:
                anchor = self.best_literal(iri, (str(NIF.anchorOf),))
                self._labels[iri] = f"“{anchor.value}”" if anchor is not None else None
            else:
                self._labels[iri] = literal.value
        return self._labels[iri]

    def prefixed(self, iri: str) -> str | None:
        for name, namespace in self._prefixes:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                rest = iri[len(namespace) :]
                if re.fullmatch(r"[\w.-]*[\w-]", rest):
                    return f"{name}:{rest}"
        return None

    def term_name(self, iri: str) -> str:
        """A property's or class's name: its label, else its local name spelled out (or, for
        opaque names like Wikidata's ``P297``, its prefixed name)."""
        label = self.label(iri)
        if label:
            return label
        name = local_name(iri)
        if any(character.isdigit() for character in name):
            return self.prefixed(iri) or name
        return humanise(name)

    def display_name(self, iri: str) -> str:
        """A resource's name: its label, else the start of its description, else its IRI's
        path spelled out (for our own IRIs) or its prefixed name."""
        label = self.label(iri)
        if label:
            return label
        description = self.best_literal(iri, DESCRIPTION_PREDICATES)
        if description is not None:
            return shorten(description.value, NAME_FROM_DESCRIPTION_CHARACTERS)
        if self.is_local(iri):
            return spelled_path(iri[len(self.published.base_iri) :])
        return self.prefixed(iri) or iri

    def is_local(self, iri: str) -> bool:
        return iri.startswith(self.published.base_iri)

    def href(self, iri: str) -> str:
        """Where a link to ``iri`` goes: our own HTML document, or the IRI itself."""
        if self.is_local(iri):
            return linkeddata.document_path(self.published, iri, HTML)
        return iri

    def external_dataset(self, iri: str) -> ExternalDataset | None:
        for dataset in build_facts(self.published).external_datasets:
            if iri.startswith(dataset.uri_space):
                return dataset
        return None

    def term(self, iri: str) -> TermView:
        return TermView(
            iri=iri,
            name=self.term_name(iri),
            prefixed=self.prefixed(iri),
            href=self.href(iri),
            local=self.is_local(iri),
        )

    def value(self, term: Any, description: Description | None = None, depth: int = 0) -> ValueView:
        """How one RDF term reads on a page."""
        if isinstance(term, ox.Literal):
            return literal_view(term)
        if isinstance(term, ox.BlankNode):
            properties: list[PropertyView] = []
            if description is not None and depth < linkeddata.MAX_BLANK_DEPTH:
                triples = [t for t in description.outgoing if t.subject == term]
                properties = self.properties(triples, description, depth=depth + 1)
            return ValueView(kind="blank", text="(a nested description)", properties=properties)
        iri = term.value
        if self.is_local(iri):
            return ValueView(
                kind="local", text=self.display_name(iri), href=self.href(iri), iri=iri
            )
        dataset = self.external_dataset(iri)
        label = self.label(iri)
        if dataset is not None:
            text = label or local_name(iri)
            return ValueView(kind="external", text=text, href=iri, iri=iri, note=dataset.title)
        return ValueView(
            kind="external", text=label or self.prefixed(iri) or iri, href=iri, iri=iri
        )

    def properties(
        self,
        triples: Iterable[ox.Triple],
        description: Description | None = None,
        skip: frozenset[str] = frozenset(),
        depth: int = 0,
    ) -> list[PropertyView]:
        """Triples of one subject grouped by predicate, each predicate named, sorted by name."""
        grouped: dict[str, list[Any]] = {}
        for triple in triples:
            predicate = triple.predicate.value
            if predicate not in skip:
                grouped.setdefault(predicate, []).append(triple.object)
        views = [
            PropertyView(
                term=self.term(predicate),
                values=sorted(
                    (self.value(obj, description, depth) for obj in objects),
                    key=lambda value: (value.kind != "local", natural_key(value.text)),
                ),
            )
            for predicate, objects in grouped.items()
        ]
        views.sort(key=lambda view: (not view.term.local, view.term.name.lower()))
        return views


@dataclass(frozen=True)
class TermView:
    """A property or class as a page names it."""

    iri: str
    name: str
    prefixed: str | None
    href: str
    local: bool


@dataclass
class ValueView:
    """One value on a page: a local link, an outbound link, a literal or a folded blank node."""

    kind: str  # "local", "external", "literal" or "blank"
    text: str
    href: str | None = None
    iri: str | None = None
    note: str | None = None  # the external dataset's name, or a literal's datatype
    language: str | None = None
    machine_value: str | None = None  # for <time datetime=…>
    properties: list[PropertyView] = field(default_factory=list)


@dataclass
class PropertyView:
    term: TermView
    values: list[ValueView]


def literal_view(literal: ox.Literal) -> ValueView:
    datatype = literal.datatype.value
    if literal.language:
        return ValueView(kind="literal", text=literal.value, language=literal.language)
    if datatype == XSD_DATE:
        return ValueView(
            kind="literal",
            text=readable_date(literal.value),
            note="date",
            machine_value=literal.value,
        )
    note = None if datatype in (XSD_STRING, RDF_LANG_STRING) else humanise(local_name(datatype))
    return ValueView(kind="literal", text=literal.value, note=note)


def readable_date(text: str) -> str:
    """``2021-05-06`` → ``6 May 2021``; anything else is left as written."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# ------------------------------------------------------------------ quoting the source


@dataclass(frozen=True)
class Segment:
    """A run of a quoted paragraph: ``context``, the cited ``sentence`` or the cited ``phrase``."""

    kind: str
    text: str


@dataclass
class Quote:
    """A paragraph of a source with the cited sentences (and phrases in them) marked."""

    document_title: str
    document_href: str
    sentences: list[tuple[str, str]]  # (name, href) of each cited sentence
    begin: int
    segments: list[Segment]


@dataclass(frozen=True)
class Span:
    """A stretch of a source text that a fact cites."""

    iri: str
    document: str
    begin: int
    end: int


def text_span(namer: Namer, iri: str) -> Span | None:
    """The document and offsets of a sentence or phrase, or ``None`` when it is not a text span."""
    node = ox.NamedNode(iri)
    values: dict[str, Any] = {}
    for quad in namer.store.quads_for_pattern(node, None, None):
        values.setdefault(quad.predicate.value, quad.object)
    context, begin, end = (
        values.get(REFERENCE_CONTEXT),
        values.get(BEGIN_INDEX),
        values.get(END_INDEX),
    )
    if not isinstance(context, ox.NamedNode) or begin is None or end is None:
        return None
    try:
        return Span(iri, context.value, int(begin.value), int(end.value))
    except ValueError:
        return None


def quotes(namer: Namer, cited: Iterable[str]) -> tuple[list[Quote], list[str]]:
    """The cited text spans quoted in context, and the cited IRIs that are not text spans.

    Sentences of one paragraph make one quote; a phrase is marked, more strongly, inside the
    sentence it lies in.
    """
    sentences: dict[str, Span] = {}
    phrases: dict[str, list[Span]] = {}
    others: list[str] = []
    for iri in cited:
        span = text_span(namer, iri)
        if span is None:
            others.append(iri)
            continue
        is_sentence = any(
            q.object.value == NIF_SENTENCE
            for q in namer.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(RDF_TYPE), None)
        )
        if is_sentence:
            sentences[iri] = span
            continue
        container = next(
            (
                q.object.value
                for q in namer.store.quads_for_pattern(
                    ox.NamedNode(iri), ox.NamedNode(SUPER_STRING), None
                )
                if isinstance(q.object, ox.NamedNode)
            ),
            None,
        )
        container_span = text_span(namer, container) if container else None
        if container is None or container_span is None:
            sentences[iri] = span
            continue
        sentences.setdefault(container, container_span)
        phrases.setdefault(container, []).append(span)
    paragraphs: dict[tuple[str, int], list[Span]] = {}
    for span in sentences.values():
        text = document_text(namer.published, span.document)
        if text is None or not span_fits(span, text):
            others.append(span.iri)
            continue
        start = text.rfind("\n", 0, span.begin) + 1
        paragraphs.setdefault((span.document, start), []).append(span)
    result = [
        make_quote(namer, sorted(group, key=lambda s: s.begin), phrases)
        for group in paragraphs.values()
    ]
    result.sort(key=lambda quote: (quote.document_title, quote.begin))
    return result, others


def span_fits(span: Span, text: str) -> bool:
    return 0 <= span.begin < span.end <= len(text)


def make_quote(namer: Namer, sentences: list[Span], phrases: dict[str, list[Span]]) -> Quote:
    """One paragraph, its cited ``sentences`` marked and their cited ``phrases`` marked more."""
    first, last = sentences[0], sentences[-1]
    text = document_text(namer.published, first.document) or ""
    start = text.rfind("\n", 0, first.begin) + 1
    stop = text.find("\n", last.end)
    stop = len(text) if stop == -1 else stop
    sentence_marks = [(s.begin, s.end) for s in sentences]
    phrase_marks = [
        (p.begin, p.end)
        for s in sentences
        for p in phrases.get(s.iri, [])
        if s.begin <= p.begin < p.end <= s.end
    ]
    cuts = sorted({start, stop, *(b for m in sentence_marks + phrase_marks for b in m)})
    segments: list[Segment] = []
    for left, right in pairwise(cuts):
        if any(b <= left and right <= e for b, e in phrase_marks):
            kind = "phrase"
        elif any(b <= left and right <= e for b, e in sentence_marks):
            kind = "sentence"
        else:
            kind = "context"
        segments.append(Segment(kind, text[left:right]))
    return Quote(
        document_title=namer.display_name(first.document),
        document_href=namer.href(first.document) + f"#{sentence_anchor(first.iri)}",
        sentences=[(namer.display_name(s.iri), namer.href(s.iri)) for s in sentences],
        begin=first.begin,
        segments=segments,
    )


def sentence_anchor(iri: str) -> str:
    """The id of a sentence (or phrase) within its document's page."""
    if "#" in iri:
        return iri.rsplit("#", 1)[1]
    return "sentence-" + local_name(iri)


# ------------------------------------------------------------------ a document's full text


@dataclass
class TextRun:
    """A run of a document's text: plain, or a sentence (holding plain runs and phrases)."""

    text: str = ""
    anchor: str | None = None
    number: str | None = None
    href: str | None = None
    parts: list[TextRun] = field(default_factory=list)


def full_text(namer: Namer, document: str) -> list[TextRun] | None:
    """The document's text split into sentences (with anchors) and the phrases inside them."""
    text = document_text(namer.published, document)
    if text is None:
        return None
    spans = [
        (row["s"].value, int(row["b"].value), int(row["e"].value), row["t"].value)
        for row in select(
            namer.published,
            "SELECT DISTINCT ?s ?b ?e ?t WHERE { ?s nif:referenceContext $doc ; a ?t ; "
            "nif:beginIndex ?b ; nif:endIndex ?e FILTER(?t IN (nif:Sentence, nif:Phrase)) } "
            "ORDER BY ?b DESC(?e)",
            doc=ox.NamedNode(document),
        )
    ]
    sentences = [(s, b, e) for s, b, e, t in spans if t == NIF_SENTENCE and 0 <= b < e <= len(text)]
    phrases = [(s, b, e) for s, b, e, t in spans if t == NIF_PHRASE and 0 <= b < e <= len(text)]
    runs: list[TextRun] = []
    position = 0
    for iri, begin, end in sentences:
        if begin < position:
            continue  # overlapping sentences: keep the first
        if begin > position:
            runs.append(TextRun(text=text[position:begin]))
        sentence = TextRun(
            anchor=sentence_anchor(iri), number=local_name(iri), href=namer.href(iri)
        )
        inner = begin
        for phrase_iri, phrase_begin, phrase_end in phrases:
            if phrase_begin < inner or phrase_end > end:
                continue
            if phrase_begin > inner:
                sentence.parts.append(TextRun(text=text[inner:phrase_begin]))
            sentence.parts.append(
                TextRun(text=text[phrase_begin:phrase_end], anchor=sentence_anchor(phrase_iri))
            )
            inner = phrase_end
        if inner < end:
            sentence.parts.append(TextRun(text=text[inner:end]))
        runs.append(sentence)
        position = end
    if position < len(text):
        runs.append(TextRun(text=text[position:]))
    return runs


# ------------------------------------------------------------------ resource pages


@dataclass
class SubjectView:
    """One described subject: a resource, or a hash resource inside its document."""

    iri: str
    anchor: str | None
    name: str
    types: list[TermView]
    lead: str | None
    notes: list[str]
    properties: list[PropertyView]
    quotes: list[Quote]
    other_sources: list[ValueView]


def subject_view(namer: Namer, description: Description, iri: str) -> SubjectView:
    triples = description.about(iri)
    types = [
        namer.term(t.object.value)
        for t in triples
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode)
    ]
    names = [term.name for term in types]
    types = [
        TermView(t.iri, t.prefixed or t.name, t.prefixed, t.href, t.local)
        if names.count(t.name) > 1
        else t
        for t in types
    ]
    types.sort(key=lambda term: (not term.local, term.name))
    lead_literal = namer.best_literal(iri, DESCRIPTION_PREDICATES)
    lead_predicate = next(
        (
            p
            for p in DESCRIPTION_PREDICATES
            if lead_literal is not None and lead_literal in namer.literal_values(iri, p)
        ),
        None,
    )
    notes = sorted(
        t.object.value
        for t in triples
        if t.predicate.value == EDITORIAL_NOTE and isinstance(t.object, ox.Literal)
    )
    cited = sorted(
        {
            t.object.value
            for t in triples
            if t.predicate.value == DERIVED_FROM and isinstance(t.object, ox.NamedNode)
        }
    )
    found_quotes, others = quotes(namer, cited)
    skip = SECTION_PREDICATES | ({lead_predicate} if lead_predicate else set())
    anchor = iri.rsplit("#", 1)[1] if "#" in iri else None
    return SubjectView(
        iri=iri,
        anchor=anchor,
        name=namer.display_name(iri) if anchor is None else (namer.label(iri) or "#" + anchor),
        types=types,
        lead=lead_literal.value if lead_literal is not None else None,
        notes=notes,
        properties=namer.properties(triples, description, skip=frozenset(skip)),
        quotes=found_quotes,
        other_sources=[namer.value(ox.NamedNode(other)) for other in others],
    )


@dataclass
class IncomingGroup:
    term: TermView
    subjects: list[ValueView]

    @property
    def derived(self) -> bool:
        """Whether these subjects cite the resource as their source (prov:wasDerivedFrom)."""
        return self.term.iri == DERIVED_FROM


def incoming_groups(namer: Namer, description: Description) -> list[IncomingGroup]:
    """Links into the resource grouped by property; what cites it as a source comes first."""
    grouped: dict[str, list[Any]] = {}
    for triple in description.incoming:
        grouped.setdefault(triple.predicate.value, []).append(triple.subject)
    groups = [
        IncomingGroup(
            term=namer.term(predicate),
            subjects=sorted((namer.value(s) for s in subjects), key=lambda v: natural_key(v.text)),
        )
        for predicate, subjects in grouped.items()
    ]
    groups.sort(key=lambda group: (not group.derived, group.term.name.lower()))
    return groups


def render_resource(request: Request, published: Published, description: Description) -> Response:
    """The HTML document of a described resource (the ontology has a page of its own)."""
    if description.iri == str(published.iris.ontology):
        return render_ontology(request, published)
    namer = Namer(published)
    main = subject_view(namer, description, description.iri)
    inner = [subject_view(namer, description, iri) for iri in description.subjects[1:]]
    context_quote = None
    span = text_span(namer, description.iri)
    if span is not None and span_fits(span, document_text(published, span.document) or ""):
        context_quote = make_quote(namer, [span], {})
    graph = named_graph(published, description.iri)
    return render(
        request,
        published,
        "resource.html",
        title=main.name,
        main=main,
        inner=inner,
        incoming=incoming_groups(namer, description),
        incoming_truncated=description.incoming_truncated,
        text_runs=full_text(namer, description.iri),
        context_quote=context_quote,
        graph=graph,
        alternates=linkeddata.alternates(published, description.iri),
        json_ld=script_json(resource_json_ld(published, description)),
    )


@dataclass(frozen=True)
class NamedGraphView:
    triples: int
    kind: str
    query_href: str


def named_graph(published: Published, iri: str) -> NamedGraphView | None:
    """What the page of a named graph adds: its size and a query for its contents."""
    for graph in published.manifest.get("graphs", []):
        if published.rebase(graph["iri"]) == iri:
            query = (
                "# Every triple of one named graph\n"
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}\n"
            )
            return NamedGraphView(graph["triples"], graph["kind"], sparql_href(query))
    return None


def render_not_found(request: Request, published: Published) -> Response:
    """404 for a path that names nothing in the build: a page that helps, or one line of text."""
    iri = published.iri_for_path(request.url.path)
    try:
        wants_html = (
            best_match(("text/html", "text/plain"), request.headers.get("accept")) == "text/html"
        )
    except AcceptError:
        wants_html = False
    if not wants_html:
        return PlainTextResponse(
            f"nothing is known about <{iri}> in this dataset\n", status_code=404
        )
    namer = Namer(published)
    parent = iri.rstrip("/").rsplit("/", 1)[0] + "/"
    neighbours: list[tuple[str, str]] = []
    if parent.startswith(published.base_iri) and parent != published.base_iri:
        neighbours = [
            (namer.display_name(row["s"].value), namer.href(row["s"].value))
            for row in select(
                published,
                "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
                "FILTER(isIRI(?s) && STRSTARTS(STR(?s), $parent)) } ORDER BY ?s LIMIT 20",
                parent=ox.Literal(parent),
            )
        ]
    return render(
        request,
        published,
        "not_found.html",
        status_code=404,
        title="Not found",
        iri=iri,
        neighbours=neighbours,
    )


# ------------------------------------------------------------------ the ontology


@dataclass
class OntologyTerm:
    iri: str
    anchor: str
    name: str
    prefixed: str | None
    comment: str | None
    kinds: list[str]
    relations: list[tuple[str, list[TermView]]]
    instances: int | None = None
    instances_href: str | None = None


def render_ontology(request: Request, published: Published) -> Response:
    """Documentation of every class and property of the ontology graph, anchored by local name."""
    namer = Namer(published)
    graph = ox.NamedNode(published.iris.graph("ontology"))
    by_subject: dict[str, list[ox.Triple]] = {}
    for quad in published.store.quads_for_pattern(None, None, None, graph):
        if isinstance(quad.subject, ox.NamedNode):
            by_subject.setdefault(quad.subject.value, []).append(quad.triple)

    def objects(subject: str, predicate: Any) -> list[str]:
        return sorted(
            t.object.value
            for t in by_subject.get(subject, [])
            if t.predicate.value == str(predicate) and isinstance(t.object, ox.NamedNode)
        )

    def subjects(predicate: Any, obj: str) -> list[str]:
        return sorted(
            s
            for s, triples in by_subject.items()
            if any(t.predicate.value == str(predicate) and t.object.value == obj for t in triples)
        )

    def terms(iris: list[str]) -> list[TermView]:
        return [ontology_link(namer, published, iri) for iri in iris]

    counts = {summary.iri: summary for summary in build_facts(published).own_classes}
    classes: list[OntologyTerm] = []
    properties: list[OntologyTerm] = []
    for iri in sorted(by_subject):
        if "#" not in iri:
            continue
        types = objects(iri, RDF.type)
        comment = namer.best_literal(iri, (str(RDFS.comment), str(SKOS.definition)))
        if any(t in CLASS_TERM_TYPES for t in types):
            summary = counts.get(iri)
            classes.append(
                OntologyTerm(
                    iri=iri,
                    anchor=iri.rsplit("#", 1)[1],
                    name=namer.term_name(iri),
                    prefixed=namer.prefixed(iri),
                    comment=comment.value if comment is not None else None,
                    kinds=["class"],
                    relations=[
                        ("Subclass of", terms(objects(iri, RDFS.subClassOf))),
                        ("Superclass of", terms(subjects(RDFS.subClassOf, iri))),
                        ("Equivalent to", terms(objects(iri, OWL.equivalentClass))),
                        (
                            "Disjoint with",
                            terms(objects(iri, OWL.disjointWith) + subjects(OWL.disjointWith, iri)),
                        ),
                        ("Properties with this domain", terms(subjects(RDFS.domain, iri))),
                        ("Properties with this range", terms(subjects(RDFS.range, iri))),
                    ],
                    instances=summary.count if summary else 0,
                    instances_href=summary.query_href if summary else None,
                )
            )
        elif any(t in PROPERTY_TERM_TYPES for t in types):
            properties.append(
                OntologyTerm(
                    iri=iri,
                    anchor=iri.rsplit("#", 1)[1],
                    name=namer.term_name(iri),
                    prefixed=namer.prefixed(iri),
                    comment=comment.value if comment is not None else None,
                    kinds=[PROPERTY_KIND_NAMES[t] for t in types if t in PROPERTY_KIND_NAMES],
                    relations=[
                        ("Domain", terms(objects(iri, RDFS.domain))),
                        ("Range", terms(objects(iri, RDFS.range))),
                        ("Subproperty of", terms(objects(iri, RDFS.subPropertyOf))),
                        ("Superproperty of", terms(subjects(RDFS.subPropertyOf, iri))),
                        (
                            "Inverse of",
                            terms(objects(iri, OWL.inverseOf) + subjects(OWL.inverseOf, iri)),
                        ),
                    ],
                )
            )
    classes.sort(key=lambda term: term.name.lower())
    properties.sort(key=lambda term: term.name.lower())
    ontology = str(published.iris.ontology)
    description = namer.best_literal(ontology, DESCRIPTION_PREDICATES)
    metadata = namer.properties(
        [
            t
            for t in by_subject.get(ontology, [])
            if t.predicate.value != RDF_TYPE and t.object != description
        ]
    )
    return render(
        request,
        published,
        "ontology.html",
        title=namer.display_name(ontology),
        ontology_iri=ontology,
        description=description.value if description is not None else None,
        metadata=metadata,
        classes=classes,
        properties=properties,
        alternates=linkeddata.alternates(published, ontology),
    )


def ontology_link(namer: Namer, published: Published, iri: str) -> TermView:
    """A term as the ontology page links it: our own terms to their anchor on the page."""
    view = namer.term(iri)
    ontology_hash = str(published.iris.ontology) + "#"
    if iri.startswith(ontology_hash):
        return TermView(iri, view.name, view.prefixed, "#" + iri[len(ontology_hash) :], True)
    return TermView(iri, view.prefixed or view.name, view.prefixed, view.href, view.local)


# ------------------------------------------------------------------ the landing page


@dataclass(frozen=True)
class Download:
    name: str
    href: str
    media_type: str
    size: str
    bytes: int
    sha256: str | None
    triples: int | None


def human_size(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size_in_unit = size / 1000 ** ("kB MB GB".split().index(unit) + 1)
        if size_in_unit < 1000 or unit == "GB":
            return f"{size_in_unit:.1f} {unit}"
    return f"{size} bytes"


def landing(request: Request) -> Response:
    """What the dataset is, what it holds, its sources, example queries and downloads."""
    published = current_published(request)
    variant = html_variant(f"landing {site_url(request, published)}")
    not_modified = published.not_modified(request, variant)
    if not_modified is not None:
        return not_modified
    namer = Namer(published)
    facts = build_facts(published)
    dataset = str(published.iris.dataset)
    description = namer.best_literal(dataset, DESCRIPTION_PREDICATES)
    creator = _first_iri(published.store, dataset, str(DCTERMS.creator))
    keywords = sorted(lit.value for lit in namer.literal_values(dataset, str(DCAT.keyword)))
    modified = namer.best_literal(dataset, (str(DCTERMS.modified),))
    documents = [
        {
            "title": entry.get("title", entry["slug"]),
            "href": namer.href(published.rebase(entry["iri"])),
            "iri": published.rebase(entry["iri"]),
            "sentences": entry.get("sentences"),
            "sha256": entry.get("sha256"),
        }
        for entry in published.manifest.get("documents", [])
    ]
    downloads = [
        Download(
            name=entry["name"],
            href=f"/download/{quote(entry['name'])}",
            media_type=entry["media_type"],
            size=human_size(entry["bytes"]),
            bytes=entry["bytes"],
            sha256=entry.get("sha256"),
            triples=entry.get("triples"),
        )
        for entry in published.manifest["files"]
    ]
    examples = example_links(published)
    site = site_url(request, published)
    json_ld = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": dataset,
        "name": facts.dataset_title,
        "description": description.value if description is not None else "",
        "url": site,
        "keywords": keywords,
        "license": facts.license[0] if facts.license else None,
        "dateModified": modified.value if modified is not None else published.manifest["modified"],
        "creator": {"@type": "Organization", "@id": creator, "name": namer.display_name(creator)}
        if creator
        else None,
        "isAccessibleForFree": True,
        "distribution": [
            {
                "@type": "DataDownload",
                "name": d.name,
                "contentUrl": site + d.href.lstrip("/"),
                "encodingFormat": d.media_type,
                "contentSize": f"{d.bytes} B",
                "sha256": d.sha256,
            }
            for d in downloads
        ],
    }
    response = render(
        request,
        published,
        "landing.html",
        title=facts.dataset_title,
        description=description.value if description is not None else None,
        dataset_href=namer.href(dataset),
        creator=namer.value(ox.NamedNode(creator)) if creator else None,
        keywords=keywords,
        modified=readable_date(modified.value) if modified is not None else None,
        version=published.version,
        triples=published.manifest.get("triples"),
        own_classes=facts.own_classes,
        other_classes=facts.other_classes,
        links=published.manifest.get("links", {}),
        documents=documents,
        examples=examples,
        downloads=downloads,
        ontology_href=namer.href(str(published.iris.ontology)),
        json_ld=script_json({k: v for k, v in json_ld.items() if v is not None}),
    )
    response.headers.update(published.cache_headers(variant))
    response.headers["Link"] = '</.well-known/void>; rel="describedby"; type="text/turtle"'
    return response


def site_url(request: Request, published: Published) -> str:
    """Where clients reach this server: ``public_url`` if set, else this request's origin."""
    public_url = published.settings.public_url
    if public_url:
        return public_url.rstrip("/") + "/"
    return f"{request.url.scheme}://{request.url.netloc}/"


def sparql_href(query: str, **extra: str) -> str:
    """A link that opens ``query`` in the editor (and runs it)."""
    return "/sparql?" + urlencode({"query": query, **extra})


# ------------------------------------------------------------------ JSON-LD in a page


def script_json(document: Any) -> Markup:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` survives unescaped,
    so no literal can close the script element or open a comment."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def resource_json_ld(published: Published, description: Description) -> dict[str, Any]:
    """The schema.org statements about a resource, as a JSON-LD node for search engines."""
    schema = str(SCHEMA)
    node: dict[str, Any] = {"@context": "https://schema.org/", "@id": description.iri}
    types = []
    for triple in description.about(description.iri):
        predicate = triple.predicate.value
        obj = triple.object
        if predicate == RDF_TYPE and isinstance(obj, ox.NamedNode) and obj.value.startswith(schema):
            types.append(obj.value[len(schema) :])
            continue
        if predicate == SAME_AS and isinstance(obj, ox.NamedNode):
            key = "sameAs"
        elif predicate.startswith(schema):
            key = predicate[len(schema) :]
        else:
            continue
        if isinstance(obj, ox.Literal):
            value: Any = obj.value
        elif isinstance(obj, ox.NamedNode):
            value = obj.value if key == "sameAs" else {"@id": obj.value}
        else:
            continue
        node.setdefault(key, []).append(value)
    if types:
        node["@type"] = sorted(types) if len(types) > 1 else types[0]
    for key, values in list(node.items()):
        if isinstance(values, list) and key != "@type" and len(values) == 1:
            node[key] = values[0]
    return node


# ------------------------------------------------------------------ the query editor


@dataclass
class ResultTable:
    """A query's answer as the editor shows it."""

    form: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[ValueView | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False
    error: str | None = None
    status: int = 200


class DeferredHTMLResponse(Response):
    """An HTML response whose body is rendered when it is sent.

    The SPARQL route calls :func:`sparql_editor` synchronously, but showing a query's results
    needs the query pool, which is async; so the page is rendered in ``__call__``.
    """

    media_type = "text/html"

    def __init__(self, request: Request):
        super().__init__(content=b"", media_type=self.media_type)
        self.request = request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rendered = await editor_page(self.request)
        self.body = rendered.body
        self.status_code = rendered.status_code
        self.raw_headers = rendered.raw_headers
        await super().__call__(scope, receive, send)


def sparql_editor(request: Request) -> Response:
    """The query editor for browsers (``GET /sparql`` wanting HTML), with results for a query."""
    return DeferredHTMLResponse(request)


async def editor_page(request: Request) -> Response:
    published = current_published(request)
    query = request.query_params.get("query")
    results: ResultTable | None = None
    downloads: list[tuple[str, str]] = []
    if query is not None and query.strip():
        results = await run_for_page(request, published)
        form = results.form
        for name, label in RESULT_DOWNLOADS.get(form, ()):
            downloads.append((label, sparql_href(query, format=name)))
    namer = Namer(published)
    examples = example_links(published)
    default_query = (
        next(iter(published.queries.values())).text
        if published.queries
        else ("SELECT ?thing ?label WHERE {\n  ?thing rdfs:label ?label .\n}\nLIMIT 20\n")
    )
    prefixes = {name: str(ns) for name, ns in published.iris.prefixes().items()}
    status = results.status if results is not None and results.error else 200
    return render(
        request,
        published,
        "sparql.html",
        status_code=status,
        title="Query the data",
        query=query or "",
        editor_text=query if query else default_query,
        results=results,
        downloads=downloads,
        examples=examples,
        yasgui=yasgui_available(),
        editor_config=script_json(
            {
                "endpoint": "/sparql",
                "query": query or default_query,
                "run": bool(query),
                "prefixes": prefixes,
            }
        ),
        settings=published.settings,
        namer=namer,
    )


async def run_for_page(request: Request, published: Published) -> ResultTable:
    """Run the request's query through the pool (so every limit applies) and tabulate the answer."""
    try:
        protocol = await read_protocol_request(request, published)
    except ProtocolError as error:
        return ResultTable(form="", error=error.message, status=error.status)
    query = protocol.query or ""
    form = query_form(query) or "SELECT"
    given_dataset = bool(protocol.default_graphs or protocol.named_graphs)
    job = QueryJob(
        query=query,
        results_format="json",
        graph_format="nt",
        default_graphs=protocol.default_graphs if given_dataset else None,
        named_graphs=protocol.named_graphs if given_dataset else None,
    )
    cache: ResultCache = request.app.state.result_cache
    key = (published.version, published.base_iri, job)
    outcome = cache.get(key)
    if outcome is None:
        try:
            outcome = await run_in_pool(request.app.state.query_pool, published, job)
        except ProtocolError as error:
            return ResultTable(form=form, error=error.message, status=error.status)
        if outcome.status == 200:
            cache.put(key, outcome, len(outcome.body) + len(query))
    if outcome.status != 200:
        return ResultTable(
            form=form, error=outcome.body.decode("utf-8", "replace").strip(), status=outcome.status
        )
    namer = Namer(published)
    if outcome.content_type.startswith("application/sparql-results+json"):
        document = json.loads(outcome.body)
        if "boolean" in document:
            return ResultTable(form="ASK", boolean=bool(document["boolean"]))
        columns = list(document["head"]["vars"])
        rows = [
            [json_term_view(namer, binding.get(column)) for column in columns]
            for binding in document["results"]["bindings"]
        ]
        return ResultTable(form="SELECT", columns=columns, rows=rows, truncated=outcome.truncated)
    triples = ox.parse(outcome.body, format=ox.RdfFormat.N_TRIPLES)
    rows = [
        [namer.value(t.subject), namer.value(t.predicate), namer.value(t.object)] for t in triples
    ]
    return ResultTable(
        form=form,
        columns=["subject", "predicate", "object"],
        rows=rows,
        truncated=outcome.truncated,
    )


def json_term_view(namer: Namer, binding: dict[str, Any] | None) -> ValueView | None:
    """A cell of a SELECT result (SPARQL JSON term) as a page value."""
    if binding is None:
        return None
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return namer.value(ox.NamedNode(value))
    if kind == "bnode":
        return ValueView(kind="literal", text=f"_:{value}", note="blank node")
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in binding:
            return literal_view(ox.Literal(value, language=binding["xml:lang"]))
        datatype = binding.get("datatype")
        return literal_view(
            ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)
        )
    return ValueView(kind="literal", text=json.dumps(value))
