"""The rows of every listing, read from a build's store once it holds the build (the default graph
being the merge of the named graphs).

A member of ``/id/event/`` (and of each kind in :data:`tipkg.dist.BROWSE_KINDS`) is a resource
whose IRI is that path plus one segment (``…/id/document/x``, not ``…/id/document/x/sentence/1``
nor ``…#char=1,5``: those are parts of their document) and that is the subject of some triple.
Its row holds its IRI, its name and, where it has one, its date. A timeline row is a meeting
with its dates, hosts, series and the reports whose graphs mention it.

Each listing is found with a few SPARQL queries the store answers in one pass over the triples
they match, and sorted here; nothing is read per resource.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.browse.listing import Row
from tipkg.vocab import DCTERMS, FOAF, RDFS, SCHEMA, SKOS, Iris

# Predicates that name a resource, in the order the pages prefer them.
LABEL_PREDICATES = (RDFS.label, SKOS.prefLabel, SCHEMA.name, DCTERMS.title, FOAF.name)
# Predicates that date a resource, in order of preference (a meeting has a start date).
DATE_PREDICATES = (SCHEMA.startDate, SCHEMA.datePublished, DCTERMS.issued, DCTERMS.date)
# The orders every kind's listing is written in, the first being the file's.
KIND_ORDERS = ("label", "date")


@dataclass(frozen=True)
class Listings:
    """What the build writes: each kind's rows by label with their order by date, and the
    timeline's rows by date."""

    kinds: dict[str, tuple[list[Row], list[int]]]
    timeline: list[Row]


def listing_rows(
    store: ox.Store, iris: Iris, kinds: Iterable[str], documents: Mapping[str, str]
) -> Listings:
    """The rows of each kind's listing (``kinds``: path segments under ``id/``) and of the
    timeline; ``documents`` maps a report's graph IRI to the report's IRI."""
    kinds = tuple(kinds)
    prefixes = {kind: str(iris.id) + kind + "/" for kind in kinds}
    members: dict[str, list[str]] = {kind: [] for kind in kinds}
    for iri in _subjects_under(store, str(iris.id)):
        for kind, prefix in prefixes.items():
            rest = iri[len(prefix) :]
            if iri.startswith(prefix) and rest and not any(c in rest for c in "/#"):
                members[kind].append(iri)
    names = _values(store, iris.base, LABEL_PREDICATES)
    dates = _values(store, str(iris.id), DATE_PREDICATES)
    listings: dict[str, tuple[list[Row], list[int]]] = {}
    for kind in kinds:
        rows = [_row(iri, names, dates) for iri in members[kind]]
        rows.sort(key=lambda row: (sort_key(row["label"]), row["iri"]))
        by_date = sorted(
            range(len(rows)),
            key=lambda n: (rows[n].get("date") is None, rows[n].get("date") or "", n),
        )
        listings[kind] = (rows, by_date)
    return Listings(listings, _timeline(store, iris, names, documents))


def sort_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Labels in the order people look for them: case and accents aside, numbers by value
    (``Meeting 2`` before ``Meeting 10``)."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", folded)
        if part
    )


def _subjects_under(store: ox.Store, prefix: str) -> list[str]:
    """The IRIs under ``prefix`` that are subjects. (Every subject is read and the prefix tested
    here: a SPARQL filter on the IRI's text costs the store more than the whole scan.)"""
    subjects = (row["s"] for row in store.query("SELECT DISTINCT ?s WHERE { ?s ?p ?o }"))
    return [s.value for s in subjects if isinstance(s, ox.NamedNode) and s.value.startswith(prefix)]


