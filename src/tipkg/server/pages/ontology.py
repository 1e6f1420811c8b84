"""The ontology's page: every class and property of the ontology graph, anchored by local name,
with its comment, its relations to other terms and, for a class, how many instances the data holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.server.descriptions import alternates
from tipkg.server.pages.facts import build_facts
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import DESCRIPTION_PREDICATES, RDF_TYPE, Namer, TermView
from tipkg.server.published import Published
from tipkg.vocab import OWL, RDF, RDFS, SKOS

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
# Predicates whose value explains a term.
TERM_COMMENT_PREDICATES = (str(RDFS.comment), str(SKOS.definition))


@dataclass
class OntologyTerm:
    """A class or property as the ontology page documents it."""

    iri: str
    anchor: str
    name: str
    prefixed: str | None
    comment: str | None
    kinds: list[str]
    relations: list[tuple[str, list[TermView]]]
    instances: int | None = None
    instances_href: str | None = None


def ontology_term(
    namer: Namer,
    iri: str,
    kinds: list[str],
    relations: list[tuple[str, list[TermView]]],
    instances: int | None = None,
    instances_href: str | None = None,
) -> OntologyTerm:
    """A hash term of the ontology, named and explained, with what the caller knows of it."""
    comment = namer.best_literal(iri, TERM_COMMENT_PREDICATES)
    return OntologyTerm(
        iri=iri,
        anchor=iri.rsplit("#", 1)[1],
        name=namer.term_name(iri),
        prefixed=namer.prefixed(iri),
        comment=comment.value if comment is not None else None,
        kinds=kinds,
        relations=relations,
        instances=instances,
        instances_href=instances_href,
    )


class OntologyGraph:
    """The ontology graph's triples by subject, for reading a term's relations both ways."""

    def __init__(self, published: Published) -> None:
        graph = ox.NamedNode(published.iris.graph("ontology"))
        self.by_subject: dict[str, list[ox.Triple]] = {}
        for quad in published.store.quads_for_pattern(None, None, None, graph):
            if isinstance(quad.subject, ox.NamedNode):
                self.by_subject.setdefault(quad.subject.value, []).append(quad.triple)

    def objects(self, subject: str, predicate: Any) -> list[str]:
        """The IRIs ``subject`` points at through ``predicate``."""
        return sorted(
            t.object.value
            for t in self.by_subject.get(subject, [])
            if t.predicate.value == str(predicate) and isinstance(t.object, ox.NamedNode)
        )

    def subjects(self, predicate: Any, obj: str) -> list[str]:
        """The subjects that point at ``obj`` through ``predicate``."""
        return sorted(
            s
            for s, triples in self.by_subject.items()
            if any(t.predicate.value == str(predicate) and t.object.value == obj for t in triples)
        )


def render_ontology(request: Request, published: Published) -> Response:
    """Documentation of every class and property of the ontology graph, anchored by local name."""
    namer = Namer(published)
    graph = OntologyGraph(published)
    classes: list[OntologyTerm] = []
    properties: list[OntologyTerm] = []
    for iri in sorted(graph.by_subject):
        if "#" not in iri:
            continue
        types = graph.objects(iri, RDF.type)
        if any(t in CLASS_TERM_TYPES for t in types):
            classes.append(class_term(namer, graph, iri))
        elif any(t in PROPERTY_TERM_TYPES for t in types):
            properties.append(property_term(namer, graph, iri, types))
    ontology = str(published.iris.ontology)
    description = namer.best_literal(ontology, DESCRIPTION_PREDICATES)
    metadata = namer.properties(
        [
            t
            for t in graph.by_subject.get(ontology, [])
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
        classes=sorted(classes, key=lambda term: term.name.lower()),
        properties=sorted(properties, key=lambda term: term.name.lower()),
        alternates=alternates(published, ontology),
    )


def class_term(namer: Namer, graph: OntologyGraph, iri: str) -> OntologyTerm:
    """A class with its relations to other terms and how many instances the data holds."""
    relations = [
        ("Subclass of", linked(namer, graph.objects(iri, RDFS.subClassOf))),
        ("Superclass of", linked(namer, graph.subjects(RDFS.subClassOf, iri))),
        ("Equivalent to", linked(namer, graph.objects(iri, OWL.equivalentClass))),
        (
            "Disjoint with",
            linked(
                namer, graph.objects(iri, OWL.disjointWith) + graph.subjects(OWL.disjointWith, iri)
            ),
        ),
        ("Properties with this domain", linked(namer, graph.subjects(RDFS.domain, iri))),
        ("Properties with this range", linked(namer, graph.subjects(RDFS.range, iri))),
    ]
    counts = {summary.iri: summary for summary in build_facts(namer.published).own_classes}
    summary = counts.get(iri)
    return ontology_term(
        namer,
        iri,
        ["class"],
        relations,
        instances=summary.count if summary else 0,
        instances_href=summary.query_href if summary else None,
    )


def property_term(namer: Namer, graph: OntologyGraph, iri: str, types: list[str]) -> OntologyTerm:
    """A property with its kinds (object, datatype, functional, …) and its relations."""
    relations = [
        ("Domain", linked(namer, graph.objects(iri, RDFS.domain))),
        ("Range", linked(namer, graph.objects(iri, RDFS.range))),
        ("Subproperty of", linked(namer, graph.objects(iri, RDFS.subPropertyOf))),
        ("Superproperty of", linked(namer, graph.subjects(RDFS.subPropertyOf, iri))),
        (
            "Inverse of",
            linked(namer, graph.objects(iri, OWL.inverseOf) + graph.subjects(OWL.inverseOf, iri)),
        ),
    ]
    kinds = [PROPERTY_KIND_NAMES[t] for t in types if t in PROPERTY_KIND_NAMES]
    return ontology_term(namer, iri, kinds, relations)


def linked(namer: Namer, iris: list[str]) -> list[TermView]:
    return [ontology_link(namer, iri) for iri in iris]


def ontology_link(namer: Namer, iri: str) -> TermView:
    """A term as the ontology page links it: our own terms to their anchor on the page."""
    view = namer.term(iri)
    ontology_hash = str(namer.published.iris.ontology) + "#"
    if iri.startswith(ontology_hash):
        return TermView(iri, view.name, view.prefixed, "#" + iri[len(ontology_hash) :], True)
    return TermView(iri, view.prefixed or view.name, view.prefixed, view.href, view.local)
