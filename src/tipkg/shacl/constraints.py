"""Compiled constraints: each finds, set-based in SPARQL, the focus nodes that may violate it
(never fewer than do), then decides each of those in Python on the data as given.

Violations are rare, so almost all the work is one query per constraint over the whole data;
Python sees only candidates. A SPARQL constraint is one query joined with its targets instead of
one query per focus node.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import pyoxigraph as ox

from tipkg.errors import InputError
from tipkg.shacl.checks import SH, Check, InversePath, Path, path_pattern
from tipkg.shacl.literals import less
from tipkg.shacl.model import Qualified, SparqlConstraint
from tipkg.shacl.run import Origin, Result, Run
from tipkg.terms import OxTerm

VALUE = ox.Variable("value")
XSD = "http://www.w3.org/2001/XMLSchema#"
# Literals of these datatypes compare in SPARQL exactly as pyshacl (rdflib) compares them.
EXACT_NUMBERS = ", ".join(
    f"<{XSD}{name}>"
    for name in (
        "integer decimal nonNegativeInteger positiveInteger nonPositiveInteger negativeInteger "
        "long int short byte unsignedLong unsignedInt unsignedShort unsignedByte"
    ).split()
)
SELECT_HEAD = re.compile(
    r"(?P<prologue>(?:\s*(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s+<[^>]*>))*)\s*"
    r"SELECT\s+(?P<modifier>(?:DISTINCT|REDUCED)\s+)?(?P<projection>.*?)\s*(?:WHERE\s*)?",
    re.IGNORECASE | re.DOTALL,
)
# What would make joining the query with its targets differ from pre-binding $this (looked for
# once IRIs, strings and comments are blanked out).
UNSUPPORTED_SELECT = re.compile(
    r"(?<![?$\w:])(GROUP\s+BY|HAVING|ORDER\s+BY|LIMIT|OFFSET|VALUES|MINUS|SERVICE)\b"
    r"|(?<![?$\w:])(COUNT|SUM|AVG|MIN|MAX|SAMPLE|GROUP_CONCAT)\s*\(|[?$]failure\b",
    re.IGNORECASE,
)
NOT_KEYWORDS = re.compile(r"<[^<>\s]*>|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|#[^\n]*")


class Constraint(ABC):
    """One constraint of one shape. ``local`` says whether its result for a focus node depends
    only on the node's own triples and the types of its values (see the package docstring)."""

    origin: Origin
    component: ox.NamedNode

    @property
    @abstractmethod
    def local(self) -> bool: ...

    @abstractmethod
    def results(self, run: Run) -> Iterator[Result]: ...

    def describe(self) -> str:
        """The shape, path and component, as in a locality listing."""
        path = f" {self.origin.path}" if self.origin.path is not None else ""
        return f"{self.origin.name}{path} {self.component.value.removeprefix(SH)}"

    def result(self, focus: OxTerm, value: OxTerm | None = None) -> Result:
        messages = self.origin.messages or (f"{self.describe()} is not satisfied",)
        return Result(
            focus,
            self.origin.path,
            value,
            messages,
            self.origin.severity,
            self.origin.node,
            self.component,
        )


class Decided(Constraint):
    """A core constraint: candidates in SPARQL, then each decided in Python."""

    def results(self, run: Run) -> Iterator[Result]:
        for focus in self.candidates(run):
            yield from self.decide(focus, run)

    @abstractmethod
    def candidates(self, run: Run) -> Iterable[OxTerm]:
        """Every focus node that may violate the constraint (a superset, found in SPARQL)."""

    @abstractmethod
    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        """The results for one candidate, decided on the literals as given."""


def _local_path(path: Path | None) -> bool:
    return not isinstance(path, InversePath)


def _failing(check: Check, where: str, var: str, run: Run) -> str | None:
    """``where`` narrowed to the rows whose ``var`` fails ``check``, or None if SPARQL cannot say
    exactly which."""
    passing = check.passing(var, run)
    if passing is not None:
        return f"{where} MINUS {{ {passing} }}"
    expression = check.sparql(var, run)
    if expression is not None:
        return f"{where} FILTER (!({expression}))"
    return None


