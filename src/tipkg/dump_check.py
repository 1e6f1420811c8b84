"""Every dump is read back before it is published and must hold exactly the statements it was
written from: the same terms, lexical forms, datatypes and language tags, in the same named
graphs.

pyoxigraph reads back everything. rdflib, the other engine tipkg's users reach the data with,
reads back every piece that holds a character where text readers have disagreed: control
characters, the line boundaries of ``str.splitlines`` (U+0085, U+2028, …) and characters
beyond the Basic Multilingual Plane. Elsewhere both read the one grammar the same way, and
rdflib's reading costs some twenty times pyoxigraph's. A piece that
either engine cannot parse, or reads as different statements, stops the build with a one-line
``InputError`` before anything is swapped into ``dist/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import Dataset, Graph

from tipkg.dist import DUMP_FORMATS
from tipkg.errors import InputError
from tipkg.terms import ToOxigraph, exact_literals

# How rdflib is asked to read each dump format (pyoxigraph reads DUMP_FORMATS[fmt].rdf).
RDFLIB_FORMATS = {"nq": "nquads", "trig": "trig", "ttl": "turtle", "nt": "nt", "jsonld": "json-ld"}
QUAD_FORMATS = frozenset({"nq", "trig"})
_UNUSUAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\U00010000-\U0010ffff]")
Statement = ox.Quad | ox.Triple


def check_bytes(data: bytes, fmt: str, expected: Iterable[Statement], where: str) -> None:
    """``data`` (a document in ``fmt``) must read back as exactly ``expected`` (quads for
    ``nq``/``trig``, triples otherwise); ``where`` names it in the error."""
    expected = frozenset(expected)
    readers = [("pyoxigraph", _read_with_pyoxigraph)]
    if _UNUSUAL.search(data.decode("utf-8", "replace")):
        readers.append(("rdflib", _read_with_rdflib))
    for engine, read in readers:
        try:
            found = frozenset(read(data, fmt))
        except Exception as error:  # each engine raises its own types; all mean "unreadable"
            raise InputError(f"{engine} cannot read {where} back: {_one_line(error)}") from None
        if found == expected:  # the same, blank node labels included: no need to relabel
            continue
        wanted, found = _comparable(expected), _comparable(found)
        if found != wanted:
            missing, extra = len(wanted - found), len(found - wanted)
            example = next(iter(sorted(map(str, wanted - found or found - wanted))), "")
            raise InputError(
                f"{engine} reads {where} back differently ({missing} statements missing, "
                f"{extra} extra; e.g. {example[:200]})"
            )


def _read_with_pyoxigraph(data: bytes, fmt: str) -> list[Statement]:
    quads = ox.parse(data, format=DUMP_FORMATS[fmt].rdf)
    return list(quads) if fmt in QUAD_FORMATS else [quad.triple for quad in quads]


def _read_with_rdflib(data: bytes, fmt: str) -> list[Statement]:
    """rdflib's reading, with literals as written (see :func:`tipkg.terms.exact_literals`): the
    check is about what the dump says, not about rdflib's optional normalisation."""
    converter = ToOxigraph()
    with exact_literals():
        if fmt in QUAD_FORMATS:
            dataset = Dataset()
            dataset.parse(data=data, format=RDFLIB_FORMATS[fmt])
            return [
                ox.Quad(*(converter.term(t) for t in (s, p, o)), converter.graph_name(g))
                for s, p, o, g in dataset.quads((None, None, None, None))
            ]
        graph = Graph()
        graph.parse(data=data, format=RDFLIB_FORMATS[fmt])
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
