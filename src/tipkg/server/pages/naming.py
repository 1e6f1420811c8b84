"""How pages name and show RDF terms: labels before IRIs, links to our own HTML documents,
outbound links with the name of the dataset they lead into, literals with their datatype.

:class:`Namer` is made per page and memoises its label lookups for that page's life.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyoxigraph as ox

from tipkg.formats import HTML
from tipkg.server.descriptions import MAX_BLANK_DEPTH, Description, representation_path
from tipkg.server.pages.common import clickable, select
from tipkg.server.published import Published
from tipkg.vocab import DCTERMS, FOAF, NIF, RDF, RDFS, SCHEMA, SKOS, XSD

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
ANCHOR_OF = str(NIF.anchorOf)
XSD_STRING = str(XSD.string)
XSD_DATE = str(XSD.date)
RDF_LANG_STRING = str(RDF.langString)
# A resource with no label is named by the start of its description, this long at most.
NAME_FROM_DESCRIPTION_CHARACTERS = 90
MONTHS = (
    "January February March April May June July August September October November December"
).split()


# ------------------------------------------------------------------ words from IRIs and values


def humanise(local_name: str) -> str:
    """``wasDerivedFrom`` → ``was derived from``; a name with no letters stays as it is."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local_name).replace("_", " ").replace("-", " ")
    return words.lower() if words.strip() else local_name


def cut_at_word(text: str, limit: int) -> str:
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


def readable_date(text: str) -> str:
    """``2021-05-06`` → ``6 May 2021``; anything else is left as written."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# ------------------------------------------------------------------ datasets we link into


@dataclass(frozen=True)
class ExternalDataset:
    """A dataset our IRIs link into, from the VoID description (``void:uriSpace``)."""

    uri_space: str
    title: str


def external_datasets(published: Published) -> tuple[ExternalDataset, ...]:
    """The datasets of the build's outbound links, longest IRI space first; once per build."""
    return published.derived("external_datasets", _find_external_datasets)


def _find_external_datasets(published: Published) -> tuple[ExternalDataset, ...]:
    found = []
    for row in select(
        published,
        "SELECT DISTINCT ?d ?space ?title WHERE { GRAPH $description { ?d void:uriSpace ?space "
        "OPTIONAL { ?d dct:title ?title } } }",
        description=published.description_graph,
    ):
        space = row["space"].value
        if space.startswith(published.base_iri):
            continue
        title = row["title"].value if row["title"] is not None else space
        found.append(ExternalDataset(space, title))
    found.sort(key=lambda item: -len(item.uri_space))
    return tuple(found)


# ------------------------------------------------------------------ what a page shows


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
    href: str | None = None  # "" for an IRI that is not safe to follow
    iri: str | None = None
    note: str | None = None  # the external dataset's name, or a literal's datatype
    language: str | None = None
    machine_value: str | None = None  # for <time datetime=…>
    properties: list[PropertyView] = field(default_factory=list)


@dataclass
class PropertyView:
    """One predicate of a subject with all its values, as a row of a page's property table."""

    term: TermView
    values: list[ValueView]


def literal_view(literal: ox.Literal) -> ValueView:
    """A literal with its language, or its datatype unless that is a plain string; dates read."""
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


class Namer:
    """Names, links and literal values for one page; lookups are memoised for the page's life."""

    def __init__(self, published: Published) -> None:
        self.published = published
        self._labels: dict[str, str | None] = {}
        self._prefixes = sorted(
            ((name, str(ns)) for name, ns in published.iris.prefixes().items()),
            key=lambda pair: -len(pair[1]),
        )

    def literal_values(self, subject: str, predicate: str) -> list[ox.Literal]:
        """The literal values, each once."""
        triples = self.published.triples(ox.NamedNode(subject), ox.NamedNode(predicate))
        return [t.object for t in triples if isinstance(t.object, ox.Literal)]

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
        """The resource's own label; a text span with none is named by its quoted words."""
        if iri not in self._labels:
            literal = self.best_literal(iri, LABEL_PREDICATES)
            if literal is None:
                anchor = self.best_literal(iri, (ANCHOR_OF,))
                self._labels[iri] = f"“{anchor.value}”" if anchor is not None else None
            else:
                self._labels[iri] = literal.value
        return self._labels[iri]

    def prefixed(self, iri: str) -> str | None:
        """``tip:Meeting`` for an IRI under a project prefix, if the rest is a valid local name."""
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
            return cut_at_word(description.value, NAME_FROM_DESCRIPTION_CHARACTERS)
        if self.is_local(iri):
            return spelled_path(iri[len(self.published.base_iri) :])
        return self.prefixed(iri) or iri

    def is_local(self, iri: str) -> bool:
        """Whether this server describes ``iri`` (it lies under the served base)."""
        return iri.startswith(self.published.base_iri)

    def href(self, iri: str) -> str:
        """Where a link to ``iri`` goes: our own HTML document, or the IRI itself; ``""`` (no
        link: pages show the IRI as text) when following it is unsafe (:func:`clickable`)."""
        if self.is_local(iri):
            return representation_path(self.published, iri, HTML)
        return iri if clickable(iri) else ""

    def external_dataset(self, iri: str) -> ExternalDataset | None:
        """The dataset an outbound link leads into, if the VoID description names it."""
        for dataset in external_datasets(self.published):
            if iri.startswith(dataset.uri_space):
                return dataset
        return None

    def term(self, iri: str) -> TermView:
        """A property or class, named and linked."""
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
            if description is not None and depth < MAX_BLANK_DEPTH:
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
            return ValueView(
                kind="external", text=text, href=self.href(iri), iri=iri, note=dataset.title
            )
        return ValueView(
            kind="external", text=label or self.prefixed(iri) or iri, href=self.href(iri), iri=iri
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
