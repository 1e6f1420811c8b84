"""What the search index holds for one unit: an entry per resource with text people search for,
and one per sentence of a report's source text.

An entry is computed from one assembled unit alone (its triples, its source text and the base
IRI), so the build can compute it where it assembles the unit, keep it in the unit's cache folder,
and reindex only the units that changed. Kinds come from the unit's own ``rdf:type``s (the build
materialises superclasses into each graph): a state's types are in the shared graph, so a report
that only adds a name as stated for a state gives an entry of kind ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyoxigraph as ox
from rdflib.namespace import DCTERMS, ORG, RDF, RDFS, SKOS

from tipkg.graph import UnitGraph
from tipkg.search.model import KINDS, OTHER, Entry, SentenceRef
from tipkg.sources import SourceText
from tipkg.vocab import NIF, SCHEMA, Iris

# Units whose graphs hold nothing a reader searches for: the ontology's terms are documented on
# their own page, and the dataset's description describes the files, not the subject.
UNINDEXED_UNIT_KINDS = frozenset({"ontology", "dataset"})

# The indexed fields and the predicates whose literals fill them. Names rank above text, text
# above the curators' notes (see ``FIELD_WEIGHTS`` in the index).
LABEL_PREDICATES = (str(SKOS.prefLabel), str(SCHEMA.name), str(RDFS.label), str(DCTERMS.title))
ALTERNATE_PREDICATES = (str(SCHEMA.alternateName), str(SKOS.altLabel))
DESCRIPTION_PREDICATES = (str(SCHEMA.description), str(DCTERMS.description), str(SKOS.definition))
NOTE_PREDICATES = (str(SKOS.editorialNote),)
NAME_AS_STATED = "nameAsStated"  # in the project's own namespace: tip:nameAsStated
START_DATE = str(SCHEMA.startDate)

# The types (``tip:`` for the base's ``ontology#``) that give each kind but ``other``. A resource
# takes the first kind in ``KINDS`` whose types it has: a state (also an
# ``org:FormalOrganization``) is a state, a statement (also a ``schema:CreativeWork``) a statement.
KIND_TYPES: dict[str, tuple[str, ...]] = {
    "meeting": ("tip:Meeting",),
    "state": ("tip:SovereignState",),
    "territory": ("tip:DependentTerritory",),
    "statement": ("tip:Statement",),
    "sentence": (str(NIF.Sentence),),
    "report": (str(NIF.Context),),
    "concept": (str(SKOS.Concept),),
    "organisation": (
        str(ORG.FormalOrganization),
        str(ORG.OrganizationalUnit),
        str(SCHEMA.Organization),
    ),
}
MAX_LABEL_CHARS = 120

# A date's year, 1 to 9999 (a year before the common era gives none).
_YEAR = re.compile(r"^(\d{4})")


def unit_entries(unit_graph: UnitGraph, base: str) -> tuple[Entry, ...]:
    """The unit's entries, sorted by IRI (sentences after the resources, by number).

    Year: a meeting's is the year of its ``schema:startDate``; every other entry of a report
    (its sentences, statements, memberships, the report itself) takes the year of the earliest
    meeting the report describes, if it describes a dated one. Entries of shared graphs other
    than dated meetings have none.
    """
    if unit_graph.unit.kind in UNINDEXED_UNIT_KINDS:
        return ()
    iris = Iris(base)
    literals, types = _literals_and_types(unit_graph)
    kind_types = tuple(
        (kind, frozenset(_expand(name, iris) for name in KIND_TYPES[kind]))
        for kind in KINDS
        if kind != OTHER
    )
    name_as_stated = str(iris.tip[NAME_AS_STATED])
    meeting_years = {
        subject: year
        for subject in types
        if _kind(types[subject], kind_types) == "meeting"
        and (year := _year(literals.get(subject, {}).get(START_DATE, ()))) is not None
    }
    source = unit_graph.source
    slug = source.slug if source is not None and unit_graph.unit.kind == "document" else None
    report_year = min(meeting_years.values(), default=None) if slug else None
    unit = unit_graph.graph.value
    entries = []
    for subject in sorted(literals):
        values = literals[subject]
        labels = _texts(values, LABEL_PREDICATES)
        names = _unique([*labels, *_texts(values, (*ALTERNATE_PREDICATES, name_as_stated))])
        text = _texts(values, DESCRIPTION_PREDICATES)
        notes = _texts(values, NOTE_PREDICATES)
        kind = _kind(types.get(subject, set()), kind_types)
        if not (names or text or notes) or kind == "sentence":
            continue
        entries.append(
            Entry(
                unit=unit,
                iri=subject,
                kind=kind,
                label=_label(subject, names, text),
                names=names,
                text=text,
                notes=notes,
                document=slug,
                year=meeting_years.get(subject, report_year),
            )
        )
    if source is not None and slug is not None:
        title = _texts(literals.get(str(iris.document(slug)), {}), (str(DCTERMS.title),))
        entries += _sentence_entries(unit, source, iris, slug, title, report_year)
    return tuple(entries)


def _literals_and_types(
    unit_graph: UnitGraph,
) -> tuple[dict[str, dict[str, list[ox.Literal]]], dict[str, set[str]]]:
    """Per named subject: its literal values by predicate, and its types."""
    literals: dict[str, dict[str, list[ox.Literal]]] = {}
    types: dict[str, set[str]] = {}
    for triple in unit_graph.triples:
        if not isinstance(triple.subject, ox.NamedNode):
            continue
        subject, predicate = triple.subject.value, triple.predicate.value
        if predicate == str(RDF.type) and isinstance(triple.object, ox.NamedNode):
            types.setdefault(subject, set()).add(triple.object.value)
        elif isinstance(triple.object, ox.Literal):
            literals.setdefault(subject, {}).setdefault(predicate, []).append(triple.object)
    return literals, types


def _sentence_entries(
    unit: str,
    source: SourceText,
    iris: Iris,
    slug: str,
    title: tuple[str, ...],
    year: int | None,
) -> list[Entry]:
    """One entry per sentence of the report, labelled with the report's title."""
    entries = []
    for sentence in source.sentences:
        label = f"Sentence {sentence.number}"
        entries.append(
            Entry(
                unit=unit,
                iri=str(iris.sentence(slug, sentence.number)),
                kind="sentence",
                label=f"{title[0]}, {label.lower()}" if title else label,
                names=(),
                text=(sentence.text,),
                notes=(),
                document=slug,
                year=year,
                sentence=SentenceRef(sentence.number, sentence.begin, sentence.end),
            )
        )
    return entries


