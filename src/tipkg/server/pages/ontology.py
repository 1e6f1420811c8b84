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
        if any(t in CLASS_TERM_TYPES for t in types):
            summary = counts.get(iri)
            relations = [
                ("Subclass of", terms(objects(iri, RDFS.subClassOf))),
                ("Superclass of", terms(subjects(RDFS.subClassOf, iri))),
                ("Equivalent to", terms(objects(iri, OWL.equivalentClass))),
                (
                    "Disjoint with",
                    terms(objects(iri, OWL.disjointWith) + subjects(OWL.disjointWith, iri)),
                ),
                ("Properties with this domain", terms(subjects(RDFS.domain, iri))),
                ("Properties with this range", terms(subjects(RDFS.range, iri))),
            ]
            classes.append(
                ontology_term(
                    namer,
                    iri,
                    ["class"],
                    relations,
                    instances=summary.count if summary else 0,
                    instances_href=summary.query_href if summary else None,
                )
            )
        elif any(t in PROPERTY_TERM_TYPES for t in types):
            relations = [
                ("Domain", terms(objects(iri, RDFS.domain))),
                ("Range", terms(objects(iri, RDFS.range))),
                ("Subproperty of", terms(objects(iri, RDFS.subPropertyOf))),
                ("Superproperty of", terms(subjects(RDFS.subPropertyOf, iri))),
                (
                    "Inverse of",
                    terms(objects(iri, OWL.inverseOf) + subjects(OWL.inverseOf, iri)),
                ),
            ]
            kinds = [PROPERTY_KIND_NAMES[t] for t in types if t in PROPERTY_KIND_NAMES]
            properties.append(ontology_term(namer, iri, kinds, relations))
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
        alternates=alternates(published, ontology),
    )


def ontology_link(namer: Namer, published: Published, iri: str) -> TermView:
    """A term as the ontology page links it: our own terms to their anchor on the page."""
    view = namer.term(iri)
    ontology_hash = str(published.iris.ontology) + "#"
    if iri.startswith(ontology_hash):
        return TermView(iri, view.name, view.prefixed, "#" + iri[len(ontology_hash) :], True)
    return TermView(iri, view.prefixed or view.name, view.prefixed, view.href, view.local)
