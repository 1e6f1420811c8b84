"""What the server says about one resource (Pubby / LodView style): every statement with it as
subject, the blank nodes it points to folded in, and the statements that point at it (incoming
links), a page at a time; and where the representations of that description live.

Statements come from the build's merge (the store's default graph: each triple once, however
many reports state it) and the dataset's description graph. Hash IRIs (``<base>ontology#Meeting``,
``…/document/x#char=3,9``) are described with the IRI before their ``#``: the description of a
report's IRI includes every resource of its own named graph whose IRI is it plus a fragment
(the manifest says which graph is the report's), and the ontology's, the ontology graph's terms.
Nothing here reads more than the resource's own statements, its report's graph and the incoming
links up to the page asked for, and only one page of any list is described, so a description
costs the same in a build of one report or ten thousand.

The representations of ``…/id/event/x`` are ``/id/event/x.html``, ``.ttl``, ``.jsonld``, ``.nt``
and ``.rdf`` (one per document format, by its suffix); ``?page=N`` on any of them gives the Nth
page of the incoming links and of any property with more values than a page. This module knows
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

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import pyoxigraph as ox

from tipkg.dist import CONTEXT_NAME
from tipkg.formats import DOCUMENT_FORMATS, Format
from tipkg.jsonld import NodeWriter
from tipkg.server.published import Published
from tipkg.vocab import DCTERMS, FOAF, INTEGER_DATATYPES, VOID, XSD

# How deep nested blank nodes are folded into a description (guards against pathological chains).
MAX_BLANK_DEPTH = 8
# Statements per page of a description: of the links into it (a state every report names has
# many), and of the values of any one property (the dataset has a subset per report).
PAGE_SIZE = 100


XSD_INTEGER = str(XSD.integer)


@dataclass(frozen=True)
class Description:
    """What the server says about one resource (and the hash resources inside its document)."""

    iri: str
    # The resource itself first, then its hash resources, in IRI order.
    subjects: tuple[str, ...]
    # Triples whose subject is one of ``subjects`` or a blank node folded in from them.
    outgoing: tuple[ox.Triple, ...]
    # One page of the triples from elsewhere pointing at one of ``subjects``.
    incoming: tuple[ox.Triple, ...]
    # Which page (from 1), and whether a later one has more incoming links or values.
    page: int = 1
    more: bool = False

    def triples(self) -> list[ox.Triple]:
        """Everything, for an RDF serialisation."""
        return [*self.outgoing, *self.incoming]

    def about(self, subject: str) -> list[ox.Triple]:
        """The outgoing triples of one of the described subjects."""
        return [t for t in self.outgoing if _value(t.subject) == subject]


def _value(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


def document_graphs(published: Published) -> dict[str, str]:
    """The IRIs whose hash resources live in a named graph of their own, with that graph:
    every report (from the manifest) and the ontology. Once per build."""

    def compute(build: Published) -> dict[str, str]:
        graphs = {entry["iri"]: entry["graph"] for entry in build.manifest.documents}
        graphs[str(build.iris.ontology)] = str(build.iris.graph("ontology"))
        return graphs

    return published.derived("document_graphs", compute)


def hash_resources(published: Published, iri: str) -> tuple[str, ...]:
    """The ``iri#…`` resources described in ``iri``'s own named graph, in IRI order (none for
    an IRI that is not a report's or the ontology's)."""
    graph = document_graphs(published).get(iri)
    if graph is None:
        return ()
    prefix = iri + "#"
    found = {
        quad.subject.value
        for quad in published.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
        if isinstance(quad.subject, ox.NamedNode) and quad.subject.value.startswith(prefix)
    }
    return tuple(sorted(found))


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
        or iri in document_graphs(published)
    )


def describe_resource(published: Published, iri: str, page: int = 1) -> Description:
    """The ``page``th page of the description of ``iri``: its statements, its hash resources',
    blank nodes, and incoming links, each long list (the links, a property's values) cut to that
    page of it."""
    subjects = (iri, *hash_resources(published, iri))
    if iri == str(published.iris.ontology):
        ontology_graph = ox.NamedNode(published.iris.graph("ontology"))

        def in_ontology(node: ox.BlankNode) -> list[ox.Triple]:
            quads = published.store.quads_for_pattern(node, None, None, ontology_graph)
            return [quad.triple for quad in quads]

        outgoing = [
            q.triple for q in published.store.quads_for_pattern(None, None, None, ontology_graph)
        ]
        outgoing += _folded(in_ontology, outgoing)
        more_values = False
    else:
        outgoing, more_values = [], False
        for subject in subjects:
            statements, more = _page_of_values(published.triples(ox.NamedNode(subject)), page)
            outgoing += statements
            more_values = more_values or more
        outgoing += _folded(published.triples, outgoing)
    described = {_value(t.subject) for t in outgoing} | set(subjects)
    links = (
        triple
        for triple in _pointing_at(published, subjects)
        if not (isinstance(triple.subject, ox.NamedNode) and triple.subject.value in described)
    )
    skipped = (page - 1) * PAGE_SIZE
    try:
        incoming = list(islice(links, skipped, skipped + PAGE_SIZE))
        more_links = next(links, None) is not None
    finally:
        # pyoxigraph's iterators must be dropped on the thread that made them: closed here,
        # not whenever (and wherever) the garbage collector gets to a suspended generator.
        links.close()
    return Description(
        iri=iri,
        subjects=subjects,
        # With the integer types the build published (the store keeps xsd:integer).
        outgoing=tuple(sorted(integer_types_restored(published, outgoing), key=_triple_key)),
        incoming=tuple(sorted(incoming, key=_triple_key)),
        page=page,
        more=more_values or more_links,
    )


def _page_of_values(statements: list[ox.Triple], page: int) -> tuple[list[ox.Triple], bool]:
    """One subject's statements, a property with more than a page of values cut to the
    ``page``th page of them (the others whole on every page); whether any has more."""
    by_predicate: dict[ox.NamedNode, list[ox.Triple]] = {}
    for triple in statements:
        by_predicate.setdefault(triple.predicate, []).append(triple)
    start = (page - 1) * PAGE_SIZE
    kept: list[ox.Triple] = []
    more = False
    for values in by_predicate.values():
        if len(values) <= PAGE_SIZE:
            kept += values
        else:
            kept += values[start : start + PAGE_SIZE]
            more = more or len(values) > start + PAGE_SIZE
    return kept, more


def _pointing_at(published: Published, subjects: Iterable[str]) -> Iterator[ox.Triple]:
    """The statements whose object is one of ``subjects``, each once, read lazily in the
    store's index order (the same for every request to one build), so a page of them costs
    that page and the pages before it."""
    store, merge = published.store, ox.DefaultGraph()
    for subject in subjects:
        node = ox.NamedNode(subject)
        for quad in store.quads_for_pattern(None, None, node, merge):
            yield quad.triple
        for quad in store.quads_for_pattern(None, None, node, published.description_graph):
            if next(store.quads_for_pattern(quad.subject, quad.predicate, node, merge), None):
                continue  # stated in the data too: given above
            yield quad.triple


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
        stated = build.triples(dataset, licence)
        found = {t.object for t in stated if isinstance(t.object, ox.NamedNode)}
        return tuple(sorted(found, key=lambda node: node.value))

    return published.derived("dataset_licences", find)


def integer_types_restored(published: Published, triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The triples, each ``xsd:integer`` in the type derived from it that the build's shapes
    require of its predicate (pyoxigraph's store keeps every type derived from
    ``xsd:integer`` as ``xsd:integer``; the shapes' context, checked by the build, says which)."""
    writer = jsonld_writer(published)
    restored = []
    for triple in triples:
        value = triple.object
        if isinstance(value, ox.Literal) and value.datatype.value == XSD_INTEGER:
            declared = writer.datatype_of(triple.predicate.value)
            if declared in INTEGER_DATATYPES and declared != XSD_INTEGER:
                value = ox.Literal(value.value, datatype=ox.NamedNode(declared))
                triple = ox.Triple(triple.subject, triple.predicate, value)
        restored.append(triple)
    return restored


def jsonld_writer(published: Published) -> NodeWriter:
    """The dump's JSON-LD context as a writer of node objects (read once per build)."""

    def read(build: Published) -> NodeWriter:
        text = (build.dist_dir / CONTEXT_NAME).read_text(encoding="utf-8")
        return NodeWriter(json.loads(text)["@context"])

    return published.derived("jsonld_writer", read)
