"""Synthetic corpora: realistic reports of the seed report's kind, for tests and benchmarks.

``write_corpus`` writes a complete project: ``ontology/``, ``shapes/`` and ``queries/`` copied from
the current project, and a generated ``data/`` (``dataset.ttl``, ``shared/``, ``linksets/`` and one
folder per report) that ``tipkg build`` builds and validates like any other. Reports are composed
from sentence templates (``reports``) about a drawn world (``world``): meetings with hosts,
conveners, dates, attendance modes and themes, participation, committee memberships and statements,
each fact citing the sentences and exact phrases that state it. States and territories are real;
meetings, committees, dates and wording are invented, so a corpus is never merged into ``data/``.

Every minted IRI is written absolute under the base IRI given (``Settings.base_iri``: the global
``--base-iri`` option or ``TIPKG_BASE_IRI``, default ``https://w3id.org/tipkg/``). A serialiser
writes absolute IRIs or an ``@base`` line, not the hand-written files' base-free relative IRIs, so
build a corpus with the base IRI it was generated for; the copied ontology and shapes follow any.

The same documents, seed, base IRI and copied files give byte-identical files.
``plant_violations`` (``--plant-violations K``) breaks a corpus in known ways; ``planted.json``
lists the findings (focus IRI and shape message) the validate stage must then report, exactly.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tipkg.errors import InputError
from tipkg.project import load_project
from tipkg.synth.reports import Corpus, generate
from tipkg.synth.turtle import Writer
from tipkg.synth.violations import PLANT_KINDS, PlantedViolation, plant_violations
from tipkg.synth.world import POLITIES

COPIED_PARTS = ("ontology", "shapes", "queries")
PLANTED_FILE = "planted.json"

__all__ = [
    "PLANTED_FILE",
    "PLANT_KINDS",
    "POLITIES",
    "Corpus",
    "CorpusSummary",
    "PlantedViolation",
    "generate",
    "plant_violations",
    "write_corpus",
]


@dataclass(frozen=True)
class CorpusSummary:
    """What ``write_corpus`` did, for the CLI's one line."""

    out_dir: Path
    documents: int
    meetings: int
    meetings_described_twice: int
    planted: int
    seconds: float

    def line(self) -> str:
        planted = f"; planted {self.planted} violations, see {PLANTED_FILE}" if self.planted else ""
        return (
            f"wrote {self.documents} synthetic reports ({self.meetings} meetings, "
            f"{self.meetings_described_twice} described by more than one report) to "
            f"{self.out_dir} in {self.seconds:.1f} s{planted}"
        )


def write_corpus(
    out_dir: Path, documents: int, seed: int, project_root: Path, base_iri: str, plant: int = 0
) -> CorpusSummary:
    """Write a synthetic project of ``documents`` reports at ``out_dir`` (absent or empty),
    copying ontology, shapes and queries from the project at ``project_root``. With ``plant``,
    that many known violations are planted and recorded in ``out_dir/planted.json``.
    Raises ``InputError`` for a non-empty ``out_dir`` or a corpus too small to plant in."""
    started = time.perf_counter()
    if documents < 1:
        raise InputError("a corpus needs at least one document")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError("output directory exists and is not empty", out_dir)
    project = load_project(project_root)
    corpus = generate(documents, seed, base_iri)
    planted = plant_violations(corpus, plant, project.shape_files)
    out_dir.mkdir(parents=True, exist_ok=True)
    for part in COPIED_PARTS:
        if (project.root / part).is_dir():
            shutil.copytree(project.root / part, out_dir / part)
    Writer(corpus, out_dir / "data").write_all(project.dataset_file)
    if planted:
        record = {"seed": seed, "documents": documents, "violations": [asdict(v) for v in planted]}
        text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        (out_dir / PLANTED_FILE).write_text(text, encoding="utf-8")
    return CorpusSummary(
        out_dir,
        documents,
        len(corpus.meetings),
        sum(1 for meeting in corpus.meetings if len(meeting.describers) > 1),
        len(planted),
        time.perf_counter() - started,
    )
