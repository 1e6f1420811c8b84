"""Helpers the tests share: where the real project is, how to copy it for a curator's edit, and
how to start Debian's chromium for the browser tests."""

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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run, if they cannot."""
    if Path(CHROMIUM).is_file():
        return None
    return (
        f"{CHROMIUM} is missing: install Debian's chromium (sudo apt-get install chromium), "
        "or run `make test` as root, which installs it"
    )
