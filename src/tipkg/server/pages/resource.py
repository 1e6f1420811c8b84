"""The HTML document of a described resource (LodView style): its name, types and lead text, its
properties, the sentences it was derived from, what links to it, and for a source document its
full text. The ontology's IRI gets the ontology page instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.dist import VOID_NAME, GraphEntry
from tipkg.server.descriptions import Description, alternates
from tipkg.server.pages.common import page_links, script_json, sparql_href
from tipkg.server.pages.document import (
    IS_STRING,
    Quote,
    document_text,
    full_text,
    make_quote,
    quotes,
    sentence_focus,
    span_fits,
    text_span,
)
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import (
    DESCRIPTION_PREDICATES,
    RDF_TYPE,
    Namer,
    PropertyView,
    TermView,
    ValueView,
    natural_key,
)
from tipkg.server.pages.ontology import render_ontology
from tipkg.server.published import Published
from tipkg.vocab import OWL, PROV, SCHEMA, SKOS

EDITORIAL_NOTE = str(SKOS.editorialNote)
DERIVED_FROM = str(PROV.wasDerivedFrom)
SAME_AS = str(OWL.sameAs)
# Shown in their own sections of a resource page, not in its table of properties.
SECTION_PREDICATES = frozenset({RDF_TYPE, EDITORIAL_NOTE, DERIVED_FROM, IS_STRING})


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
    text_runs = full_text(namer, description.iri)
    return render(
        request,
        published,
        "resource.html",
        title=main.name,
        main=main,
        inner=inner,
        incoming=incoming_groups(namer, description),
        pages=page_links(description.page, description.more, "pages"),
        text_runs=text_runs,
        focus=sentence_focus(namer, text_runs, request.query_params.get("sentence")),
        context_quote=context_quote,
        graph=named_graph(published, description.iri),
        alternates=alternates(published, description.iri),
        json_ld=script_json(resource_json_ld(description)),
    )


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
    """What the page shows of one subject; its lead text and cited sources leave the table."""
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
    """The subjects that link to the resource through one property."""

    term: TermView
    subjects: list[ValueView]

    @property
    def cites_as_source(self) -> bool:
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
    groups.sort(key=lambda group: (not group.cites_as_source, group.term.name.lower()))
    return groups


@dataclass(frozen=True)
class NamedGraphView:
    """What the page of a named graph adds: its size, its kind and a query for its contents."""

    triples: int
    kind: str
    query_href: str


def named_graph(published: Published, iri: str) -> NamedGraphView | None:
    """The named graph ``iri`` as the manifest lists it, or ``None`` if it is not a graph."""
    graph = graphs_by_iri(published).get(iri)
    if graph is None:
        return None
    query = (
        "# Every triple of one named graph\n"
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}\n"
    )
    return NamedGraphView(graph["triples"], graph["kind"], sparql_href(query))


def graphs_by_iri(published: Published) -> dict[str, GraphEntry]:
    """The named graphs by IRI, once per build: the manifest's, and the dataset's description
    (``void.ttl``, which the manifest lists as a file)."""

    def compute(build: Published) -> dict[str, GraphEntry]:
        graphs = {graph["iri"]: graph for graph in build.manifest.graphs}
        void = next(f for f in build.manifest.files if f.name == VOID_NAME)
        iri = build.description_graph.value
        graphs[iri] = GraphEntry(
            iri=iri, kind="description", triples=void.triples or 0, sha256=void.sha256
        )
        return graphs

    return published.derived("graphs_by_iri", compute)


def resource_json_ld(description: Description) -> dict[str, Any]:
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
