"""Tests of one RDF node: the value-node constraints of SHACL Core and shapes combined with
``sh:or``/``sh:xone``/``sh:and``.

Every check can run in Python (``passes``), with pyshacl's semantics, and most also render as a
SPARQL expression (``sparql``) that gives the same answer and never raises an error, so that
Oxigraph can test millions of values without one Python call. A check returns ``None`` from
``sparql`` when SPARQL cannot give exactly pyshacl's answer (regular expressions, datatypes with
a value space, comparisons); the engine then tests the distinct values in Python.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import pyoxigraph as ox

from tipkg.shacl.literals import at_least, well_typed
from tipkg.terms import OxTerm

SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDFS_LITERAL = "http://www.w3.org/2000/01/rdf-schema#Literal"
# Datatypes whose every lexical form is valid: matching the datatype IRI is the whole test.
LEXICAL_ONLY = (XSD_STRING, RDF_LANG_STRING)


@dataclass(frozen=True)
class InversePath:
    """``[ sh:inversePath p ]``: the subjects that point at the focus node with ``p``."""

    predicate: ox.NamedNode

    def __str__(self) -> str:
        return f"^{self.predicate}"


Path = ox.NamedNode | InversePath


def path_pattern(subject: str, path: Path, obj: str) -> str:
    """The triple pattern that walks ``path`` from ``subject`` to ``obj`` (SPARQL syntax)."""
    if isinstance(path, InversePath):
        return f"{obj} {path.predicate} {subject} ."
    return f"{subject} {path} {obj} ."


class Data(Protocol):
    """What a check reads from the data graph when it runs in Python."""

    def is_instance(self, node: OxTerm, cls: ox.NamedNode) -> bool: ...

    def values(self, node: OxTerm, path: Path) -> set[OxTerm]: ...


class Renderer(Protocol):
    """What a check needs to render itself as SPARQL."""

    def subclasses(self, cls: ox.NamedNode) -> Iterable[ox.NamedNode]: ...

    def variable(self) -> str: ...

    def constant(self, term: OxTerm) -> str | None:
        """``term`` in SPARQL syntax, or None if matching it in the store would not match
        exactly the data's terms equal to it (a blank node; a literal the store rewrites)."""


class Check(ABC):
    """A test of one node. ``component`` is the SHACL constraint component it reports as."""

    component: ox.NamedNode
    # Locality: whether the test reads the node's own triples (beyond rdf:type) or triples
    # that point at it; the types of the node are always allowed.
    reads_outgoing: bool = False
    reads_incoming: bool = False

    @abstractmethod
    def passes(self, node: OxTerm, data: Data) -> bool:
        """Whether ``node`` satisfies the test, as pyshacl decides it."""

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        """A SPARQL boolean expression over ``var`` equal to ``passes``, or None if none is."""
        return None

    def passing(self, var: str, renderer: Renderer) -> str | None:
        """A group pattern binding ``var`` to exactly the nodes that pass, or None. Oxigraph
        evaluates ``MINUS { pattern }`` as one hash anti-join, where a FILTER with EXISTS costs a
        lookup per row; so checks that have one are run that way."""
        return None


def _safe(expression: str) -> str:
    """SPARQL's errors (``datatype(<iri>)``) would drop a row from a FILTER, i.e. let it pass."""
    return f"COALESCE(({expression}), false)"


@dataclass(frozen=True)
class NodeKindCheck(Check):
    kinds: frozenset[str]  # among "iri", "blank", "literal"
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "NodeKindConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        kind = {ox.NamedNode: "iri", ox.BlankNode: "blank", ox.Literal: "literal"}[type(node)]
        return kind in self.kinds

    def sparql(self, var: str, renderer: Renderer) -> str:
        tests = {"iri": f"isIRI({var})", "blank": f"isBlank({var})", "literal": f"isLiteral({var})"}
        return " || ".join(tests[kind] for kind in sorted(self.kinds))


