"""Validate the assembled graph against the SHACL shapes in ``shapes/``.

The shapes run over the union of all named graphs: a shared state or organisation gets its type
and name from ``graph/shared`` but its ``prov:wasDerivedFrom`` from the report that mentions it,
and a constraint has to see both. Shape files follow the project's relative-IRI convention; the
``sh:namespace`` literals of SPARQL prefix declarations are resolved against the base IRI too,
since Turtle resolves only IRIs, not literals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from pyshacl import validate as run_shacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SH, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result
from rdflib.term import Node

from tipkg.errors import ValidationFailed
from tipkg.graph import KnowledgeGraph, read_turtle
from tipkg.locate import Location, locate_statement
from tipkg.terms import OxTerm, ToOxigraph, from_oxigraph
from tipkg.vocab import SCHEMA, Iris

SEVERITY_ORDER = ("Violation", "Warning", "Info")
PATH_MODIFIERS = ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?"))
# What names a focus node in a report, in order of preference (documents and datasets have titles).
LABEL_PROPERTIES = (RDFS.label, SCHEMA.name, SKOS.prefLabel, DCTERMS.title, FOAF.name)


@dataclass(frozen=True)
class Finding:
    """One SHACL result in a curator's terms: labels, prefixed names and the shape's message."""

    focus: str
    focus_label: str
    path: str
    value: str
    message: str
    severity: str
    source_shape: str
    # Where the offending statements were written ("data/reports/x/facts.ttl:57"), first the
    # likeliest place to edit; empty when nothing in the project's files wrote them.
    locations: tuple[str, ...] = ()

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        return (
            SEVERITY_ORDER.index(self.severity),
            self.focus,
            self.path,
            self.message,
            self.value,
            self.source_shape,
        )

    def format_line(self) -> str:
        focus = self.focus_label
        if self.focus_label != self.focus:
            focus += f" ({self.focus})"
        path = f"{self.path}: " if self.path else ""
        line = f"{self.severity}  {focus}  {path}{self.message}"
        if not self.locations:
            return line
        also = f" (also {', '.join(self.locations[1:])})" if len(self.locations) > 1 else ""
        return f"{self.locations[0]}: {line}{also}"


@dataclass
class Report:
    """What the validate stage returns; ``conforms`` is pyshacl's verdict over every result."""

    conforms: bool
    results: list[Finding] = field(default_factory=list)

    def format_text(self) -> str:
        return "\n".join(finding.format_line() for finding in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"conforms": self.conforms, "results": [asdict(f) for f in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def summary(self) -> str:
        """One line: how many results of each severity, and the first of them."""
        if not self.results:
            return "conforms"
        counts = []
        for severity in SEVERITY_ORDER:
            count = sum(1 for finding in self.results if finding.severity == severity)
            if count:
                counts.append(f"{count} {severity.lower()}{'' if count == 1 else 's'}")
        return f"{'; '.join(counts)}; first: {self.results[0].format_line()}"


def check(kg: KnowledgeGraph, shape_files: tuple[Path, ...]) -> Report:
    """Validate the union of ``kg``'s graphs; a malformed shape file raises ``InputError``."""
    union = _PreparedQueryGraph()
    union += kg.union
    return _validate(kg.iris, union, shape_files, _Locator(kg))


def check_description(
    base: str,
    ontology: Iterable[ox.Triple],
    description: Graph,
    shape_files: tuple[Path, ...],
) -> Report:
    """Validate the dataset description the publish stage generates (VoID, DCAT), together with
    the ontology it names classes and agents from."""
    data = _PreparedQueryGraph()
    data += description
    for triple in ontology:
        data.add(tuple(from_oxigraph(term) for term in triple))
    return _validate(Iris(base), data, shape_files, None)


def _validate(
    iris: Iris, data: Graph, shape_files: tuple[Path, ...], locator: _Locator | None
) -> Report:
    shapes = load_shapes(iris.base, shape_files)
    for prefix, namespace in iris.prefixes().items():
        data.bind(prefix, namespace, replace=True)
    conforms, results_graph, _text = run_shacl(
        data, shacl_graph=shapes, inference="none", inplace=True, allow_warnings=False
    )
    namer = _Namer(iris, shapes, data, locator)
    findings = sorted(
        (
            namer.finding(result, results_graph)
            for result in results_graph.subjects(RDF.type, SH.ValidationResult)
        ),
        key=Finding.sort_key,
    )
    return Report(conforms=bool(conforms), results=findings)


def raise_for(report: Report, what: str = "") -> None:
    """Turn a non-conforming report into ``ValidationFailed`` with a one-line summary
    (``what`` names what was checked, when it is not the project's own files)."""
    if not report.conforms:
        raise ValidationFailed(f"{what}: {report.summary()}" if what else report.summary())


def load_shapes(base: str, shape_files: tuple[Path, ...]) -> Graph:
    """Parse the shape files against the base IRI, resolving relative ``sh:namespace`` too."""
    shapes = Graph()
    for path in shape_files:
        parsed = read_turtle(path, base, f"shapes/{path.name}")
        for triple in parsed.triples:
            shapes.add(tuple(from_oxigraph(term) for term in triple))
        for prefix, namespace in parsed.prefixes.items():
            shapes.bind(prefix, namespace, override=False)
    for declaration, namespace in list(shapes.subject_objects(SH.namespace)):
        # URIRef(…, base=…) resolves as Turtle does, keeping the empty fragment of "ontology#".
        resolved = str(URIRef(str(namespace), base=base))
        if resolved != str(namespace):
            shapes.set((declaration, SH.namespace, Literal(resolved, datatype=XSD.anyURI)))
    return shapes


class _PreparedQueryGraph(Graph):
    """A Graph that parses each SPARQL text once: pyshacl re-parses a SPARQL constraint for every
    focus node, and parsing (~25 ms a query) then costs more than evaluating it."""

    def query(self, query_object: str | Query, *args: Any, **kwargs: Any) -> Result:  # type: ignore[override]
        if isinstance(query_object, str):
            # Graph.query would resolve undeclared prefixes with the graph's bindings; so do we.
            namespaces = tuple(sorted(self.namespaces()))
            query_object = _prepare(_sorted_prefixes(query_object), namespaces)
        return super().query(query_object, *args, **kwargs)


def _sorted_prefixes(query_text: str) -> str:
    """pyshacl writes a constraint's PREFIX lines in no fixed order; sorting them lets the same
    constraint hit the cache in every run."""
    lines = query_text.splitlines()
    count = next((i for i, line in enumerate(lines) if not line.startswith("PREFIX ")), len(lines))
    return "\n".join(sorted(lines[:count]) + lines[count:])


@lru_cache(maxsize=256)
def _prepare(query_text: str, namespaces: tuple[tuple[str, URIRef], ...]) -> Query:
    return prepareQuery(query_text, initNs=dict(namespaces))


class _Namer:
    """Renders result nodes as prefixed names and labels, using the project's prefixes."""

    def __init__(self, iris: Iris, shapes: Graph, union: Graph, locator: _Locator | None) -> None:
        self.shapes = shapes
        self.union = union
        self.locator = locator
        self.names = Graph().namespace_manager
        for prefix, namespace in shapes.namespaces():
            self.names.bind(prefix, namespace, replace=True)
        for prefix, namespace in iris.prefixes().items():
            self.names.bind(prefix, namespace, replace=True)

    def finding(self, result: Node, results: Graph) -> Finding:
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        messages = sorted(str(m) for m in results.objects(result, SH.resultMessage))
        severity = results.value(result, SH.resultSeverity)
        shape = results.value(result, SH.sourceShape)
        return Finding(
            focus=self._node_id(focus),
            focus_label=self.label(focus),
            path=self._path(path, results) if path is not None else "",
            value=self.term(value) if value is not None else "",
            message=" / ".join(messages),
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            source_shape=self._named_shape(shape),
            locations=self.locator.locations(focus, path, value) if self.locator else (),
        )

    def label(self, node: Node | None) -> str:
        """The node's label (English preferred) if it has one, else its IRI."""
        if node is None:
            return ""
        for prop in LABEL_PROPERTIES:
            labels = sorted(self.union.objects(node, prop), key=_label_preference)
            if labels:
                return str(labels[0])
        return self._node_id(node)

    def term(self, node: Node) -> str:
        if isinstance(node, URIRef):
            return self._prefixed(node)
        if isinstance(node, Literal):
            return node.n3(self.names)
        return f"_:{node}"

    def _prefixed(self, iri: URIRef) -> str:
        return self.names.normalizeUri(iri)

    def _node_id(self, node: Node | None) -> str:
        if node is None:
            return ""
        return str(node) if isinstance(node, URIRef) else f"_:{node}"

    def _path(self, path: Node, graph: Graph) -> str:
        """A SHACL property path in SPARQL path syntax."""
        if isinstance(path, URIRef):
            return self._prefixed(path)
        if (path, RDF.first, None) in graph:
            return "/".join(self._path(step, graph) for step in Collection(graph, path))
        inverse = graph.value(path, SH.inversePath)
        if inverse is not None:
            return f"^{self._path(inverse, graph)}"
        alternatives = graph.value(path, SH.alternativePath)
        if alternatives is not None:
            return "|".join(self._path(step, graph) for step in Collection(graph, alternatives))
        for modifier, suffix in PATH_MODIFIERS:
            inner = graph.value(path, modifier)
            if inner is not None:
                return f"({self._path(inner, graph)}){suffix}"
        return f"_:{path}"

    def _named_shape(self, shape: Node | None) -> str:
        """The shape itself if it has an IRI, else the nearest named shape that holds it."""
        seen: set[Node] = set()
        while isinstance(shape, BNode) and shape not in seen:
            seen.add(shape)
            shape = next(iter(self.shapes.subjects(SH.property, shape)), None) or next(
                iter(self.shapes.subjects(SH.node, shape)), None
            )
        return self._prefixed(shape) if isinstance(shape, URIRef) else ""


class _Locator:
    """Finds the files and lines that wrote the statements a result is about."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.base = kg.iris.base
        self.by_subject: dict[OxTerm, list[tuple[OxTerm, OxTerm, Path]]] = {}
        self.by_object: dict[OxTerm, list[tuple[OxTerm, OxTerm, Path]]] = {}
        for triple, path in kg.origins.items():
            subject, predicate, obj = triple
            self.by_subject.setdefault(subject, []).append((predicate, obj, path))
            self.by_object.setdefault(obj, []).append((subject, predicate, path))
        self.sources = {
            str(kg.iris.document(slug)): source.path for slug, source in kg.sources.items()
        }
        self.converter = ToOxigraph()

    def locations(
        self, focus: Node | None, path: Node | None, value: Node | None
    ) -> tuple[str, ...]:
        """One place per file, in file order: where ``focus path value`` was written; else every
        statement giving ``focus`` a ``path`` value (a count is wrong); else where ``focus`` is
        described, or named as a value; else, for generated text nodes, the report's text."""
        if focus is None:
            return ()
        node = self.converter.term(focus)
        wanted_path = self.converter.term(path) if isinstance(path, URIRef) else None
        wanted_value = self.converter.term(value) if value is not None else None
        about = self.by_subject.get(node, [])
        on_path = [entry for entry in about if entry[0] == wanted_path]
        exact = [
            entry for entry in on_path if wanted_value is not None and entry[1] == wanted_value
        ]
        found = [self._locate(node, obj, file) for _p, obj, file in exact or on_path or about]
        if not found:
            found = [self._locate(s, node, file) for s, _p, file in self.by_object.get(node, [])]
        if not found and isinstance(node, ox.NamedNode):
            document = node.value.split("#", 1)[0].split("/sentence/", 1)[0]
            if document in self.sources:
                found.append(Location(self.sources[document]))
        first_per_file: dict[Path, Location] = {}
        for location in sorted(found, key=lambda loc: (str(loc.path), loc.line or 0)):
            first_per_file.setdefault(location.path, location)
        return tuple(str(location) for location in first_per_file.values())

    def _locate(self, subject: OxTerm, obj: OxTerm, file: Path) -> Location:
        if not isinstance(subject, ox.NamedNode):  # a blank node has no name to look for
            return Location(file)
        is_iri = isinstance(obj, ox.NamedNode)
        return locate_statement(file, self.base, subject.value, obj.value, is_iri)


def _label_preference(label: Node) -> tuple[int, str]:
    """English labels first, then untagged ones, then the rest; alphabetical within each."""
    language = label.language if isinstance(label, Literal) else None
    rank = 0 if language == "en" else 1 if language is None else 2
    return (rank, str(label))
