"""The shapes graph read into plain objects, refusing every SHACL feature the engine does not
evaluate, so that a curator who adds one learns it at once instead of seeing it ignored.

Only what tipkg's shapes use is read: targets by class and by subject of a predicate, predicate and
inverse paths, the core constraints listed in ``CHECK_PARAMETERS`` and ``SHAPE_PARAMETERS``,
qualified value shapes without ``sh:qualifiedValueShapesDisjoint``, and SPARQL SELECT constraints
on node shapes. Shapes named inside ``sh:or``/``sh:xone``/``sh:and``/``sh:qualifiedValueShape``
may test the node itself and, through a property shape, say that a predicate has some value
(``sh:minCount 1``) or a given one (``sh:hasValue``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from tipkg.errors import InputError
from tipkg.shacl.checks import (
    AllOf,
    AnyOf,
    Check,
    ClassCheck,
    DatatypeCheck,
    ExactlyOne,
    HasValueCheck,
    InCheck,
    InversePath,
    LanguageInCheck,
    MinInclusiveCheck,
    NodeKindCheck,
    Path,
    PatternCheck,
    PropertyCheck,
)
from tipkg.terms import OxTerm, ToOxigraph

# Parameters that test each value node on its own: (parameter, what builds the check).
CHECK_PARAMETERS = (
    SH.nodeKind,
    SH["class"],
    SH.datatype,
    SH["in"],
    SH.languageIn,
    SH.pattern,
    SH.minInclusive,
    SH["or"],
    SH.xone,
    SH["and"],
)
# Parameters read by the shape itself rather than per value node.
SHAPE_PARAMETERS = (
    SH.path,
    SH.property,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.targetClass,
    SH.targetSubjectsOf,
    SH.minCount,
    SH.maxCount,
    SH.hasValue,
    SH.lessThan,
    SH.lessThanOrEquals,
    SH.qualifiedValueShape,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.sparql,
)
# SHACL terms that say nothing about validity (labels for forms and documentation).
NON_VALIDATING = (SH.name, SH.description, SH.order, SH.group, SH.defaultValue)
SPARQL_PARAMETERS = (SH.select, SH.prefixes, SH.message, SH.deactivated)
PATH_PARAMETERS = (SH.inversePath,)
PREFIX_PARAMETERS = (SH.declare, SH.prefix, SH.namespace)
SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape, SH.Shape, SH.SPARQLConstraint)
NODE_KINDS = {
    SH.IRI: frozenset({"iri"}),
    SH.BlankNode: frozenset({"blank"}),
    SH.Literal: frozenset({"literal"}),
    SH.BlankNodeOrIRI: frozenset({"blank", "iri"}),
    SH.BlankNodeOrLiteral: frozenset({"blank", "literal"}),
    SH.IRIOrLiteral: frozenset({"iri", "literal"}),
}
# Pre-bound variables pyshacl knows besides $this; none of them is supported here.
UNSUPPORTED_SPARQL = re.compile(r"\$(PATH|value|currentShape|shapesGraph)\b")


@dataclass(frozen=True)
class Qualified:
    """``sh:qualifiedValueShape`` with its bounds: how many value nodes may conform to it."""

    check: Check
    min_count: int | None
    max_count: int | None


@dataclass(frozen=True)
class SparqlConstraint:
    """One ``sh:sparql`` SELECT constraint: its node in the shapes graph, text and prefixes."""

    node: OxTerm
    select: str
    prefixes: dict[str, str]
    messages: tuple[str, ...]


@dataclass
class Shape:
    """A node or property shape with everything it constrains, ready to compile."""

    node: OxTerm
    name: str  # how InputError names the shape
    path: Path | None  # None for a node shape
    messages: tuple[str, ...]
    severity: ox.NamedNode
    target_classes: tuple[ox.NamedNode, ...] = ()
    target_subjects_of: tuple[ox.NamedNode, ...] = ()
    checks: list[Check] = field(default_factory=list)
    min_count: int | None = None
    max_count: int | None = None
    has_values: list[OxTerm] = field(default_factory=list)
    less_than: list[ox.NamedNode] = field(default_factory=list)
    less_than_or_equals: list[ox.NamedNode] = field(default_factory=list)
    qualified: Qualified | None = None
    properties: list[Shape] = field(default_factory=list)
    sparql: list[SparqlConstraint] = field(default_factory=list)


def read_shapes(shapes: Graph) -> list[Shape]:
    """Every shape with a target, its property shapes inside it; deactivated ones left out.
    Raises ``InputError`` naming the shape for anything the engine does not evaluate."""
    reader = _Reader(shapes)
    reader.refuse_unknown_terms()
    roots = set(shapes.subjects(SH.targetClass)) | set(shapes.subjects(SH.targetSubjectsOf))
    read = [reader.shape(node, is_property=False) for node in sorted(roots, key=str)]
    return [shape for shape in read if shape is not None]


class _Reader:
    def __init__(self, shapes: Graph) -> None:
        self.graph = shapes
        self.to_ox = ToOxigraph()
        self.names = shapes.namespace_manager

    def name(self, node: Node) -> str:
        """A shape as a curator wrote it: its prefixed name, or that of the named shape it is in."""
        seen = set()
        while isinstance(node, BNode) and node not in seen:
            seen.add(node)
            parent = self._holder(node)
            if parent is None:
                return f"[] ({node.n3()})"
            node = parent
        return self.names.normalizeUri(URIRef(node)) if isinstance(node, URIRef) else str(node)

    def _holder(self, node: Node) -> Node | None:
        """The node whose parameter holds ``node``, directly or as a member of an RDF list."""
        for subject, predicate in self.graph.subject_predicates(node):
            if predicate == RDF.rest:
                continue
            if predicate != RDF.first:
                return subject
            head = subject
            while (previous := next(self.graph.subjects(RDF.rest, head), None)) is not None:
                head = previous
            return next(iter(self.graph.subjects(None, head)), None)
        return None

    def fail(self, node: Node, why: str) -> InputError:
        return InputError(f"shape {self.name(node)}: {why}")

    def refuse_unknown_terms(self) -> None:
        """Any SHACL predicate or type this engine does not read is an error, wherever it is."""
        known = set(CHECK_PARAMETERS + SHAPE_PARAMETERS + NON_VALIDATING + SPARQL_PARAMETERS)
        known |= set(PREFIX_PARAMETERS + PATH_PARAMETERS)
        for subject, predicate, obj in self.graph:
            if str(predicate).startswith(str(SH)) and predicate not in known:
                raise self.fail(subject, f"{self.names.normalizeUri(predicate)} is not supported")
            if predicate == RDF.type and str(obj).startswith(str(SH)) and obj not in SHAPE_TYPES:
                raise self.fail(subject, f"a {self.names.normalizeUri(obj)} is not supported")
            if predicate == RDF.type and obj == RDFS.Class and self._is_shape(subject):
                raise self.fail(subject, "implicit class targets are not supported")

    def _is_shape(self, node: Node) -> bool:
        kinds = (SH.NodeShape, SH.PropertyShape)
        return any((node, RDF.type, kind) in self.graph for kind in kinds)

    def one(self, node: Node, parameter: URIRef) -> Node | None:
        values = list(self.graph.objects(node, parameter))
        if len(values) > 1:
            raise self.fail(node, f"more than one {self.names.normalizeUri(parameter)}")
        return values[0] if values else None

    def count(self, node: Node, parameter: URIRef) -> int | None:
        value = self.one(node, parameter)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int) or value.value < 0:
            raise self.fail(node, f"{self.names.normalizeUri(parameter)} must be a whole number")
        return int(value.value)

    def deactivated(self, node: Node) -> bool:
        flag = self.one(node, SH.deactivated)
        return isinstance(flag, Literal) and flag.value is True

    def items(self, node: Node, parameter: URIRef) -> list[Node]:
        head = self.one(node, parameter)
        if head is None:
            return []
        if head != RDF.nil and (head, RDF.first, None) not in self.graph:
            raise self.fail(node, f"{self.names.normalizeUri(parameter)} must be an RDF list")
        return list(Collection(self.graph, head))

    def iri(self, node: Node, value: Node, what: str) -> ox.NamedNode:
        if not isinstance(value, URIRef):
            raise self.fail(node, f"{what} must be an IRI")
        return self.to_ox.iri(value)

    def shape(self, node: Node, is_property: bool) -> Shape | None:
        """``node`` as a shape, or None when it is deactivated."""
        if self.deactivated(node):
            return None
        path_node = self.one(node, SH.path)
        if is_property and path_node is None:
            raise self.fail(node, "a property shape needs sh:path")
        if not is_property and path_node is not None:
            raise self.fail(node, "a shape with targets and sh:path is not supported")
        severity = self.one(node, SH.severity) or SH.Violation
        shape = Shape(
            node=self.to_ox.term(node),
            name=self.name(node),
            path=self.path(node, path_node) if path_node is not None else None,
            messages=tuple(str(m) for m in self.graph.objects(node, SH.message)),
            severity=self.iri(node, severity, "sh:severity"),
            target_classes=tuple(
                self.iri(node, cls, "sh:targetClass")
                for cls in self.graph.objects(node, SH.targetClass)
            ),
            target_subjects_of=tuple(
                self.iri(node, p, "sh:targetSubjectsOf")
                for p in self.graph.objects(node, SH.targetSubjectsOf)
            ),
            checks=self.checks(node),
            min_count=self.count(node, SH.minCount),
            max_count=self.count(node, SH.maxCount),
            has_values=[self.to_ox.term(v) for v in self.graph.objects(node, SH.hasValue)],
        )
        if is_property and (shape.target_classes or shape.target_subjects_of):
            raise self.fail(node, "targets on a property shape are not supported")
        if not is_property and (shape.min_count, shape.max_count) != (None, None):
            raise self.fail(node, "sh:minCount and sh:maxCount need sh:path")
        if not is_property and shape.has_values:
            raise self.fail(node, "sh:hasValue on a node shape is not supported")
        for parameter, into in (
            (SH.lessThan, shape.less_than),
            (SH.lessThanOrEquals, shape.less_than_or_equals),
        ):
            for other in self.graph.objects(node, parameter):
                if not is_property:
                    raise self.fail(node, f"{self.names.normalizeUri(parameter)} needs sh:path")
                into.append(self.iri(node, other, self.names.normalizeUri(parameter)))
        shape.qualified = self.qualified(node)
        if shape.qualified is not None and not is_property:
            raise self.fail(node, "sh:qualifiedValueShape needs sh:path")
        for child in self.graph.objects(node, SH.property):
            if is_property:
                raise self.fail(child, "property shapes inside property shapes are not supported")
            read = self.shape(child, is_property=True)
            if read is not None:
                shape.properties.append(read)
        for constraint in self.graph.objects(node, SH.sparql):
            if is_property:
                raise self.fail(node, "sh:sparql on a property shape is not supported")
            read_constraint = self.sparql(node, constraint)
            if read_constraint is not None:
                shape.sparql.append(read_constraint)
        return shape

    def path(self, node: Node, path: Node) -> Path:
        if isinstance(path, URIRef):
            return self.to_ox.iri(path)
        inverse = self.one(path, SH.inversePath) if isinstance(path, BNode) else None
        others = {p for p, _ in self.graph.predicate_objects(path)} - {SH.inversePath}
        if isinstance(inverse, URIRef) and not others:
            return InversePath(self.to_ox.iri(inverse))
        raise self.fail(node, "only a predicate or the sh:inversePath of one is supported as path")

    def checks(self, node: Node) -> list[Check]:
        """The per-value-node checks of ``node``, one per parameter value."""
        found: list[Check] = []
        for kind in self.graph.objects(node, SH.nodeKind):
            if kind not in NODE_KINDS:
                raise self.fail(node, f"unknown sh:nodeKind {kind.n3()}")
            found.append(NodeKindCheck(NODE_KINDS[kind]))
        for cls in self.graph.objects(node, SH["class"]):
            found.append(ClassCheck(self.iri(node, cls, "sh:class")))
        for datatype in self.graph.objects(node, SH.datatype):
            if datatype == RDFS.Datatype:
                raise self.fail(node, "sh:datatype rdfs:Datatype is not supported")
            found.append(DatatypeCheck(self.iri(node, datatype, "sh:datatype")))
        if (node, SH["in"], None) in self.graph:
            found.append(InCheck(tuple(self.to_ox.term(m) for m in self.items(node, SH["in"]))))
        if (node, SH.languageIn, None) in self.graph:
            ranges = self.items(node, SH.languageIn)
            if not all(isinstance(r, Literal) and isinstance(r.value, str) for r in ranges):
                raise self.fail(node, "sh:languageIn must list strings")
            found.append(LanguageInCheck(tuple(str(r).lower() for r in ranges)))
        pattern = self.one(node, SH.pattern)
        if pattern is not None:
            try:
                found.append(PatternCheck(re.compile(str(pattern))))
            except re.error as error:
                why = f"sh:pattern {pattern.n3()} is not a regular expression: {error}"
                raise self.fail(node, why) from None
        for minimum in self.graph.objects(node, SH.minInclusive):
            if not isinstance(minimum, Literal):
                raise self.fail(node, "sh:minInclusive must be a literal")
            found.append(MinInclusiveCheck(self.to_ox.term(minimum)))
        for parameter, combine in ((SH["or"], AnyOf), (SH.xone, ExactlyOne), (SH["and"], AllOf)):
            for _list in self.graph.objects(node, parameter):
                members = tuple(self.member(m) for m in self.items(node, parameter))
                found.append(combine(members, component=_component(parameter)))
        return found

    def member(self, node: Node) -> Check:
        """A shape used as a test of one node (inside sh:or, sh:qualifiedValueShape, …)."""
        if self.deactivated(node):
            return AllOf((), component=_component(SH["and"]))
        allowed = set(CHECK_PARAMETERS) | {SH.property, SH.message, SH.severity, SH.deactivated}
        allowed |= {SH.path, SH.minCount, SH.hasValue}
        used = {p for p, _ in self.graph.predicate_objects(node) if str(p).startswith(str(SH))}
        if used - allowed - set(NON_VALIDATING):
            extra = ", ".join(sorted(self.names.normalizeUri(p) for p in used - allowed))
            raise self.fail(node, f"{extra} inside a shape used as a test is not supported")
        path_node = self.one(node, SH.path)
        if path_node is not None:
            return self.property_check(node, self.path(node, path_node))
        parts = self.checks(node)
        for value in self.graph.objects(node, SH.hasValue):
            parts.append(HasValueCheck(self.to_ox.term(value)))
        if (node, SH.minCount, None) in self.graph:
            raise self.fail(node, "sh:minCount needs sh:path")
        for child in self.graph.objects(node, SH.property):
            if not self.deactivated(child):
                child_path = self.one(child, SH.path)
                if child_path is None:
                    raise self.fail(child, "a property shape needs sh:path")
                parts.append(self.property_check(child, self.path(child, child_path)))
        if len(parts) == 1:
            return parts[0]
        return AllOf(tuple(parts), component=_component(SH["and"]))

    def property_check(self, node: Node, path: Path) -> Check:
        """A property shape as a test: only ``sh:minCount 1`` and ``sh:hasValue`` are read."""
        allowed = {SH.path, SH.minCount, SH.hasValue, SH.message, SH.severity, SH.deactivated}
        used = {p for p, _ in self.graph.predicate_objects(node) if str(p).startswith(str(SH))}
        if used - allowed - set(NON_VALIDATING):
            extra = ", ".join(sorted(self.names.normalizeUri(p) for p in used - allowed))
            raise self.fail(node, f"{extra} in a property shape used as a test is not supported")
        min_count = self.count(node, SH.minCount)
        if min_count not in (None, 0, 1):
            raise self.fail(node, "sh:minCount above 1 in a shape used as a test is not supported")
        values = tuple(self.to_ox.term(v) for v in self.graph.objects(node, SH.hasValue))
        return PropertyCheck(path, bool(min_count), values)

    def qualified(self, node: Node) -> Qualified | None:
        shape = self.one(node, SH.qualifiedValueShape)
        min_count = self.count(node, SH.qualifiedMinCount)
        max_count = self.count(node, SH.qualifiedMaxCount)
        if shape is None:
            if min_count is not None or max_count is not None:
                raise self.fail(node, "sh:qualifiedMinCount/MaxCount need sh:qualifiedValueShape")
            return None
        if min_count is None and max_count is None:
            return None
        return Qualified(self.member(shape), min_count, max_count)

    def sparql(self, shape: Node, node: Node) -> SparqlConstraint | None:
        if self.deactivated(node):
            return None
        for predicate, _obj in self.graph.predicate_objects(node):
            if predicate != RDF.type and predicate not in SPARQL_PARAMETERS:
                raise self.fail(shape, f"{self.names.normalizeUri(predicate)} on sh:sparql")
        select = self.one(node, SH.select)
        if not isinstance(select, Literal):
            raise self.fail(shape, "sh:sparql needs one sh:select (SELECT constraints only)")
        if UNSUPPORTED_SPARQL.search(str(select)):
            raise self.fail(shape, "sh:select may use $this but no other pre-bound variable")
        prefixes: dict[str, str] = {}
        for holder in self.graph.objects(node, SH.prefixes):
            for declaration in self.graph.objects(holder, SH.declare):
                prefix = self.one(declaration, SH.prefix)
                namespace = self.one(declaration, SH.namespace)
                if prefix is None or namespace is None:
                    raise self.fail(shape, "each sh:declare needs sh:prefix and sh:namespace")
                prefixes[str(prefix)] = str(namespace)
        messages = tuple(str(m) for m in self.graph.objects(node, SH.message))
        return SparqlConstraint(self.to_ox.term(node), str(select), prefixes, messages)


def _component(parameter: URIRef) -> ox.NamedNode:
    """The constraint component a parameter belongs to (sh:or → sh:OrConstraintComponent)."""
    local = str(parameter).removeprefix(str(SH))
    return ox.NamedNode(f"{SH}{local[0].upper()}{local[1:]}ConstraintComponent")
