"""Synthetic corpora: they build with the real pipeline, conform to the real shapes, share entities
the way reports do, are deterministic per seed, and planted faults give exactly the findings
``planted.json`` promises."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from rdflib import URIRef
from rdflib.namespace import PROV, RDF

from tipkg.errors import InputError
from tipkg.graph import KnowledgeGraph, assemble
from tipkg.project import load_project
from tipkg.settings import Settings
from tipkg.synth import PLANT_KINDS, PLANTED_FILE, POLITIES, CorpusSummary, write_corpus
from tipkg.validate import check
from tipkg.vocab import NIF, SCHEMA, Iris

from support import PROJECT_ROOT, TIPKG, copy_project, snapshot

BASE = "https://w3id.org/tipkg/"
DOCUMENTS = 16
SEED = 3
TIP = Iris(BASE).tip


def build(corpus: Path) -> KnowledgeGraph:
    return assemble(load_project(corpus), Settings.load({"base_iri": BASE}, environ={}))


def documents_of(kg: KnowledgeGraph, subject: URIRef, predicate: URIRef) -> set[str]:
    """The reports whose graphs state ``predicate`` of ``subject``."""
    prefix = str(kg.iris.graph("document")) + "/"
    return {
        str(g.identifier).removeprefix(prefix)
        for g in kg.dataset.graphs()
        if str(g.identifier).startswith(prefix) and (subject, predicate, None) in g
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> CorpusSummary:
    out = tmp_path_factory.mktemp("synth") / "corpus"
    return write_corpus(out, DOCUMENTS, SEED, PROJECT_ROOT, BASE)


@pytest.fixture(scope="module")
def corpus(written: CorpusSummary) -> Path:
    return written.out_dir


@pytest.fixture(scope="module")
def kg(corpus: Path) -> KnowledgeGraph:
    return build(corpus)


def test_the_corpus_is_a_project_that_conforms_to_the_real_shapes(
    corpus: Path, kg: KnowledgeGraph
) -> None:
    project = load_project(corpus)
    assert len(project.reports) == DOCUMENTS
    assert all(len(report.turtle_files) == 2 for report in project.reports)
    for part in ("ontology", "shapes", "queries"):
        assert snapshot(corpus / part) == snapshot(PROJECT_ROOT / part)
    report = check(kg, project.shape_files)
    assert report.results == [], report.format_text()
    assert report.conforms
    title = kg.union.value(URIRef(BASE + "dataset"), URIRef("http://purl.org/dc/terms/title"))
    assert "synthetic" in str(title)


def test_every_phrase_anchor_is_the_text_at_its_offsets(kg: KnowledgeGraph) -> None:
    phrases = list(kg.union.subjects(RDF.type, NIF.Phrase))
    assert len(phrases) >= DOCUMENTS / 2
    for phrase in phrases:
        slug, begin, end = re.fullmatch(r".*/document/(.+)#char=(\d+),(\d+)", phrase).groups()
        text = kg.sources[slug].text
        assert str(kg.union.value(phrase, NIF.anchorOf)) == text[int(begin) : int(end)]
        assert kg.union.value(phrase, NIF.superString) is not None  # inside one sentence


def test_statements_cite_the_sentence_that_words_them(kg: KnowledgeGraph) -> None:
    """Sentence numbers are right: each statement's description is its cited sentence's text."""
    statements = list(kg.union.subjects(RDF.type, TIP.Statement))
    assert statements
    for statement in statements:
        (sentence,) = kg.union.objects(statement, PROV.wasDerivedFrom)
        anchor = kg.union.value(sentence, NIF.anchorOf)
        assert str(kg.union.value(statement, SCHEMA.description)) == str(anchor)


def test_states_organisations_and_series_are_shared_and_cited(kg: KnowledgeGraph) -> None:
    shared = kg.dataset.graph(kg.iris.graph("shared"))
    kinds = (TIP.SovereignState, TIP.DependentTerritory, TIP.Committee, TIP.MeetingSeries)
    citing = {
        entity: documents_of(kg, entity, PROV.wasDerivedFrom)
        for kind in kinds
        for entity in shared.subjects(RDF.type, kind)
    }
    assert all(citing.values()), "a shared entity no report mentions"
    assert max(len(reports) for reports in citing.values()) >= 3
    series = [e for e in citing if (e, RDF.type, TIP.MeetingSeries) in shared]
    assert any(len(citing[s]) >= 2 for s in series)
    names = {str(name) for name in shared.objects(None, SCHEMA.name)}
    assert names & {polity.name for polity in POLITIES}


def test_a_meeting_described_by_two_reports_is_described_alike(
    kg: KnowledgeGraph, written: CorpusSummary
) -> None:
    meetings = set(kg.union.subjects(RDF.type, TIP.Meeting))
    assert len(meetings) == written.meetings
    seen_twice = [m for m in meetings if len(documents_of(kg, m, RDF.type)) >= 2]
    assert len(seen_twice) == written.meetings_described_twice > 0
    for meeting in seen_twice:
        for predicate in (SCHEMA.startDate, SCHEMA.endDate, TIP.ordinal, TIP.inSeries):
            assert len(set(kg.union.objects(meeting, predicate))) == 1
    ordinals = Counter(
        (kg.union.value(m, TIP.inSeries), kg.union.value(m, TIP.ordinal)) for m in meetings
    )
    assert max(ordinals.values()) == 1  # one ordinal per series
    days = {
        (kg.union.value(m, SCHEMA.startDate) == kg.union.value(m, SCHEMA.endDate)) for m in meetings
    }
    assert days == {True, False}  # one-day and multi-day meetings
    modes = {(m, SCHEMA.eventAttendanceMode, None) in kg.union for m in meetings}
    assert modes == {True, False}  # attendance modes stated and not


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        write_corpus(tmp_path / name, 40, seed, PROJECT_ROOT, BASE)
    first = snapshot(tmp_path / "a" / "data")
    assert first == snapshot(tmp_path / "b" / "data")
    other = snapshot(tmp_path / "c" / "data")
    assert other != first
    assert set(other) != set(first)  # other reports, not only other bytes


def test_planted_violations_are_exactly_what_validation_reports(tmp_path: Path) -> None:
    out = tmp_path / "planted"
    summary = write_corpus(out, DOCUMENTS, SEED, PROJECT_ROOT, BASE, plant=len(PLANT_KINDS))
    planted = json.loads((out / PLANTED_FILE).read_text(encoding="utf-8"))["violations"]
    assert summary.planted == len(planted) == len(PLANT_KINDS)
    assert [v["kind"] for v in planted] == list(PLANT_KINDS)
    cross_document = [v for v in planted if len(set(v["reports"])) == 2]
    assert {v["kind"] for v in cross_document} >= {"dates-disagree", "duplicate-ordinal"}
    expected = {(f["focus"], f["message"]) for v in planted for f in v["findings"]}
    report = check(build(out), load_project(out).shape_files)
    assert not report.conforms
    assert {(f.focus, f.message) for f in report.results} == expected
    assert all(f.severity == "Violation" for f in report.results)


def test_a_corpus_too_small_to_plant_in_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(InputError, match="cannot plant 'dates-disagree'"):
        write_corpus(tmp_path / "tiny", 1, SEED, PROJECT_ROOT, BASE, plant=1)
    assert not (tmp_path / "tiny").exists()


def test_the_help_example_writes_a_corpus_that_validates(tmp_path: Path) -> None:
    """`tipkg synth --help`'s example, run as printed in a curator's copy of the project."""
    help_text = subprocess.run(
        [TIPKG, "synth", "--help"], capture_output=True, text=True, check=True
    ).stdout
    example = help_text.split("Example:", 1)[1].strip().split("\n\n", 1)[0].splitlines()
    example = [line.strip() for line in example]
    assert [line.split()[:2] for line in example] == [["tipkg", "synth"], ["tipkg", "--project"]]
    project = copy_project(tmp_path / "project")
    results = []
    for line in example:
        command = [TIPKG, *shlex.split(line)[1:]]
        results.append(subprocess.run(command, cwd=project, capture_output=True, text=True))
    synth, validate = results
    assert synth.returncode == 0, synth.stderr
    assert re.fullmatch(r"wrote 5 synthetic reports .* in \d+\.\d s\n", synth.stdout)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout.startswith("conforms:")
    again = subprocess.run(
        [TIPKG, *shlex.split(example[0])[1:]], cwd=project, capture_output=True, text=True
    )
    assert again.returncode == 2
    assert again.stderr == "tipkg: error: corpus: output directory exists and is not empty\n"


def test_a_corpus_follows_the_base_iri_in_effect(tmp_path: Path) -> None:
    other = "http://127.0.0.1:8080/"
    write_corpus(tmp_path / "c", 3, SEED, PROJECT_ROOT, other)
    facts = next((tmp_path / "c" / "data" / "reports").glob("*/facts.ttl")).read_text()
    assert f"<{other}id/event/>" in facts and BASE not in facts
    assert "@base" not in facts
