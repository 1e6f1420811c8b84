"""What the index holds, apart from how it is computed: entries, kinds, and the entries' file
form for the build's cache. Reading the index needs this module and not the RDF stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# The kinds a reader filters by, in the order that breaks ties between hits of equal score.
KINDS = (
    "meeting",
    "state",
    "territory",
    "statement",
    "sentence",
    "report",
    "concept",
    "organisation",
    "other",
)
OTHER = "other"


@dataclass(frozen=True)
class SentenceRef:
    """Where a sentence hit is in its report: its number and its code point offsets."""

    number: int
    begin: int
    end: int


@dataclass(frozen=True)
class Entry:
    """One searchable resource as one unit describes it.

    ``names`` are labels, titles, alternate names and names as stated; ``text`` descriptions,
    definitions and a sentence's own text; ``notes`` editorial notes. ``document`` is the report's
    slug for entries of a report's graph, ``year`` the year the entry is about (see
    :func:`tipkg.search.entries.unit_entries`).
    """

    unit: str
    iri: str
    kind: str
    label: str
    names: tuple[str, ...]
    text: tuple[str, ...]
    notes: tuple[str, ...]
    document: str | None = None
    year: int | None = None
    sentence: SentenceRef | None = None


def save_entries(entries: Iterable[Entry], path: Path) -> None:
    """Write entries as JSON lines (one unit's, in its cache folder)."""
    lines = (json.dumps(asdict(entry), ensure_ascii=False) + "\n" for entry in entries)
    path.write_text("".join(lines), encoding="utf-8")


def load_entries(path: Path) -> Iterator[Entry]:
    """The entries :func:`save_entries` wrote, in the same order."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield _entry(json.loads(line))


def _entry(fields: dict[str, Any]) -> Entry:
    sentence = fields.pop("sentence")
    return Entry(
        **{
            **fields,
            "names": tuple(fields["names"]),
            "text": tuple(fields["text"]),
            "notes": tuple(fields["notes"]),
        },
        sentence=SentenceRef(**sentence) if sentence else None,
    )
