"""Facts fixed for a build that pages show: the dataset's title and licence, and what its
classes hold.

The instances per class are the manifest's (the build counted them); the first page of each
class's instances is read once per build and kept on the :class:`Published` build itself, and
later pages are read when asked for, a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.server.pages.common import LIST_PAGE_SIZE, select, sparql_href
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published
from tipkg.vocab import DCTERMS

KNOWN_LICENSES = {
    "https://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "http://creativecommons.org/licenses/by/4.0/": "CC BY 4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "http://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0",
    "https://creativecommons.org/licenses/by-sa/4.0/": "CC BY-SA 4.0",
}


@dataclass(frozen=True)
class ClassSummary:
    """How many things of one class the data holds, and the first page of them."""

    iri: str
    name: str
    prefixed: str
    count: int
    href: str
    members: tuple[tuple[str, str], ...]
    more_members: bool
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
    license_iri = first_iri(published, dataset, str(DCTERMS.license))
    own: list[ClassSummary] = []
    other: list[tuple[str, int]] = []
    for cls, count in class_iris(published).items():
        if cls.startswith(str(published.iris.tip)):
            members, more = class_members(published, namer, cls, 1)
            own.append(
                ClassSummary(
                    iri=cls,
                    name=namer.term_name(cls),
                    prefixed=namer.prefixed(cls) or cls,
                    count=count,
                    href=namer.href(cls),
                    members=members,
                    more_members=more,
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


def class_iris(published: Published) -> dict[str, int]:
    """Class IRI → instances, as the build counted them (the manifest names each class
    ``tip:Meeting``, or ``<iri>`` where no prefix fits)."""
    prefixes = published.prefixes
    counts = {}
    for name, count in published.manifest.classes.items():
        if name.startswith("<") and name.endswith(">"):
            counts[name[1:-1]] = count
        else:
            prefix, _, local = name.partition(":")
            counts[prefixes[prefix] + local] = count
    return counts


def class_members(
    published: Published, namer: Namer, cls: str, page: int
) -> tuple[tuple[tuple[str, str], ...], bool]:
    """(name, href) of the ``page``th page of ``cls``'s instances, sorted by name, and whether a
    later page has more. Pages follow the store's index (the same for every request to one
    build); sorting the whole class by name would read all of it for every page."""
    offset = (page - 1) * LIST_PAGE_SIZE
    iris = [
        row["s"].value
        for row in select(
            published,
            f"SELECT ?s WHERE {{ ?s a $cls FILTER(isIRI(?s)) }} "
            f"LIMIT {LIST_PAGE_SIZE + 1} OFFSET {offset}",
            cls=ox.NamedNode(cls),
        )
    ]
    members = sorted(
        ((namer.display_name(iri), namer.href(iri)) for iri in iris[:LIST_PAGE_SIZE]),
        key=lambda m: m[0],
    )
    return tuple(members), len(iris) > LIST_PAGE_SIZE


def _instances_query(namer: Namer, cls: str) -> str:
    """The editor query that lists every instance of ``cls``, for the class's "query" link."""
    prefixed = namer.prefixed(cls) or f"<{cls}>"
    return (
        f"# Everything of the class {namer.term_name(cls)}, with its label\n"
        f"SELECT ?thing ?label WHERE {{\n  ?thing a {prefixed} .\n"
        "  OPTIONAL { ?thing rdfs:label ?label }\n}\nORDER BY ?label\n"
    )


def first_iri(published: Published, subject: str, predicate: str) -> str | None:
    """An IRI value of ``subject``'s ``predicate``, if it has one."""
    for triple in published.triples(ox.NamedNode(subject), ox.NamedNode(predicate)):
        if isinstance(triple.object, ox.NamedNode):
            return triple.object.value
    return None


def license_name(iri: str) -> str:
    """A short name for a well-known licence IRI, else the IRI itself."""
    return KNOWN_LICENSES.get(iri, iri)