def _values(store: ox.Store, prefix: str, predicates: Iterable[str]) -> dict[str, str]:
    """Per subject under ``prefix``, its best literal value of ``predicates``: the first
    predicate's, in English, else untagged, else any language; the least by text among equals."""
    predicates = tuple(str(p) for p in predicates)
    values = " ".join(f"<{p}>" for p in predicates)
    query = f"SELECT ?s ?p ?v WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?v }}"
    best: dict[str, tuple[tuple[int, int, str], str]] = {}
    for row in store.query(query):
        literal, subject = row["v"], row["s"]
        if not (
            isinstance(literal, ox.Literal)
            and isinstance(subject, ox.NamedNode)
            and subject.value.startswith(prefix)
        ):
            continue
        rank = (
            predicates.index(row["p"].value),
            0 if literal.language == "en" else 1 if literal.language is None else 2,
            literal.value,
        )
        subject = subject.value
        if subject not in best or rank < best[subject][0]:
            best[subject] = (rank, literal.value)
    return {subject: value for subject, (_, value) in best.items()}


def _row(iri: str, names: Mapping[str, str], dates: Mapping[str, str]) -> Row:
    row: Row = {"iri": iri, "label": names.get(iri) or _spelled(iri)}
    if iri in dates:
        row["date"] = dates[iri]
    return row


def _spelled(iri: str) -> str:
    """A name for a resource with none: its last segment in words."""
    words = re.split(r"[/#]", iri.rstrip("/#"))[-1].replace("-", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _timeline(
    store: ox.Store, iris: Iris, names: Mapping[str, str], documents: Mapping[str, str]
) -> list[Row]:
    """Every meeting by start date (undated ones last), with its end date, hosts, series and
    the reports that mention it (as subject or object in their graphs)."""
    meeting = f"<{iris.tip['Meeting']}>"
    dates = (
        f"OPTIONAL {{ ?m <{SCHEMA.startDate}> ?start }} OPTIONAL {{ ?m <{SCHEMA.endDate}> ?end }}"
    )
    rows: dict[str, Row] = {}
    for result in store.query(f"SELECT ?m ?start ?end WHERE {{ ?m a {meeting} {dates} }}"):
        if not isinstance(result["m"], ox.NamedNode):
            continue
        iri = result["m"].value
        row = rows.setdefault(iri, {"iri": iri, "label": names.get(iri) or _spelled(iri)})
        for key, name in (("date", "start"), ("end", "end")):
            value = result[name]
            if isinstance(value, ox.Literal) and value.value < row.get(key, "\uffff"):
                row[key] = value.value
    links: dict[str, dict[str, set[str]]] = {iri: {} for iri in rows}
    for key, predicate in (("hosts", iris.tip["hostedBy"]), ("series", iris.tip["inSeries"])):
        for result in store.query(f"SELECT ?m ?o WHERE {{ ?m a {meeting} ; <{predicate}> ?o }}"):
            if result["m"].value in links and isinstance(result["o"], ox.NamedNode):
                links[result["m"].value].setdefault(key, set()).add(result["o"].value)
    for pattern in ("?m ?p ?o", "?x ?p ?m"):
        for result in store.query(
            f"SELECT DISTINCT ?m ?g WHERE {{ ?m a {meeting} . GRAPH ?g {{ {pattern} }} }}"
        ):
            document = documents.get(result["g"].value)
            if document is not None and result["m"].value in links:
                links[result["m"].value].setdefault("reports", set()).add(document)
    for iri, row in rows.items():
        row.setdefault("date", None)
        row.setdefault("end", None)
        for key in ("hosts", "series", "reports"):
            linked = [
                {"iri": other, "label": names.get(other) or _label(store, other)}
                for other in links[iri].get(key, ())
            ]
            row[key] = sorted(linked, key=lambda link: (sort_key(link["label"]), link["iri"]))
    return sorted(rows.values(), key=_by_date)


def _by_date(row: Row) -> tuple[bool, str, tuple[tuple[int, int | str], ...], str]:
    """Dated rows by date, then the undated; rows of one date by label."""
    return (row["date"] is None, row["date"] or "", sort_key(row["label"]), row["iri"])


def _label(store: ox.Store, iri: str) -> str:
    """The name of one resource outside ``id/`` (a host given by an outside IRI)."""
    for predicate in LABEL_PREDICATES:
        for quad in store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(str(predicate)), None):
            if isinstance(quad.object, ox.Literal):
                return quad.object.value
    return _spelled(iri)
