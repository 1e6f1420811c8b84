"""Answering a search from the index file: ranked hits with safe snippets, and facet counts.

Hits are ranked by BM25 over the three fields (weights in ``FIELD_WEIGHTS``), ties broken by IRI
and then by the unit, so the same index answers the same way whatever history built it. Facet
counts cover every match, not only the page: each facet is counted with the *other* filters
applied, so a reader who picked one kind still sees how many hits the other kinds have.

A snippet comes back as parts, each plain text with a flag for whether it matched (and its
HTML-escaped form), so no caller has to trust markup made from the data.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tipkg.errors import InputError, SearchError
from tipkg.search.entries import KINDS, SentenceRef
from tipkg.search.index import FIELD_WEIGHTS, TEXT_TABLE, check_format
from tipkg.search.syntax import to_fts5

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 10_000
# Tokens of context in a snippet (FTS5 allows at most 64).
SNIPPET_TOKENS = 24
# Documents listed in the document facet (the most frequent); kinds and years are all listed.
FACET_DOCUMENTS = 25
# What FTS5's snippet() puts around a match: control characters, which indexed text never holds.
_MATCH_START, _MATCH_END = "\x02", "\x03"
_RANK = f"bm25({TEXT_TABLE}, {', '.join(map(str, FIELD_WEIGHTS))})"
_MATCHES = (
    f"FROM {TEXT_TABLE} JOIN entries AS e ON e.id = {TEXT_TABLE}.rowid WHERE {TEXT_TABLE} MATCH ?"
)


@dataclass(frozen=True)
class SnippetPart:
    """A run of a snippet's text, matched or not."""

    text: str
    match: bool

    @property
    def html(self) -> str:
        """The text escaped for HTML (the caller adds its own mark for a match)."""
        return html.escape(self.text)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "html": self.html, "match": self.match}


@dataclass(frozen=True)
class Hit:
    """One entry that matches: what to show and where to link. ``sentence`` is set for
    sentence hits (its number and offsets in the report ``document``)."""

    iri: str
    kind: str
    label: str
    document: str | None
    year: int | None
    snippet: tuple[SnippetPart, ...]
    sentence: SentenceRef | None
    score: float

    def to_json(self) -> dict[str, Any]:
        sentence = self.sentence
        return {
            "iri": self.iri,
            "kind": self.kind,
            "label": self.label,
            "document": self.document,
            "year": self.year,
            "snippet": [part.to_json() for part in self.snippet],
            "sentence": (
                {"number": sentence.number, "begin": sentence.begin, "end": sentence.end}
                if sentence
                else None
            ),
            "score": self.score,
        }


