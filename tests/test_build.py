"""The build keeps each unit between builds: after any change, what it publishes equals a build
from nothing (every dump byte for byte, the store statement for statement), and it assembled only
what the change touched. An interrupted build leaves dist/ as it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph
import pytest

from tipkg.dist import SEARCH_INDEX_DIR, STORE_DIR, read_manifest
from tipkg.pipeline import build
from tipkg.project import load_project
from tipkg.search.engine import search
from tipkg.settings import Settings
from tipkg.synth import write_corpus

from support import PROJECT_ROOT, second_account

BASE = "https://w3id.org/tipkg/"
TIPKG = str(Path(sys.executable).parent / "tipkg")


def corpus(path: Path, documents: int) -> Path:
    write_corpus(path, documents, seed=5, project_root=PROJECT_ROOT, base_iri=BASE)
    return path


def build_with(project: Path, out: Path, cache: Path) -> str:
    """One build; the summary line it would print."""
    settings = Settings.load({"cache_dir": str(cache)}, environ={})
    assembly, _, _ = build(load_project(project), settings, out)
    return assembly.summary()


def published(out: Path) -> dict[str, bytes]:
    """Every file of a build but the store's and the search index's (whose file names and
    bytes vary from build to build), by name."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not {STORE_DIR, SEARCH_INDEX_DIR} & set(p.relative_to(out).parts)
    }


def store_statements(out: Path) -> set[str]:
    return {str(quad) for quad in pyoxigraph.Store.read_only(str(out / STORE_DIR))}


# Words every synthetic report uses, a state, a phrase, and the edit the tests below make.
SEARCHES = ("meeting", "trafficking", "Haiti", '"victim protection"', "edited", "zz*")


def search_answers(out: Path) -> list[tuple[object, ...]]:
    """What the build's index answers to ``SEARCHES``: every hit with its snippet, and the
    counts of every facet. Not the ranking: an updated index scores slightly differently from
    a fresh one until Tantivy merges its segments, so close hits may swap."""
    answers: list[tuple[object, ...]] = []
    for text in SEARCHES:
        first = search(out / SEARCH_INDEX_DIR, text, limit=100)
        pages = [
            first,
            *(
                search(out / SEARCH_INDEX_DIR, text, limit=100, offset=offset)
                for offset in range(100, first.total, 100)
            ),
        ]
        hits = [(h.iri, h.kind, h.document, h.sentence, h.snippet) for p in pages for h in p.hits]
        answers.append((text, first.total, sorted(hits, key=str), first.facets))
    return answers


def assert_same_as_a_build_from_nothing(project: Path, out: Path, tmp: Path) -> None:
    fresh = tmp / f"fresh-{time.monotonic_ns()}"
    build_with(project, fresh / "dist", fresh / "cache")
    assert published(out) == published(fresh / "dist")
    assert store_statements(out) == store_statements(fresh / "dist")
    assert search_answers(out) == search_answers(fresh / "dist")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return corpus(tmp_path / "corpus", 24)


def reports(project: Path) -> list[Path]:
    return sorted((project / "data" / "reports").iterdir())


