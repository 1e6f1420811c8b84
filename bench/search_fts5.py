"""The SQLite FTS5 index that ``bench/search.py`` measures against tipkg's Tantivy one.

It was tipkg's index until the benchmark chose Tantivy (see ``bench/README.md``), and it is kept
here as it was: the same entries, the same query language (``tipkg.search.syntax``) and the same
answers (ranked hits with snippets, facet counts over every hit under the other filters). Its
best layout: an entry's rowid packs its unit, kind, year and a hash of its IRI, so filters and
facets read FTS5's lists of rowids and never a row; ties are ordered by those low bits, then by
IRI. BM25 in FTS5 scores every match before it can sort them, which is what it loses on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

from tipkg.errors import InputError, SearchError
from tipkg.search.engine import (
    DEFAULT_LIMIT,
    Facet,
    Hit,
    SearchResult,
    SnippetPart,
    checked_request,
)
from tipkg.search.model import KINDS, Entry, SentenceRef
from tipkg.search.syntax import Node, Term, parse

INDEX_FORMAT = 2
TEXT_TABLE = "entry_text"
FIELDS = ("names", "text", "notes")
# BM25 weight of each field, in FIELDS order: a match in a name counts most.
FIELD_WEIGHTS = (8.0, 2.0, 1.0)
# Between the values of one field (a resource's several names): not a token.
VALUE_SEPARATOR = "\n"

_SCHEMA = f"""
CREATE TABLE units (number INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, document TEXT);
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    iri TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    document TEXT,
    year INTEGER,
    sentence INTEGER,
    sentence_begin INTEGER,
    sentence_end INTEGER
);
CREATE VIRTUAL TABLE {TEXT_TABLE} USING fts5(
    {", ".join(FIELDS)}, tokenize = 'unicode61 remove_diacritics 2'
);
PRAGMA user_version = {INDEX_FORMAT};
"""


@dataclass(frozen=True)
class Bits:
    """A field of the id: ``(id >> shift) & mask``."""

    shift: int
    width: int

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    def sql(self, column: str = "rowid") -> str:
        return f"(({column} >> {self.shift}) & {self.mask})"


class RowId:
    """An entry's id, high bits first: its unit's number (20 bits), its kind (4; its place in
    ``KINDS``), its year (14; 0 for none) and a hash of its IRI (25).

    Filters and facets by report, kind and year read these bits of the ids FTS5 lists for a
    query, never a row. The low 43 bits order hits of equal score (by kind, year, IRI hash),
    whatever number the unit got; a unit's entries lie between ``unit << 43`` and the next
    unit's, so a unit is deleted by one range.
    """

    UNIT = Bits(43, 20)
    KIND = Bits(39, 4)
    YEAR = Bits(25, 14)
    HASH = Bits(0, 25)
    TIE_MASK = (1 << 43) - 1

    @classmethod
    def first_of(cls, unit: int) -> int:
        return unit << cls.UNIT.shift

    @classmethod
    def last_of(cls, unit: int) -> int:
        return ((unit + 1) << cls.UNIT.shift) - 1

    @classmethod
    def of(cls, unit: int, entry: Entry) -> int:
        digest = hashlib.sha256(entry.iri.encode("utf-8")).digest()
        return (
            cls.first_of(unit)
            | KINDS.index(entry.kind) << cls.KIND.shift
            | (entry.year or 0) << cls.YEAR.shift
            | int.from_bytes(digest[:4], "big") & cls.HASH.mask
        )


def write_index(entries: Iterable[Entry], path: Path) -> int:
    """Build the index at ``path`` from nothing (replacing any file there); the number of
    entries. The same entries, in any order, give the same bytes."""
    units = _by_unit(entries)
    with _staged(path) as staging, closing(_connect(staging)) as connection:
        connection.executescript(_SCHEMA)
        for number, (unit, unit_entries) in enumerate(units, start=1):
            _insert(connection, number, unit, unit_entries)
        # One segment per term list: the fastest layout to query, and a fixed one.
        connection.execute(f"INSERT INTO {TEXT_TABLE} ({TEXT_TABLE}) VALUES ('optimize')")
        connection.commit()
        connection.execute("VACUUM")
    return sum(len(unit_entries) for _, unit_entries in units)


def update_index(
    previous_path: Path, path: Path, removed_units: Iterable[str], added_entries: Iterable[Entry]
) -> int:
    """Write at ``path`` a copy of the index at ``previous_path`` with the entries of
    ``removed_units`` (graph IRIs: the units removed or changed) taken out, and
    ``added_entries`` (the changed and new units') put in; a unit of ``added_entries`` is
    replaced whether listed in ``removed_units`` or not. The number of entries afterwards.

    Only those units are reindexed: the cost follows the change, not the corpus.
    """
    added = _by_unit(added_entries)
    with _staged(path) as staging:
        shutil.copyfile(previous_path, staging)
        with closing(_connect(staging)) as connection:
            check_format(connection, previous_path)
            numbers = dict(connection.execute("SELECT iri, number FROM units"))
            for unit in sorted({*removed_units, *(unit for unit, _ in added)}):
                if unit in numbers:
                    _delete(connection, numbers[unit])
            next_number = max(numbers.values(), default=0) + 1
            for unit, unit_entries in added:
                number = numbers.get(unit)
                if number is None:
                    number, next_number = next_number, next_number + 1
                _insert(connection, number, unit, unit_entries)
            connection.commit()
            (count,) = connection.execute("SELECT count(*) FROM entries").fetchone()
    return int(count)


def check_format(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not an index of this layout, with a one-line ``InputError``."""
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError:
        version = None
    if version != INDEX_FORMAT:
        raise InputError("not a search index of this tipkg: rebuild with `tipkg build`", path)


def _by_unit(entries: Iterable[Entry]) -> list[tuple[str, list[Entry]]]:
    ordered = sorted(entries, key=lambda entry: (entry.unit, entry.iri))
    return [(unit, list(group)) for unit, group in groupby(ordered, key=lambda e: e.unit)]


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level="DEFERRED")
    # The file is a private copy until it is renamed into place: no journal to keep.
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    return connection


