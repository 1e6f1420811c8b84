"""Helpers the tests share: where the real project is, how to copy it for a curator's edit, and
how to start Debian's chromium for the browser tests."""

from __future__ import annotations

import hashlib
import json
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


def second_account(report: Path, slug: str) -> Path:
    """Another report telling what ``report`` tells: its text, sentences and document under a
    new slug (so its IRIs are its own), its statements about the same meetings, states and
    organisations as they are (so the two reports share triples). Adding or removing it
    orphans no shared entity."""
    copy = report.parent / slug
    shutil.copytree(report, copy)
    for path in copy.glob("*.ttl"):
        path.write_text(path.read_text(encoding="utf-8").replace(report.name, slug))
    return copy


def build_dist(project_root: Path, out: Path, **settings: object) -> Manifest:
    """Assemble, validate and publish a project into ``out`` the way ``tipkg build`` does, with
    a cache of its own beside ``out`` (never the repository's)."""
    from tipkg.pipeline import build
    from tipkg.project import load_project
    from tipkg.settings import Settings

    overrides = {"cache_dir": str(out.parent / f"{out.name}-cache"), **settings}
    _, manifest, _ = build(load_project(project_root), Settings.load(overrides, environ={}), out)
    return manifest


def add_quads_to_build(dist_dir: Path, nquads: str) -> None:
    """Add N-Quads lines to a build as a build stating them would have: appended to
    ``tipkg.nq``, stated in the store (in their named graph and in the merge, its default
    graph), and the new version written in the manifest and in the store's description of
    ``tipkg.nq``, which the server checks (the other dumps are left alone). ``dist_dir`` must
    not be served meanwhile: a build is written beside dist/ and swapped in."""
    import pyoxigraph as ox

    from tipkg.dist import MANIFEST_NAME, QUADS_NAME, STORE_DIR

    quads_path = dist_dir / QUADS_NAME
    data = quads_path.read_bytes() + nquads.encode()
    quads_path.write_bytes(data)
    manifest_path = dist_dir / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    entry = next(f for f in manifest["files"] if f["name"] == QUADS_NAME)
    old_version = manifest["version"]
    entry["bytes"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    manifest["version"] = entry["sha256"]
    store = ox.Store(str(dist_dir / STORE_DIR))
    try:
        added = list(ox.parse(nquads.encode(), format=ox.RdfFormat.N_QUADS))
        store.extend(added)
        store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in added)
        checksum = ox.NamedNode("http://spdx.org/rdf/terms#checksumValue")
        for quad in list(store.quads_for_pattern(None, checksum, None)):
            if quad.object.value.lower() == old_version:
                store.remove(quad)
                value = ox.Literal(manifest["version"], datatype=quad.object.datatype)
                store.add(ox.Quad(quad.subject, checksum, value, quad.graph_name))
        store.flush()
    finally:
        del store
    manifest_path.write_text(json.dumps(manifest, indent=2))


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
