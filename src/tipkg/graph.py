"""Assemble the knowledge graph, one unit at a time: each unit's files parsed into its named graph,
its citations anchored in its source text, then materialised against the ontology.

Named graphs (under ``<base>graph/``): ``ontology``, ``dataset`` (the dataset's own description),
``shared`` (states, organisations, concepts, series), ``linkset/<name>`` per linkset file and
``document/<slug>`` per report (its text, sentences and facts). A unit depends only on its own
files, the ontology and the rules, so the build can assemble units in any order, in parallel,
and keep an unchanged unit from the last build (:mod:`tipkg.build`).

Materialisation runs the CONSTRUCT rules in ``ontology/rules/`` over a unit's graph plus the
ontology, to a fixpoint, and adds what they derive to that same graph, so every graph stays
self-contained. Terms are pyoxigraph's; literals keep the lexical form the file wrote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal

from tipkg.errors import InputError
from tipkg.locate import locate_text
from tipkg.project import Project, Unit, read_text, units_of
from tipkg.settings import Settings
from tipkg.sources import SourceText, anchor_citations, describe, read_source
from tipkg.terms import OxTerm, exact_literals, from_oxigraph, iri
from tipkg.vocab import Iris, prefixed_name

MAX_RULE_PASSES = 10
XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema#"
# A valid example per datatype, for the message that rejects an ill-typed literal.
DATATYPE_EXAMPLES = {
    "date": '"2021-05-06"^^xsd:date',
    "dateTime": '"2021-05-06T09:30:00Z"^^xsd:dateTime',
    "boolean": "true or false",
    "integer": '"6"^^xsd:integer',
    "positiveInteger": '"6"^^xsd:positiveInteger',
    "nonNegativeInteger": '"0"^^xsd:nonNegativeInteger',
    "decimal": '"2.5"^^xsd:decimal',
    "duration": '"P2D"^^xsd:duration',
    "gYear": '"2021"^^xsd:gYear',
    "hexBinary": "an even number of hexadecimal digits",
}


@dataclass(frozen=True)
class UnitGraph:
    """One unit assembled: its named graph's triples, where each asserted one was written (for
    messages that name a file a curator can edit), and the report's text for documents."""

    unit: Unit
    graph: ox.NamedNode
    triples: frozenset[ox.Triple]
    origins: Mapping[ox.Triple, Path]
    source: SourceText | None = None

    def quads(self) -> list[ox.Quad]:
        return [ox.Quad(t.subject, t.predicate, t.object, self.graph) for t in self.triples]


@dataclass(frozen=True)
class Rule:
    """A materialisation rule: one CONSTRUCT query from ``ontology/rules/``."""

    path: Path
    text: str


def load_rules(paths: Iterable[Path], base: str) -> tuple[Rule, ...]:
    """The rules, each checked to parse as a CONSTRUCT query (else a one-line ``InputError``)."""
    probe = ox.Store()
    rules = []
    for path in paths:
        text = read_text(path)
        try:
            answer = probe.query(text, base_iri=base)
        except SyntaxError as error:
            cause = " ".join(str(error).split())
            raise InputError(f"bad materialisation rule: {cause}", path) from None
        if not isinstance(answer, ox.QueryTriples):
            raise InputError("a materialisation rule must be a CONSTRUCT query", path)
        rules.append(Rule(path, text))
    return tuple(rules)


class Materialiser:
    """Runs the rules over one unit's triples plus the ontology, to a fixpoint.

    The ontology sits in its own graph of an in-memory store and each unit is put in the default
    graph in turn, so a unit costs its rules' queries and little more. The store is replaced
    every ``STORE_USES`` units: pyoxigraph's in-memory store keeps what was removed from it, and
    grows slower with every unit cleared (from ~3 to ~13 ms a unit over 300 units).
    """

    STORE_USES = 32

    def __init__(self, ontology: Iterable[ox.Triple], rules: tuple[Rule, ...], base: str) -> None:
        self.rules = rules
        self.base = base
        self.ontology = frozenset(ontology)
        self._ontology_graph = ox.NamedNode(base + "graph/ontology")
        self._store = ox.Store()
        self._uses = 0

    def _fresh_store(self) -> ox.Store:
        if self._uses % self.STORE_USES == 0:
            self._store = ox.Store()
            self._store.extend(
                ox.Quad(t.subject, t.predicate, t.object, self._ontology_graph)
                for t in self.ontology
            )
        else:
            self._store.clear_graph(ox.DefaultGraph())
        self._uses += 1
        return self._store

    def derive(self, triples: Iterable[ox.Triple]) -> frozenset[ox.Triple]:
        """Everything the rules add to ``triples`` (never an ontology triple)."""
        graph = set(triples)
        store = self._fresh_store()
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in graph)
        derived: set[ox.Triple] = set()
        for _ in range(MAX_RULE_PASSES):
            new: set[ox.Triple] = set()
            for rule in self.rules:
                answer = store.query(
                    rule.text,
                    base_iri=self.base,
                    default_graph=[ox.DefaultGraph(), self._ontology_graph],
                )
                new.update(t for t in answer if t not in graph and t not in self.ontology)
            if not new:
                return frozenset(derived)
            graph |= new
            derived |= new
            store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in new)
        raise InputError(f"materialisation rules did not settle after {MAX_RULE_PASSES} passes")


