"""Helpers the tests share: where the real project is and how to copy it for a curator's edit."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REPORT_SLUG = "saint-lucia-tip-meetings-2021"
PROJECT_PARTS = ("ontology", "shapes", "data", "queries")


def copy_project(destination: Path) -> Path:
    """A curator's copy of the project inputs (no code, no dist/), ready to be edited."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        shutil.copytree(PROJECT_ROOT / part, destination / part)
    return destination


def report_dir(project: Path) -> Path:
    return project / "data" / "reports" / REPORT_SLUG
