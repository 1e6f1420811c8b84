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
SCRATCH = ox.NamedNode("urn:tipkg:shacl:scratch")

# A literal given for (subject, predicate), as given.
Given = tuple[OxTerm, ox.NamedNode, ox.Literal]


def _rewritable(literal: ox.Literal) -> bool:
    """Whether the store may hold ``literal`` in another form than the one given."""
    if literal.language:
        return literal.language != literal.language.lower()
    datatype = literal.datatype.value
    return datatype.startswith(XSD) and datatype != XSD_STRING


class DataGraph:
    """The RDF merge of the quads given (graph names dropped, each triple once), which is what
    pyshacl validates when tipkg hands it the union of its graphs. Oxigraph plans joins well on
    its default graph; over the union of named graphs some take minutes.

    ``including`` adds a few more quads for the time of a block, so that a build can load the
    shared graphs once and validate one report at a time.
    """

    def __init__(self, quads: Iterable[ox.Quad | ox.Triple] = ()) -> None:
        self.store = ox.Store()
        self._given: list[Given] = []  # every literal the store may rewrite, as given
        self._stored_as: dict[ox.Literal, ox.Literal] = {}
        # (predicate, stored literal) -> the literals given as it, with how often
        self._forms: dict[tuple[ox.NamedNode, ox.Literal], dict[ox.Literal, int]] = {}
        # stored literal -> the literals given as it, with how often
        self._variants: dict[ox.Literal, dict[ox.Literal, int]] = {}
        # Built on demand: for (predicate, stored literal)s given in several forms, who gave which.
        self._by_subject: dict[tuple[OxTerm, ox.NamedNode, ox.Literal], set[ox.Literal]] | None
        self._by_subject = None
        self.store.bulk_extend(self._merged(quads, self._given))
        self._count(self._given, +1)

    @contextmanager
    def including(self, quads: Iterable[ox.Quad | ox.Triple]) -> Iterator[None]:
        """The data with ``quads`` added inside the block; afterwards exactly what they added is
        removed again."""
        given: list[Given] = []
        merged = set(self._merged(quads, given))
        added = [quad for quad in merged if quad not in self.store]
        self.store.extend(added)
        self._given.extend(given)
        self._count(given, +1)
        try:
            yield
        finally:
            for quad in added:
                self.store.remove(quad)
            del self._given[len(self._given) - len(given) :]
            self._count(given, -1)

    def values(self, node: OxTerm, path: Path) -> set[OxTerm]:
        """The values of ``path`` at ``node``, literals as they were given."""
        if isinstance(path, InversePath):
            return {q.subject for q in self.store.quads_for_pattern(None, path.predicate, node)}
        found: set[OxTerm] = set()
        for quad in self.store.quads_for_pattern(node, path, None):
            found |= self.given_forms(node, path, quad.object)
        return found

    def given_forms(self, node: OxTerm, path: Path | OxTerm | None, value: OxTerm) -> set[OxTerm]:
        """The literals as given that the store holds as ``value`` at ``node``'s ``path``."""
        forms = self._forms.get((path, value)) if isinstance(value, ox.Literal) else None  # type: ignore[index]
        if not forms:
            return {value}
        if len(forms) == 1:
            return set(forms)
        return set(self._subjects()[(node, path, value)])  # type: ignore[index]

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
        if all(len(f) < 2 for (p, _), f in self._forms.items() if p == predicate):
            return set()
        return {
            s for (s, p, _), forms in self._subjects().items() if p == predicate and len(forms) > 1
        }

    @staticmethod
    def _merged(statements: Iterable[ox.Quad | ox.Triple], given: list[Given]) -> Iterator[ox.Quad]:
        """Each statement in the default graph, noting the literals the store may rewrite (one
        pass, as the data may hold millions of quads)."""
        for statement in statements:
            obj = statement.object
            if type(obj) is ox.Literal and _rewritable(obj):
                given.append((statement.subject, statement.predicate, obj))
            if type(statement) is ox.Quad and type(statement.graph_name) is ox.DefaultGraph:
                yield statement
            else:
                yield ox.Quad(statement.subject, statement.predicate, obj)

    def _count(self, given: list[Given], step: int) -> None:
        self._learn_stored_forms(literal for _s, _p, literal in given)
        for _subject, predicate, literal in given:
            stored = self._stored_as[literal]
            _tally(self._forms, (predicate, stored), literal, step)
            _tally(self._variants, stored, literal, step)
        self._by_subject = None

    def _subjects(self) -> dict[tuple[OxTerm, ox.NamedNode, ox.Literal], set[ox.Literal]]:
        """Who gave which form, for the (predicate, stored literal)s given in several forms."""
        if self._by_subject is None:
            self._by_subject = {}
            for subject, predicate, literal in self._given:
                stored = self._stored_as[literal]
                if len(self._forms[(predicate, stored)]) > 1:
                    self._by_subject.setdefault((subject, predicate, stored), set()).add(literal)
        return self._by_subject

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


def _tally(table: dict, key: object, literal: ox.Literal, step: int) -> None:  # type: ignore[type-arg]
    counts = table.setdefault(key, {})
    counts[literal] = counts.get(literal, 0) + step
    if counts[literal] <= 0:
        del counts[literal]
    if not counts:
        del table[key]