@dataclass(frozen=True)
class Facet:
    """Hits per value, most first (ties by value); ``distinct`` counts every value, even those
    a long facet leaves out of ``counts``."""

    counts: tuple[tuple[str | int, int], ...]
    distinct: int

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": [{"value": value, "count": count} for value, count in self.counts],
            "distinct": self.distinct,
        }


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, the number of hits in all, and the facets of all of them."""

    query: str
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, Facet]  # "kind", "document", "year"
    limit: int
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "hits": [hit.to_json() for hit in self.hits],
            "facets": {name: facet.to_json() for name, facet in self.facets.items()},
        }

    def format_text(self) -> str:
        """For a terminal: each hit's kind, label, IRI and snippet (matches [bracketed]), then
        the facet counts."""
        if not self.total:
            return f"no hits for {self.query}"
        shown = f"{self.offset + 1}–{self.offset + len(self.hits)} of " if self.hits else ""
        lines = [f"{shown}{self.total:,} hit{'s' * (self.total != 1)} for {self.query}"]
        for hit in self.hits:
            about = ", ".join(str(v) for v in (hit.document, hit.year) if v is not None)
            lines.append(f"  {hit.kind:<12}  {hit.label}" + (f"  ({about})" if about else ""))
            where = hit.iri
            if hit.sentence is not None:
                where += f"  (characters {hit.sentence.begin}–{hit.sentence.end})"
            lines.append(f"  {'':<12}  {where}")
            marked = "".join(f"[{p.text}]" if p.match else p.text for p in hit.snippet)
            lines.append(f"  {'':<12}  {' '.join(marked.split())}")
        for name, facet in self.facets.items():
            counts = ", ".join(f"{value} {count:,}" for value, count in facet.counts)
            more = facet.distinct - len(facet.counts)
            lines.append(f"{name}: {counts or '-'}" + (f" and {more:,} more" if more else ""))
        return "\n".join(lines)


class SearchIndex:
    """An index file opened read-only, for many searches: a server keeps one per process and
    may use it from any thread (Python's SQLite is built serialized, ``threadsafety`` 3)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise InputError("no search index: run `tipkg build` first", path)
        # immutable: a published index never changes in place (a build replaces the file).
        self.connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        try:
            check_format(self.connection, path)
        except sqlite3.DatabaseError:
            self.connection.close()
            raise InputError(
                "not a search index of this tipkg: rebuild with `tipkg build`", path
            ) from None

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self,
        text: str,
        kinds: Iterable[str] = (),
        document: str | None = None,
        year: int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> SearchResult:
        """The hits for ``text`` (see :mod:`tipkg.search.syntax`), filtered by kind (any of
        ``kinds``), report slug and year; a bad query or filter is a ``SearchError``."""
        expression = to_fts5(text)
        kinds = tuple(dict.fromkeys(kinds))
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise SearchError(f"no kind {unknown[0]!r}: choose from {', '.join(KINDS)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise SearchError(f"limit must be 1 to {MAX_LIMIT}, not {limit}")
        if not 0 <= offset <= MAX_OFFSET:
            raise SearchError(f"offset must be 0 to {MAX_OFFSET:,}, not {offset}")
        filters = {
            "kind": (f"e.kind IN ({', '.join('?' * len(kinds))})", kinds) if kinds else None,
            "document": ("e.document = ?", (document,)) if document is not None else None,
            "year": ("e.year = ?", (year,)) if year is not None else None,
        }
        try:
            facets = {name: self._facet(expression, name, filters) for name in filters}
            total = sum(
                count for value, count in facets["kind"].counts if not kinds or value in kinds
            )
            hits = self._hits(expression, filters, limit, offset) if total > offset else ()
        except sqlite3.OperationalError as error:
            raise SearchError(f"cannot search for {text!r}: {error}") from None
        return SearchResult(text, total, hits, facets, limit, offset)

    def _where(
        self, filters: dict[str, tuple[str, tuple[Any, ...]] | None], skip: str | None = None
    ) -> tuple[str, tuple[Any, ...]]:
        clauses, parameters = "", ()
        for name, condition in filters.items():
            if condition is not None and name != skip:
                clauses += f" AND {condition[0]}"
                parameters += tuple(condition[1])
        return clauses, parameters

    def _facet(
        self, expression: str, name: str, filters: dict[str, tuple[str, tuple[Any, ...]] | None]
    ) -> Facet:
        clauses, parameters = self._where(filters, skip=name)
        column = f"e.{name}"
        rows = self.connection.execute(
            f"SELECT {column}, count(*) {_MATCHES}{clauses} AND {column} IS NOT NULL "
            f"GROUP BY {column}",
            (expression, *parameters),
        ).fetchall()
        rows.sort(key=lambda row: (-row[1], row[0]))
        shown = rows[:FACET_DOCUMENTS] if name == "document" else rows
        return Facet(tuple((value, count) for value, count in shown), len(rows))

    def _hits(
        self,
        expression: str,
        filters: dict[str, tuple[str, tuple[Any, ...]] | None],
        limit: int,
        offset: int,
    ) -> tuple[Hit, ...]:
        clauses, parameters = self._where(filters)
        ranked = self.connection.execute(
            f"SELECT e.id, {_RANK} AS score {_MATCHES}{clauses} "
            "ORDER BY score, e.iri, e.unit LIMIT ? OFFSET ?",
            (expression, *parameters, limit, offset),
        ).fetchall()
        ids = [row[0] for row in ranked]
        # Snippets only for the page: snippet() costs a read of the entry's text.
        details = {
            row[0]: row[1:]
            for row in self.connection.execute(
                "SELECT e.id, e.iri, e.kind, e.label, e.document, e.year, e.sentence, "
                "e.sentence_begin, e.sentence_end, "
                f"snippet({TEXT_TABLE}, -1, char(2), char(3), '…', {SNIPPET_TOKENS}) "
                f"{_MATCHES} AND e.id IN ({', '.join('?' * len(ids))})",
                (expression, *ids),
            )
        }
        hits = []
        for entry_id, score in ranked:
            iri, kind, label, document, year, number, begin, end, snippet = details[entry_id]
            hits.append(
                Hit(
                    iri=iri,
                    kind=kind,
                    label=label,
                    document=document,
                    year=year,
                    snippet=snippet_parts(snippet),
                    sentence=SentenceRef(number, begin, end) if number is not None else None,
                    score=-score,
                )
            )
        return tuple(hits)


def snippet_parts(marked: str) -> tuple[SnippetPart, ...]:
    """FTS5's snippet (matches between the two marks) as parts of plain text."""
    parts = []
    for index, chunk in enumerate(marked.split(_MATCH_START)):
        if index == 0:
            parts.append(SnippetPart(chunk, False))
            continue
        matched, _, rest = chunk.partition(_MATCH_END)
        parts += [SnippetPart(matched, True), SnippetPart(rest, False)]
    return tuple(part for part in parts if part.text)


def search(
    index_path: Path,
    text: str,
    kinds: Iterable[str] = (),
    document: str | None = None,
    year: int | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> SearchResult:
    """One search of the index at ``index_path`` (see :meth:`SearchIndex.search`)."""
    with SearchIndex(index_path) as index:
        return index.search(text, kinds, document, year, limit, offset)
