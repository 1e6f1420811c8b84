"""Shapes compiled once into constraints, and the validation of data against them."""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Graph

from tipkg.shacl.constraints import (
    Comparison,
    Constraint,
    HasValue,
    MaxCount,
    MinCount,
    NodeCheck,
    QualifiedCount,
    ValueCheck,
    compile_sparql,
)
from tipkg.shacl.data import DataGraph
from tipkg.shacl.model import Shape, read_shapes
from tipkg.shacl.run import Origin, Result, Run
from tipkg.terms import OxTerm


class Validator:
    """The constraints of a shapes graph, each knowing whether it is local (see the package)."""

    def __init__(self, constraints: Iterable[Constraint]) -> None:
        self.constraints = tuple(constraints)

    @property
    def local_constraints(self) -> tuple[Constraint, ...]:
        return tuple(c for c in self.constraints if c.local)

    @property
    def global_constraints(self) -> tuple[Constraint, ...]:
        return tuple(c for c in self.constraints if not c.local)

    def validate(self, data: DataGraph, focus: Iterable[OxTerm] | None = None) -> list[Result]:
        """Every distinct result, sorted; with ``focus``, only those about these focus nodes."""
        found: set[Result] = set()
        with Run(data, None if focus is None else set(focus)) as run:
            for constraint in self.constraints:
                if run.may_have_targets(constraint.origin):
                    found.update(constraint.results(run))
        return sorted(found, key=Result.sort_key)


def compile_shapes(shapes: Graph) -> Validator:
    """Read and compile ``shapes`` (as ``tipkg.validate.load_shapes`` parses them); raise
    ``InputError`` naming the shape for any SHACL feature this engine does not evaluate."""
    return Validator(c for shape in read_shapes(shapes) for c in _compile(shape))


def _compile(shape: Shape) -> Iterable[Constraint]:
    targets = (shape.target_classes, shape.target_subjects_of)
    origin = Origin(shape.node, shape.name, None, shape.messages, shape.severity, *targets)
    for check in shape.checks:
        yield NodeCheck(origin, check)
    for sparql in shape.sparql:
        yield compile_sparql(origin, sparql)
    for prop in shape.properties:
        path = prop.path
        assert path is not None
        at = Origin(prop.node, prop.name, path, prop.messages, prop.severity, *targets)
        for check in prop.checks:
            yield ValueCheck(at, path, check)
        if prop.min_count:
            yield MinCount(at, path, prop.min_count)
        if prop.max_count is not None:
            yield MaxCount(at, path, prop.max_count)
        for value in prop.has_values:
            yield HasValue(at, path, value)
        for other in prop.less_than:
            yield Comparison(at, path, other, or_equal=False)
        for other in prop.less_than_or_equals:
            yield Comparison(at, path, other, or_equal=True)
        qualified = prop.qualified
        if qualified is not None:
            for is_minimum, bound in ((True, qualified.min_count), (False, qualified.max_count)):
                if bound is not None:
                    yield QualifiedCount(at, path, qualified, is_minimum)
