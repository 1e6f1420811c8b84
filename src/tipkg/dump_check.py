"""Every dump is read back, before it is published, by both RDF engines tipkg's users reach it
with (rdflib and pyoxigraph), and must hold exactly the statements it was written from: the same
terms, lexical forms, datatypes and language tags, in the same named graphs.

A dump that either engine cannot parse, or reads as different statements, stops the build with a
one-line ``InputError`` before anything is swapped into ``dist/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph

from tipkg.errors import InputError
from tipkg.terms import ToOxigraph, exact_literals

# What each dump holds, and how each engine is asked to read it.
QUAD_FORMATS = {"nq": ("nquads", ox.RdfFormat.N_QUADS), "trig": ("trig", ox.RdfFormat.TRIG)}
TRIPLE_FORMATS = {
    "ttl": ("turtle", ox.RdfFormat.TURTLE),
    "nt": ("nt", ox.RdfFormat.N_TRIPLES),
    "jsonld": ("json-ld", ox.RdfFormat.JSON_LD),
}
Statement = ox.Quad | ox.Triple


def check_dump(path: Path, fmt: str, expected: Iterable[Statement]) -> None:
    """Read ``path`` (a dump in ``fmt``) with pyoxigraph and with rdflib; each reading must equal
    ``expected`` (quads for ``nq``/``trig``, triples otherwise)."""
    wanted = _comparable(expected)
    for engine, read in (("pyoxigraph", _read_with_pyoxigraph), ("rdflib", _read_with_rdflib)):
        try:
            found = _comparable(read(path, fmt))
        except Exception as error:  # each engine raises its own types; all mean "unreadable"
            raise InputError(
                f"{engine} cannot read the dump back: {_one_line(error)}", path
            ) from None
        if found != wanted:
            missing, extra = len(wanted - found), len(found - wanted)
            example = next(iter(sorted(map(str, wanted - found or found - wanted))), "")
            raise InputError(
                f"{engine} reads the dump back differently ({missing} statements missing, "
                f"{extra} extra; e.g. {example[:200]})",
                path,
            )


def _read_with_pyoxigraph(path: Path, fmt: str) -> list[Statement]:
    if fmt in QUAD_FORMATS:
        return list(ox.parse(path=path, format=QUAD_FORMATS[fmt][1]))
    return [quad.triple for quad in ox.parse(path=path, format=TRIPLE_FORMATS[fmt][1])]


def _read_with_rdflib(path: Path, fmt: str) -> list[Statement]:
    """rdflib's reading, with literals as written (see :func:`tipkg.terms.exact_literals`): the
    check is about what the dump says, not about rdflib's optional normalisation."""
    converter = ToOxigraph()
    with exact_literals():
        if fmt in QUAD_FORMATS:
            dataset = Dataset()
            dataset.parse(path, format=QUAD_FORMATS[fmt][0])
            return [
                ox.Quad(*(converter.term(t) for t in (s, p, o)), converter.graph_name(g))
                for s, p, o, g in dataset.quads((None, None, None, None))
            ]
        graph = Graph()
        graph.parse(path, format=TRIPLE_FORMATS[fmt][0])
    return [ox.Triple(*(converter.term(t) for t in triple)) for triple in graph]


def _comparable(statements: Iterable[Statement]) -> frozenset[Statement]:
    """The statements as a set; blank nodes relabelled canonically so that two readings of the
    same dump compare equal whatever labels each parser chose."""
    statements = list(statements)
    if not any(isinstance(term, ox.BlankNode) for statement in statements for term in statement):
        return frozenset(statements)
    as_quads = [s if isinstance(s, ox.Quad) else ox.Quad(*s) for s in statements]
    canonical = ox.Dataset(as_quads)
    canonical.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    if all(isinstance(s, ox.Quad) for s in statements):
        return frozenset(canonical)
    return frozenset(quad.triple for quad in canonical)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300]
