"""Helpers the tests share: where the real project is, how to copy it for a curator's edit, and
how to start Debian's chromium for the browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tipkg.dist import Manifest

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


def build_dist(project_root: Path, out: Path, **settings: object) -> Manifest:
    """Assemble, validate and publish a project into ``out`` the way ``tipkg build`` does, with
    a cache of its own beside ``out`` (never the repository's)."""
    from tipkg.pipeline import build
    from tipkg.project import load_project
    from tipkg.settings import Settings

    overrides = {"cache_dir": str(out.parent / f"{out.name}-cache"), **settings}
    _, manifest = build(load_project(project_root), Settings.load(overrides, environ={}), out)
    return manifest


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
