"""The search index file: SQLite with an FTS5 table, built from the units' entries.

Chosen over Tantivy by ``bench/search.py`` (see ``bench/README.md``): Python's standard library
opens it, with no dependency and no server, as one file a build can copy and change in place.

Layout: ``entries`` holds what a hit shows and what filters select (one row per entry, ``id``
equal to the FTS row's ``rowid``); the FTS5 table ``entry_text`` holds the three indexed fields
(names, text, notes); ``PRAGMA user_version`` is the layout's version, so a reader refuses a file
of another layout instead of misreading it.

Determinism: :func:`write_index` sorts its entries and writes them in one transaction, so the
same entries give the same bytes. :func:`update_index` gives the same *content* and the same
search results as a fresh build, but not the same bytes (FTS5 keeps a write counter and its
segments as they were merged, SQLite its free pages), which is why the build leaves the index
out of ``SHA256SUMS``, as it does the store.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from tipkg.search.entries import Entry

INDEX_FORMAT = 1
TEXT_TABLE = "entry_text"
FIELDS = ("names", "text", "notes")
# BM25 weight of each field, in FIELDS order: a match in a name counts most.
FIELD_WEIGHTS = (8.0, 2.0, 1.0)

_SCHEMA = f"""
CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    iri TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    document TEXT,
    year INTEGER,
    sentence INTEGER,
    sentence_begin INTEGER,
    sentence_end INTEGER
);
CREATE INDEX entries_by_unit ON entries (unit);
CREATE VIRTUAL TABLE {TEXT_TABLE} USING fts5(
    {", ".join(FIELDS)}, tokenize = 'unicode61 remove_diacritics 2'
);
PRAGMA user_version = {INDEX_FORMAT};
"""
# Between the values of one field: not a token, and no phrase matches across it.
VALUE_SEPARATOR = "\n"


def write_index(entries: Iterable[Entry], path: Path) -> int:
    """Build the index at ``path`` from nothing (replacing any file there); the number of
    entries. The same entries, in any order, give the same bytes."""
    ordered = sorted(entries, key=lambda entry: (entry.unit, entry.iri))
    with _staged(path) as staging, closing(_connect(staging)) as connection:
        connection.executescript(_SCHEMA)
        _insert(connection, ordered, first_id=1)
        # One segment per term list: the fastest layout to query, and a fixed one.
        connection.execute(f"INSERT INTO {TEXT_TABLE} ({TEXT_TABLE}) VALUES ('optimize')")
        connection.commit()
        connection.execute("VACUUM")
    return len(ordered)


def update_index(
    previous_path: Path, path: Path, removed_units: Iterable[str], added_entries: Iterable[Entry]
) -> int:
    """Write at ``path`` a copy of the index at ``previous_path`` with the entries of
    ``removed_units`` (graph IRIs: the units removed or changed) taken out, and
    ``added_entries`` (the changed and new units') put in; a unit of ``added_entries`` is
    replaced whether listed in ``removed_units`` or not. The number of entries afterwards.

    Only those units are reindexed: the cost follows the change, not the corpus.
    """
    added = sorted(added_entries, key=lambda entry: (entry.unit, entry.iri))
    gone = sorted({*removed_units, *(entry.unit for entry in added)})
    with _staged(path) as staging:
        shutil.copyfile(previous_path, staging)
        with closing(_connect(staging)) as connection:
            check_format(connection, previous_path)
            connection.execute("CREATE TEMP TABLE gone (unit TEXT PRIMARY KEY)")
            connection.executemany("INSERT INTO gone VALUES (?)", ((unit,) for unit in gone))
            connection.execute(
                f"DELETE FROM {TEXT_TABLE} WHERE rowid IN "
                "(SELECT id FROM entries WHERE unit IN (SELECT unit FROM gone))"
            )
            connection.execute("DELETE FROM entries WHERE unit IN (SELECT unit FROM gone)")
            (last_id,) = connection.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()
            _insert(connection, added, first_id=last_id + 1)
            connection.commit()
            (count,) = connection.execute("SELECT count(*) FROM entries").fetchone()
    return int(count)


def check_format(connection: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not an index of this layout (``sqlite3.DatabaseError`` for a
    file that is not SQLite at all, which the callers turn into their own error)."""
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version != INDEX_FORMAT:
        raise sqlite3.DatabaseError(
            f"{path} is not a search index of format {INDEX_FORMAT} (found {version})"
        )


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level="DEFERRED")
    # The file is a private copy until it is renamed into place: no journal to keep.
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    return connection


def _insert(connection: sqlite3.Connection, entries: list[Entry], first_id: int) -> None:
    rows = []
    texts = []
    for offset, entry in enumerate(entries):
        entry_id = first_id + offset
        sentence = entry.sentence
        rows.append(
            (
                entry_id,
                entry.unit,
                entry.iri,
                entry.kind,
                entry.label,
                entry.document,
                entry.year,
                *((sentence.number, sentence.begin, sentence.end) if sentence else (None,) * 3),
            )
        )
        texts.append(
            (
                entry_id,
                *(
                    VALUE_SEPARATOR.join(values)
                    for values in (entry.names, entry.text, entry.notes)
                ),
            )
        )
    connection.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    connection.executemany(
        f"INSERT INTO {TEXT_TABLE} (rowid, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?)", texts
    )


class _staged:
    """A temporary path beside ``path`` that replaces it when the block succeeds, and is
    removed when it fails: a reader never sees a half-written index."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(handle)
        self.staging = Path(name)
        return self.staging

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if error is None:
            self.staging.chmod(0o644)
            self.staging.replace(self.path)
        else:
            self.staging.unlink(missing_ok=True)
