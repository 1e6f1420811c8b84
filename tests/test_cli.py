"""The CLI as a user runs it: a real subprocess, real exit codes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from support import REPORT_SLUG, copy_project, report_dir

TIPKG = str(Path(sys.executable).parent / "tipkg")
COMMANDS = ("build", "validate", "query", "export", "stats", "synth", "serve")


def tipkg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIPKG, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A curator's copy of the project with a successful build in it."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    result = tipkg("build", cwd=project)
    assert result.returncode == 0, result.stderr
    return project


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_help_does_not_import_the_rdf_stack() -> None:
    """`tipkg --help` stays fast because stages are imported lazily, inside the commands."""
    code = (
        "import sys, tipkg.cli;"
        "print(sorted(m for m in ('rdflib', 'pyshacl', 'pyoxigraph') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = tipkg(command, "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout


def test_build_writes_dist_and_reports_it(built: Path) -> None:
    manifest = json.loads((built / "dist" / "manifest.json").read_text())
    assert manifest["triples"] > 800
    assert (built / "dist" / "tipkg.ttl").stat().st_size > 10_000


def test_project_option_works_from_anywhere(built: Path, tmp_path: Path) -> None:
    result = tipkg("--project", str(built), "stats", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tip:Meeting" in result.stdout


def test_stats_counts_entities_and_links(built: Path) -> None:
    result = tipkg("stats", "--format", "json", cwd=built)
    counts = json.loads(result.stdout)
    assert counts["entities_per_class"]["tip:Meeting"] == 2
    assert counts["entities_per_class"]["tip:SovereignState"] == 6
    assert counts["links_per_target"] == {"DBpedia": 10, "GeoNames": 7, "Wikidata": 9}


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "nt", "nq", "trig"])
def test_export_matches_the_published_dump(built: Path, fmt: str) -> None:
    result = tipkg("export", "--format", fmt, cwd=built)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (built / "dist" / f"tipkg.{fmt}").read_text(encoding="utf-8")


def test_validate_passes_on_the_data(built: Path) -> None:
    result = tipkg("validate", cwd=built)
    assert result.returncode == 0, result.stdout + result.stderr


def test_query_by_text_in_every_output_format(built: Path) -> None:
    text = (
        "SELECT ?name WHERE "
        "{ <https://w3id.org/tipkg/id/place/argentina> <https://schema.org/name> ?name }"
    )
    table = tipkg("query", text, cwd=built)
    assert table.returncode == 0, table.stderr
    assert "Argentina" in table.stdout
    csv = tipkg("query", text, "--format", "csv", cwd=built)
    assert csv.stdout.splitlines()[:2] == ["name", "Argentina"]
    as_json = json.loads(
        tipkg("query", text, "--format", "json", "--engine", "rdflib", cwd=built).stdout
    )
    assert as_json["results"]["bindings"][0]["name"]["value"] == "Argentina"


def _one_line_error(result: subprocess.CompletedProcess[str], status: int, *fragments: str) -> None:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _rebuild_after(project: Path, edit: Callable[[], object]) -> subprocess.CompletedProcess[str]:
    before = snapshot(project / "dist")
    edit()
    result = tipkg("build", cwd=project)
    assert snapshot(project / "dist") == before, "dist/ changed after a failed build"
    return result


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    project = copy_project(tmp_path / "project")
    assert tipkg("build", cwd=project).returncode == 0
    return project


def test_malformed_turtle(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"
    result = _rebuild_after(
        fresh, lambda: facts.write_text(facts.read_text() + '\nevent:x schema:name "open .\n')
    )
    _one_line_error(result, 2, "facts.ttl:", "Turtle syntax error")


def test_unknown_prefix(fresh: Path) -> None:
    places = fresh / "data" / "shared" / "places.ttl"
    result = _rebuild_after(
        fresh, lambda: places.write_text(places.read_text() + "\nnope:x a nope:Y .\n")
    )
    _one_line_error(result, 2, "places.ttl:", 'Prefix "nope:" not bound')


def test_missing_source_file(fresh: Path) -> None:
    result = _rebuild_after(fresh, lambda: (report_dir(fresh) / "source.txt").unlink())
    _one_line_error(result, 2, "source.txt", "missing source file")


def test_offset_outside_the_text(fresh: Path) -> None:
    extra = report_dir(fresh) / "zz-extra.ttl"
    phrase = (
        "@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .\n"
        f'<id/document/{REPORT_SLUG}#char=5000,5010> nif:anchorOf "x" .\n'
    )
    result = _rebuild_after(fresh, lambda: extra.write_text(phrase))
    _one_line_error(result, 2, "zz-extra.ttl:2", "outside the text")


def test_shape_violation(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"

    def break_a_date() -> None:
        text = facts.read_text()
        facts.write_text(text.replace('schema:endDate "2021-05-14"', 'schema:endDate "2021-05-01"'))

    result = _rebuild_after(fresh, break_a_date)
    _one_line_error(result, 1, "violation")


def test_validate_reports_violations_with_labels(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"
    facts.write_text(
        facts.read_text().replace('schema:endDate "2021-05-14"', 'schema:endDate "2021-05-01"')
    )
    result = tipkg("validate", cwd=fresh)
    assert result.returncode == 1
    assert "Sixth Meeting of National Authorities" in result.stdout
    assert "Traceback" not in result.stderr