class _OnPath:
    """A constraint on the values of a path: local unless the path is inverse (the values of
    ``^p`` are in the units that state ``p``, not necessarily the focus node's)."""

    path: Path

    @property
    def local(self) -> bool:
        return _local_path(self.path)


class _ByCheck:
    """A constraint whose component is its check's (``sh:nodeKind``, ``sh:datatype``, …)."""

    check: Check

    @property
    def component(self) -> ox.NamedNode:
        return self.check.component


@dataclass(frozen=True)
class NodeCheck(_ByCheck, Decided):
    """A check of the focus node itself (a node shape's ``sh:nodeKind``, ``sh:or``, …)."""

    origin: Origin
    check: Check

    @property
    def local(self) -> bool:
        return not self.check.reads_incoming

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        targets = run.targets(self.origin)
        return run.focus_nodes(_failing(self.check, targets, "?this", run) or targets)

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        if not self.check.passes(focus, run):
            yield self.result(focus, focus)


@dataclass(frozen=True)
class ValueCheck(_ByCheck, Decided):
    """A check of every value of a property shape's path."""

    origin: Origin
    path: Path
    check: Check

    @property
    def local(self) -> bool:
        reads = self.check.reads_outgoing or self.check.reads_incoming
        return _local_path(self.path) and not reads

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        values = path_pattern("?this", self.path, "?value")
        where = f"{run.targets(self.origin, self.path)} {values}"
        failing = _failing(self.check, where, "?value", run)
        if failing is not None:
            return run.focus_nodes(failing)
        # Without an exact SPARQL test: each distinct value once in Python, as every form it was
        # given in, then the focus nodes of the values that fail.
        found: set[OxTerm] = set()
        for row in run.select(where, "DISTINCT ?value"):
            stored = row["value"]
            if not all(self.check.passes(given, run) for given in run.data.variants(stored)):
                rows = run.select(where, "DISTINCT ?this ?value", substitutions={VALUE: stored})
                found.update(row["this"] for row in rows)
        return found

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        for value in run.values(focus, self.path):
            if not self.check.passes(value, run):
                yield self.result(focus, value)


@dataclass(frozen=True)
class MinCount(_OnPath, Decided):
    origin: Origin
    path: Path
    minimum: int
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "MinCountConstraintComponent")

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        # The store can only hold fewer distinct values than were given, never more. (With
        # ?this bound, NOT EXISTS is one index lookup per target; MINUS would hash every value.)
        values = path_pattern("?this", self.path, "?value")
        targets = run.targets(self.origin)
        if self.minimum == 1:
            return run.focus_nodes(f"{targets} FILTER NOT EXISTS {{ {values} }}")
        tail = f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {self.minimum})"
        return run.focus_nodes(f"{targets} OPTIONAL {{ {values} }}", tail)

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        if len(run.values(focus, self.path)) < self.minimum:
            yield self.result(focus)


@dataclass(frozen=True)
class MaxCount(_OnPath, Decided):
    origin: Origin
    path: Path
    maximum: int
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "MaxCountConstraintComponent")

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        """The nodes with too many values, whatever their type (counting them all is cheaper
        than joining them with the targets first), that are targets."""
        over = run.nodes_with_more_values(self.path, self.maximum)
        found = {node for node in over if run.is_target(self.origin, node)}
        return found | _undercounted(self.origin, self.path, run)

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        if len(run.values(focus, self.path)) > self.maximum:
            yield self.result(focus)


def _undercounted(origin: Origin, path: Path, run: Run) -> set[OxTerm]:
    """Targets whose values the store undercounts (two literals given, one stored)."""
    if isinstance(path, InversePath):
        return set()
    return {node for node in run.data.collapsed(path) if run.is_target(origin, node)}


@dataclass(frozen=True)
class HasValue(_OnPath, Decided):
    origin: Origin
    path: Path
    value: OxTerm
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "HasValueConstraintComponent")

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        targets = run.targets(self.origin)
        constant = run.constant(self.value)
        if constant is None:
            return run.focus_nodes(targets)
        pattern = path_pattern("?this", self.path, constant)
        return run.focus_nodes(f"{targets} FILTER NOT EXISTS {{ {pattern} }}")

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        if self.value not in run.values(focus, self.path):
            yield self.result(focus)