@dataclass(frozen=True)
class ClassCheck(Check):
    """``sh:class``: an ``rdf:type`` of the node is the class or a subclass of it (in the data)."""

    cls: ox.NamedNode
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "ClassConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        return not isinstance(node, ox.Literal) and data.is_instance(node, self.cls)

    def sparql(self, var: str, renderer: Renderer) -> str:
        cls = renderer.variable()
        classes = ", ".join(sorted(str(c) for c in renderer.subclasses(self.cls)))
        return f"EXISTS {{ {var} {RDF_TYPE} {cls} . FILTER ({cls} IN ({classes})) }}"

    def passing(self, var: str, renderer: Renderer) -> str:
        return _instances(var, renderer, [self.cls])


def _instances(var: str, renderer: Renderer, classes: Iterable[ox.NamedNode]) -> str:
    cls = renderer.variable()
    listed = " ".join(sorted({str(sub) for c in classes for sub in renderer.subclasses(c)}))
    return f"{var} {RDF_TYPE} {cls} . VALUES {cls} {{ {listed} }}"


@dataclass(frozen=True)
class DatatypeCheck(Check):
    """``sh:datatype``: a literal of that datatype which rdflib (so pyshacl, and the graph stage)
    reads as well-typed. pyshacl lets any literal match ``rdfs:Literal``; so does this."""

    datatype: ox.NamedNode
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "DatatypeConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        if not isinstance(node, ox.Literal):
            return False
        if self.datatype.value == RDFS_LITERAL:
            return True
        if node.datatype != self.datatype:
            return False
        return self.datatype.value in LEXICAL_ONLY or well_typed(node)

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        if self.datatype.value == RDFS_LITERAL:
            return f"isLiteral({var})"
        if self.datatype.value in LEXICAL_ONLY:
            return _safe(f"isLiteral({var}) && datatype({var}) = {self.datatype}")
        return None


@dataclass(frozen=True)
class InCheck(Check):
    """``sh:in``: the node is one of the listed terms (RDF term equality, as pyshacl)."""

    members: tuple[OxTerm, ...]
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "InConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        return node in self.members

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        constants = [renderer.constant(member) for member in self.members]
        if None in constants:
            return None
        return " || ".join(f"sameTerm({var}, {c})" for c in constants) or "false"


@dataclass(frozen=True)
class HasValueCheck(Check):
    """``sh:hasValue`` in a shape that tests a node: the node is that term."""

    value: OxTerm
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "HasValueConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        return node == self.value

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        constant = renderer.constant(self.value)
        return None if constant is None else f"sameTerm({var}, {constant})"


@dataclass(frozen=True)
class LanguageInCheck(Check):
    """``sh:languageIn``, as pyshacl matches it: the tag, or its first subtag, is listed (any
    case); ``*`` allows any tag. For one-subtag ranges such as "en" that is SPARQL's langMatches;
    pyshacl (and so this) does not match "en-GB-oxendict" against a range "en-GB"."""

    ranges: tuple[str, ...]  # lower case
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "LanguageInConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        if not isinstance(node, ox.Literal) or not node.language:
            return False
        tag = node.language.lower()
        return "*" in self.ranges or tag in self.ranges or tag.split("-")[0] in self.ranges

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        if "*" in self.ranges:
            return _safe(f'isLiteral({var}) && lang({var}) != ""')
        if not all(re.fullmatch(r"[a-z0-9-]+", r) for r in self.ranges):
            return None
        listed = ", ".join(f'"{r}"' for r in self.ranges)
        if not listed:
            return "false"
        tag = f"LCASE(lang({var}))"
        first = f'STRBEFORE(CONCAT({tag}, "-"), "-")'
        matches = f"{tag} IN ({listed}) || {first} IN ({listed})"
        return _safe(f'isLiteral({var}) && {tag} != "" && ({matches})')


