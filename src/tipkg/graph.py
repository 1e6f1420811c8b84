"""Assemble the knowledge graph: every input parsed into its named graph, then materialised.

Named graphs (under ``<base>graph/``): ``ontology``, ``dataset`` (the dataset's own description),
``shared`` (states, organisations, concepts, series), ``linkset/<name>`` per linkset file and
``document/<slug>`` per report (its text, sentences and facts). Materialisation runs the
CONSTRUCT rules in ``ontology/rules/`` over each graph plus the ontology, to a fixpoint, and adds
what they derive to that same graph, so every graph stays self-contained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from tipkg.errors import InputError
from tipkg.locate import locate_text
from tipkg.project import Project, read_text
from tipkg.settings import Settings
from tipkg.sources import SourceText, anchor_citations, describe, read_source
from tipkg.terms import exact_literals, to_ox_quads
from tipkg.vocab import Iris, prefixed_name

MAX_RULE_PASSES = 10
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

Triple = tuple[Node, Node, Node]


@dataclass
class KnowledgeGraph:
    """What the graph stage returns: the dataset and the source texts it was built from.

    Later stages read it and never change it, so the union of its graphs is computed once.
    """

    dataset: Dataset
    iris: Iris
    sources: dict[str, SourceText]
    files_by_graph: dict[URIRef, tuple[Path, ...]]
    # The file each asserted triple was written in (the first, if several), so a finding about a
    # triple can name the file a curator must edit; materialised triples are not in it.
    origins: dict[Triple, Path]

    @cached_property
    def union(self) -> Graph:
        """All named graphs merged into one plain Graph, with the project's prefixes bound."""
        union = bound_graph(self.iris)
        for triple in self.dataset.triples((None, None, None)):
            union.add(triple)
        return union

    @cached_property
    def quads(self) -> frozenset[ox.Quad]:
        """Every quad of the named graphs as pyoxigraph terms, blank nodes labelled by RDF
        Dataset Canonicalization (RDFC-1.0) so that the same input gets the same labels."""
        quads = to_ox_quads(self.dataset)
        if any(isinstance(term, ox.BlankNode) for quad in quads for term in quad):
            canonical = ox.Dataset(quads)
            canonical.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
            quads = list(canonical)
        return frozenset(quads)

    @cached_property
    def union_triples(self) -> frozenset[ox.Triple]:
        """The RDF merge of the named graphs: each triple once."""
        return frozenset(quad.triple for quad in self.quads)


def bound_graph(iris: Iris) -> Graph:
    """An empty Graph that knows exactly the project's prefixes (none picked up from inputs)."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in iris.prefixes().items():
        graph.bind(prefix, namespace, replace=True)
    return graph


def assemble(project: Project, settings: Settings) -> KnowledgeGraph:
    """Parse, anchor and materialise every input; raise ``InputError`` on the first bad file."""
    iris = Iris(settings.base_iri)
    dataset = Dataset(default_union=True)
    for prefix, namespace in iris.prefixes().items():
        dataset.bind(prefix, namespace, replace=True)
    files_by_graph: dict[URIRef, tuple[Path, ...]] = {}
    origins: dict[Triple, Path] = {}

    def load(graph_iri: URIRef, paths: tuple[Path, ...]) -> Graph:
        graph = dataset.graph(graph_iri)
        for path in paths:
            for triple in parse_turtle(path, iris.base, into=graph):
                origins.setdefault(triple, path)
        files_by_graph[graph_iri] = paths
        return graph

    ontology = load(iris.graph("ontology"), project.ontology_files)
    load(iris.graph("dataset"), (project.dataset_file,))
    load(iris.graph("shared"), project.shared_files)
    for path in project.linkset_files:
        load(iris.graph("linkset", path.stem), (path,))
    sources: dict[str, SourceText] = {}
    for report in project.reports:
        source = read_source(report)
        sources[report.slug] = source
        graph = load(iris.graph("document", report.slug), report.turtle_files)
        graph += anchor_citations(source, graph, iris, report.turtle_files)
        graph += describe(source, iris)
    rules = [load_rule(path, iris.base) for path in project.rule_files]
    for graph_iri in files_by_graph:
        if graph_iri != ontology.identifier:
            materialise(dataset.graph(graph_iri), ontology, rules)
    return KnowledgeGraph(dataset, iris, sources, files_by_graph, origins)


def parse_turtle(path: Path, base: str, into: Graph) -> Graph:
    """Parse one Turtle file against the base IRI into ``into`` and return what it held.

    Literals keep the lexical form written in the file (rdflib would otherwise rewrite "01" as
    "1"), and every literal must be well-typed with a well-formed language tag: a syntax error
    or a bad literal is a one-line ``InputError`` naming the file and line.
    """
    text = read_text(path)
    parsed = Graph(bind_namespaces="none")
    try:
        with exact_literals():
            parsed.parse(data=text, format="turtle", publicID=base)
    except InputError:
        raise
    except Exception as error:  # rdflib raises several types; all mean "this file is bad"
        line = getattr(error, "lines", None)
        why = re.search(r"Bad syntax \((.*?)\) at \^", str(error), re.S)
        cause = why.group(1) if why else str(error).splitlines()[0]
        raise InputError(
            f"Turtle syntax error: {cause}", path, line + 1 if isinstance(line, int) else None
        ) from None
    check_literals(parsed, path, base)
    for prefix, namespace in parsed.namespaces():
        into.bind(prefix, namespace, override=False)
    into += parsed
    return parsed


def check_literals(graph: Graph, path: Path, base: str) -> None:
    """Every literal is well-typed for its XSD datatype and every language tag is well-formed
    BCP 47; the first that is not is an ``InputError`` at its line in ``path``."""
    for literal in sorted({o for o in graph.objects() if isinstance(o, Literal)}):
        if literal.language is not None:
            try:
                ox.Literal(str(literal), language=literal.language)
            except ValueError as error:
                raise InputError(
                    f"malformed language tag @{literal.language} on {_quoted(literal)}: {error}",
                    path,
                    locate_text(path, base, f"@{literal.language}").line,
                ) from None
        elif literal.ill_typed:
            datatype = prefixed_name(str(literal.datatype))
            local = str(literal.datatype).rsplit("#", 1)[-1]
            example = DATATYPE_EXAMPLES.get(local)
            hint = f" (for example {example})" if example else ""
            raise InputError(
                f"ill-typed literal {_quoted(literal)}^^{datatype}: not a valid {datatype}{hint}",
                path,
                locate_text(path, base, f'"{literal}"', str(literal).split("\n", 1)[0]).line,
            )


def _quoted(literal: Literal) -> str:
    return '"' + str(literal).replace("\\", "\\\\").replace('"', '\\"') + '"'


def load_rule(path: Path, base: str) -> Query:
    text = read_text(path)
    try:
        return prepareQuery(text, base=base)
    except Exception as error:
        raise InputError(f"bad materialisation rule: {str(error).splitlines()[0]}", path) from None


def materialise(graph: Graph, ontology: Graph, rules: list[Query]) -> None:
    """Add what the rules derive from ``graph`` plus the ontology to ``graph``, to a fixpoint."""
    for _ in range(MAX_RULE_PASSES):
        scratch = Graph()
        scratch += graph
        scratch += ontology
        before = len(graph)
        for rule in rules:
            for triple in scratch.query(rule):
                if triple not in ontology:
                    graph.add(triple)
        if len(graph) == before:
            return
    raise InputError(f"materialisation rules did not settle after {MAX_RULE_PASSES} passes")
