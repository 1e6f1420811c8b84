"""Validate the assembled graph against the SHACL shapes in ``shapes/``.

The shapes run over the RDF merge of all named graphs (with tipkg's own engine,
:mod:`tipkg.shacl`, or on request with pyshacl, the reference it is tested against): a shared
state or organisation gets its type and name from ``graph/shared`` but its
``prov:wasDerivedFrom`` from the report that mentions it, and a constraint has to see both.
Shape files follow the project's relative-IRI convention; the ``sh:namespace`` literals of
SPARQL prefix declarations are resolved against the base IRI too, since Turtle resolves only
IRIs, not literals.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SH, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result as QueryResult
from rdflib.term import Node

from tipkg.errors import ValidationFailed
from tipkg.graph import KnowledgeGraph, read_turtle
from tipkg.locate import Location, locate_statement
from tipkg.shacl import DataGraph, InversePath, Result, Validator, compile_shapes
from tipkg.terms import OxTerm, ToOxigraph, from_oxigraph
from tipkg.vocab import SCHEMA, Iris, PrefixIndex

SEVERITY_ORDER = ("Violation", "Warning", "Info")
# What names a focus node in a report, in order of preference (documents and datasets have
# titles).
LABEL_PROPERTIES = tuple(
    ox.NamedNode(str(p))
    for p in (RDFS.label, SCHEMA.name, SKOS.prefLabel, DCTERMS.title, FOAF.name)
)
XSD_STRING = str(XSD.string)


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
    # How many distinct triples were checked (not part of the JSON report).
    triples: int = 0

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


def check(kg: KnowledgeGraph, shape_files: tuple[Path, ...], engine: str = "tipkg") -> Report:
    """Validate the RDF merge of ``kg``'s graphs (see :func:`check_triples`)."""
    return check_triples(kg.iris, kg.union_triples, shape_files, lambda: kg, engine)


def check_triples(
    iris: Iris,
    triples: Iterable[ox.Triple],
    shape_files: tuple[Path, ...],
    knowledge_graph: Callable[[], KnowledgeGraph],
    engine: str = "tipkg",
) -> Report:
    """Validate the RDF merge of ``triples`` (every unit's, repeats allowed); a malformed or
    unsupported shape file raises ``InputError``. ``engine`` is tipkg's own
    (:mod:`tipkg.shacl`) or pyshacl, the reference it is tested against (the same results,
    far slower). ``knowledge_graph`` is asked for only to locate findings (or for pyshacl),
    so a conforming corpus is validated without holding its graphs in memory twice."""
    if engine not in ("tipkg", "pyshacl"):
        raise ValueError(f"no SHACL engine {engine!r}")
    shapes, validator = compiled_shapes(iris.base, shape_files)
    if engine == "pyshacl":
        kg = knowledge_graph()
        data = DataGraph(kg.union_triples)
        results = reference_results(kg.union, shapes)
    else:
        data = DataGraph(triples)
        results = validator.validate(data)
    locator = _Locator(knowledge_graph()) if results else None
    report = _report(iris, shapes, data.store, results, locator)
    report.triples = len(data.store)
    return report


def check_description(
    base: str,
    ontology: Iterable[ox.Triple],
    description: Iterable[ox.Triple],
    shape_files: tuple[Path, ...],
) -> Report:
    """Validate the dataset description the publish stage generates (VoID, DCAT), together with
    the ontology it names classes and agents from."""
    shapes, validator = compiled_shapes(base, shape_files)
    data = DataGraph([*description, *ontology])
    results = validator.validate(data)
    return _report(Iris(base), shapes, data.store, results, None)


def _report(
    iris: Iris, shapes: Graph, store: ox.Store, results: list[Result], locator: _Locator | None
) -> Report:
    namer = _Namer(iris, shapes, store, locator)
    findings = sorted((namer.finding(result) for result in results), key=Finding.sort_key)
    return Report(conforms=not findings, results=findings)


def reference_results(data: Graph, shapes: Graph) -> list[Result]:
    """pyshacl's results on ``data`` (rdflib), in the form of :class:`tipkg.shacl.Result`
    (pyshacl is imported here: only ``--engine pyshacl`` and the tests pay for it)."""
    from pyshacl import validate as run_shacl

    union = _PreparedQueryGraph()
    union += data
    _conforms, found, text = run_shacl(
        union, shacl_graph=shapes, inference="none", inplace=True, allow_warnings=False
    )
    if not isinstance(found, Graph):  # pyshacl gives its error in the results' place
        raise RuntimeError(f"pyshacl did not validate: {text}")
    converter = ToOxigraph()

    def term(node: Node | None) -> OxTerm | None:
        return None if node is None else converter.term(node)

    def path(node: Node | None) -> object:
        inverse = found.value(node, SH.inversePath) if isinstance(node, BNode) else None
        return InversePath(converter.iri(inverse)) if inverse is not None else term(node)

    return [
        Result(
            focus=converter.term(found.value(r, SH.focusNode)),
            path=path(found.value(r, SH.resultPath)),  # type: ignore[arg-type]
            value=term(found.value(r, SH.value)),
            messages=tuple(sorted(str(m) for m in found.objects(r, SH.resultMessage))),
            severity=converter.iri(found.value(r, SH.resultSeverity)),
            source_shape=converter.term(found.value(r, SH.sourceShape)),
            component=converter.iri(found.value(r, SH.sourceConstraintComponent)),
        )
        for r in found.subjects(RDF.type, SH.ValidationResult)
    ]