def _label(subject: str, names: tuple[str, ...], text: tuple[str, ...]) -> str:
    """A name; else the start of a description (a statement's is what it says); else the
    IRI's last segment (a resource this unit only annotates, named in another graph)."""
    if names:
        return names[0]
    if text:
        return _shortened(text[0])
    return re.split(r"[/#]", subject.rstrip("/#"))[-1]


def _shortened(text: str) -> str:
    if len(text) <= MAX_LABEL_CHARS:
        return text
    return text[:MAX_LABEL_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _expand(name: str, iris: Iris) -> str:
    return str(iris.tip[name.removeprefix("tip:")]) if name.startswith("tip:") else name


def _kind(resource_types: set[str], kind_types: tuple[tuple[str, frozenset[str]], ...]) -> str:
    return next((kind for kind, wanted in kind_types if resource_types & wanted), OTHER)


def _year(dates: Iterable[ox.Literal]) -> int | None:
    years = [int(match.group(1)) for date in dates if (match := _YEAR.match(date.value))]
    return min((year for year in years if year), default=None)


def _texts(values: Mapping[str, list[ox.Literal]], predicates: Iterable[str]) -> tuple[str, ...]:
    """The literals of ``predicates``, English or untagged first, each text once, in a fixed
    order (predicate order, then the text)."""
    found: list[str] = []
    for predicate in predicates:
        literals = values.get(predicate, [])
        ordered = sorted(literals, key=lambda lit: (lit.language not in (None, "en"), lit.value))
        found += [literal.value for literal in ordered]
    return _unique(found)


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text for text in texts if text.strip()))
