"""Where a project's files are: the inputs every later stage reads, found once, in a fixed order.

A project is a directory holding ``ontology/``, ``shapes/``, ``data/`` and ``queries/``. Each report
has a folder ``data/reports/<slug>/`` with ``source.txt`` and its Turtle files, so adding a
report never means editing another's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tipkg.errors import InputError

SOURCE_FILE_NAME = "source.txt"
# What a report's folder must hold, and why.
REPORT_FILES = {
    SOURCE_FILE_NAME: "the report's text, verbatim",
    "document.ttl": "what the curator knows of the report itself: its title and language",
    "facts.ttl": "the facts the report states, each citing its sentences",
}


@dataclass(frozen=True)
class ReportFolder:
    """One source document: its verbatim text and the curated Turtle about it."""

    slug: str
    folder: Path
    source_path: Path
    turtle_files: tuple[Path, ...]


@dataclass(frozen=True)
class Unit:
    """One named graph of the build and the files it is made from: the ontology, the dataset's
    description, the shared entities, one linkset file, or one report. A unit is parsed,
    materialised, checked and serialised on its own, so an unchanged unit costs nothing."""

    kind: str  # "ontology", "dataset", "shared", "linkset" or "document"
    name: str  # the linkset's file stem or the report's slug; "" for the others
    turtle_files: tuple[Path, ...]
    source_path: Path | None = None  # the report's verbatim text (documents only)

    @property
    def graph_path(self) -> str:
        """The graph's IRI below ``<base>graph/``: ``shared``, ``document/<slug>``, …"""
        return f"{self.kind}/{self.name}" if self.name else self.kind

    @property
    def input_files(self) -> tuple[Path, ...]:
        """Every file the unit is made from, the source text first."""
        return (*((self.source_path,) if self.source_path else ()), *self.turtle_files)


@dataclass(frozen=True)
class Project:
    """The input files of a project, each list sorted so builds are reproducible."""

    root: Path
    ontology_files: tuple[Path, ...]
    rule_files: tuple[Path, ...]
    shape_files: tuple[Path, ...]
    shared_files: tuple[Path, ...]
    linkset_files: tuple[Path, ...]
    reports: tuple[ReportFolder, ...]
    dataset_file: Path
    query_files: tuple[Path, ...]


def _turtle_in(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(folder.glob("*.ttl"))) if folder.is_dir() else ()


def load_project(root: Path) -> Project:
    """Find every input file under ``root``; a missing required part is an ``InputError``."""
    root = root.resolve()
    for required in ("ontology", "shapes", "data"):
        if not (root / required).is_dir():
            raise InputError(f"no {required}/ directory: is this a tipkg project?", root)
    reports_dir = root / "data" / "reports"
    reports = []
    for folder in (
        sorted(p for p in reports_dir.iterdir() if p.is_dir()) if reports_dir.is_dir() else []
    ):
        source_path = folder / SOURCE_FILE_NAME
        for required, what in REPORT_FILES.items():
            if not (folder / required).is_file():
                raise InputError(
                    f"missing {required} for report '{folder.name}' ({what})", folder / required
                )
        reports.append(ReportFolder(folder.name, folder, source_path, _turtle_in(folder)))
    dataset_file = root / "data" / "dataset.ttl"
    if not dataset_file.is_file():
        raise InputError("missing dataset description", dataset_file)
    return Project(
        root=root,
        ontology_files=_turtle_in(root / "ontology"),
        rule_files=tuple(sorted((root / "ontology" / "rules").glob("*.rq"))),
        shape_files=_turtle_in(root / "shapes"),
        shared_files=_turtle_in(root / "data" / "shared"),
        linkset_files=_turtle_in(root / "data" / "linksets"),
        reports=tuple(reports),
        dataset_file=dataset_file,
        query_files=tuple(sorted((root / "queries").glob("*.rq"))),
    )


def units_of(project: Project) -> tuple[Unit, ...]:
    """The project's units in build order: the ontology first (every other unit is materialised
    against it), then the dataset description, the shared entities, the linksets, the reports."""
    return (
        Unit("ontology", "", project.ontology_files),
        Unit("dataset", "", (project.dataset_file,)),
        Unit("shared", "", project.shared_files),
        *(Unit("linkset", path.stem, (path,)) for path in project.linkset_files),
        *(
            Unit("document", report.slug, report.turtle_files, report.source_path)
            for report in project.reports
        ),
    )


def read_text(path: Path) -> str:
    """A project file as UTF-8 text; an unreadable or undecodable file is an ``InputError``."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", path) from None
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise InputError("not valid UTF-8", path, line) from None
