"""Writing RDF: pyoxigraph's serialisers, and one rule for which prefixes a document declares.

Every byte of RDF syntax tipkg writes comes from a real serialiser; nothing here edits syntax as
text. Each writer puts its statements in one fixed order (N-Triples and N-Quads line by line,
Turtle and TriG by graph, subject, then ``rdf:type`` first), and pyoxigraph writes prefixes in a
fixed order whatever order they are given in; with blank nodes labelled canonically by the caller,
the same statements always give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from tipkg.terms import RDF_TYPE
from tipkg.vocab import PrefixIndex

# A local name that Turtle can write after a prefix with no backslash escapes.
_PLAIN_LOCAL_NAME = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?$")


def iris_in(statements: Iterable[ox.Triple | ox.Quad]) -> set[str]:
    """Every IRI a serialisation of ``statements`` writes, datatypes and graph names included."""
    found: set[str] = set()
    for statement in statements:
        terms = [statement.subject, statement.predicate, statement.object]
        if isinstance(statement, ox.Quad):
            terms.append(statement.graph_name)
        for term in terms:
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
            elif isinstance(term, ox.Literal):
                found.add(term.datatype.value)
    return found


def readable_prefixes(prefixes: Mapping[str, str], iris: Iterable[str]) -> dict[str, str]:
    """The prefixes worth declaring for ``iris``: each used by some IRI, and none that would force
    a backslash escape (``doc:x\\/sentence\\/1``); such IRIs are written in full instead.

    An IRI is abbreviated with the longest declared namespace it starts with, so dropping one
    prefix can hand its IRIs to a shorter one; the check repeats until nothing changes.
    """
    declared = dict(prefixes)
    iris = sorted(set(iris))
    while True:
        index = PrefixIndex(declared)
        used: set[str] = set()
        unreadable: set[str] = set()
        for iri in iris:
            found = index.longest(iri)
            if found is None:
                continue
            prefix, namespace = found
            used.add(prefix)
            if not _PLAIN_LOCAL_NAME.match(iri[len(namespace) :]):
                unreadable.add(prefix)
        if not unreadable:
            return {name: ns for name, ns in declared.items() if name in used}
        for name in unreadable:
            del declared[name]


def _reading_order(statement: ox.Triple | ox.Quad) -> tuple[str, str, bool, str, str]:
    """Graph, subject, types first, then predicate and object: how a person reads Turtle."""
    graph = str(statement.graph_name) if isinstance(statement, ox.Quad) else ""
    predicate = statement.predicate
    return (
        graph,
        str(statement.subject),
        predicate != RDF_TYPE,
        str(predicate),
        str(statement.object),
    )


def turtle(triples: Iterable[ox.Triple], prefixes: Mapping[str, str]) -> bytes:
    """Turtle with only the readable prefixes the triples use."""
    ordered = sorted(triples, key=_reading_order)
    declared = readable_prefixes(prefixes, iris_in(ordered))
    return ox.serialize(ordered, format=ox.RdfFormat.TURTLE, prefixes=declared)


def trig(quads: Iterable[ox.Quad], prefixes: Mapping[str, str]) -> bytes:
    """TriG, one block per named graph, graphs in IRI order."""
    ordered = sorted(quads, key=_reading_order)
    declared = readable_prefixes(prefixes, iris_in(ordered))
    return ox.serialize(ordered, format=ox.RdfFormat.TRIG, prefixes=declared)


def ntriples(triples: Iterable[ox.Triple]) -> bytes:
    """N-Triples with its lines in sorted order."""
    return ox.serialize(sorted(triples, key=str), format=ox.RdfFormat.N_TRIPLES)


def nquads(quads: Iterable[ox.Quad]) -> bytes:
    """N-Quads with its lines in sorted order."""
    return ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS)