@dataclass(frozen=True)
class PatternCheck(Check):
    """``sh:pattern`` with Python's regular expressions, as pyshacl: XPath and Rust regexes differ
    (Python's ``$`` also matches before a final newline), so this one never runs in SPARQL."""

    regex: re.Pattern[str]
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "PatternConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        return not isinstance(node, ox.BlankNode) and self.regex.search(node.value) is not None


@dataclass(frozen=True)
class MinInclusiveCheck(Check):
    minimum: ox.Literal
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "MinInclusiveConstraintComponent")

    def passes(self, node: OxTerm, data: Data) -> bool:
        return isinstance(node, ox.Literal) and at_least(node, self.minimum)


@dataclass(frozen=True)
class PropertyCheck(Check):
    """A property shape used as a test of a node: the path has some value (``sh:minCount 1``)
    and every ``sh:hasValue`` among its values."""

    path: Path
    needs_value: bool
    has_values: tuple[OxTerm, ...]
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "PropertyConstraintComponent")
    reads_outgoing: bool = field(init=False)
    reads_incoming: bool = field(init=False)

    def __post_init__(self) -> None:
        inverse = isinstance(self.path, InversePath)
        object.__setattr__(self, "reads_outgoing", not inverse)
        object.__setattr__(self, "reads_incoming", inverse)

    def passes(self, node: OxTerm, data: Data) -> bool:
        values = data.values(node, self.path)
        return (bool(values) or not self.needs_value) and all(v in values for v in self.has_values)

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        tests = []
        if self.needs_value:
            tests.append(f"EXISTS {{ {path_pattern(var, self.path, renderer.variable())} }}")
        for value in self.has_values:
            constant = renderer.constant(value)
            if constant is None:
                return None
            tests.append(f"EXISTS {{ {path_pattern(var, self.path, constant)} }}")
        return " && ".join(tests) or "true"


@dataclass(frozen=True)
class _Combination(Check):
    members: tuple[Check, ...]
    component: ox.NamedNode
    reads_outgoing: bool = field(init=False)
    reads_incoming: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads_outgoing", any(m.reads_outgoing for m in self.members))
        object.__setattr__(self, "reads_incoming", any(m.reads_incoming for m in self.members))

    def member_sparql(self, var: str, renderer: Renderer) -> list[str] | None:
        rendered = [member.sparql(var, renderer) for member in self.members]
        if any(expression is None for expression in rendered):
            return None
        return [_safe(expression) for expression in rendered if expression is not None]


class AllOf(_Combination):
    """``sh:and``, and a shape's own constraints taken together."""

    def passes(self, node: OxTerm, data: Data) -> bool:
        return all(member.passes(node, data) for member in self.members)

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        parts = self.member_sparql(var, renderer)
        return None if parts is None else " && ".join(parts) or "true"


class AnyOf(_Combination):
    """``sh:or``."""

    def passes(self, node: OxTerm, data: Data) -> bool:
        return any(member.passes(node, data) for member in self.members)

    def passing(self, var: str, renderer: Renderer) -> str | None:
        """An instance of any of the classes, when every member is one ``sh:class``."""
        if not self.members or not all(isinstance(m, ClassCheck) for m in self.members):
            return None
        return _instances(var, renderer, [m.cls for m in self.members])  # type: ignore[attr-defined]

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        parts = self.member_sparql(var, renderer)
        return None if parts is None else " || ".join(parts) or "false"


class ExactlyOne(_Combination):
    """``sh:xone``."""

    def passes(self, node: OxTerm, data: Data) -> bool:
        return sum(member.passes(node, data) for member in self.members) == 1

    def sparql(self, var: str, renderer: Renderer) -> str | None:
        parts = self.member_sparql(var, renderer)
        if parts is None:
            return None
        return f"({' + '.join(f'IF({p}, 1, 0)' for p in parts) or '0'}) = 1"