def test_an_unchanged_build_reuses_everything(project: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "dist", tmp_path / "cache"
    assert build_with(project, out, cache).startswith("24 of 24 reports rebuilt and 6 shared")
    before = published(out)
    assert build_with(project, out, cache) == "0 of 24 reports rebuilt, 24 reused, 0 removed"
    assert published(out) == before


def test_a_build_of_unchanged_inputs_leaves_dist_as_it_is(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same unit keys, shapes, queries and dates: nothing is validated or written again. A
    change to any of them, or a build in dist/ that is no longer whole, writes it again."""
    out, cache = tmp_path / "dist", tmp_path / "cache"
    settings = Settings.load({"cache_dir": str(cache)}, environ={})

    def written() -> bool:
        return build(load_project(project), settings, out).written

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1620000000")
    assert written()
    swapped_in = out.stat().st_ino
    assert not written()
    assert out.stat().st_ino == swapped_in  # not even swapped
    shapes = project / "shapes" / "meetings.ttl"
    shapes.write_text(shapes.read_text().replace("exactly one start date", "one start date"))
    assert written()
    assert not written()
    query = sorted((project / "queries").glob("*.rq"))[0]
    query.write_text(query.read_text() + "\n# a comment\n")
    assert written()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1630000000")
    assert written()
    (out / "tipkg.ttl").unlink()
    assert written()
    assert (out / "tipkg.ttl").is_file()
    assert not written()
    assert_same_as_a_build_from_nothing(project, out, tmp_path)


def test_a_changed_report_is_the_only_one_rebuilt(project: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "dist", tmp_path / "cache"
    build_with(project, out, cache)
    facts = reports(project)[3] / "facts.ttl"
    text = facts.read_text(encoding="utf-8")
    marker = next(line for line in text.splitlines() if "schema:description" in line)
    facts.write_text(text.replace(marker, marker.replace('"@en', ' (edited)"@en', 1)))
    assert build_with(project, out, cache) == "1 of 24 reports rebuilt, 23 reused, 0 removed"
    assert_same_as_a_build_from_nothing(project, out, tmp_path)
    edited = search(out / SEARCH_INDEX_DIR, "edited")
    assert [hit.document for hit in edited.hits] == [reports(project)[3].name]


def test_an_added_and_a_removed_report(project: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "dist", tmp_path / "cache"
    build_with(project, out, cache)
    added = second_account(reports(project)[5], "zz-second-account")
    assert build_with(project, out, cache) == "1 of 25 reports rebuilt, 24 reused, 0 removed"
    assert_same_as_a_build_from_nothing(project, out, tmp_path)
    shutil.rmtree(added)
    assert build_with(project, out, cache) == "0 of 24 reports rebuilt, 24 reused, 1 removed"
    assert_same_as_a_build_from_nothing(project, out, tmp_path)
    assert [d["slug"] for d in read_manifest(out).documents] == [r.name for r in reports(project)]


def test_a_changed_shape_message_rebuilds_no_unit_but_a_changed_rule_rebuilds_all(
    project: Path, tmp_path: Path
) -> None:
    """Units depend on the shapes only through the JSON-LD keys they imply; every unit is
    materialised by every rule."""
    out, cache = tmp_path / "dist", tmp_path / "cache"
    build_with(project, out, cache)
    shapes = project / "shapes" / "meetings.ttl"
    shapes.write_text(shapes.read_text().replace("exactly one start date", "one start date"))
    assert build_with(project, out, cache) == "0 of 24 reports rebuilt, 24 reused, 0 removed"
    rule = project / "ontology" / "rules" / "60-labels.rq"
    rule.write_text(rule.read_text() + "\n# a comment changes the rule file\n")
    assert build_with(project, out, cache).startswith("24 of 24 reports rebuilt and 6 shared")
    assert_same_as_a_build_from_nothing(project, out, tmp_path)


def test_a_killed_build_leaves_dist_as_it_was_and_the_next_build_is_whole(
    tmp_path: Path,
) -> None:
    project = corpus(tmp_path / "big", 160)
    out, cache = tmp_path / "dist", tmp_path / "cache"
    small = corpus(tmp_path / "small", 3)
    build_with(small, out, cache)
    before = published(out)
    env = {**os.environ, "TIPKG_CACHE_DIR": str(cache), "TIPKG_BUILD_JOBS": "2"}
    process = subprocess.Popen(
        [TIPKG, "--project", str(project), "build", "--out", str(out), "--quiet"], env=env
    )
    time.sleep(2.0)
    assert process.poll() is None, "the build ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert published(out) == before
    build_with(project, out, cache)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist.") and p.is_dir()]
    assert_same_as_a_build_from_nothing(project, out, tmp_path)
