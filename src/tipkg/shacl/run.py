"""One validation run: the data, the focus nodes the caller asked about, and the SPARQL plumbing
every constraint shares (targets, focus restriction, the class hierarchy of the data)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pyoxigraph as ox

from tipkg.shacl.checks import RDF_TYPE, Path, path_pattern
from tipkg.shacl.data import DataGraph
from tipkg.terms import OxTerm

RDFS_SUBCLASS_OF = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
THIS = ox.Variable("this")
FOCUS = ox.NamedNode("urn:tipkg:shacl:focus")
IN_FOCUS = ox.NamedNode("urn:tipkg:shacl:in-focus")
FOCUS_PATTERN = f"GRAPH {FOCUS} {{ ?this {IN_FOCUS} {FOCUS} }}"
TYPE = ox.NamedNode(RDF_TYPE[1:-1])


@dataclass(frozen=True)
class Result:
    """One ``sh:ValidationResult``: terms as the data gave them, the shape's messages (or, for a
    shape without any, one naming the constraint), and where the result comes from."""

    focus: OxTerm
    path: Path | OxTerm | None  # a SPARQL constraint may bind ?path to any term
    value: OxTerm | None
    messages: tuple[str, ...]
    severity: ox.NamedNode
    source_shape: OxTerm
    component: ox.NamedNode
    source_constraint: OxTerm | None = None

    def sort_key(self) -> tuple[str, ...]:
        return (
            str(self.severity),
            str(self.focus),
            str(self.path or ""),
            *self.messages,
            str(self.value or ""),
            str(self.source_shape),
        )


@dataclass(frozen=True)
class Origin:
    """The shape a constraint belongs to, with the targets of its node shape."""

    node: OxTerm
    name: str
    path: Path | None
    messages: tuple[str, ...]
    severity: ox.NamedNode
    target_classes: tuple[ox.NamedNode, ...]
    target_subjects_of: tuple[ox.NamedNode, ...]


class Run:
    """Queries over one ``DataGraph``, restricted to ``focus`` when it is given.

    The focus nodes are written into a graph of their own in the store for the run (the data is
    all in the default graph, which queries read), so that every query names them all, blank
    nodes included, in one short pattern: a query can name a blank node only by substituting it,
    one query per node.
    """

    def __init__(self, data: DataGraph, focus: Collection[OxTerm] | None) -> None:
        self.data = data
        self.focus = None if focus is None else frozenset(focus)
        self.focus_clause = "" if focus is None else FOCUS_PATTERN
        self._subclasses: dict[ox.NamedNode, frozenset[ox.NamedNode]] = {}
        self._superclass_edges: dict[OxTerm, set[OxTerm]] | None = None
        self._variables = 0
        self._over: dict[tuple[Path, int], set[OxTerm]] = {}
        self._focus_kinds: dict[OxTerm, set[OxTerm]] | None = None  # predicate -> objects

    def __enter__(self) -> Run:
        if self.focus is not None:
            self.data.store.extend(
                ox.Quad(node, IN_FOCUS, FOCUS, FOCUS)
                for node in self.focus
                if not isinstance(node, ox.Literal)  # never a subject, so never a target here
            )
        return self

    def __exit__(self, *_exception: object) -> None:
        if self.focus is not None:
            self.data.store.remove_graph(FOCUS)

    # What checks read in Python (checks.Data) and need to render SPARQL (checks.Renderer).

    def is_instance(self, node: OxTerm, cls: ox.NamedNode) -> bool:
        types = {q.object for q in self.data.store.quads_for_pattern(node, TYPE, None)}
        return not types.isdisjoint(self.subclasses(cls))

    def values(self, node: OxTerm, path: Path) -> set[OxTerm]:
        return self.data.values(node, path)

    def subclasses(self, cls: ox.NamedNode) -> frozenset[ox.NamedNode]:
        """``cls`` and every class below it by ``rdfs:subClassOf`` in the data, as SHACL's
        instance test and class targets require."""
        if cls not in self._subclasses:
            if self._superclass_edges is None:
                self._superclass_edges = {}
                query = f"SELECT DISTINCT ?sub ?super WHERE {{ ?sub {RDFS_SUBCLASS_OF} ?super }}"
                for row in self.query(query):
                    self._superclass_edges.setdefault(row["super"], set()).add(row["sub"])
            found, todo = {cls}, [cls]
            while todo:
                for sub in self._superclass_edges.get(todo.pop(), ()):
                    if isinstance(sub, ox.NamedNode) and sub not in found:
                        found.add(sub)
                        todo.append(sub)
            self._subclasses[cls] = frozenset(found)
        return self._subclasses[cls]

    def constant(self, term: OxTerm) -> str | None:
        if isinstance(term, ox.BlankNode) or not self.data.exact_in_store(term):
            return None
        return str(term)

    def variable(self) -> str:
        self._variables += 1
        return f"?tipkg_shacl_{self._variables}"

    # Patterns and queries.

    def targets(self, origin: Origin, implied_by: Path | None = None) -> str:
        """A pattern binding ``?this`` to the focus nodes of ``origin``'s node shape. Empty when a
        constraint reports only nodes with a value for ``implied_by`` and the shape targets the
        subjects of that predicate: then every such node is a target already."""
        if isinstance(implied_by, ox.NamedNode) and implied_by in origin.target_subjects_of:
            return ""
        parts = []
        if origin.target_classes:
            classes = {sub for cls in origin.target_classes for sub in self.subclasses(cls)}
            listed = " ".join(sorted(str(c) for c in classes))
            parts.append(f"{{ VALUES ?tipkg_class {{ {listed} }} ?this {RDF_TYPE} ?tipkg_class }}")
        if origin.target_subjects_of:
            listed = " ".join(str(p) for p in origin.target_subjects_of)
            parts.append(f"{{ VALUES ?tipkg_predicate {{ {listed} }} ?this ?tipkg_predicate [] }}")
        return " UNION ".join(parts)

    def focus_nodes(self, where: str, tail: str = "") -> set[OxTerm]:
        """The distinct ``?this`` of ``where`` (within the focus)."""
        select = "DISTINCT ?this" if not tail else "?this"
        return {row["this"] for row in self.select(where, select, tail)}

    def select(
        self,
        where: str,
        select: str = "DISTINCT ?this",
        tail: str = "",
        substitutions: dict[ox.Variable, OxTerm] | None = None,
    ) -> ox.QuerySolutions:
        text = f"SELECT {select} WHERE {{ {self.focus_clause} {where} }} {tail}"
        return self.query(text, substitutions)

    def nodes_with_more_values(self, path: Path, maximum: int) -> set[OxTerm]:
        """The nodes (within the focus) with more than ``maximum`` values of ``path`` in the
        store, worked out once per path and bound."""
        key = (path, maximum)
        if key not in self._over:
            values = path_pattern("?this", path, "?value")
            counts = "(COUNT(*) AS ?values) (COUNT(DISTINCT ?this) AS ?nodes)"
            row = next(iter(self.select(values, counts)))
            if maximum and row["values"] == row["nodes"]:  # one value each: cheaper to know
                self._over[key] = set()
            else:
                tail = f"GROUP BY ?this HAVING (COUNT(?value) > {maximum})"
                self._over[key] = {row["this"] for row in self.select(values, "?this", tail)}
        return self._over[key]

    def may_have_targets(self, origin: Origin) -> bool:
        """False when no focus node has a type or predicate ``origin`` targets: a report has
        few of the kinds of nodes the shapes know, so most constraints need no query at all."""
        if self.focus is None:
            return True
        if self._focus_kinds is None:
            rows = self.select("?this ?predicate ?object", "DISTINCT ?predicate ?object")
            self._focus_kinds = {}
            for row in rows:
                self._focus_kinds.setdefault(row["predicate"], set()).add(row["object"])
        types = self._focus_kinds.get(TYPE, set())
        return any(p in self._focus_kinds for p in origin.target_subjects_of) or any(
            not types.isdisjoint(self.subclasses(cls)) for cls in origin.target_classes
        )

    def is_target(self, origin: Origin, node: OxTerm) -> bool:
        """Whether ``node`` is a focus node of ``origin`` (and within the caller's focus)."""
        if self.focus is not None and node not in self.focus:
            return False
        return bool(self.query(f"ASK {{ {self.targets(origin)} }}", {THIS: node}))

    def query(
        self,
        text: str,
        substitutions: dict[ox.Variable, OxTerm] | None = None,
        prefixes: dict[str, str] | None = None,
    ) -> ox.QuerySolutions:
        """A whole query over the union of the data's graphs."""
        return self.data.store.query(  # type: ignore[return-value]
            text,
            use_default_graph_as_union=True,
            substitutions=substitutions or None,
            prefixes=prefixes,
        )
