"""The pipeline, top to bottom: sources → graph → validate → publish.

Each function is one door the CLI (and a program) uses; each stage lives in its own module:
:mod:`tipkg.build` assembles the units (in parallel, kept between builds), :mod:`tipkg.validate`
checks them against the shapes, :mod:`tipkg.publish` writes ``dist/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from tipkg.build import (
    Assembly,
    Progress,
    assemble_project,
    default_cache_dir,
    prune_cache,
    shapes_jsonld_context,
)
from tipkg.coverage import ReportCoverage, measure
from tipkg.dist import Manifest
from tipkg.graph import KnowledgeGraph
from tipkg.project import Project
from tipkg.publish import write
from tipkg.settings import Settings
from tipkg.timings import Timings, timed
from tipkg.validate import Report, check_triples, raise_for
from tipkg.vocab import Iris


@dataclass(frozen=True)
class Checked:
    """A project assembled and checked: what ``tipkg validate`` reports."""

    assembly: Assembly
    report: Report
    # Reads every unit's graph back into memory, once: only when asked (a conforming build
    # never asks).
    load_graph: Callable[[], KnowledgeGraph]

    @property
    def graph(self) -> KnowledgeGraph:
        return self.load_graph()

    @cached_property
    def coverage(self) -> list[ReportCoverage]:
        """Per report, the sentences no fact cites (computed when asked: a build does not)."""
        return measure(self.graph)


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
    load_graph = cache(assembly.knowledge_graph)
    with timed(timings, "validate"):
        report = check_triples(
            assembly.iris,
            (quad.triple for record in assembly.records for quad in record.quads()),
            project.shape_files,
            load_graph,
            engine,
        )
    return Checked(assembly, report, load_graph)


def build(
    project: Project,
    settings: Settings,
    out_dir: Path,
    progress: Progress | None = None,
    timings: Timings | None = None,
) -> tuple[Assembly, Manifest]:
    """Assemble, validate and publish; a non-conforming graph raises ``ValidationFailed`` and
    writes nothing. The cache keeps only what this build used."""
    checked = check_project(project, settings, progress, timings)
    raise_for(checked.report)
    assembly = checked.assembly
    del checked  # a graph read back to locate findings is not needed to publish
    manifest = write(assembly, out_dir, timings)
    prune_cache(assembly.cache_dir, assembly.records)
    return assembly, manifest