@dataclass(frozen=True)
class Comparison(_OnPath, Decided):
    """``sh:lessThan`` / ``sh:lessThanOrEquals``: one result per pair of values that fails."""

    origin: Origin
    path: Path
    other: ox.NamedNode
    or_equal: bool

    @property
    def component(self) -> ox.NamedNode:  # type: ignore[override]
        name = "LessThanOrEquals" if self.or_equal else "LessThan"
        return ox.NamedNode(f"{SH}{name}ConstraintComponent")

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        """Pairs of integers or decimals, or of time-zone-free dates, that SPARQL finds in order
        are in order for pyshacl too; every other pair is decided in Python."""
        operator = "<=" if self.or_equal else "<"
        numbers = f"datatype(?value) IN ({EXACT_NUMBERS}) && datatype(?other) IN ({EXACT_NUMBERS})"
        dates = (
            f"datatype(?value) = <{XSD}date> && datatype(?other) = <{XSD}date> "
            "&& STRLEN(STR(?value)) = 10 && STRLEN(STR(?other)) = 10"
        )
        comparable = f"isLiteral(?value) && isLiteral(?other) && ({numbers} || {dates})"
        in_order = f"COALESCE({comparable} && ?value {operator} ?other, false)"
        where = (
            f"{run.targets(self.origin, self.path)} {path_pattern('?this', self.path, '?value')}"
            f" ?this {self.other} ?other . FILTER (!{in_order})"
        )
        return run.focus_nodes(where)

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        others = run.values(focus, self.other)
        for value in run.values(focus, self.path):
            for other in others:
                if not less(value, other, self.or_equal):
                    yield self.result(focus, value)


@dataclass(frozen=True)
class QualifiedCount(Decided):
    """``sh:qualifiedMinCount`` or ``sh:qualifiedMaxCount``: how many values conform to the
    qualified value shape."""

    origin: Origin
    path: Path
    qualified: Qualified
    is_minimum: bool

    @property
    def bound(self) -> int:
        bound = self.qualified.min_count if self.is_minimum else self.qualified.max_count
        assert bound is not None
        return bound

    @property
    def component(self) -> ox.NamedNode:  # type: ignore[override]
        name = "QualifiedMinCount" if self.is_minimum else "QualifiedMaxCount"
        return ox.NamedNode(f"{SH}{name}ConstraintComponent")

    @property
    def local(self) -> bool:
        check = self.qualified.check
        return _local_path(self.path) and not (check.reads_outgoing or check.reads_incoming)

    def candidates(self, run: Run) -> Iterable[OxTerm]:
        values = path_pattern("?this", self.path, "?value")
        expression = self.qualified.check.sparql("?value", run)
        conforming = f"{values} FILTER ({expression})" if expression is not None else values
        if self.is_minimum:
            # Without an exact test, any target may lack conforming values.
            if expression is None:
                return run.focus_nodes(run.targets(self.origin))
            tail = f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {self.bound})"
            return run.focus_nodes(f"{run.targets(self.origin)} OPTIONAL {{ {conforming} }}", tail)
        tail = f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > {self.bound})"
        found = run.focus_nodes(f"{run.targets(self.origin, self.path)} {conforming}", tail)
        return found | _undercounted(self.origin, self.path, run)

    def decide(self, focus: OxTerm, run: Run) -> Iterator[Result]:
        values = run.values(focus, self.path)
        conforming = sum(1 for value in values if self.qualified.check.passes(value, run))
        if conforming < self.bound if self.is_minimum else conforming > self.bound:
            yield self.result(focus)


