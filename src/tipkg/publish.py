"""Publish a validated build in ``dist/``: dumps, a store to serve from, and their description.

Each dump is its units' chunks in graph-IRI order (:mod:`tipkg.chunks`), copied from the cache,
so publishing costs copying bytes, not serialising the corpus again. The store (``dist/store``,
pyoxigraph on disk) is loaded from the N-Quads and N-Triples dumps: the named graphs, and their
RDF merge as the default graph. The full-text index (``dist/search``) is written from the
units' entries. When few graphs changed since the last build, both are copies of the last
build's with those graphs replaced. Counts and the VoID/DCAT description come from the store and are
checked against the shapes like everything else.

Everything is written to a staging directory beside ``dist/`` and swapped in only when every
file is complete, under a lock, so a failed or concurrent build leaves the previous ``dist/`` as
it was; staging left by a killed build is removed by the next. Output is byte-identical for the
same input: chunks are sorted, gzip headers carry no time, and the only date comes from the
dataset description (or ``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import Graph

from tipkg import rdf_writers
from tipkg.browse.listing import Row, WrittenFile, write_listing
from tipkg.browse.rows import KIND_ORDERS, listing_rows
from tipkg.build import Assembly, UnitRecord
from tipkg.chunks import JSONLD_SEPARATOR, JSONLD_TAIL, gzip_member, jsonld_head
from tipkg.describe import Dates, Statistics, describe_dataset, statistics
from tipkg.dist import (
    BROWSE_DIR,
    BROWSE_KINDS,
    CONTEXT_NAME,
    DUMP_FORMATS,
    DUMP_NAME,
    MANIFEST_NAME,
    ONTOLOGY_NAME,
    QUADS_NAME,
    QUERIES_DIR,
    SEARCH_INDEX_DIR,
    STORE_DIR,
    SUMS_NAME,
    TIMELINE_LISTING,
    VOID_NAME,
    DocumentEntry,
    ListingEntry,
    Manifest,
    PublishedFile,
    read_manifest,
)
from tipkg.dump_check import check_bytes
from tipkg.errors import InputError
from tipkg.formats import JSON_LD
from tipkg.query import load_queries
from tipkg.search.index import update_index, write_index
from tipkg.settings import SETTINGS_BY_NAME
from tipkg.terms import ToOxigraph
from tipkg.timings import Timings, timed
from tipkg.validate import check_description, raise_for


def write_dump(assembly: Assembly, fmt: str, out: IO[bytes], gzipped: bool = False) -> str:
    """One dump (or its ``.gz``) to ``out``: the units' chunks in order; its SHA-256."""
    digest = hashlib.sha256()

    def emit(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    if fmt == "jsonld":
        head, separator, tail = jsonld_head(assembly.context), JSONLD_SEPARATOR, JSONLD_TAIL
        if gzipped:
            head, separator, tail = map(gzip_member, (head, separator, tail))
        emit(head)
        for index, record in enumerate(_with_content(assembly.data_records, fmt)):
            if index:
                emit(separator)
            emit(record.chunk(fmt, gzipped))
        emit(tail)
    else:
        for record in assembly.data_records:
            emit(record.chunk(fmt, gzipped))
    return digest.hexdigest()


def _with_content(records: tuple[UnitRecord, ...], fmt: str) -> Iterator[UnitRecord]:
    """The records whose chunk is not empty (an empty JSON-LD slice needs no separator)."""
    return (r for r in records if r.chunk_size(fmt))


def write(assembly: Assembly, out_dir: Path, timings: Timings | None = None) -> Manifest:
    """Write every dump, its gzip, the context, the store, VoID/DCAT, SHA256SUMS and the
    manifest, then swap the new directory in place of ``out_dir``. Input/output failures
    (a read-only directory, a full disk) are one-line ``InputError``s."""
    out_dir = out_dir.resolve()
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with _build_lock(out_dir):
            _remove_stale_staging(out_dir)
            staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new.", dir=out_dir.parent))
            try:
                staging.chmod(0o755)
                manifest = _write_into(assembly, staging, out_dir, timings)
                _swap(staging, out_dir)
            except BaseException as error:
                # The store must be closed before its files go: a frame of the traceback may
                # still hold it, and a store closed later writes into the removed directory.
                traceback.clear_frames(error.__traceback__)
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except OSError as error:
        where = error.filename or out_dir
        raise InputError(f"cannot write the build: {error.strerror or error}", where) from None
    return manifest


@contextmanager
def _build_lock(out_dir: Path) -> Iterator[None]:
    """One build at a time per output directory; another waits for nothing and is told why."""
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with lock_path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise InputError(
                f"another tipkg build ({holder}) is writing {out_dir.name}/; "
                "try again when it ends",
                out_dir,
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_stale_staging(out_dir: Path) -> None:
    """Staging and retired trees that a killed build left beside ``out_dir`` (the lock says no
    build is running)."""
    for leftover in out_dir.parent.glob(f".{out_dir.name}.*"):
        if leftover.is_dir() and (".new." in leftover.name or ".old." in leftover.name):
            shutil.rmtree(leftover, ignore_errors=True)


def _write_into(
    assembly: Assembly, staging: Path, out_dir: Path, timings: Timings | None
) -> Manifest:
    iris = assembly.iris
    with timed(timings, "write dumps"):
        files = [*_write_dumps(assembly, staging), *_write_context_and_ontology(assembly, staging)]
    queries = _copy_queries(assembly, staging)
    changes = _changed_graphs(assembly, previous_build(out_dir))
    with timed(timings, "load store"):
        store = _load_store(staging, assembly, out_dir, changes)
    with timed(timings, "search index"):
        _write_search_index(staging, assembly, out_dir, changes)
    try:
        stats, dates, description = _describe_into(store, assembly, files, timings)
        with timed(timings, "browse listings"):
            listings = _write_listings(staging, store, assembly)
    finally:
        del store  # closed now, even when an error keeps this frame alive in a traceback
    with timed(timings, "check description"):
        ontology_triples = [quad.triple for quad in assembly.ontology_record.quads()]
        report = check_description(
            iris.base, ontology_triples, description, assembly.project.shape_files
        )
    raise_for(report, "the dataset description the build writes (void.ttl)")
    prefixes = {name: str(ns) for name, ns in iris.prefixes().items()}
    void_bytes = rdf_writers.turtle(description, prefixes)
    check_bytes(void_bytes, "ttl", description, VOID_NAME)
    files.append(_save(staging / VOID_NAME, void_bytes, "text/turtle", len(description)))
    summed = [(f.name, f.sha256) for f in files]
    summed += [(f["name"], f["sha256"]) for entry in listings for f in entry["files"]]
    sums = "".join(f"{sha256}  {name}\n" for name, sha256 in sorted(summed))
    (staging / SUMS_NAME).write_text(sums, encoding="utf-8")
    manifest = _manifest(assembly, files, queries, stats, dates.modified, listings)
    (staging / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _write_context_and_ontology(assembly: Assembly, staging: Path) -> list[PublishedFile]:
    """The JSON-LD context of the dumps, and the ontology on its own (its chunk)."""
    context_bytes = (
        json.dumps({"@context": assembly.context}, indent=2, ensure_ascii=False) + "\n"
    ).encode()
    ontology = assembly.ontology_record
    return [
        _save(staging / CONTEXT_NAME, context_bytes, JSON_LD.media_type, None),
        _save(
            staging / ONTOLOGY_NAME, ontology.chunk("ttl"), "text/turtle", ontology.meta["triples"]
        ),
    ]


def _describe_into(
    store: ox.Store, assembly: Assembly, files: list[PublishedFile], timings: Timings | None
) -> tuple[Statistics, Dates, list[ox.Triple]]:
    """Count the store, describe the dataset (VoID, DCAT) and put the description in the store's
    ``graph/dataset``; each dump's triple count is set to the store's (its merge)."""
    iris = assembly.iris
    described = ox.NamedNode(iris.graph("dataset"))
    # The curators' part of the description first (the counts read titles and dates from it),
    # then the whole description in its place.
    store.remove_graph(described)
    store.extend(assembly.description_record.quads())
    with timed(timings, "count"):
        stats = statistics(store, iris, assembly.triples_per_graph())
    dates = assembly.dates
    for published in files:
        if published.triples is not None and published.name != ONTOLOGY_NAME:
            published.triples = stats.triples
    description = sorted_triples(describe_dataset(store, iris, stats, files, dates))
    store.remove_graph(described)
    store.extend(ox.Quad(*triple, described) for triple in description)
    store.flush()
    return stats, dates, description


def _document_entry(record: UnitRecord) -> DocumentEntry:
    document = record.meta["document"]
    return {
        "slug": document["slug"],
        "iri": document["iri"],
        "graph": record.graph_iri,
        "title": document["title"],
        "sha256": document["sha256"],
        "sentences": document["sentences"],
    }


def _manifest(
    assembly: Assembly,
    files: list[PublishedFile],
    queries: list[dict[str, str]],
    stats: Statistics,
    modified: str,
    listings: list[ListingEntry],
) -> Manifest:
    return Manifest(
        base_iri=assembly.iris.base,
        version=next(f.sha256 for f in files if f.name == QUADS_NAME),
        modified=modified,
        triples=stats.triples,
        graphs=[
            {
                "iri": r.graph_iri,
                "kind": str(r.meta["kind"]),
                "triples": int(r.meta["triples"]),
                "sha256": str(r.meta["sha256"]),
            }
            for r in assembly.data_records
        ],
        files=files,
        documents=[_document_entry(r) for r in assembly.records if "document" in r.meta],
        queries=queries,
        classes=stats.entities_per_class,
        links=stats.links_per_target,
        listings=listings,
    )


def _write_listings(staging: Path, store: ox.Store, assembly: Assembly) -> list[ListingEntry]:
    """The browse listings (:mod:`tipkg.browse`): each kind's members by label (and by date),
    and the meetings by date, read from the finished store so the server pages them without
    touching the rest. Written whole on every build: a few queries over the store."""
    documents = {
        record.graph_iri: str(record.meta["document"]["iri"])
        for record in assembly.records
        if "document" in record.meta
    }
    found = listing_rows(store, assembly.iris, BROWSE_KINDS, documents)
    folder = staging / BROWSE_DIR
    entries: list[ListingEntry] = []
    for kind, (rows, by_date) in found.kinds.items():
        written = write_listing(folder, kind, rows, [by_date])
        entries.append(_listing_entry(kind, rows, list(KIND_ORDERS), written))
    written = write_listing(folder, TIMELINE_LISTING, found.timeline)
    entries.append(_listing_entry(TIMELINE_LISTING, found.timeline, ["date"], written))
    return entries


def _listing_entry(
    name: str, rows: list[Row], orders: list[str], written: list[WrittenFile]
) -> ListingEntry:
    return {
        "name": name,
        "rows": len(rows),
        "orders": orders,
        "dated": sum(1 for row in rows if row.get("date")),
        "files": [{"name": f.name, "bytes": f.bytes, "sha256": f.sha256} for f in written],
    }


def _write_dumps(assembly: Assembly, staging: Path) -> Iterator[PublishedFile]:
    for name, fmt in DUMP_FORMATS.items():
        path = staging / f"{DUMP_NAME}.{name}"
        for gzipped in (False, True):
            target = path.with_name(path.name + ".gz") if gzipped else path
            with target.open("wb") as out:
                sha256 = write_dump(assembly, name, out, gzipped)
            media_type = "application/gzip" if gzipped else fmt.media_type
            yield PublishedFile(target.name, media_type, target.stat().st_size, sha256, 0)


def _copy_queries(assembly: Assembly, staging: Path) -> list[dict[str, str]]:
    """The example queries, written for the build's base IRI: ``queries/`` spells IRIs under
    the default base, and a build under another base (made to be served at its URL) would
    otherwise publish examples that match nothing."""
    (staging / QUERIES_DIR).mkdir()
    default_base = SETTINGS_BY_NAME["base_iri"].default
    queries = []
    for query_file in load_queries(assembly.project.query_files):
        text = query_file.path.read_bytes().decode("utf-8")
        if assembly.iris.base != default_base:
            text = text.replace(default_base, assembly.iris.base)
        (staging / QUERIES_DIR / query_file.path.name).write_bytes(text.encode("utf-8"))
        queries.append(
            {
                "name": query_file.name,
                "file": f"{QUERIES_DIR}/{query_file.path.name}",
                "title": query_file.title,
                "question": query_file.question,
            }
        )
    return queries


# Above this share of changed graphs, loading the store afresh is faster than changing a copy.
DELTA_LIMIT = 0.2


def previous_build(out_dir: Path) -> Manifest | None:
    """The whole build now in ``out_dir`` with a store, if there is one."""
    try:
        manifest = read_manifest(out_dir)
    except InputError:
        return None
    return manifest if (out_dir / STORE_DIR).is_dir() else None


def _load_store(
    staging: Path, assembly: Assembly, out_dir: Path, changes: dict[str, UnitRecord | None] | None
) -> ox.Store:
    """The store the server opens: every named graph, and their merge as the default graph.

    When few graphs changed since the build in ``out_dir`` (``changes``), its store is copied
    (RocksDB's files are hard-linked, not rewritten) and only the changed graphs are replaced;
    otherwise the store is bulk-loaded from the N-Quads and N-Triples dumps (whose repeats it
    keeps once).
    """
    target = staging / STORE_DIR
    if changes is not None:
        ox.Store.read_only(str(out_dir / STORE_DIR)).backup(str(target))
        store = ox.Store(str(target))
        _replace_graphs(store, changes)
        return store
    store = ox.Store(str(target))
    store.bulk_load(path=staging / QUADS_NAME, format=ox.RdfFormat.N_QUADS)
    store.bulk_load(
        path=staging / f"{DUMP_NAME}.nt", format=ox.RdfFormat.N_TRIPLES, to_graph=ox.DefaultGraph()
    )
    return store


def _write_search_index(
    staging: Path, assembly: Assembly, out_dir: Path, changes: dict[str, UnitRecord | None] | None
) -> None:
    """The full-text index (:mod:`tipkg.search`), updated from the previous build's as the store
    is when few graphs changed, else written from every unit's entries. Its files are not in
    the manifest or SHA256SUMS: Tantivy names segments at random, so two builds of the same
    data give equal answers, not equal bytes (the store is left out for the same reason)."""
    target = staging / SEARCH_INDEX_DIR
    previous = out_dir / SEARCH_INDEX_DIR
    if changes is not None and previous.is_dir():
        added = [
            entry for record in changes.values() if record for entry in record.search_entries()
        ]
        update_index(previous, target, list(changes), added)
    else:
        write_index(
            (entry for record in assembly.data_records for entry in record.search_entries()), target
        )


def _changed_graphs(
    assembly: Assembly, previous: Manifest | None
) -> dict[str, UnitRecord | None] | None:
    """Graph IRI → its record in this build (``None``: gone) for each graph that is not as in
    ``previous``; ``None`` when there is no previous store to change, or too much changed."""
    if previous is None or previous.base_iri != assembly.iris.base:
        return None
    old = {graph["iri"]: graph["sha256"] for graph in previous.graphs}
    new = {record.graph_iri: record for record in assembly.data_records}
    changes: dict[str, UnitRecord | None] = {
        iri: record for iri, record in new.items() if old.get(iri) != record.meta["sha256"]
    }
    changes.update({iri: None for iri in old if iri not in new})
    return None if len(changes) > DELTA_LIMIT * max(len(new), 1) else changes


def _replace_graphs(store: ox.Store, changes: dict[str, UnitRecord | None]) -> None:
    """Give each changed graph its new triples, and keep the default graph their merge: a
    triple leaves it only when no named graph holds it any more."""
    for iri, record in sorted(changes.items()):
        graph = ox.NamedNode(iri)
        old = {quad.triple for quad in store.quads_for_pattern(None, None, None, graph)}
        new: set[ox.Triple] = set()
        if record is not None:
            new = {quad.triple for quad in record.quads()}
        store.remove_graph(graph)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in new)
        store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in new)
        for triple in old - new:
            elsewhere = any(
                isinstance(quad.graph_name, ox.NamedNode)
                for quad in store.quads_for_pattern(triple.subject, triple.predicate, triple.object)
            )
            if not elsewhere:
                store.remove(ox.Quad(triple.subject, triple.predicate, triple.object))


def sorted_triples(graph: Graph) -> list[ox.Triple]:
    """An rdflib graph's triples as pyoxigraph terms (the generated description holds no blank
    nodes: every node in it has an IRI)."""
    converter = ToOxigraph()
    return sorted(
        {ox.Triple(*(converter.term(term) for term in triple)) for triple in graph}, key=str
    )


def _save(path: Path, data: bytes, media_type: str, triples: int | None) -> PublishedFile:
    path.write_bytes(data)
    return PublishedFile(
        path.name, media_type, len(data), hashlib.sha256(data).hexdigest(), triples
    )


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old tree is removed last."""
    retired: Path | None = None
    if out_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
        retired.rmdir()
        out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except OSError:
        if retired is not None:
            retired.rename(out_dir)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
