"""The graph stage for a whole project: every unit assembled once, in parallel, and kept.

A unit's results (its named graph, where each asserted statement was written, its chunk of every
dump, its entries of the full-text index) are kept in the cache under a key made of everything
they depend on: the unit's own files, the ontology and the rules (materialisation), the shapes
(the JSON-LD keys), the base IRI and this pipeline's version. A build assembles only the units
whose key is not in the cache, on every core, and reads the others back; an unchanged report
costs nothing. A changed shape or rule changes every key, since every unit is checked and
materialised against them.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from tipkg.chunks import chunk_parts, pack, write_chunks
from tipkg.describe import Dates, release_dates
from tipkg.errors import InputError
from tipkg.graph import (
    KnowledgeGraph,
    Materialiser,
    UnitGraph,
    assemble_unit,
    load_rules,
)
from tipkg.jsonld import NodeWriter, context_from_shapes
from tipkg.project import Project, Unit, units_of
from tipkg.search.entries import unit_entries
from tipkg.search.model import Entry, entries_json, read_entries
from tipkg.settings import Settings
from tipkg.sources import read_source
from tipkg.terms import iri
from tipkg.vocab import DCTERMS, Iris

# Part of every key: a new version of the pipeline never reads an older one's results.
PIPELINE_VERSION = "2026-11-30.4"
# Below this many units to assemble, worker processes cost more than they save.
PARALLEL_THRESHOLD = 64
LAST_BUILD_NAME = "last-build.json"
# Which build of which inputs each output directory got last (see ``pipeline.build``).
OUTPUTS_NAME = "published.json"
PARTS_NAME = "parts.bin"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class UnitRecord:
    """One unit's results in the cache: ``meta.json`` (counts, the document's entry, and where
    each part of ``parts.bin`` is) and ``parts.bin`` (every chunk, its gzip member, and the
    origins: where each asserted statement was written, as N-Quads whose graph names the file).
    """

    unit: Unit
    key: str
    folder: Path
    meta: Mapping[str, Any]

    @property
    def graph_iri(self) -> str:
        return str(self.meta["graph"])

    def part(self, name: str) -> bytes:
        offset, length = self.meta["parts"][name]
        with (self.folder / PARTS_NAME).open("rb") as parts:
            parts.seek(offset)
            return parts.read(length)

    def chunk(self, fmt: str, gzipped: bool = False) -> bytes:
        return self.part(f"{fmt}.gz" if gzipped else fmt)

    def chunk_size(self, fmt: str) -> int:
        return int(self.meta["parts"][fmt][1])

    def quads(self) -> list[ox.Quad]:
        """The unit's graph, read back from its N-Quads chunk."""
        return list(ox.parse(self.chunk("nq"), format=ox.RdfFormat.N_QUADS))

    def search_entries(self) -> list[Entry]:
        """What the unit puts in the full-text index (:mod:`tipkg.search`)."""
        return list(read_entries(self.part("search")))


@dataclass(frozen=True)
class Assembly:
    """Every unit of the project, assembled or read back, in graph-IRI order."""

    project: Project
    iris: Iris
    cache_dir: Path
    records: tuple[UnitRecord, ...]
    context: Mapping[str, Any]
    rebuilt: tuple[Unit, ...]
    removed: tuple[str, ...]

    @property
    def data_records(self) -> tuple[UnitRecord, ...]:
        """The units whose graphs are the published data: all but the dataset's description,
        which is published apart (``void.ttl``, and ``graph/dataset`` in the store) because it
        describes the dumps themselves."""
        return tuple(r for r in self.records if r.meta["kind"] != "dataset")

    @cached_property
    def dates(self) -> Dates:
        """The dataset's release dates (from the environment or the inputs' history), read
        once per build: the check for an unchanged build and the description both use them."""
        inputs = [path for unit in units_of(self.project) for path in unit.input_files]
        return release_dates(self.project.root, inputs)

    def triples_per_graph(self) -> dict[str, int]:
        """Each published data graph's size (the dataset's description is not one of them)."""
        return {r.graph_iri: int(r.meta["triples"]) for r in self.data_records}

    @property
    def description_record(self) -> UnitRecord:
        return next(r for r in self.records if r.meta["kind"] == "dataset")

    @property
    def ontology_record(self) -> UnitRecord:
        return next(r for r in self.records if r.meta["kind"] == "ontology")

    def knowledge_graph(self) -> KnowledgeGraph:
        """Every unit's graph read back into memory (for validation and queries)."""
        units = [_read_unit(record, self.project.root) for record in self.records]
        order = {unit.kind: i for i, unit in enumerate(units_of(self.project))}
        units.sort(key=lambda u: (order.get(u.unit.kind, 9), u.graph.value))
        return KnowledgeGraph(self.iris, tuple(units))

    def report_graphs(self) -> Iterator[UnitGraph]:
        """Each report's graph read back, one at a time, in graph-IRI order."""
        for record in self.records:
            if record.unit.kind == "document":
                yield _read_unit(record, self.project.root)

    def summary(self) -> str:
        """How many reports were assembled again, kept from the last build and dropped."""
        reports = sum(1 for r in self.records if r.unit.kind == "document")
        rebuilt = sum(1 for unit in self.rebuilt if unit.kind == "document")
        removed = sum(1 for path in self.removed if path.startswith("document/"))
        others = len(self.rebuilt) - rebuilt
        shared = f" and {others} shared graph{'' if others == 1 else 's'}" if others else ""
        return (
            f"{rebuilt:,} of {reports:,} reports rebuilt{shared}, {reports - rebuilt:,} reused, "
            f"{removed:,} removed"
        )