@dataclass(frozen=True)
class Sparql(Constraint):
    """An ``sh:sparql`` SELECT constraint, run once for all focus nodes: ``$this`` becomes
    ``?this``, joined with the shape's targets inside the query's top-level group."""

    origin: Origin
    constraint: SparqlConstraint
    head: str  # "PREFIX … SELECT … WHERE {"
    body: str  # the rest of the query after its first "{"
    component: ClassVar[ox.NamedNode] = ox.NamedNode(SH + "SPARQLConstraintComponent")

    @property
    def local(self) -> bool:
        return False

    def results(self, run: Run) -> Iterator[Result]:
        text = f"{self.head} {run.focus_clause} {run.targets(self.origin)} {self.body}"
        solutions = run.query(text, prefixes=self.constraint.prefixes)
        names = [variable.value for variable in solutions.variables]
        for row in solutions:
            yield from self._results(run, {name: row[name] for name in names})

    def _results(self, run: Run, bound: dict[str, OxTerm | None]) -> Iterator[Result]:
        focus = bound["this"]
        assert focus is not None
        path = bound.get("path")
        stored_value = bound.get("value")
        if stored_value is None:
            stored_value = focus
        # pyshacl reports the shape's messages and then the constraint's, with {?var} filled in.
        messages = self.origin.messages + tuple(
            m for m in self.constraint.messages if m not in self.origin.messages
        )
        filled = tuple(_fill(message, bound) for message in messages) or (
            f"{self.describe()} is not satisfied",
        )
        path_term = path if isinstance(path, ox.NamedNode) else None
        for value in run.data.given_forms(focus, path_term, stored_value):
            yield Result(
                focus,
                path,
                value,
                filled,
                self.origin.severity,
                self.origin.node,
                self.component,
                self.constraint.node,
            )


def _outside_subqueries(text: str, origin: Origin) -> str:
    """``text`` with IRIs, strings, comments and sub-selects blanked out. A sub-select that
    projects ``$this`` (as SHACL requires) without using it in its pattern gives the same
    solutions whether ``$this`` is pre-bound or joined; one that uses it is refused. (Sub-selects
    are how to make Oxigraph hash-join a self-join on all its shared variables; see
    shapes/agents.ttl.)"""
    text = NOT_KEYWORDS.sub(lambda m: " " * len(m.group(0)), text)
    for start in [m.start() for m in re.finditer(r"\{\s*SELECT\b", text, re.IGNORECASE)]:
        depth, end = 0, start
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        pattern = text[text.index("{", start + 1) : end]
        if re.search(r"\?this\b", pattern):
            raise InputError(f"shape {origin.name}: sh:select: a sub-select may not use $this")
        text = text[:start] + " " * (end + 1 - start) + text[end + 1 :]
    return text


def _fill(message: str, bound: dict[str, OxTerm | None]) -> str:
    for name, term in bound.items():
        if term is not None:
            message = re.sub(
                r"\{[?$]" + re.escape(name) + r"\}", term.value.replace("\\", r"\\"), message
            )
    return message


def compile_sparql(origin: Origin, constraint: SparqlConstraint) -> Sparql:
    """Split the SELECT at its first ``{`` so targets can be joined inside its WHERE group."""
    text = re.sub(r"\$this\b", "?this", constraint.select)
    head, brace, body = text.partition("{")
    match = SELECT_HEAD.fullmatch(head)
    scanned = _outside_subqueries(f"{match['projection'] if match else ''} {{ {body}", origin)
    refused = UNSUPPORTED_SELECT.search(scanned)
    if not brace or match is None or refused:
        why = f" ({refused.group(0)})" if isinstance(refused, re.Match) else ""
        raise InputError(
            f"shape {origin.name}: sh:select must be a plain SELECT … WHERE {{ … }} without "
            f"VALUES, MINUS, SERVICE, aggregates or solution modifiers outside sub-queries{why}"
        )
    projection = match["projection"]
    if projection.strip() != "*" and not re.search(r"\?this\b", projection):
        projection = f"?this {projection}"
    modifier = match["modifier"] or ""
    rewritten = f"{match['prologue']} SELECT {modifier}{projection} WHERE {{"
    try:
        ox.Store().query(rewritten + body, prefixes=constraint.prefixes)
    except SyntaxError as error:
        raise InputError(f"shape {origin.name}: sh:select: {error}") from None
    return Sparql(origin, constraint, rewritten, body)
