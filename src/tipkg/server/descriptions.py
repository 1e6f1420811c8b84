"""What the server says about one resource (Pubby / LodView style): every triple with it as
subject in the build's merge (each triple once, however many reports state it) or the dataset's
description, the blank nodes it points to folded in, and every triple that points at it
(incoming links); and where the representations of that description live.

Hash IRIs (``<base>ontology#Meeting``, ``…/document/x#char=3,9``) are described with the IRI
before their ``#``: the description of ``…/document/x`` includes every resource whose IRI is it
plus a fragment. The representations of ``…/id/event/x`` are ``/id/event/x.html``, ``.ttl``,
``.jsonld``, ``.nt`` and ``.rdf`` (one per document format, by its suffix). This module knows
nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.formats import DOCUMENT_FORMATS, Format
from tipkg.server.published import Published

# How deep nested blank nodes are folded into a description (guards against pathological chains).
MAX_BLANK_DEPTH = 8
# The most incoming links a description carries; a hub resource can have very many.
MAX_INCOMING = 2_000


@dataclass(frozen=True)
class Description:
    """What the server says about one resource (and the hash resources inside its document)."""

    iri: str
    # The resource itself first, then its hash resources, in IRI order.
    subjects: tuple[str, ...]
    # Triples whose subject is one of ``subjects`` or a blank node folded in from them.
    outgoing: tuple[ox.Triple, ...]
    # Triples from elsewhere pointing at one of ``subjects``.
    incoming: tuple[ox.Triple, ...]
    incoming_truncated: bool

    def triples(self) -> list[ox.Triple]:
        """Everything, for an RDF serialisation."""
        return [*self.outgoing, *self.incoming]

    def about(self, subject: str) -> list[ox.Triple]:
        """The outgoing triples of one of the described subjects."""
        return [t for t in self.outgoing if _value(t.subject) == subject]


def _value(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


class HashIndex:
    """Which hash IRIs live in which document, computed once per build."""

    def __init__(self, store: ox.Store, base_iri: str):
        by_document: dict[str, list[str]] = {}
        query = (
            "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{_sparql_string(base_iri)}") '
            '&& CONTAINS(STR(?s), "#")) }'
        )
        for row in store.query(query):
            document, _, _ = row["s"].value.partition("#")
            by_document.setdefault(document, []).append(row["s"].value)
        self.by_document = {doc: tuple(sorted(iris)) for doc, iris in by_document.items()}


def hash_index(published: Published) -> HashIndex:
    """The hash-IRI index of this build, computed once per build."""
    return published.derived("hash_index", lambda p: HashIndex(p.store, p.base_iri))


def _sparql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def is_known(published: Published, iri: str) -> bool:
    """Whether the build mentions ``iri`` as a subject, an object or a graph name (text that
    is not an IRI, such as a request path with ``<`` or a space in it, names nothing)."""
    try:
        node = ox.NamedNode(iri)
    except ValueError:
        return False
    store = published.store
    return (
        next(store.quads_for_pattern(node, None, None), None) is not None
        or next(store.quads_for_pattern(None, None, node), None) is not None
        or next(store.quads_for_pattern(None, None, None, node), None) is not None
        or iri in hash_index(published).by_document
    )


def describe_resource(published: Published, iri: str) -> Description:
    """The description of ``iri``: its triples, its hash resources', blank nodes, incoming links,
    from the build's merge (each triple once) and the dataset's description graph."""
    subjects = (iri, *hash_index(published).by_document.get(iri, ()))
    if iri == str(published.iris.ontology):
        ontology_graph = ox.NamedNode(published.iris.graph("ontology"))

        def in_ontology(node: ox.BlankNode) -> list[ox.Triple]:
            quads = published.store.quads_for_pattern(node, None, None, ontology_graph)
            return [quad.triple for quad in quads]

        outgoing = [
            q.triple for q in published.store.quads_for_pattern(None, None, None, ontology_graph)
        ]
        outgoing += _folded(in_ontology, outgoing)
    else:
        outgoing = []
        for subject in subjects:
            outgoing += published.triples(ox.NamedNode(subject))
        outgoing += _folded(published.triples, outgoing)
    described = {_value(t.subject) for t in outgoing} | set(subjects)
    incoming: list[ox.Triple] = []
    truncated = False
    for subject in subjects:
        for triple in published.triples(None, None, ox.NamedNode(subject)):
            if isinstance(triple.subject, ox.NamedNode) and triple.subject.value in described:
                continue
            if len(incoming) >= MAX_INCOMING:
                truncated = True
                break
            incoming.append(triple)
    return Description(
        iri=iri,
        subjects=subjects,
        outgoing=tuple(sorted(outgoing, key=_triple_key)),
        incoming=tuple(sorted(incoming, key=_triple_key)),
        incoming_truncated=truncated,
    )


def _folded(
    statements: Callable[[ox.BlankNode], list[ox.Triple]], triples: list[ox.Triple]
) -> list[ox.Triple]:
    """The triples of every blank node reachable from ``triples``, breadth first, read with
    ``statements`` (from the graph ``triples`` come from: a store's load gives each graph's
    blank nodes their own identity)."""
    folded: list[ox.Triple] = []
    frontier = [t.object for t in triples if isinstance(t.object, ox.BlankNode)]
    seen: set[str] = set()
    for _ in range(MAX_BLANK_DEPTH):
        next_frontier: list[ox.BlankNode] = []
        for node in frontier:
            if node.value in seen:
                continue
            seen.add(node.value)
            for triple in statements(node):
                folded.append(triple)
                if isinstance(triple.object, ox.BlankNode):
                    next_frontier.append(triple.object)
        if not next_frontier:
            break
        frontier = next_frontier
    return folded


def _triple_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), str(triple.predicate), str(triple.object))


def representation_path(published: Published, iri: str, fmt: Format) -> str:
    """The local URL path of ``iri``'s description in ``fmt`` (``/id/event/x.ttl``)."""
    resource, _, fragment = iri.partition("#")
    path = published.path_for_iri(resource)
    if path is None:
        raise ValueError(f"{iri} is not under the base {published.base_iri}")
    return f"{path}.{fmt.suffix}" + (f"#{fragment}" if fragment else "")


def alternates(published: Published, iri: str) -> list[tuple[Format, str]]:
    """Every format of ``iri``'s description with its path, for links and ``rel=alternate``."""
    return [(fmt, representation_path(published, iri, fmt)) for fmt in DOCUMENT_FORMATS]