# ------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class TurtleFile:
    """What one Turtle file says, and the prefixes it declares (resolved)."""

    triples: list[ox.Triple]
    prefixes: dict[str, str]


def read_turtle(path: Path, base: str, label: str) -> TurtleFile:
    """One Turtle file's triples, IRIs resolved against the base; a syntax error, an ill-typed
    literal or a malformed language tag is a one-line ``InputError`` at its line.

    Blank nodes are named by ``label`` (unique per file in the project) and their order of
    appearance, so the same file gives the same labels in every build and two files never
    share one by accident.
    """
    text = read_text(path)
    parser = ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE, base_iri=base)
    try:
        triples = [quad.triple for quad in parser]
    except SyntaxError as error:
        cause = _parser_cause(error)
        raise InputError(f"Turtle syntax error: {cause}", path, error.lineno) from None
    if any(isinstance(term, ox.BlankNode) for triple in triples for term in triple):
        triples = _named_blank_nodes(triples, label)
    check_literals(triples, path, base)
    return TurtleFile(triples, dict(parser.prefixes))


def _parser_cause(error: SyntaxError) -> str:
    """pyoxigraph's message without the position, which the error's line already gives."""
    message = " ".join(str(error).split())
    if message.startswith("Parser error at line ") and ": " in message:
        message = message.split(": ", 1)[1]
    if message.endswith(")") and " (line " in message:
        message = message.rsplit(" (line ", 1)[0]
    return message


def _named_blank_nodes(triples: list[ox.Triple], label: str) -> list[ox.Triple]:
    prefix = "b" + hashlib.sha256(label.encode()).hexdigest()[:12]
    names: dict[str, ox.BlankNode] = {}

    def rename(term: OxTerm) -> OxTerm:
        if not isinstance(term, ox.BlankNode):
            return term
        if term.value not in names:
            names[term.value] = ox.BlankNode(f"{prefix}x{len(names)}")
        return names[term.value]

    return [ox.Triple(rename(t.subject), t.predicate, rename(t.object)) for t in triples]


def check_literals(triples: Iterable[ox.Triple], path: Path, base: str) -> None:
    """Every literal with an XSD datatype must be well-typed (the parser has already checked
    language tags); the first that is not is an ``InputError`` at its line in ``path``."""
    literals = {t.object for t in triples if isinstance(t.object, ox.Literal)}
    typed = [
        lit
        for lit in literals
        if lit.language is None and lit.datatype.value.startswith(XSD_NAMESPACE)
    ]
    if not typed:
        return
    with exact_literals():
        bad = [lit for lit in typed if Literal(lit.value, datatype=lit.datatype.value).ill_typed]
    for literal in sorted(bad, key=str):
        datatype = prefixed_name(literal.datatype.value)
        example = DATATYPE_EXAMPLES.get(literal.datatype.value[len(XSD_NAMESPACE) :])
        hint = f" (for example {example})" if example else ""
        quoted = str(ox.Literal(literal.value))
        raise InputError(
            f"ill-typed literal {quoted}^^{datatype}: not a valid {datatype}{hint}",
            path,
            locate_text(path, base, quoted, literal.value.split("\n", 1)[0]).line,
        )


# ------------------------------------------------------------------ units


def assemble_unit(unit: Unit, iris: Iris, materialiser: Materialiser | None) -> UnitGraph:
    """Parse, anchor and materialise one unit (the ontology is not materialised)."""
    origins: dict[ox.Triple, Path] = {}
    for path in unit.turtle_files:
        for triple in read_turtle(path, iris.base, f"{unit.graph_path}/{path.name}").triples:
            origins.setdefault(triple, path)
    triples = set(origins)
    source = None
    if unit.source_path is not None:
        source = read_source(unit.name, unit.source_path)
        triples.update(anchor_citations(source, triples, iris, unit.turtle_files))
        triples.update(describe(source, iris))
    if materialiser is not None:
        triples |= materialiser.derive(triples)
    graph = iri(iris.graph(*unit.graph_path.split("/")))
    return UnitGraph(unit, graph, frozenset(triples), origins, source)


