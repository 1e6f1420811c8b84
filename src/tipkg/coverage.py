"""Which sentences of each report no fact cites: what a curator has not yet read into the graph.

A fact cites a sentence when a statement written in the report's files has the sentence as its
object (``prov:wasDerivedFrom s:4``), or a phrase of the text that overlaps it (a quote
``#char=B,E`` cites every sentence it shares characters with). What the build derives (NIF
links between sentences, a phrase's ``nif:superString``) is not a citation; only what the
curator wrote counts, so the statements are those the graph stage records an origin for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from tipkg.errors import display_path
from tipkg.graph import UnitGraph
from tipkg.sources import PHRASE_FRAGMENT, Sentence
from tipkg.vocab import Iris

QUOTE_WIDTH = 60


@dataclass(frozen=True)
class ReportCoverage:
    """One report's sentences, and those no fact cites."""

    slug: str
    source_path: Path
    sentences: int
    uncited: tuple[Sentence, ...]

    def line(self) -> str:
        return f"{self.slug}: {len(self.uncited)} of {self.sentences} sentences cited by no fact"

    def uncited_lines(self) -> list[str]:
        """One line per uncited sentence, at the report's text (for ``--strict``)."""
        where = display_path(self.source_path)
        return [
            f"{where}: sentence {s.number} (char={s.begin},{s.end}) is cited by no fact: "
            f"{_shortened(s.text)}"
            for s in self.uncited
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.slug,
            "sentences": self.sentences,
            "uncited": [
                {"sentence": s.number, "begin": s.begin, "end": s.end, "text": s.text}
                for s in self.uncited
            ],
        }


def measure(iris: Iris, reports: Iterable[UnitGraph]) -> list[ReportCoverage]:
    """Each report's coverage, in the order given (one report's graph at a time is enough)."""
    return [_report_coverage(unit, iris) for unit in reports if unit.source is not None]


def _report_coverage(unit: UnitGraph, iris: Iris) -> ReportCoverage:
    source = unit.source
    assert source is not None
    document = str(iris.document(source.slug))
    sentence_prefix = document + "/sentence/"
    cited: set[int] = set()
    for triple in unit.origins:
        obj = triple.object
        if not isinstance(obj, ox.NamedNode):
            continue
        if obj.value.startswith(sentence_prefix):
            number = obj.value[len(sentence_prefix) :]
            if number.isdigit():
                cited.add(int(number))
        elif obj.value.startswith(document + "#") and (match := PHRASE_FRAGMENT.search(obj.value)):
            begin, end = int(match.group(1)), int(match.group(2))
            cited.update(s.number for s in source.sentences if s.begin < end and begin < s.end)
    uncited = tuple(s for s in source.sentences if s.number not in cited)
    return ReportCoverage(source.slug, source.path, len(source.sentences), uncited)


def _shortened(text: str) -> str:
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= QUOTE_WIDTH else flat[: QUOTE_WIDTH - 1] + "…") + '"'
