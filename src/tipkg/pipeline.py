"""The pipeline, top to bottom: sources → graph → validate → publish.

Each function is one door the CLI (and a program) uses; each stage lives in its own module:
:mod:`tipkg.build` assembles the units (in parallel, kept between builds), :mod:`tipkg.validate`
checks them against the shapes, :mod:`tipkg.publish` writes ``dist/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import NamedTuple

from tipkg.build import (
    PIPELINE_VERSION,
    Assembly,
    Progress,
    assemble_project,
    default_cache_dir,
    file_digest,
    note_output,
    noted_output,
    prune_cache,
    shapes_jsonld_context,
)
from tipkg.coverage import ReportCoverage, measure
from tipkg.dist import Manifest
from tipkg.project import Project
from tipkg.publish import previous_build, write
from tipkg.settings import Settings
from tipkg.timings import Timings, timed
from tipkg.validate import Report, check_triples, raise_for
from tipkg.vocab import Iris


@dataclass(frozen=True)
class Checked:
    """A project assembled and checked: what ``tipkg validate`` reports."""

    assembly: Assembly
    report: Report

    @cached_property
    def coverage(self) -> list[ReportCoverage]:
        """Per report, the sentences no fact cites (computed when asked: a build does not)."""
        return measure(self.assembly.iris, self.assembly.report_graphs())


def assemble(project: Project, settings: Settings, progress: Progress | None = None) -> Assembly:
    """Every unit of the project, assembled where it changed and read back where it did not."""
    cache_dir = Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(project)
    context = shapes_jsonld_context(project, Iris(settings.base_iri))
    return assemble_project(
        project, settings, context, cache_dir, jobs=settings.build_jobs, progress=progress
    )


def check_project(
    project: Project,
    settings: Settings,
    progress: Progress | None = None,
    timings: Timings | None = None,
    engine: str = "tipkg",
) -> Checked:
    """Assemble the project and validate the union of its graphs (``engine``: see
    :func:`tipkg.validate.check`)."""
    with timed(timings, "assemble units"):
        assembly = assemble(project, settings, progress)
    return check_assembly(assembly, timings, engine)


def check_assembly(
    assembly: Assembly, timings: Timings | None = None, engine: str = "tipkg"
) -> Checked:
    """Validate the union of an assembly's graphs, streamed from its units' cached parts."""
    load_graph = cache(assembly.knowledge_graph)
    with timed(timings, "validate"):
        report = check_triples(
            assembly.iris,
            (quad.triple for record in assembly.records for quad in record.quads()),
            assembly.project.shape_files,
            load_graph,
            engine,
        )
    return Checked(assembly, report)


class Built(NamedTuple):
    """What ``build`` did: the assembly, the build now in ``dist/``, and whether it was written
    (``False``: ``dist/`` already held the build of exactly these inputs)."""

    assembly: Assembly
    manifest: Manifest
    written: bool


def build(
    project: Project,
    settings: Settings,
    out_dir: Path,
    progress: Progress | None = None,
    timings: Timings | None = None,
) -> Built:
    """Assemble, validate and publish; a non-conforming graph raises ``ValidationFailed`` and
    writes nothing. When ``out_dir`` already holds the build of the same inputs (every unit's
    cache key, the shapes, the example queries, the release dates), it is left as it is: the
    same inputs give the same findings and the same bytes. The cache keeps only what this build
    used."""
    with timed(timings, "assemble units"):
        assembly = assemble(project, settings, progress)
    inputs = inputs_digest(assembly)
    current = _unchanged_build(out_dir, assembly.cache_dir, inputs)
    if current is not None:
        return Built(assembly, current, written=False)
    raise_for(check_assembly(assembly, timings).report)
    manifest = write(assembly, out_dir, timings)
    prune_cache(assembly.cache_dir, assembly.records)
    note_output(assembly.cache_dir, out_dir, inputs, manifest.version)
    return Built(assembly, manifest, written=True)


def inputs_digest(assembly: Assembly) -> str:
    """A digest of everything a build's output depends on beyond the code: each unit's cache
    key (its files, the ontology, rules, base IRI, shapes' context, the pipeline's version),
    the shape files (their messages change findings, not units), the example queries and the
    dataset's release dates (from the environment or the history)."""
    project = assembly.project
    digest = hashlib.sha256(PIPELINE_VERSION.encode())
    for part in (
        *(f"{record.unit.graph_path} {record.key}" for record in assembly.records),
        *(file_digest(path) for path in (*project.shape_files, *project.query_files)),
        f"{assembly.dates.issued} {assembly.dates.modified}",
    ):
        digest.update(b"\n" + part.encode())
    return digest.hexdigest()


def _unchanged_build(out_dir: Path, cache_dir: Path, inputs: str) -> Manifest | None:
    """The build in ``out_dir`` if it is whole (every file at its recorded size, the store
    there) and was made from ``inputs``, as this cache noted when it wrote it."""
    noted = noted_output(cache_dir, out_dir)
    if noted.get("inputs") != inputs:
        return None
    manifest = previous_build(out_dir)
    return manifest if manifest is not None and manifest.version == noted.get("version") else None
