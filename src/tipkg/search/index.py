"""The search index: a Tantivy index directory, built from the units' entries.

Chosen over SQLite FTS5 by ``bench/search.py`` (see ``bench/README.md``): on 10,000 reports it
meets the 20 ms median where FTS5 does not, answers the commonest words up to 9× faster (its top
hits come without scoring every match, its facet counts from columns), builds 3× faster and takes
a third of the space.

One Tantivy document per entry: the three searched fields (``names``, ``text``, ``notes``,
stored for snippets), the filters and facets as untokenised fast fields (``kind``, ``document``,
``year``), the ``unit`` it belongs to (what an update deletes by), what a hit shows (``iri``,
``label``, the sentence's number and offsets) and ``order``, the key that breaks ties between
equal scores (see :func:`order_key`). ``tipkg-search.json`` beside Tantivy's files holds the
layout's version, so a reader refuses an index of another layout instead of misreading it.

Not byte-identical: Tantivy names its segment files with random UUIDs (listed in its
``meta.json``) and lays out segments as its writer threads and merges go, so two builds of the
same entries hold the same documents and answer alike, in different bytes. The build leaves the
index out of ``SHA256SUMS``, as it does the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from tipkg.errors import InputError
from tipkg.search.model import KINDS, Entry

INDEX_FORMAT = 1
FORMAT_FILE = "tipkg-search.json"
TOKENIZER = "tipkg"
FIELDS = ("names", "text", "notes")
# BM25 boost of each field: a match in a name counts most, one in a curator's note least.
FIELD_BOOSTS = {"names": 8.0, "text": 2.0, "notes": 1.0}
# Between the values of one field (a resource's several names): not a token.
VALUE_SEPARATOR = "\n"
WRITER_HEAP_BYTES = 128_000_000
# Tantivy's own files, which change by being replaced (renamed over), never in place.
_SEGMENT_FILE = re.compile(r"^[0-9a-f]{32}\.")


def analyzer() -> tantivy.TextAnalyzer:
    """Words as the index and the queries see them: runs of letters and digits, lowercased,
    accents folded ("Curaçao" is found by "curacao")."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for field in FIELDS:
        builder.add_text_field(field, stored=True, tokenizer_name=TOKENIZER)
    for field in ("kind", "document"):
        builder.add_text_field(field, stored=True, fast=True, tokenizer_name="raw")
    builder.add_text_field("unit", tokenizer_name="raw", index_option="basic")
    for field in ("iri", "label"):
        builder.add_text_field(field, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", stored=True, indexed=True, fast=True)
    builder.add_integer_field("order", fast=True)
    for field in ("sentence", "sentence_begin", "sentence_end"):
        builder.add_integer_field(field, stored=True)
    return builder.build()


def order_key(entry: Entry) -> int:
    """Where an entry goes among hits of equal score: by kind (meetings, states, … as
    ``KINDS`` lists them), then by a hash of its IRI and unit. Fixed for an entry, so any
    index holding it (fresh or updated) breaks ties the same way."""
    digest = hashlib.sha256(f"{entry.iri}\0{entry.unit}".encode()).digest()
    return (KINDS.index(entry.kind) << 56) | int.from_bytes(digest[:7], "big")


def open_index(path: Path) -> tantivy.Index:
    """The index at ``path``, with the tokenizer it was built with; anything else there is
    an ``InputError``."""
    _check_format(path)
    index = tantivy.Index.open(str(path))
    index.register_tokenizer(TOKENIZER, analyzer())
    return index


def _check_format(path: Path) -> None:
    try:
        recorded = json.loads((path / FORMAT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no search index: run `tipkg build` first", path) from None
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict) or recorded.get("format") != INDEX_FORMAT:
        raise InputError("not a search index of this tipkg: rebuild with `tipkg build`", path)


def write_index(entries: Iterable[Entry], path: Path) -> int:
    """Build the index at ``path`` (a directory, replaced if there) from nothing; the number of
    entries it holds."""
    with _staged(path) as staging:
        index = tantivy.Index(schema(), path=str(staging))
        index.register_tokenizer(TOKENIZER, analyzer())
        count = _write(index, (), entries)
        (staging / FORMAT_FILE).write_text(json.dumps({"format": INDEX_FORMAT}) + "\n")
    return count


def update_index(
    previous_path: Path, path: Path, removed_units: Iterable[str], added_entries: Iterable[Entry]
) -> int:
    """Write at ``path`` a copy of the index at ``previous_path`` with the entries of
    ``removed_units`` (graph IRIs: the units removed or changed) taken out and
    ``added_entries`` (the changed and new units') put in; a unit of ``added_entries`` is
    replaced whether listed in ``removed_units`` or not. The number of entries it holds.

    Segment files never change once written, so the copy hard-links them (as the store's copy
    does) and the update writes only a new segment and the deletions: its cost follows the
    change, not the corpus. The hits, counts, facets and snippets are a fresh build's; the
    scores differ slightly until Tantivy merges the segments that held replaced entries, as BM25
    counts those until then (in the fifth significant digit at 10,000 reports, one replaced).
    """
    added = list(added_entries)
    gone = sorted({*removed_units, *(entry.unit for entry in added)})
    _check_format(previous_path)
    with _staged(path) as staging:
        _link_copy(previous_path, staging)
        index = open_index(staging)
        return _write(index, gone, added)


def _write(index: tantivy.Index, gone: Iterable[str], entries: Iterable[Entry]) -> int:
    """Delete the units ``gone``, add ``entries``, commit; the number of entries afterwards."""
    writer = index.writer(heap_size=WRITER_HEAP_BYTES)
    for unit in gone:
        writer.delete_documents_by_term("unit", unit)
    for document in _documents(entries):
        writer.add_document(document)
    writer.commit()
    writer.garbage_collect_files()
    writer.wait_merging_threads()
    index.reload()
    return int(index.searcher().num_docs)


def _documents(entries: Iterable[Entry]) -> Iterator[tantivy.Document]:
    for entry in entries:
        document = tantivy.Document()
        for field, values in zip(FIELDS, (entry.names, entry.text, entry.notes), strict=True):
            if values:
                document.add_text(field, VALUE_SEPARATOR.join(values))
        for field, value in (
            ("kind", entry.kind),
            ("document", entry.document),
            ("unit", entry.unit),
            ("iri", entry.iri),
            ("label", entry.label),
        ):
            if value is not None:
                document.add_text(field, value)
        numbers = {"year": entry.year, "order": order_key(entry)}
        if entry.sentence is not None:
            numbers["sentence"] = entry.sentence.number
            numbers["sentence_begin"] = entry.sentence.begin
            numbers["sentence_end"] = entry.sentence.end
        for field, number in numbers.items():
            if number is not None:
                document.add_integer(field, number)
        yield document


def _link_copy(source: Path, target: Path) -> None:
    """Copy an index directory: segment files as hard links where the file system allows,
    Tantivy's bookkeeping and locks as files of their own."""
    for entry in sorted(source.iterdir()):
        if entry.name.endswith(".lock"):
            continue
        if _SEGMENT_FILE.match(entry.name):
            try:
                os.link(entry, target / entry.name)
                continue
            except OSError:
                pass
        shutil.copy2(entry, target / entry.name)


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A new directory beside ``path`` that replaces it when the block succeeds and is removed
    when it fails: a reader never sees a half-written index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.new.", dir=path.parent))
    try:
        yield staging
        staging.chmod(0o755)
        retired = None
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            retired.rmdir()
            path.rename(retired)
        staging.rename(path)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