def default_cache_dir(project: Project) -> Path:
    return project.root / "build" / "cache"


def assemble_project(
    project: Project,
    settings: Settings,
    shapes_context: Mapping[str, Any],
    cache_dir: Path,
    jobs: int = 0,
    progress: Progress | None = None,
) -> Assembly:
    """Assemble every unit whose results are not in ``cache_dir``; read back the others.

    ``shapes_context`` is the JSON-LD context (from the shapes); ``jobs`` is the number of
    worker processes (0: one per core). The first bad input raises ``InputError``.
    """
    iris = Iris(settings.base_iri)
    units = units_of(project)
    ontology_unit = units[0]
    shared_key = _hash(
        PIPELINE_VERSION,
        iris.base,
        json.dumps(shapes_context, sort_keys=True),
        *(file_digest(path) for path in (*ontology_unit.turtle_files, *project.rule_files)),
    )
    keys = {
        unit: _hash(shared_key, unit.graph_path, *map(file_digest, unit.input_files))
        for unit in units
    }
    cache_dir.mkdir(parents=True, exist_ok=True)
    records: dict[Unit, UnitRecord] = {}
    missing: list[Unit] = []
    for unit in units:
        record = _cached(unit, keys[unit], cache_dir)
        if record is None:
            missing.append(unit)
        else:
            records[unit] = record
    done = len(records)
    if progress:
        progress(done, len(units))
    job = _Job(
        project.root, iris.base, ontology_unit, tuple(project.rule_files), dict(shapes_context)
    )
    for unit, record in _assemble_missing(job, missing, keys, cache_dir, jobs):
        records[unit] = record
        done += 1
        if progress:
            progress(done, len(units))
    removed = _forget_last_build(cache_dir, {r.unit.graph_path for r in records.values()})
    ordered = tuple(sorted(records.values(), key=lambda r: r.graph_iri))
    return Assembly(
        project,
        iris,
        cache_dir,
        ordered,
        shapes_context,
        tuple(missing),
        removed,
    )


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """The file's name and the SHA-256 of its bytes; an unreadable file is an ``InputError``."""
    try:
        return path.name + ":" + hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", path) from None


def _cached(unit: Unit, key: str, cache_dir: Path) -> UnitRecord | None:
    folder = cache_dir / key[:2] / key
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return UnitRecord(unit, key, folder, meta)


# ------------------------------------------------------------------ assembling units


@dataclass(frozen=True)
class _Job:
    """What every worker needs, once: where the project is and how to build a unit."""

    root: Path
    base: str
    ontology: Unit
    rule_files: tuple[Path, ...]
    context: dict[str, Any]


_worker: _UnitBuilder | None = None


