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

from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from tipkg.errors import InputError
from tipkg.project import Project, read_text
from tipkg.settings import Settings
from tipkg.sources import SourceText, anchor_citations, describe, read_source
from tipkg.vocab import Iris

MAX_RULE_PASSES = 10


@dataclass
class KnowledgeGraph:
    """What the graph stage returns: the dataset and the source texts it was built from.

    Later stages read it and never change it, so the union of its graphs is computed once.
    """

    dataset: Dataset
    iris: Iris
    sources: dict[str, SourceText]
    files_by_graph: dict[URIRef, tuple[Path, ...]]

    @cached_property
    def union(self) -> Graph:
        """All named graphs merged into one plain Graph, with the project's prefixes bound."""
        union = bound_graph(self.iris)
        for triple in self.dataset.triples((None, None, None)):
            union.add(triple)
        return union


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

    def load(graph_iri: URIRef, paths: tuple[Path, ...]) -> Graph:
        graph = dataset.graph(graph_iri)
        for path in paths:
            parse_turtle(path, iris.base, into=graph)
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
    return KnowledgeGraph(dataset, iris, sources, files_by_graph)


def parse_turtle(path: Path, base: str, into: Graph) -> None:
    """Parse one Turtle file against the base IRI; syntax errors become one-line ``InputError``s."""
    text = read_text(path)
    try:
        into.parse(data=text, format="turtle", publicID=base)
    except Exception as error:  # rdflib raises several types; all mean "this file is bad"
        line = getattr(error, "lines", None)
        why = re.search(r"Bad syntax \((.*?)\) at \^", str(error), re.S)
        cause = why.group(1) if why else str(error).splitlines()[0]
        raise InputError(
            f"Turtle syntax error: {cause}", path, line + 1 if isinstance(line, int) else None
        ) from None


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