def raise_for(report: Report, what: str = "") -> None:
    """Turn a non-conforming report into ``ValidationFailed`` with a one-line summary
    (``what`` names what was checked, when it is not the project's own files)."""
    if not report.conforms:
        raise ValidationFailed(f"{what}: {report.summary()}" if what else report.summary())


def compiled_shapes(base: str, shape_files: tuple[Path, ...]) -> tuple[Graph, Validator]:
    """The shapes (do not modify them) and their compiled form, made once per base and file
    names and contents: compiling takes longer than validating one report, and a build reads the
    shapes three times (JSON-LD keys, the graph, the description it writes)."""
    key = (base, tuple((path.name, path.read_bytes()) for path in shape_files))
    if key not in _COMPILED:
        if len(_COMPILED) >= 8:
            _COMPILED.pop(next(iter(_COMPILED)))
        shapes = load_shapes(base, shape_files)
        _COMPILED[key] = (shapes, compile_shapes(shapes))
    return _COMPILED[key]


_COMPILED: dict[tuple[str, tuple[tuple[str, bytes], ...]], tuple[Graph, Validator]] = {}


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

    def query(self, query_object: str | Query, *args: Any, **kwargs: Any) -> QueryResult:  # type: ignore[override]
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
    """Renders results in a curator's terms: labels (from the data) before IRIs, prefixed names,
    the named shape that holds an anonymous one."""

    def __init__(
        self, iris: Iris, shapes: Graph, store: ox.Store, locator: _Locator | None
    ) -> None:
        self.shapes = shapes
        self.store = store
        self.locator = locator
        prefixes = {prefix: str(ns) for prefix, ns in shapes.namespaces()}
        prefixes.update({prefix: str(ns) for prefix, ns in iris.prefixes().items()})
        self.names = PrefixIndex(prefixes)

    def finding(self, result: Result) -> Finding:
        path = result.path
        return Finding(
            focus=_node_id(result.focus),
            focus_label=self.label(result.focus),
            path=self._path(path) if path is not None else "",
            value=self.term(result.value) if result.value is not None else "",
            message=" / ".join(sorted(result.messages)),
            severity=result.severity.value.rsplit("#", 1)[-1],
            source_shape=self._named_shape(result.source_shape),
            locations=(
                self.locator.locations(result.focus, path, result.value) if self.locator else ()
            ),
        )

    def label(self, node: OxTerm) -> str:
        """The node's label (English preferred) if it has one, else its IRI."""
        for predicate in LABEL_PROPERTIES:
            labels = [
                quad.object
                for quad in self.store.quads_for_pattern(node, predicate, None)  # type: ignore[arg-type]
                if isinstance(quad.object, ox.Literal)
            ]
            if labels:
                return min(labels, key=_label_preference).value
        return _node_id(node)

    def term(self, node: OxTerm) -> str:
        if isinstance(node, ox.NamedNode):
            return self._prefixed(node.value)
        if isinstance(node, ox.Literal):
            quoted = str(ox.Literal(node.value))
            if node.language:
                return f"{quoted}@{node.language}"
            if node.datatype.value == XSD_STRING:
                return quoted
            return f"{quoted}^^{self._prefixed(node.datatype.value)}"
        return _node_id(node)

    def _prefixed(self, iri: str) -> str:
        return self.names.compact(iri) or f"<{iri}>"

    def _path(self, path: object) -> str:
        if isinstance(path, InversePath):
            return f"^{self._prefixed(path.predicate.value)}"
        if isinstance(path, ox.NamedNode):
            return self._prefixed(path.value)
        return str(path)

    def _named_shape(self, shape: OxTerm) -> str:
        """The shape itself if it has an IRI, else the nearest named shape that holds it."""
        node: Node | None = from_oxigraph(shape)
        seen: set[Node] = set()
        while isinstance(node, BNode) and node not in seen:
            seen.add(node)
            node = next(iter(self.shapes.subjects(SH.property, node)), None) or next(
                iter(self.shapes.subjects(SH.node, node)), None
            )
        return self._prefixed(str(node)) if isinstance(node, URIRef) else ""


def _node_id(node: OxTerm) -> str:
    return node.value if isinstance(node, ox.NamedNode) else f"_:{node.value}"


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

    def locations(self, node: OxTerm, path: object, value: OxTerm | None) -> tuple[str, ...]:
        """One place per file, in file order: where ``focus path value`` was written; else every
        statement giving ``focus`` a ``path`` value (a count is wrong); else where ``focus`` is
        described, or named as a value; else, for generated text nodes, the report's text."""
        wanted_path = path if isinstance(path, ox.NamedNode) else None
        wanted_value = value
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


def _label_preference(label: ox.Literal) -> tuple[int, str]:
    """English labels first, then untagged ones, then the rest; alphabetical within each."""
    language = label.language
    rank = 0 if language == "en" else 1 if language is None else 2
    return (rank, label.value)
