"""Known faults planted into a synthetic corpus, with the findings the validate stage must report.

Each kind breaks one constraint the way a curator might (a second report giving other dates, an
ordinal copied from another meeting, a membership entered twice, …). The expected message is read
from the shapes themselves (the constraint is named by its shape, path and kind), so rewording a
message does not silently break the expectation; moving the constraint does, loudly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox

from tipkg.errors import InputError
from tipkg.synth.reports import PROV_, SCHEMA_, SKOS_, XSD_, Corpus, Term, english, typed
from tipkg.vocab import COMMON_PREFIXES

# Cross-document kinds first, so that planting two already spans reports.
PLANT_KINDS = (
    "dates-disagree", "duplicate-ordinal", "end-before-start", "duplicate-membership",
    "theme-label", "missing-provenance", "ill-typed-ordinal", "wrong-language-tag",
)  # fmt: skip
# Where each expected message lives: (node shape in shapes#, path or None, constraint parameter).
CONSTRAINTS = {
    "end-before-start": ("EventShape", "schema:startDate", "lessThanOrEquals"),
    "start-count": ("MeetingShape", "schema:startDate", "maxCount"),
    "end-count": ("MeetingShape", "schema:endDate", "maxCount"),
    "duplicate-ordinal": ("MeetingShape", None, "select"),
    "duplicate-membership": ("MembershipShape", None, "select"),
    "theme-label": ("ThemeShape", None, "select"),
    "missing-provenance": ("ProvenanceShape", "prov:wasDerivedFrom", "minCount"),
    "ill-typed-ordinal": ("OrdinalShape", "tip:ordinal", "datatype"),
    "wrong-language-tag": ("TextLanguageShape", "schema:description", "languageIn"),
}
SH = str(COMMON_PREFIXES["sh"])
T = TypeVar("T")


@dataclass(frozen=True)
class Expected:
    """One finding the validate stage must report: its focus node's IRI and the shape's message."""

    focus: str
    message: str


@dataclass(frozen=True)
class PlantedViolation:
    kind: str
    reports: list[str]  # slugs of the reports whose facts were changed or compared
    findings: list[Expected]


def plant_violations(
    corpus: Corpus, count: int, shape_files: Sequence[Path]
) -> list[PlantedViolation]:
    """Plant ``count`` faults into the corpus' facts, cycling through ``PLANT_KINDS``, each on
    entities no other planted fault touches; return what validating the corpus must report.
    Raises ``InputError`` when the corpus is too small for one of them."""
    planter = _Planter(corpus, _Messages(shape_files, corpus.minted.prefixes))
    return [planter.plant(PLANT_KINDS[i % len(PLANT_KINDS)]) for i in range(count)]


class _Messages:
    """The ``sh:message`` of a constraint, found in the shape files by shape, path and kind."""

    def __init__(self, shape_files: Sequence[Path], prefixes: dict[str, str]) -> None:
        self.prefixes, self.base = prefixes, prefixes["id"].removesuffix("id/")
        self.index: dict[Any, list[tuple[ox.NamedNode, Any]]] = {}
        for path in shape_files:
            for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=self.base):
                self.index.setdefault(triple.subject, []).append((triple.predicate, triple.object))

    def __getitem__(self, key: str) -> str:
        shape_name, path, parameter = CONSTRAINTS[key]
        shape = ox.NamedNode(f"{self.base}shapes#{shape_name}")
        parts = [shape] + [
            o for p, o in self.index.get(shape, []) if p.value in (SH + "property", SH + "sparql")
        ]
        wanted_path = None
        if path:
            prefix, local = path.split(":")
            wanted_path = ox.NamedNode(self.prefixes[prefix] + local)
        for part in parts:
            facts = self.index.get(part, [])
            if wanted_path is not None and (ox.NamedNode(SH + "path"), wanted_path) not in facts:
                continue
            if any(p.value == SH + parameter for p, _ in facts):
                own = [o.value for p, o in facts if p.value == SH + "message"]
                return (
                    own or [o.value for p, o in self.index[shape] if p.value == SH + "message"]
                )[0]
        raise InputError(f"the shapes have no sh:{parameter} constraint on tipsh:{shape_name}")


class _Planter:
    def __init__(self, corpus: Corpus, messages: _Messages) -> None:
        self.corpus, self.minted, self.messages = corpus, corpus.minted, messages
        self.rng = random.Random(f"{corpus.seed}:plant")
        self.touched: set[str] = set()
        self.slugs = [report.slug for report in corpus.reports]

    def pick(self, kind: str, candidates: Iterable[tuple[tuple[str, ...], T]]) -> T:
        """A random candidate touching nothing an earlier fault touched."""
        fresh = [(keys, item) for keys, item in candidates if self.touched.isdisjoint(keys)]
        if not fresh:
            raise InputError(f"cannot plant '{kind}': the corpus is too small for it")
        keys, item = self.rng.choice(fresh)
        self.touched.update(keys)
        return item

    def facts(self, report: int, subject: str) -> dict[tuple[ox.NamedNode, Term], None]:
        return self.corpus.reports[report].facts[ox.NamedNode(subject)]

    def replace(self, report: int, subject: str, predicate: ox.NamedNode, new: Term) -> None:
        facts = self.facts(report, subject)
        for key in [key for key in facts if key[0] == predicate]:
            del facts[key]
        facts[(predicate, new)] = None

    def found(self, kind: str, reports: list[int], *focus: str, key: str = "") -> PlantedViolation:
        message = self.messages[key or kind]
        slugs = [self.slugs[r] for r in reports]
        return PlantedViolation(kind, slugs, [Expected(f, message) for f in focus])

    def plant(self, kind: str) -> PlantedViolation:
        corpus, tip, event = self.corpus, self.minted.tip, self.minted.event
        single = [((m.slug,), m) for m in corpus.meetings if len(m.describers) == 1]
        if kind == "dates-disagree":  # the second report shifts the meeting a week earlier
            shared = [((m.slug,), m) for m in corpus.meetings if len(m.describers) > 1]
            m = self.pick(kind, shared)
            second, iri, shift = m.describers[1], event[m.slug].value, timedelta(days=-7)
            start, end = m.start + shift, m.end + shift
            self.replace(second, iri, SCHEMA_.startDate, typed(start.isoformat(), XSD_.date))
            self.replace(second, iri, SCHEMA_.endDate, typed(end.isoformat(), XSD_.date))
            violation = self.found(kind, m.describers[:2], iri, key="start-count")
            violation.findings.append(Expected(iri, self.messages["end-count"]))
            if m.start > end:  # the first report's start lies after the second's end
                violation.findings.append(Expected(iri, self.messages["end-before-start"]))
            return violation
        if kind == "duplicate-ordinal":  # a meeting takes the ordinal of another in its series
            pairs = (
                ((first.slug, second.slug), (first, second))
                for _, second in single
                for first in second.series.meetings
                if first is not second and second.describers[0] not in first.describers
            )
            first, second = self.pick(kind, pairs)
            iri = event[second.slug].value
            ordinal = typed(first.ordinal, XSD_.positiveInteger)
            self.replace(second.describers[0], iri, tip.ordinal, ordinal)
            reports = [first.describers[0], second.describers[0]]
            return self.found(kind, reports, event[first.slug].value, iri)
        if kind in ("end-before-start", "ill-typed-ordinal"):
            m = self.pick(kind, single)
            report, iri = m.describers[0], event[m.slug].value
            if kind == "end-before-start":
                before = (m.start - timedelta(days=1)).isoformat()
                self.replace(report, iri, SCHEMA_.endDate, typed(before, XSD_.date))
            else:  # a bare 3 in Turtle is an xsd:integer
                self.replace(report, iri, tip.ordinal, typed(m.ordinal, XSD_.integer))
            return self.found(kind, [report], iri)
        if kind == "duplicate-membership":  # the same membership entered again under a new IRI
            report, node = self.pick(kind, (((n.value,), (r, n)) for r, n in corpus.memberships))
            duplicate = node.value + "-again"
            corpus.reports[report].facts[ox.NamedNode(duplicate)] = dict(
                self.facts(report, node.value)
            )
            return self.found(kind, [report], node.value, duplicate)
        if kind == "theme-label":  # the label loses the capital the quoted phrase has
            themes = (((t,), (t, r[0])) for t, r in corpus.themes.items() if len(r) == 1)
            theme, report = self.pick(kind, themes)
            label = next(o for p, o in self.facts(report, theme) if p == SKOS_.prefLabel)
            self.replace(report, theme, SKOS_.prefLabel, english(label.value.lower()))
            return self.found(kind, [report], theme)
        if kind == "missing-provenance":  # a participation cites no sentence
            records = corpus.participations.items()
            iri, report = self.pick(kind, (((p,), (p, r[0])) for p, r in records if len(r) == 1))
            facts = self.facts(report, iri)
            for key in [key for key in facts if key[0] == PROV_.wasDerivedFrom]:
                del facts[key]
            return self.found(kind, [report], iri)
        # wrong-language-tag: an English description tagged as Spanish
        report, node = self.pick(kind, (((n.value,), (r, n)) for r, n in corpus.statements))
        text = next(o for p, o in self.facts(report, node.value) if p == SCHEMA_.description)
        self.replace(report, node.value, SCHEMA_.description, ox.Literal(text.value, language="es"))
        return self.found(kind, [report], node.value)
