"""The search stage: entries per unit, the index file (fresh and updated), the query language,
ranked hits with safe snippets and facet counts, and ``tipkg search``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from tipkg.cli import main
from tipkg.dist import SEARCH_INDEX_NAME
from tipkg.errors import SearchError
from tipkg.graph import KnowledgeGraph, Materialiser, UnitGraph, assemble, assemble_unit, load_rules
from tipkg.project import Unit, load_project
from tipkg.search import (
    Entry,
    SearchIndex,
    load_entries,
    save_entries,
    search,
    unit_entries,
    update_index,
    write_index,
)
from tipkg.settings import Settings
from tipkg.synth import write_corpus
from tipkg.vocab import SCHEMA, Iris

from support import PROJECT_ROOT, REPORT_SLUG, write_search_index

BASE = "https://w3id.org/tipkg/"
SENTENCE = f"{BASE}id/document/{REPORT_SLUG}/sentence/"


@pytest.fixture(scope="module")
def project_graph() -> KnowledgeGraph:
    return assemble(load_project(PROJECT_ROOT), Settings.load({}, environ={}))


@pytest.fixture(scope="module")
def entries(project_graph: KnowledgeGraph) -> list[Entry]:
    return [e for unit in project_graph.units for e in unit_entries(unit, BASE)]


@pytest.fixture(scope="module")
def index(entries: list[Entry], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / SEARCH_INDEX_NAME
    write_index(entries, path)
    return path


def hit_iris(index: Path, text: str, **filters: object) -> dict[str, str]:
    return {hit.iri: hit.kind for hit in search(index, text, limit=100, **filters).hits}


# ------------------------------------------------------------------ entries


def test_entries_have_kinds_labels_documents_and_years(entries: list[Entry]) -> None:
    by_iri = {(e.iri, e.document): e for e in entries}
    haiti = by_iri[(f"{BASE}id/place/haiti", None)]
    assert (haiti.kind, haiti.label, haiti.year) == ("state", "Haiti", None)
    assert by_iri[(f"{BASE}id/place/turks-and-caicos-islands", None)].kind == "territory"
    assert by_iri[(f"{BASE}id/org/tipcom", None)].names == (
        "Regional Trafficking In Persons Committee",
        "TIPCOM",
    )
    meeting = by_iri[(f"{BASE}id/event/oas-national-authorities-tip-2021", REPORT_SLUG)]
    assert (meeting.kind, meeting.year) == ("meeting", 2021)
    membership = by_iri[(f"{BASE}id/membership/tipcom-antigua-and-bermuda", REPORT_SLUG)]
    assert membership.kind == "other"
    assert membership.names == ("Antigua and Bermuda",)
    assert "No state or territory" in membership.notes[0]
    sentence = by_iri[(SENTENCE + "6", REPORT_SLUG)]
    assert sentence.kind == "sentence"
    assert sentence.text[0].startswith("The Turks and Caicos, Antigua and Barbuda")
    assert (sentence.sentence.number, sentence.year) == (6, 2021)
    source = (PROJECT_ROOT / "data" / "reports" / REPORT_SLUG / "source.txt").read_text()
    assert source[sentence.sentence.begin : sentence.sentence.end] == sentence.text[0]
    kinds = {e.kind for e in entries}
    assert kinds == {
        "meeting",
        "state",
        "territory",
        "organisation",
        "concept",
        "sentence",
        "statement",
        "report",
        "other",
    }
    # The ontology's terms and the dataset's description are not searched.
    assert not any(e.unit.endswith(("graph/ontology", "graph/dataset")) for e in entries)


def test_entries_are_deterministic_and_saved_exactly(
    project_graph: KnowledgeGraph, entries: list[Entry], tmp_path: Path
) -> None:
    again = [e for unit in project_graph.units for e in unit_entries(unit, BASE)]
    assert again == entries
    save_entries(entries, tmp_path / "entries.jsonl")
    assert list(load_entries(tmp_path / "entries.jsonl")) == entries


# ------------------------------------------------------------------ queries on the real project


def test_haiti_finds_the_state_the_membership_and_sentence_6(index: Path) -> None:
    result = search(index, "Haiti")
    assert {hit.iri: hit.kind for hit in result.hits} == {
        f"{BASE}id/place/haiti": "state",
        f"{BASE}id/membership/tipcom-haiti": "other",
        SENTENCE + "6": "sentence",
    }
    assert result.total == 3
    sentence = next(hit for hit in result.hits if hit.kind == "sentence")
    assert (sentence.document, sentence.year) == (REPORT_SLUG, 2021)
    assert (sentence.sentence.number, sentence.sentence.begin) == (6, 1093)
    assert [part.text for part in sentence.snippet if part.match] == ["Haiti"]
    # Names rank above sentences.
    assert result.hits[-1].kind == "sentence"


def test_a_phrase_finds_the_agenda_concept_and_sentence_5(index: Path) -> None:
    hits = hit_iris(index, '"victim protection"')
    assert hits == {
        f"{BASE}id/concept/victim-protection-and-recovery-services": "concept",
        SENTENCE + "5": "sentence",
    }
    # The words apart are not the phrase: sentence 9 has "protection" and "victims" only.
    assert SENTENCE + "9" in hit_iris(index, "victim* protection")


def test_a_prefix_matches_every_word_it_starts(index: Path) -> None:
    result = search(index, "traffick*", limit=100)
    matched = {part.text.lower() for hit in result.hits for part in hit.snippet if part.match}
    assert {"trafficking", "traffickers"} <= matched
    assert all(m.startswith("traffick") for m in matched)
    assert result.total == len(result.hits) == sum(c for _, c in result.facets["kind"].counts)


def test_filters_and_facets_count_every_hit(index: Path, entries: list[Entry]) -> None:
    expected = [
        e
        for e in entries
        if re.search(r"\btraffick", " ".join((*e.names, *e.text, *e.notes)), re.IGNORECASE)
    ]
    everything = search(index, "traffick*", limit=5)
    assert everything.total == len(expected)
    assert len(everything.hits) == 5
    kinds = dict(everything.facets["kind"].counts)
    assert kinds == {kind: sum(1 for e in expected if e.kind == kind) for kind in kinds}
    assert dict(everything.facets["document"].counts) == {
        REPORT_SLUG: sum(1 for e in expected if e.document)
    }

    sentences = search(index, "traffick*", kinds=["sentence"], limit=100)
    assert sentences.total == kinds["sentence"] == len(sentences.hits)
    assert {hit.kind for hit in sentences.hits} == {"sentence"}
    # The kind facet still shows the other kinds, so a reader can switch.
    assert dict(sentences.facets["kind"].counts) == kinds
    assert dict(sentences.facets["document"].counts) == {REPORT_SLUG: kinds["sentence"]}

    two_kinds = search(index, "traffick*", kinds=["sentence", "statement"])
    assert two_kinds.total == kinds["sentence"] + kinds["statement"]

    in_report = search(index, "Haiti", document=REPORT_SLUG)
    assert in_report.total == 2
    assert {hit.kind for hit in in_report.hits} == {"other", "sentence"}
    assert search(index, "Haiti", document="no-such-report").total == 0
    assert search(index, "Haiti", year=2021).total == 2
    assert search(index, "Haiti", year=1999).total == 0


def test_pages_follow_each_other_in_a_fixed_order(index: Path) -> None:
    whole = search(index, "traffick* OR Saint", limit=100).hits
    pages = [
        hit
        for offset in range(0, len(whole), 7)
        for hit in search(index, "traffick* OR Saint", limit=7, offset=offset).hits
    ]
    assert pages == list(whole)
    scores = [hit.score for hit in whole]
    assert scores == sorted(scores, reverse=True)
    assert search(index, "Haiti", offset=50).hits == ()


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ("Haiti OR Argentina", {f"{BASE}id/place/haiti", f"{BASE}id/place/argentina"}),
        ("Haiti Saint", {SENTENCE + "6"}),
        ("Haiti AND Saint", {SENTENCE + "6"}),
        ("(Haiti OR Argentina) NOT Saint", {f"{BASE}id/place/haiti", f"{BASE}id/place/argentina"}),
        ("COVID-19 pandemic", {f"{BASE}id/event/covid-19-pandemic", SENTENCE + "1"}),
        ("St. Vincent", {SENTENCE + "6"}),
    ],
)
def test_operators_and_punctuation(index: Path, query: str, answer: set[str]) -> None:
    assert answer <= set(hit_iris(index, query))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"victim protection', "unbalanced quote"),
        ("AND", "AND needs a term before it"),
        ("Haiti OR", "OR needs a term after it"),
        ("NOT Haiti", "NOT needs a term before it"),
        ("Haiti AND NOT Cuba", "write NOT without AND"),
        ("(Haiti", "unclosed '('"),
        ("Haiti)", "unmatched ')'"),
        ("()", "nothing to search for"),
        ("* ", "a '*' must follow"),
        ("t*", "a prefix needs at least 2 letters"),
        ("", "nothing to search for"),
        ("- ...", "nothing to search for"),
        ("x" * 301, "at most 300"),
        (" ".join(["Haiti"] * 17), "at most 16"),
    ],
)
def test_a_query_it_cannot_read_is_a_one_line_search_error(
    index: Path, query: str, message: str
) -> None:
    with pytest.raises(SearchError, match=re.escape(message)) as caught:
        search(index, query)
    assert "\n" not in str(caught.value)


def test_bad_filters_are_search_errors(index: Path) -> None:
    with pytest.raises(SearchError, match="no kind 'meetings': choose from meeting, state"):
        search(index, "Haiti", kinds=["meetings"])
    with pytest.raises(SearchError, match="limit must be 1 to 100"):
        search(index, "Haiti", limit=0)


def test_html_in_a_literal_comes_back_escaped(tmp_path: Path) -> None:
    subject = ox.NamedNode(f"{BASE}id/org/test")
    literal = 'Ministry <script>alert("x")</script> & Co'
    unit = UnitGraph(
        Unit("shared", "", ()),
        ox.NamedNode(f"{BASE}graph/shared"),
        frozenset({ox.Triple(subject, ox.NamedNode(str(SCHEMA.name)), ox.Literal(literal))}),
        {},
    )
    write_index(unit_entries(unit, BASE), tmp_path / "index.sqlite")
    (hit,) = search(tmp_path / "index.sqlite", "script").hits
    assert "".join(part.text for part in hit.snippet) == literal
    rendered = "".join(f"<mark>{p.html}</mark>" if p.match else p.html for p in hit.snippet)
    assert rendered == (
        "Ministry &lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; "
        "&amp; Co"
    )
    assert hit.to_json()["snippet"][1] == {"text": "script", "html": "script", "match": True}


def test_the_index_file_is_the_same_for_the_same_entries(
    entries: list[Entry], index: Path, tmp_path: Path
) -> None:
    write_index(reversed(entries), tmp_path / "again.sqlite")
    assert (tmp_path / "again.sqlite").read_bytes() == index.read_bytes()


def test_a_missing_or_foreign_index_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no search index: run `tipkg build` first"):
        search(tmp_path / "absent.sqlite", "Haiti")
    (tmp_path / "other.sqlite").write_bytes(b"not SQLite at all" * 100)
    with pytest.raises(Exception, match="not a search index"):
        search(tmp_path / "other.sqlite", "Haiti")


# ------------------------------------------------------------------ incremental, on a corpus


def test_an_updated_index_answers_as_a_fresh_one(tmp_path: Path) -> None:
    """One report changed, one added, one removed: the copy updated in place answers every
    query exactly as an index built from nothing."""
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 8, 3, PROJECT_ROOT, BASE)
    project = load_project(corpus)
    kg = assemble(project, Settings.load({}, environ={}))
    reports = [u for u in kg.units if u.unit.kind == "document"]
    removed, changed, added = reports[0], reports[1], reports[-1]

    facts = changed.unit.turtle_files[-1]
    text = facts.read_text(encoding="utf-8")
    edited = re.sub(r'(schema:description ")', r"\1Amended account. ", text, count=1)
    assert edited != text
    facts.write_text(edited, encoding="utf-8")
    materialiser = Materialiser(kg.units[0].triples, load_rules(project.rule_files, BASE), BASE)
    changed_again = assemble_unit(changed.unit, Iris(BASE), materialiser)

    def entries_of(units: list[UnitGraph]) -> list[Entry]:
        return [e for unit in units for e in unit_entries(unit, BASE)]

    before = entries_of([u for u in kg.units if u is not added])
    after_units = [changed_again if u is changed else u for u in kg.units if u is not removed]
    write_index(before, tmp_path / "before.sqlite")
    write_index(entries_of(after_units), tmp_path / "fresh.sqlite")
    count = update_index(
        tmp_path / "before.sqlite",
        tmp_path / "updated.sqlite",
        [removed.graph.value],
        entries_of([changed_again, added]),
    )
    assert count == len(entries_of(after_units))

    queries = [
        "Amended",
        "meeting",
        "traffick*",
        '"took part"',
        "hosted OR convened",
        removed.unit.name.split("-")[0],
        added.unit.name.split("-")[0],
    ]
    with (
        SearchIndex(tmp_path / "fresh.sqlite") as fresh,
        SearchIndex(tmp_path / "updated.sqlite") as updated,
    ):
        for query in queries:
            for filters in ({}, {"kinds": ["sentence"]}, {"document": changed.unit.name}):
                assert updated.search(query, limit=100, **filters) == fresh.search(
                    query, limit=100, **filters
                ), (query, filters)
        assert fresh.search("Amended").total >= 1
        assert fresh.search("Amended", document=changed.unit.name).total >= 1
        assert updated.search("meeting", document=removed.unit.name).total == 0
        assert updated.search("meeting", document=added.unit.name).total > 0


# ------------------------------------------------------------------ the command


def test_tipkg_search_prints_hits_and_json(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_search_index(PROJECT_ROOT, dist / SEARCH_INDEX_NAME)
    runner = CliRunner()
    text = runner.invoke(main, ["search", "Haiti", "--dist", str(dist)])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("1–3 of 3 hits for Haiti\n")
    assert "[Haiti], and Antigua and Bermuda" in text.output
    assert "kind: other 1, sentence 1, state 1" in text.output

    answer = runner.invoke(
        main,
        [
            "search",
            '"victim protection"',
            "--kind",
            "sentence",
            "--format",
            "json",
            "--dist",
            str(dist),
        ],
    )
    assert answer.exit_code == 0, answer.output
    result = json.loads(answer.output)
    assert result["total"] == 1
    assert result["hits"][0]["sentence"] == {"number": 5, "begin": 730, "end": 1092}

    bad = runner.invoke(main, ["search", "Haiti OR", "--dist", str(dist)])
    assert bad.exit_code == 2
    assert bad.output == "tipkg: error: OR needs a term after it: trafficking OR smuggling\n"
    missing = runner.invoke(main, ["search", "Haiti", "--dist", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    assert "no search index: run `tipkg build` first" in missing.output
