"""What the server says about one resource (Pubby / LodView style): every triple with it as
subject in any graph, the blank nodes it points to folded in, and every triple that points at it
(incoming links); and where the representations of that description live.

Hash IRIs (``<base>ontology#Meeting``, ``…/document/x#char=3,9``) are described with the IRI
before their ``#``: the description of ``…/document/x`` includes every resource whose IRI is it
plus a fragment. The representations of ``…/id/event/x`` are ``/id/event/x.html``, ``.ttl``,
``.jsonld``, ``.nt`` and ``.rdf`` (one per document format, by its suffix). This module knows
nothing of HTTP.

Each representation also says what it is (:func:`document_statements`, Pubby's "document
metadata"): ``<document> foaf:primaryTopic <resource>``, ``void:inDataset <dataset>`` and the
dataset's ``dct:license`` as the build's description states it. ``<document>`` is the
representation's own URL, suffix included (``<base>id/event/x.ttl``), under the base IRI like
every IRI the server mints. Pubby names the data document it served, the URL the client fetched;
here that is the suffixed URL (the 303's target, the ``Content-Location``), and the suffixless
IRI is the resource itself, so a document naming itself by it would say the meeting is a
document. A crawler files what it fetched under that URL, so the statements tie its record to
the resource; the representations of one resource differ only in that one IRI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.formats import DOCUMENT_FORMATS, Format
from tipkg.server.published import Published
from tipkg.vocab import DCTERMS, FOAF, VOID

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
    """The description of ``iri``: its triples, its hash resources', blank nodes, incoming links."""
    store = published.store
    subjects = (iri, *hash_index(published).by_document.get(iri, ()))
    if iri == str(published.iris.ontology):
        ontology_graph = ox.NamedNode(published.iris.graph("ontology"))
        outgoing = _unique(
            q.triple for q in store.quads_for_pattern(None, None, None, ontology_graph)
        )
        outgoing += _folded(store, outgoing, set(subjects) | {_value(t.subject) for t in outgoing})
    else:
        outgoing = []
        for subject in subjects:
            outgoing += _unique(
                q.triple for q in store.quads_for_pattern(ox.NamedNode(subject), None, None)
            )
        outgoing += _folded(store, outgoing, set(subjects))
    described = {_value(t.subject) for t in outgoing} | set(subjects)
    incoming: list[ox.Triple] = []
    truncated = False
    for subject in subjects:
        for triple in _unique(
            q.triple for q in store.quads_for_pattern(None, None, ox.NamedNode(subject))
        ):
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


def _unique(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Triples once each (the same triple may sit in several named graphs)."""
    return list(dict.fromkeys(triples))


def _folded(store: ox.Store, triples: list[ox.Triple], seen_subjects: set[str]) -> list[ox.Triple]:
    """The triples of every blank node reachable from ``triples``, breadth first."""
    folded: list[ox.Triple] = []
    frontier = [t.object for t in triples if isinstance(t.object, ox.BlankNode)]
    seen: set[str] = set()
    for _ in range(MAX_BLANK_DEPTH):
        next_frontier: list[ox.BlankNode] = []
        for node in frontier:
            if node.value in seen:
                continue
            seen.add(node.value)
            for triple in _unique(q.triple for q in store.quads_for_pattern(node, None, None)):
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


def document_statements(published: Published, iri: str, fmt: Format) -> list[ox.Triple]:
    """What the representation of ``iri``'s description in ``fmt`` says about itself: its
    primary topic, its dataset and the dataset's licences (see the module's docstring)."""
    document = ox.NamedNode(published.iri_for_path(representation_path(published, iri, fmt)))
    dataset = ox.NamedNode(str(published.iris.dataset))
    return [
        ox.Triple(document, ox.NamedNode(str(FOAF.primaryTopic)), ox.NamedNode(iri)),
        ox.Triple(document, ox.NamedNode(str(VOID.inDataset)), dataset),
        *(
            ox.Triple(document, ox.NamedNode(str(DCTERMS.license)), licence)
            for licence in dataset_licences(published)
        ),
    ]


def dataset_licences(published: Published) -> tuple[ox.NamedNode, ...]:
    """The licences the build's description gives the dataset, in IRI order (once per build)."""

    def find(build: Published) -> tuple[ox.NamedNode, ...]:
        dataset = ox.NamedNode(str(build.iris.dataset))
        licence = ox.NamedNode(str(DCTERMS.license))
        found = {
            quad.object
            for quad in build.store.quads_for_pattern(dataset, licence, None)
            if isinstance(quad.object, ox.NamedNode)
        }
        return tuple(sorted(found, key=lambda node: node.value))

    return published.derived("dataset_licences", find)
