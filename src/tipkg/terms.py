"""The bridge between rdflib terms (the pipeline's and the reference engine's) and pyoxigraph terms
(the serialisers' and the server's), exact in both directions: lexical forms, datatypes and
language tags are copied as they are, never re-normalised.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pyoxigraph as ox
import rdflib
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import XSD
from rdflib.term import Node

from tipkg.errors import InputError

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
XSD_STRING = str(XSD.string)
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def iri(value: object) -> ox.NamedNode:
    """An IRI (a ``str`` or an rdflib ``URIRef``/``Namespace`` term) as a pyoxigraph term."""
    return ox.NamedNode(str(value))


@contextmanager
def exact_literals() -> Iterator[None]:
    """While rdflib parses: literals keep the lexical form written (rdflib would otherwise rewrite
    "01" as "1" or "…Z" as "…+00:00"), and none of its warnings (with a traceback) about
    literals it cannot convert reach the terminal; the caller reports bad literals itself."""
    rdflib_term_log = logging.getLogger("rdflib.term")
    level = rdflib_term_log.level
    normalize = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    rdflib_term_log.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
        rdflib_term_log.setLevel(level)


class ToOxigraph:
    """Converts rdflib terms to Oxigraph terms, giving each blank node one stable Oxigraph id."""

    def __init__(self) -> None:
        self.blank_nodes: dict[BNode, ox.BlankNode] = {}

    def term(self, term: Node) -> OxTerm:
        if isinstance(term, URIRef):
            return self.iri(term)
        if isinstance(term, BNode):
            return self.blank_node(term)
        if isinstance(term, Literal):
            if term.language:
                return ox.Literal(str(term), language=term.language)
            if term.datatype is None:
                return ox.Literal(str(term))
            return ox.Literal(str(term), datatype=self.iri(term.datatype))
        raise InputError(f"cannot copy {term!r} to Oxigraph: not an IRI, blank node or literal")

    def graph_name(self, name: Node | None) -> ox.NamedNode | ox.BlankNode | ox.DefaultGraph:
        if name is None or name == DATASET_DEFAULT_GRAPH_ID:
            return ox.DefaultGraph()
        if isinstance(name, BNode):
            return self.blank_node(name)
        return self.iri(URIRef(name))

    def iri(self, iri: URIRef) -> ox.NamedNode:
        try:
            return ox.NamedNode(str(iri))
        except ValueError:
            raise InputError(f"cannot copy <{iri}> to Oxigraph: not a valid IRI") from None

    def blank_node(self, node: BNode) -> ox.BlankNode:
        if node not in self.blank_nodes:
            try:
                self.blank_nodes[node] = ox.BlankNode(str(node))
            except ValueError:  # rdflib allows ids Oxigraph's syntax does not; any fresh id will do
                self.blank_nodes[node] = ox.BlankNode()
        return self.blank_nodes[node]


def to_ox_quads(dataset: Dataset) -> list[ox.Quad]:
    """Every quad of ``dataset`` as Oxigraph terms, graph names kept."""
    converter = ToOxigraph()
    return [
        ox.Quad(
            converter.term(subject),
            converter.term(predicate),
            converter.term(obj),
            converter.graph_name(graph_name),
        )
        for subject, predicate, obj, graph_name in dataset.quads((None, None, None, None))
    ]


def to_oxigraph(dataset: Dataset) -> ox.Store:
    """Copy every quad of ``dataset`` into a new in-memory Oxigraph store, keeping graph names."""
    store = ox.Store()
    store.extend(to_ox_quads(dataset))
    return store


def from_oxigraph(term: object) -> Node | None:
    """An Oxigraph term as the rdflib term with the same lexical form, datatype and language."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    raise InputError("query results hold quoted triples (RDF-star), which tipkg does not support")
