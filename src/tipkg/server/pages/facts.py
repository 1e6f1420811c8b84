"""Facts fixed for a build that pages show: the dataset's title and licence, and what its
classes hold.

Counting the classes is costly and the build never changes, so :class:`BuildFacts` is computed
once per build and kept on the :class:`Published` build itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.server.pages.common import select, sparql_href
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published
from tipkg.vocab import DCTERMS

# The most instances listed per class on the landing page.
MAX_LISTED_INSTANCES = 50
KNOWN_LICENSES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "http://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "http://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
}


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


@dataclass(frozen=True)
class BuildFacts:
    """What the pages compute once per build."""

    dataset_title: str
    license: tuple[str, str] | None
    own_classes: tuple[ClassSummary, ...]
    other_classes: tuple[tuple[str, int], ...]


def build_facts(published: Published) -> BuildFacts:
    """The facts of this build, computed once per build."""
    return published.derived("build_facts", _compute_build_facts)


def _compute_build_facts(published: Published) -> BuildFacts:
    namer = Namer(published)
    dataset = str(published.iris.dataset)
    title = namer.label(dataset) or "tipkg"
    license_iri = first_iri(published.store, dataset, str(DCTERMS.license))
    described = ", ".join(
        f"<{published.iris.graph(name)}>" for name in ("ontology", "dataset", "void")
    )
    counts: list[tuple[str, int]] = [
        (row["class"].value, int(row["n"].value))
        for row in published.store.query(
            "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?class } "
            f"FILTER(?g NOT IN ({described}) && isIRI(?class)) }} GROUP BY ?class"
        )
    ]
    own: list[ClassSummary] = []
    other: list[tuple[str, int]] = []
    for cls, count in counts:
        if cls.startswith(str(published.iris.tip)):
            own.append(
                ClassSummary(
                    iri=cls,
                    name=namer.term_name(cls),
                    prefixed=namer.prefixed(cls) or cls,
                    count=count,
                    href=namer.href(cls),
                    members=_class_members(published, namer, cls),
                    query_href=sparql_href(_instances_query(namer, cls)),
                )
            )
        else:
            other.append((namer.prefixed(cls) or cls, count))
    own.sort(key=lambda summary: (-summary.count, summary.name))
    other.sort(key=lambda item: (-item[1], item[0]))
    return BuildFacts(
        dataset_title=title,
        license=(namer.href(license_iri), license_name(license_iri)) if license_iri else None,
        own_classes=tuple(own),
        other_classes=tuple(other),
    )


def _class_members(published: Published, namer: Namer, cls: str) -> tuple[tuple[str, str], ...]:
    """(name, href) of the first instances of ``cls``, sorted by name."""
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
    """The editor query that lists every instance of ``cls``, for the class's "query" link."""
    prefixed = namer.prefixed(cls) or f"<{cls}>"
    return (
        f"# Everything of the class {namer.term_name(cls)}, with its label\n"
        f"SELECT ?thing ?label WHERE {{\n  ?thing a {prefixed} .\n"
        "  OPTIONAL { ?thing rdfs:label ?label }\n}\nORDER BY ?label\n"
    )


def first_iri(store: ox.Store, subject: str, predicate: str) -> str | None:
    """An IRI value of ``subject``'s ``predicate`` in any graph, if it has one."""
    for quad in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None):
        if isinstance(quad.object, ox.NamedNode):
            return quad.object.value
    return None


def license_name(iri: str) -> str:
    """A short name for a well-known licence IRI, else the IRI itself."""
    return KNOWN_LICENSES.get(iri, iri)
