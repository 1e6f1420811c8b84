"""The CLI as a user runs it: a real subprocess, real exit codes, real files."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS

from support import REPORT_SLUG, TIPKG, copy_project, one_line_error, report_dir, snapshot, tipkg

COMMANDS = ("build", "validate", "query", "export", "stats", "synth", "serve", "publish")


@pytest.fixture(scope="module")
def build_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A curator's copy of the project with a successful build in it, and what it printed."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    result = tipkg("build", cwd=project)
    assert result.returncode == 0, result.stderr
    return project, result.stdout


@pytest.fixture(scope="module")
def built(build_run: tuple[Path, str]) -> Path:
    return build_run[0]


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


def test_build_writes_dist_and_reports_it(build_run: tuple[Path, str]) -> None:
    built, printed = build_run
    manifest = json.loads((built / "dist" / "manifest.json").read_text())
    assert manifest["triples"] > 800
    assert (built / "dist" / "tipkg.ttl").stat().st_size > 10_000
    lines = printed.splitlines()
    assert (
        lines[0] == f"built {manifest['triples']} triples in {len(manifest['graphs'])} named graphs"
    )
    assert lines[1] == f"wrote {(built / 'dist').resolve()}/"
    listed = [line.split() for line in lines[2:-1]]
    assert [(name, size, sha) for name, size, _, _, sha in listed] == [
        (entry["name"], f"{entry['bytes']:,}", entry["sha256"][:16] + "…")
        for entry in manifest["files"]
    ]
    assert re.fullmatch(
        r"1 of 1 reports rebuilt and 6 shared graphs, 0 reused, 0 removed; done in \d+\.\d\d s",
        lines[-1],
    )


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


@pytest.mark.parametrize("engine", ["tipkg", "pyshacl"])
def test_validate_passes_on_the_data(built: Path, engine: str) -> None:
    result = tipkg("validate", "--engine", engine, cwd=built)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "conforms: 874 triples checked against 10 shape files\n"
        "saint-lucia-tip-meetings-2021: 0 of 11 sentences cited by no fact\n"
    )


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


def _rebuild_after(project: Path, edit: Callable[[], object]) -> subprocess.CompletedProcess[str]:
    before = snapshot(project / "dist")
    edit()
    result = tipkg("build", cwd=project)
    assert snapshot(project / "dist") == before, "dist/ changed after a failed build"
    return result


@pytest.fixture
def fresh(built: Path, tmp_path: Path) -> Path:
    """A copy of the built project (its dist/ included) that a test may break."""
    return Path(shutil.copytree(built, tmp_path / "project"))


def test_malformed_turtle(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"
    result = _rebuild_after(
        fresh, lambda: facts.write_text(facts.read_text() + '\nevent:x schema:name "open .\n')
    )
    one_line_error(result, 2, "facts.ttl:", "Turtle syntax error")


def test_unknown_prefix(fresh: Path) -> None:
    places = fresh / "data" / "shared" / "places.ttl"
    result = _rebuild_after(
        fresh, lambda: places.write_text(places.read_text() + "\nnope:x a nope:Y .\n")
    )
    one_line_error(result, 2, "places.ttl:", "The prefix nope: has not been declared")


def test_missing_source_file(fresh: Path) -> None:
    result = _rebuild_after(fresh, lambda: (report_dir(fresh) / "source.txt").unlink())
    one_line_error(result, 2, "source.txt", "missing source.txt for report")


def test_offset_outside_the_text(fresh: Path) -> None:
    extra = report_dir(fresh) / "zz-extra.ttl"
    phrase = (
        "@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .\n"
        f'<id/document/{REPORT_SLUG}#char=5000,5010> nif:anchorOf "x" .\n'
    )
    result = _rebuild_after(fresh, lambda: extra.write_text(phrase))
    one_line_error(result, 2, "zz-extra.ttl:2", "outside the text")


def test_shape_violation(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"

    def break_a_date() -> None:
        text = facts.read_text()
        facts.write_text(text.replace('schema:endDate "2021-05-14"', 'schema:endDate "2021-05-01"'))

    result = _rebuild_after(fresh, break_a_date)
    one_line_error(result, 1, "violation")


def test_validate_reports_violations_with_labels(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"
    facts.write_text(
        facts.read_text().replace('schema:endDate "2021-05-14"', 'schema:endDate "2021-05-01"')
    )
    for engine in ("tipkg", "pyshacl"):  # the reference finds the same, located the same
        result = tipkg("validate", "--engine", engine, cwd=fresh)
        assert result.returncode == 1
        assert result.stdout.splitlines()[:2] == [
            "data/reports/saint-lucia-tip-meetings-2021/facts.ttl:161: Violation  Organization "
            "of American States (OAS) Sixth Meeting of National Authorities on Trafficking in "
            "Persons (https://w3id.org/tipkg/id/event/oas-national-authorities-tip-2021)  "
            "schema:startDate: A meeting or event cannot end (schema:endDate) before it starts "
            "(schema:startDate).",
            "1 violation: 874 triples checked against 10 shape files",
        ]
        assert "Traceback" not in result.stderr


def test_a_finding_names_its_line_after_a_literal_holding_a_line_separator(fresh: Path) -> None:
    """U+2028 in a literal is no line break to Turtle or to an editor: later lines keep their
    numbers in a finding."""
    facts = report_dir(fresh) / "facts.ttl"
    meeting = "event:tipcom-2021 a tip:Meeting ;"
    text = facts.read_text(encoding="utf-8").replace(
        meeting,
        meeting
        + '\n    skos:editorialNote "one\u2028two"@en ;'
        + '\n    schema:attendee "Saint Lucia"@en ;',
        1,
    )
    facts.write_text(text, encoding="utf-8")
    line = text.split("\n").index('    schema:attendee "Saint Lucia"@en ;') + 1
    result = tipkg("validate", cwd=fresh)
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"data/reports/saint-lucia-tip-meetings-2021/facts.ttl:{line}: Violation  "
    ), result.stdout


def test_serve_refuses_a_base_iri_the_build_was_not_made_with(built: Path) -> None:
    """The store is served as built; asking for another base is one line naming both bases
    and the fix, before anything listens."""
    result = tipkg("--base-iri", "http://127.0.0.1:9/", "serve", "--port", "9", cwd=built)
    one_line_error(
        result,
        2,
        "https://w3id.org/tipkg/",
        "http://127.0.0.1:9/",
        "`tipkg --base-iri http://127.0.0.1:9/ build`",
    )


def test_serve_takes_typed_options_and_the_base_iri_before_the_command(
    built: Path, tmp_path: Path
) -> None:
    """`tipkg --base-iri URL serve --federation --max-rows N` really serves under URL, from a
    build made for URL, with federation on and N rows (the flag used to fail with "requires an
    argument")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    dist = tmp_path / "dist"
    cache = tmp_path / "cache"
    built_for_url = tipkg(
        "--base-iri", url, "--cache-dir", str(cache), "build", "--out", str(dist), "-q", cwd=built
    )
    assert built_for_url.returncode == 0, built_for_url.stderr
    args = ["--base-iri", url, "serve", "--dist", str(dist), "--port", str(port), "--federation"]
    args += ["--max-rows", "7"]
    process = subprocess.Popen(
        [TIPKG, *args, "--max-concurrent-queries", "1"],
        cwd=built,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            try:
                answer = httpx.get(url + "sparql", headers={"Accept": "text/turtle"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "tipkg serve did not start"
                time.sleep(0.2)
        rows = httpx.get(url + "sparql", params={"query": "SELECT * { ?s ?p ?o }"}).json()
    finally:
        process.terminate()
        process.wait(timeout=30)
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    description = rdflib.Graph().parse(data=answer.text, format="turtle")
    service = rdflib.URIRef(url + "sparql")
    assert (service, sd.feature, sd.BasicFederatedQuery) in description
    assert "return at most 7 rows" in str(description.value(service, RDFS.comment))
    assert (None, RDF.type, sd.Dataset) in description
    assert len(rows["results"]["bindings"]) == 7
    assert any(row["s"]["value"].startswith(url) for row in rows["results"]["bindings"])
