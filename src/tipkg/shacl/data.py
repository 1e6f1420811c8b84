"""The data graph to validate: a pyoxigraph store for SPARQL, plus the literals it rewrote.

An Oxigraph store normalises typed literals when it loads them (oxigraph issue #526):
``"3"^^xsd:nonNegativeInteger`` is kept as ``"3"^^xsd:integer``, ``"03"`` as ``"3"``,
``"0"^^xsd:boolean`` as ``"false"``, ``@en-GB`` as ``@en-gb``. SPARQL over the store still
answers numeric and date questions right, but ``sh:datatype xsd:nonNegativeInteger`` would fail
every offset, and a wrong datatype could never be seen. So ``DataGraph`` keeps, beside the store,
every literal the store may rewrite as it was given (typed XSD literals other than strings, and
tags with capitals): the engine finds candidates with SPARQL and decides each one on the literals
as given, as pyshacl does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pyoxigraph as ox

from tipkg.shacl.checks import InversePath, Path
from tipkg.terms import OxTerm

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SCRATCH = ox.NamedNode("urn:tipkg:shacl:scratch")
DEFAULT = ox.DefaultGraph()

# (subject, predicate, literal as the store holds it)
Key = tuple[OxTerm, ox.NamedNode, ox.Literal]


def _rewritable(literal: ox.Literal) -> bool:
    """Whether the store may hold ``literal`` in another form than the one given."""
    if literal.language:
        return literal.language != literal.language.lower()
    datatype = literal.datatype.value
    return datatype.startswith(XSD) and datatype != XSD_STRING


class DataGraph:
    """The RDF merge of the quads given (graph names dropped, each triple once), which is what
    pyshacl validates when tipkg hands it the union of its graphs. Oxigraph answers joins
    several times faster on its default graph than on the union of named graphs.

    ``including`` adds a few more quads for the time of a block, so that a build can load the
    shared graphs once and validate one report at a time.
    """

    def __init__(self, quads: Iterable[ox.Quad | ox.Triple] = ()) -> None:
        self.store = ox.Store()
        # For each literal the store may rewrite: what it became, and where it was given as what.
        self._stored_as: dict[ox.Literal, ox.Literal] = {}
        self._given: dict[Key, set[ox.Literal]] = {}
        # For each stored literal, the literals given as it, with how many (subject, predicate)
        # give each.
        self._variants: dict[ox.Literal, dict[ox.Literal, int]] = {}
        self._collapsed: set[Key] = set()  # two literals given became one stored literal
        statements = [q if type(q) is ox.Quad else _quad(q) for q in quads]
        self.store.bulk_extend(statements)
        if any(True for _ in self.store.named_graphs()):
            self.store.update("INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
            self.store.update("DROP NAMED")
        self._index(statements)

    @contextmanager
    def including(self, quads: Iterable[ox.Quad | ox.Triple]) -> Iterator[None]:
        """The data with ``quads`` added inside the block; afterwards exactly what they added is
        removed again."""
        statements = {_quad(q, merged=True) for q in quads}
        added = [q for q in statements if q not in self.store]
        indexed = self._index(statements)
        self.store.extend(added)
        try:
            yield
        finally:
            for quad in added:
                self.store.remove(quad)
            for key, given in indexed:
                self._forget(key, given)

    def __len__(self) -> int:
        return len(self.store)

    def values(self, node: OxTerm, path: Path) -> set[OxTerm]:
        """The values of ``path`` at ``node``, literals as they were given."""
        if isinstance(path, InversePath):
            return {q.subject for q in self.store.quads_for_pattern(None, path.predicate, node)}
        found: set[OxTerm] = set()
        for quad in self.store.quads_for_pattern(node, path, None):
            stored = quad.object
            given = self._given.get((node, path, stored)) if stored in self._variants else None
            if given:
                found.update(given)
            else:
                found.add(quad.object)
        return found

    def given_forms(self, node: OxTerm, path: Path | None, value: OxTerm) -> set[OxTerm]:
        """The literals as given that the store holds as ``value`` at ``node``'s ``path``."""
        if isinstance(value, ox.Literal) and isinstance(path, ox.NamedNode):
            given = self._given.get((node, path, value))
            if given:
                return set(given)
        return {value}

    def variants(self, value: OxTerm) -> set[OxTerm]:
        """Every literal given anywhere that the store holds as ``value``."""
        given = self._variants.get(value) if isinstance(value, ox.Literal) else None
        return set(given) if given else {value}

    def exact_in_store(self, term: OxTerm) -> bool:
        """Whether matching ``term`` in the store matches exactly the literals given as it."""
        if not isinstance(term, ox.Literal) or not _rewritable(term):
            return True
        self._learn_stored_forms([term])
        stored = self._stored_as[term]
        return stored == term and set(self._variants.get(stored, {})) <= {term}

    def collapsed(self, predicate: ox.NamedNode) -> set[OxTerm]:
        """Subjects where two literals given for ``predicate`` became one in the store, so that
        the store undercounts their values."""
        return {subject for subject, p, _ in self._collapsed if p == predicate}

    def _learn_stored_forms(self, literals: Iterable[ox.Literal]) -> None:
        """Find what the store makes of each new literal by storing it once in a scratch store."""
        new = list({lit for lit in literals if lit not in self._stored_as})
        if not new:
            return
        scratch = ox.Store()
        subjects = [ox.NamedNode(f"urn:tipkg:shacl:{i}") for i in range(len(new))]
        scratch.bulk_extend(ox.Quad(s, SCRATCH, lit) for s, lit in zip(subjects, new, strict=True))
        index = {s: i for i, s in enumerate(subjects)}
        for quad in scratch:
            stored = quad.object
            assert isinstance(stored, ox.Literal)
            self._stored_as[new[index[quad.subject]]] = stored

    def _index(self, statements: Iterable[ox.Quad]) -> list[tuple[Key, ox.Literal]]:
        """Remember the literals the store may rewrite; return those not known before."""
        given_here = {
            (q.subject, q.predicate, q.object)
            for q in statements
            if type(q.object) is ox.Literal and _rewritable(q.object)
        }
        self._learn_stored_forms(literal for _s, _p, literal in given_here)
        new = []
        for subject, predicate, given in given_here:
            stored = self._stored_as[given]
            key: Key = (subject, predicate, stored)
            forms = self._given.setdefault(key, set())
            if given in forms:
                continue
            forms.add(given)
            _tally(self._variants.setdefault(stored, {}), given, +1)
            if len(forms) > 1:
                self._collapsed.add(key)
            new.append((key, given))
        return new

    def _forget(self, key: Key, given: ox.Literal) -> None:
        forms = self._given[key]
        forms.discard(given)
        if len(forms) < 2:
            self._collapsed.discard(key)
        if not forms:
            del self._given[key]
        variants = self._variants[key[2]]
        _tally(variants, given, -1)
        if not variants:
            del self._variants[key[2]]


def _quad(statement: ox.Quad | ox.Triple, merged: bool = False) -> ox.Quad:
    """``statement`` as a quad; with ``merged``, in the default graph."""
    if isinstance(statement, ox.Quad) and not (merged and statement.graph_name != DEFAULT):
        return statement
    return ox.Quad(statement.subject, statement.predicate, statement.object)


def _tally(counts: dict[ox.Literal, int], literal: ox.Literal, step: int) -> None:
    counts[literal] = counts.get(literal, 0) + step
    if counts[literal] <= 0:
        del counts[literal]