def _delete(connection: sqlite3.Connection, number: int) -> None:
    span = (RowId.first_of(number), RowId.last_of(number))
    connection.execute(f"DELETE FROM {TEXT_TABLE} WHERE rowid BETWEEN ? AND ?", span)
    connection.execute("DELETE FROM entries WHERE id BETWEEN ? AND ?", span)
    connection.execute("DELETE FROM units WHERE number = ?", (number,))


def _insert(connection: sqlite3.Connection, number: int, unit: str, entries: list[Entry]) -> None:
    """One unit's entries, in their sorted order (so a hash collision in the id is resolved
    the same way in every build: the later entry takes the next free id)."""
    if number > RowId.UNIT.mask:
        raise InputError(
            f"the search index has run out of unit numbers ({RowId.UNIT.mask:,}): "
            "build it from nothing"
        )
    documents = sorted({entry.document for entry in entries if entry.document})
    connection.execute(
        "INSERT INTO units VALUES (?, ?, ?)", (number, unit, documents[0] if documents else None)
    )
    taken: set[int] = set()
    rows, texts = [], []
    for entry in entries:
        entry_id = RowId.of(number, entry)
        while entry_id in taken:
            entry_id = (entry_id & ~RowId.HASH.mask) | ((entry_id + 1) & RowId.HASH.mask)
        taken.add(entry_id)
        sentence = entry.sentence
        rows.append(
            (
                entry_id,
                entry.iri,
                entry.kind,
                entry.label,
                entry.document,
                entry.year,
                *((sentence.number, sentence.begin, sentence.end) if sentence else (None,) * 3),
            )
        )
        fields = (entry.names, entry.text, entry.notes)
        texts.append((entry_id, *(VALUE_SEPARATOR.join(values) for values in fields)))
    connection.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.executemany(
        f"INSERT INTO {TEXT_TABLE} (rowid, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?)", texts
    )


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the block succeeds and is
    removed when it fails: a reader never sees a half-written index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        staging.chmod(0o644)
        staging.replace(path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


# Tokens of context in a snippet (FTS5 allows at most 64).
SNIPPET_TOKENS = 24
# Documents listed in the document facet (the most frequent); kinds and years are all listed.
FACET_DOCUMENTS = 25
# Read the file through memory maps and keep its hot pages: the index is read-only.
CONNECTION_PRAGMAS = ("PRAGMA mmap_size = 1073741824", "PRAGMA cache_size = -65536")
# What FTS5's snippet() puts around a match: control characters, which indexed text never holds.
_MATCH_START, _MATCH_END = "\x02", "\x03"
_RANK = f"bm25({TEXT_TABLE}, {', '.join(map(str, FIELD_WEIGHTS))})"
_MATCHES = f"FROM {TEXT_TABLE} WHERE {TEXT_TABLE} MATCH ?"
_FACET_BITS = {"kind": RowId.KIND, "document": RowId.UNIT, "year": RowId.YEAR}

Filters = dict[str, tuple[str, tuple[Any, ...]]]


class FtsIndex:
    """An index file opened read-only, for many searches."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise InputError("no search index: run `tipkg build` first", path)
        # immutable: a published index never changes in place (a build replaces the file).
        self.connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        try:
            check_format(self.connection, path)
        except InputError:
            self.connection.close()
            raise
        try:
            for pragma in CONNECTION_PRAGMAS:
                self.connection.execute(pragma)
            self.unit_documents: dict[int, str] = dict(
                self.connection.execute(
                    "SELECT number, document FROM units WHERE document IS NOT NULL"
                )
            )
        except sqlite3.DatabaseError:
            self.connection.close()
            raise InputError("damaged search index: rebuild with `tipkg build`", path) from None
        self.document_units: dict[str, list[int]] = {}
        for number, slug in self.unit_documents.items():
            self.document_units.setdefault(slug, []).append(number)

    def close(self) -> None:
        self.connection.close()

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
        expression = _fts5(parse(text))
        kinds = checked_request(kinds, limit, offset)
        filters: Filters = {}
        if kinds:
            marks = ", ".join("?" * len(kinds))
            filters["kind"] = (f"{RowId.KIND.sql()} IN ({marks})", tuple(map(KINDS.index, kinds)))
        if document is not None:
            spans = [
                (RowId.first_of(n), RowId.last_of(n)) for n in self.document_units.get(document, [])
            ]
            condition = " OR ".join("rowid BETWEEN ? AND ?" for _ in spans) or "0"
            filters["document"] = (
                f"({condition})",
                tuple(bound for span in spans for bound in span),
            )
        if year is not None:
            # An id's year bits are 0 for "no year": a year of 0 or less matches nothing.
            filters["year"] = (f"{RowId.YEAR.sql()} = ?", (year,)) if year > 0 else ("0", ())
        try:
            facets = {name: self._facet(expression, name, filters) for name in _FACET_BITS}
            total = sum(c for value, c in facets["kind"].counts if not kinds or value in kinds)
            hits = self._hits(expression, filters, limit, offset) if total > offset else ()
        except sqlite3.OperationalError as error:
            raise SearchError(f"cannot search for {text!r}: {error}") from None
        return SearchResult(text, total, hits, facets, limit, offset)

    def _facet(self, expression: str, name: str, filters: Filters) -> Facet:
        """Hits per value of one facet, read from the ids' bits, under the other filters."""
        bits: Bits = _FACET_BITS[name]
        clauses, parameters = _where(filters, skip=name)
        counts: dict[str | int, int] = {}
        for code, count in self.connection.execute(
            f"SELECT {bits.sql()} AS code, count(*) {_MATCHES}{clauses} GROUP BY code",
            (expression, *parameters),
        ):
            value: str | int | None = code or None
            if name == "kind":
                value = KINDS[code]
            elif name == "document":
                value = self.unit_documents.get(code)
            if value is not None:
                counts[value] = counts.get(value, 0) + count
        ordered = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
        shown = ordered[:FACET_DOCUMENTS] if name == "document" else ordered
        rest = sum(count for _, count in ordered[len(shown) :])
        return Facet(tuple(shown), rest)

    def _hits(self, expression: str, filters: Filters, limit: int, offset: int) -> tuple[Hit, ...]:
        clauses, parameters = _where(filters)
        wanted = offset + limit
        ranked = self.connection.execute(
            f"SELECT rowid, {_RANK} AS score {_MATCHES}{clauses} "
            f"ORDER BY score, rowid & {RowId.TIE_MASK} LIMIT ?",
            (expression, *parameters, wanted + 1),
        ).fetchall()
        keys = [(score, rowid & RowId.TIE_MASK) for rowid, score in ranked]
        if any(key == following for key, following in pairwise(keys)):
            # Two hits tie even on their ids' low bits (a hash collision): order by IRI.
            ranked = self.connection.execute(
                f"SELECT {TEXT_TABLE}.rowid, {_RANK} AS score "
                f"FROM {TEXT_TABLE} JOIN entries AS e ON e.id = {TEXT_TABLE}.rowid "
                f"JOIN units AS u ON u.number = {RowId.UNIT.sql(TEXT_TABLE + '.rowid')} "
                f"WHERE {TEXT_TABLE} MATCH ?{clauses} "
                f"ORDER BY score, {TEXT_TABLE}.rowid & {RowId.TIE_MASK}, e.iri, u.iri LIMIT ?",
                (expression, *parameters, wanted),
            ).fetchall()
        page = ranked[offset:wanted]
        ids = [rowid for rowid, _ in page]
        marks = ", ".join("?" * len(ids))
        details = {
            row[0]: row[1:]
            for row in self.connection.execute(
                "SELECT id, iri, kind, label, document, year, sentence, sentence_begin, "
                f"sentence_end FROM entries WHERE id IN ({marks})",
                ids,
            )
        }
        # Snippets only for the page: snippet() reads the entry's text.
        snippets = dict(
            self.connection.execute(
                f"SELECT rowid, snippet({TEXT_TABLE}, -1, char(2), char(3), '…', "
                f"{SNIPPET_TOKENS}) {_MATCHES} AND rowid IN ({marks})",
                (expression, *ids),
            )
        )
        hits = []
        for entry_id, score in page:
            iri, kind, label, document, year, number, begin, end = details[entry_id]
            hits.append(
                Hit(
                    iri=iri,
                    kind=kind,
                    label=label,
                    document=document,
                    year=year,
                    snippet=_snippet_parts(snippets[entry_id]),
                    sentence=SentenceRef(number, begin, end) if number is not None else None,
                    score=-score,
                )
            )
        return tuple(hits)


def _fts5(node: Node) -> str:
    """The FTS5 expression of a query tree: every term a quoted string, every operator
    explicit."""
    if isinstance(node, Term):
        quoted = '"' + node.text.replace('"', '""') + '"'
        return quoted + " *" if node.prefix else quoted
    operands = [_fts5(operand) for operand in node.operands]
    return "(" + f" {node.operator} ".join(operands) + ")"


def _where(filters: Filters, skip: str | None = None) -> tuple[str, tuple[Any, ...]]:
    clauses, parameters = "", ()
    for name, (condition, values) in filters.items():
        if name != skip:
            clauses += f" AND {condition}"
            parameters += values
    return clauses, parameters


def _snippet_parts(marked: str) -> tuple[SnippetPart, ...]:
    """FTS5's snippet (matches between the two marks) as parts of plain text."""
    parts = []
    for index, chunk in enumerate(marked.split(_MATCH_START)):
        if index == 0:
            parts.append(SnippetPart(chunk, False))
            continue
        matched, _, rest = chunk.partition(_MATCH_END)
        parts += [SnippetPart(matched, True), SnippetPart(rest, False)]
    return tuple(part for part in parts if part.text)