class _UnitBuilder:
    """Assembles units one after another in one process (a worker, or the main process)."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.iris = Iris(job.base)
        self.prefixes = {name: str(ns) for name, ns in self.iris.prefixes().items()}
        self.writer = NodeWriter(job.context)
        self.materialiser: Materialiser | None = None

    def build(self, unit: Unit, key: str, cache_dir: Path) -> UnitRecord:
        materialiser = None if unit.kind == "ontology" else self._materialiser()
        graph = assemble_unit(unit, self.iris, materialiser)
        chunks = write_chunks(
            graph.graph, graph.triples, self.prefixes, self.writer, unit.graph_path
        )
        entries = entries_json(unit_entries(graph, self.iris.base))
        return _store(graph, key, cache_dir, chunks, entries, self.job.root, self.iris)

    def _materialiser(self) -> Materialiser:
        if self.materialiser is None:
            ontology = assemble_unit(self.job.ontology, self.iris, None)
            rules = load_rules(self.job.rule_files, self.job.base)
            self.materialiser = Materialiser(ontology.triples, rules, self.job.base)
        return self.materialiser


def _assemble_missing(
    job: _Job, missing: list[Unit], keys: Mapping[Unit, str], cache_dir: Path, jobs: int
) -> Iterator[tuple[Unit, UnitRecord]]:
    workers = jobs or os.cpu_count() or 1
    if workers <= 1 or len(missing) < PARALLEL_THRESHOLD:
        builder = _UnitBuilder(job)
        for unit in missing:
            yield unit, builder.build(unit, keys[unit], cache_dir)
        return
    context = multiprocessing.get_context("spawn")
    tasks = [(unit, keys[unit], cache_dir) for unit in missing]
    with context.Pool(workers, initializer=_start_worker, initargs=(job,)) as pool:
        for unit, record in zip(
            missing, pool.imap(_build_in_worker, tasks, chunksize=8), strict=True
        ):
            yield unit, record


def _start_worker(job: _Job) -> None:
    global _worker
    _worker = _UnitBuilder(job)


def _build_in_worker(task: tuple[Unit, str, Path]) -> UnitRecord:
    assert _worker is not None
    return _worker.build(*task)


def _store(
    graph: UnitGraph,
    key: str,
    cache_dir: Path,
    chunks: Mapping[str, Any],
    search_entries: bytes,
    root: Path,
    iris: Iris,
) -> UnitRecord:
    """Write a unit's results to a new folder, then move it into place (a crash leaves no
    half-written entry under the key)."""
    folder = cache_dir / key[:2] / key
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:8]}.", dir=folder.parent))
    parts = {
        **chunk_parts(chunks),
        "origins": _origins_nquads(graph, root),
        "search": search_entries,
    }
    meta = {
        **_meta(graph, iris),
        "sha256": hashlib.sha256(chunks["nq"].data).hexdigest(),
        "parts": pack(parts, staging / PARTS_NAME),
    }
    (staging / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    try:
        staging.rename(folder)
    except OSError:  # another process stored the same key meanwhile: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    return UnitRecord(graph.unit, key, folder, meta)


def _origins_nquads(graph: UnitGraph, root: Path) -> bytes:
    """Where each asserted statement was written, as quads whose graph names the file."""
    files: dict[Path, ox.NamedNode] = {}
    quads = []
    for triple, path in graph.origins.items():
        if path not in files:
            files[path] = ox.NamedNode("file:///" + path.relative_to(root).as_posix())
        quads.append(ox.Quad(triple.subject, triple.predicate, triple.object, files[path]))
    return ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS)


def _meta(graph: UnitGraph, iris: Iris) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "graph": graph.graph.value,
        "kind": graph.unit.kind,
        "name": graph.unit.name,
        "triples": len(graph.triples),
    }
    source = graph.source
    if source is not None:
        document = iri(iris.document(source.slug))
        titles = sorted(
            t.object.value
            for t in graph.triples
            if t.subject == document and t.predicate.value == str(DCTERMS.title)
        )
        meta["document"] = {
            "slug": source.slug,
            "iri": document.value,
            "title": titles[0] if titles else source.slug,
            "sha256": source.sha256,
            "sentences": len(source.sentences),
        }
    return meta


def _read_unit(record: UnitRecord, root: Path) -> UnitGraph:
    graph = iri(record.graph_iri)
    triples = frozenset(q.triple for q in record.quads())
    origins = {
        q.triple: root / q.graph_name.value.removeprefix("file:///")
        for q in ox.parse(record.part("origins"), format=ox.RdfFormat.N_QUADS)
    }
    unit = record.unit
    source = read_source(unit.name, unit.source_path) if unit.source_path else None
    return UnitGraph(unit, graph, triples, origins, source)


def _forget_last_build(cache_dir: Path, graph_paths: Iterable[str]) -> tuple[str, ...]:
    """The units the last build had that this one has not (removed reports); this build's
    units are noted for the next."""
    path = cache_dir / LAST_BUILD_NAME
    current = sorted(graph_paths)
    try:
        previous = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        previous = set(current)
    path.write_text(json.dumps(current), encoding="utf-8")
    return tuple(sorted(previous - set(current)))


def noted_output(cache_dir: Path, out_dir: Path) -> dict[str, str]:
    """What this cache noted of the last build it wrote into ``out_dir``: its ``inputs``
    digest and its ``version`` (nothing when it noted none)."""
    return _noted_outputs(cache_dir).get(str(out_dir.resolve()), {})


def note_output(cache_dir: Path, out_dir: Path, inputs: str, version: str) -> None:
    """Note that ``out_dir`` now holds the build ``version`` of ``inputs`` (a shortcut for
    the next build: if the note cannot be written, that build is a full one)."""
    noted = _noted_outputs(cache_dir)
    noted[str(out_dir.resolve())] = {"inputs": inputs, "version": version}
    with suppress(OSError):
        (cache_dir / OUTPUTS_NAME).write_text(
            json.dumps(noted, indent=2, sort_keys=True), encoding="utf-8"
        )


def _noted_outputs(cache_dir: Path) -> dict[str, dict[str, str]]:
    try:
        noted = json.loads((cache_dir / OUTPUTS_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return noted if isinstance(noted, dict) else {}


def prune_cache(cache_dir: Path, keep: Iterable[UnitRecord]) -> None:
    """Remove every cached unit the given build does not use (a published build's own)."""
    kept = {record.folder for record in keep}
    for bucket in cache_dir.iterdir():
        if not bucket.is_dir():
            continue
        for entry in bucket.iterdir():
            if entry not in kept:
                shutil.rmtree(entry, ignore_errors=True)


def shapes_jsonld_context(project: Project, iris: Iris) -> dict[str, Any]:
    """The JSON-LD context the shapes imply (see :mod:`tipkg.jsonld`)."""
    from tipkg.validate import compiled_shapes

    prefixes = {name: str(ns) for name, ns in iris.prefixes().items()}
    shapes, _validator = compiled_shapes(iris.base, project.shape_files)
    return context_from_shapes(shapes, prefixes)