@dataclass
class KnowledgeGraph:
    """The whole project assembled in memory: every unit's graph.

    Later stages read it and never change it, so each view of it is computed once.
    """

    iris: Iris
    units: tuple[UnitGraph, ...]

    @cached_property
    def sources(self) -> dict[str, SourceText]:
        return {u.unit.name: u.source for u in self.units if u.source is not None}

    @cached_property
    def origins(self) -> dict[ox.Triple, Path]:
        """The file each asserted triple was written in (the first unit's, if several)."""
        merged: dict[ox.Triple, Path] = {}
        for unit in self.units:
            for triple, path in unit.origins.items():
                merged.setdefault(triple, path)
        return merged

    @cached_property
    def quads(self) -> frozenset[ox.Quad]:
        """Every quad of every named graph."""
        return frozenset(quad for unit in self.units for quad in unit.quads())

    @cached_property
    def union_triples(self) -> frozenset[ox.Triple]:
        """The RDF merge of the named graphs: each triple once."""
        return frozenset(triple for unit in self.units for triple in unit.triples)

    @cached_property
    def default_triples(self) -> frozenset[ox.Triple]:
        """What a query's default graph holds: the RDF merge of the data graphs, i.e. every named
        graph but the dataset's description (``graph/dataset``), which describes them."""
        return frozenset(
            triple for unit in self.units if unit.unit.kind != "dataset" for triple in unit.triples
        )

    def store(self) -> ox.Store:
        """An in-memory store laid out as the published one: every named graph, and the merge
        of the data graphs as the default graph."""
        store = ox.Store()
        store.extend(self.quads)
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in self.default_triples)
        return store

    @cached_property
    def query_dataset(self) -> Dataset:
        """The same layout for rdflib: named graphs, and the merge as the default graph."""
        dataset = self._named_graphs(Dataset())
        default = dataset.default_graph
        for triple in self.default_triples:
            default.add(tuple(from_oxigraph(term) for term in triple))
        return dataset

    def _named_graphs(self, dataset: Dataset) -> Dataset:
        """``dataset`` with the project's prefixes and every unit's named graph."""
        for prefix, namespace in self.iris.prefixes().items():
            dataset.bind(prefix, namespace, replace=True)
        for unit in self.units:
            graph = dataset.graph(from_oxigraph(unit.graph))
            for triple in unit.triples:
                graph.add(tuple(from_oxigraph(term) for term in triple))
        return dataset

    def graph_triples(self, graph_path: str) -> frozenset[ox.Triple]:
        """The triples of one named graph (``ontology``, ``document/<slug>``, …)."""
        wanted = self.iris.graph(*graph_path.split("/"))
        return next((u.triples for u in self.units if u.graph.value == str(wanted)), frozenset())

    @cached_property
    def dataset(self) -> Dataset:
        """The named graphs as an rdflib Dataset, for the reference engine and pyshacl."""
        return self._named_graphs(Dataset(default_union=True))

    @cached_property
    def union(self) -> Graph:
        """All named graphs merged into one rdflib Graph, with the project's prefixes bound."""
        union = bound_graph(self.iris)
        for triple in self.union_triples:
            union.add(tuple(from_oxigraph(term) for term in triple))
        return union


def bound_graph(iris: Iris) -> Graph:
    """An empty rdflib Graph that knows exactly the project's prefixes."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in iris.prefixes().items():
        graph.bind(prefix, namespace, replace=True)
    return graph


def assemble(project: Project, settings: Settings) -> KnowledgeGraph:
    """Every unit of the project assembled in this process; the first bad file raises
    ``InputError``. (``tipkg build`` assembles units in parallel and keeps unchanged ones:
    :mod:`tipkg.build`.)"""
    iris = Iris(settings.base_iri)
    ontology_unit, *others = units_of(project)
    ontology = assemble_unit(ontology_unit, iris, None)
    materialiser = Materialiser(
        ontology.triples, load_rules(project.rule_files, iris.base), iris.base
    )
    units = [ontology, *(assemble_unit(unit, iris, materialiser) for unit in others)]
    return KnowledgeGraph(iris, tuple(units))
