"""What the index holds, apart from how it is computed: entries, kinds, and the entries' file
form for the build's cache. Reading the index needs this module and not the RDF stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
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


def entries_json(entries: Iterable[Entry]) -> bytes:
    """Entries as JSON lines (one unit's, kept in its cache record)."""
    lines = (json.dumps(asdict(entry), ensure_ascii=False) + "\n" for entry in entries)
    return "".join(lines).encode("utf-8")


def read_entries(data: bytes) -> Iterator[Entry]:
    """The entries :func:`entries_json` wrote, in the same order."""
    # Split on "\n" only: json.dumps escapes it, but leaves U+2028 and other line boundaries
    # that str.splitlines would split on.
    for line in data.decode("utf-8").split("\n"):
        if line:
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
