"""The search stage: entries per unit, the index file (fresh and updated), the query language,
ranked hits with safe snippets and facet counts, and ``tipkg search``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from tipkg.cli import main
from tipkg.dist import SEARCH_INDEX_DIR
from tipkg.errors import InputError, SearchError
from tipkg.graph import KnowledgeGraph, Materialiser, UnitGraph, assemble, assemble_unit, load_rules
from tipkg.project import Unit, load_project
from tipkg.search import engine
from tipkg.search.engine import Hit, SearchIndex, search
from tipkg.search.entries import unit_entries
from tipkg.search.index import update_index, write_index
from tipkg.search.model import Entry, entries_json, read_entries
from tipkg.settings import Settings
from tipkg.synth import write_corpus
from tipkg.vocab import SCHEMA, Iris

from support import PROJECT_ROOT, REPORT_SLUG

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
    path = tmp_path_factory.mktemp("search") / SEARCH_INDEX_DIR
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
    assert list(read_entries(entries_json(entries))) == entries


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
    # Names rank above sentences; of equal scores, a state comes before other kinds.
    assert [hit.kind for hit in result.hits] == ["state", "other", "sentence"]


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
        ('"victim prot"*', "a '*' ends a word, not a quoted phrase"),
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
    assert search(index, "Haiti", year=0).total == search(index, "Haiti", year=10**30).total == 0


def test_a_prefix_that_stands_for_too_many_words_is_refused(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "MAX_PREFIX_WORDS", 1)
    assert search(index, "Hait*").total == 3  # "haiti" alone
    with pytest.raises(SearchError, match="co\\* stands for more than 1 words: type more"):
        search(index, "co*")


def test_html_in_a_literal_comes_back_escaped(tmp_path: Path) -> None:
    subject = ox.NamedNode(f"{BASE}id/org/test")
    literal = 'Ministry <script>alert("x")</script> & Co'
    unit = UnitGraph(
        Unit("shared", "", ()),
        ox.NamedNode(f"{BASE}graph/shared"),
        frozenset({ox.Triple(subject, ox.NamedNode(str(SCHEMA.name)), ox.Literal(literal))}),
        {},
    )
    write_index(unit_entries(unit, BASE), tmp_path / "index")
    (hit,) = search(tmp_path / "index", "script").hits
    assert "".join(part.text for part in hit.snippet) == literal
    rendered = "".join(f"<mark>{p.html}</mark>" if p.match else p.html for p in hit.snippet)
    assert rendered == (
        "Ministry &lt;<mark>script</mark>&gt;alert(&quot;x&quot;)&lt;/<mark>script</mark>&gt; "
        "&amp; Co"
    )
    assert hit.to_json()["snippet"][1] == {"text": "script", "html": "script", "match": True}


def test_the_same_entries_answer_the_same_in_any_order(
    entries: list[Entry], index: Path, tmp_path: Path
) -> None:
    """Not the same bytes (Tantivy names its files by random UUIDs, which is why the index is
    left out of SHA256SUMS), but the same answers, scores and the order of ties included."""
    write_index(reversed(entries), tmp_path / "again")
    assert {p.name for p in index.iterdir()} != {p.name for p in (tmp_path / "again").iterdir()}
    once, again = SearchIndex(index), SearchIndex(tmp_path / "again")
    for query in ("Haiti", "traffick*", "meeting OR report", '"trafficking in persons"', "the"):
        assert once.search(query, limit=100) == again.search(query, limit=100)


def test_a_missing_or_foreign_index_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no search index: run `tipkg build` first"):
        search(tmp_path / "absent", "Haiti")
    (tmp_path / "search.sqlite").write_bytes(b"an index of another layout")
    with pytest.raises(InputError, match="not a search index of this tipkg"):
        search(tmp_path / "search.sqlite", "Haiti")


# ------------------------------------------------------------------ incremental, on a corpus


@dataclass(frozen=True)
class CorpusChange:
    """A synthetic corpus before and after one report changed, one was added, one removed."""

    before: list[Entry]
    after: list[Entry]
    removed: str  # the removed report's graph IRI
    replaced: list[Entry]  # the entries of the changed and the added report
    slugs: dict[str, str]  # "removed", "changed", "added" → slug


@pytest.fixture(scope="module")
def corpus_change(tmp_path_factory: pytest.TempPathFactory) -> CorpusChange:
    corpus = tmp_path_factory.mktemp("corpus") / "corpus"
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

    after = [changed_again if u is changed else u for u in kg.units if u is not removed]
    return CorpusChange(
        before=entries_of([u for u in kg.units if u is not added]),
        after=entries_of(after),
        removed=removed.graph.value,
        replaced=entries_of([changed_again, added]),
        slugs={
            "removed": removed.unit.name,
            "changed": changed.unit.name,
            "added": added.unit.name,
        },
    )


QUERIES = ("Amended", "meeting", "traffick*", '"took part"', "hosted OR convened", "the")
FILTERS = ({}, {"offset": 40}, {"kinds": ["sentence"]}, {"year": 2015})


def test_an_index_updated_with_a_new_report_answers_as_a_fresh_one(
    corpus_change: CorpusChange, tmp_path: Path
) -> None:
    """Only added: the same answers exactly, scores and the order of ties included."""
    change = corpus_change
    added = [e for e in change.replaced if e.document == change.slugs["added"]]
    without = [e for e in change.after if e.document != change.slugs["added"]]
    write_index(without, tmp_path / "before")
    write_index(change.after, tmp_path / "fresh")
    count = update_index(tmp_path / "before", tmp_path / "updated", [], added)
    assert count == len(change.after)
    fresh, updated = SearchIndex(tmp_path / "fresh"), SearchIndex(tmp_path / "updated")
    for query in (*QUERIES, change.slugs["added"].split("-")[0]):
        for filters in (*FILTERS, {"document": change.slugs["added"]}):
            assert updated.search(query, limit=100, **filters) == fresh.search(
                query, limit=100, **filters
            ), (query, filters)


def test_an_index_updated_for_a_changed_and_a_removed_report_finds_what_a_fresh_one_finds(
    corpus_change: CorpusChange, tmp_path: Path
) -> None:
    """Changed, added and removed: the same hits, counts, facets and snippets. Scores differ
    while Tantivy keeps the replaced entries in its BM25 statistics (until it merges their
    segment): by the weight of those entries, here a quarter of this small corpus; at 10,000
    reports with one changed, by about 3e-5 (bench/README.md)."""
    change = corpus_change
    write_index(change.before, tmp_path / "before")
    write_index(change.after, tmp_path / "fresh")
    count = update_index(
        tmp_path / "before", tmp_path / "updated", [change.removed], change.replaced
    )
    assert count == len(change.after)
    fresh, updated = SearchIndex(tmp_path / "fresh"), SearchIndex(tmp_path / "updated")
    for query in (*QUERIES, *(slug.split("-")[0] for slug in change.slugs.values())):
        for filters in (*FILTERS, {"document": change.slugs["changed"]}):
            ours = updated.search(query, limit=100, **filters)
            theirs = fresh.search(query, limit=100, **filters)
            assert (ours.total, ours.facets) == (theirs.total, theirs.facets), (query, filters)
            if filters.get("offset"):
                continue  # which hits fall on a later page depends on the order
            assert _by_iri(ours.hits) == _by_iri(theirs.hits), (query, filters)
            for hit in ours.hits:
                other = next(h for h in theirs.hits if h.iri == hit.iri)
                assert hit.score == pytest.approx(other.score, rel=0.3)
    assert updated.search("Amended", document=change.slugs["changed"]).total >= 1
    assert updated.search("meeting", document=change.slugs["removed"]).total == 0
    assert updated.search("meeting", document=change.slugs["added"]).total > 0


def _by_iri(hits: tuple[Hit, ...]) -> list[Hit]:
    return sorted((replace(hit, score=0.0) for hit in hits), key=lambda hit: hit.iri)


def test_a_long_document_facet_says_how_many_hits_it_leaves_out(
    corpus_change: CorpusChange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(engine.FACET_SIZES, "document", 3)
    write_index(corpus_change.after, tmp_path / "index")
    facet = search(tmp_path / "index", "meeting").facets["document"]
    per_document: dict[str, int] = {}
    for entry in corpus_change.after:
        text = " ".join((*entry.names, *entry.text, *entry.notes))
        if entry.document and re.search(r"\bmeeting\b", text, re.IGNORECASE):
            per_document[entry.document] = per_document.get(entry.document, 0) + 1
    expected = sorted(per_document.items(), key=lambda pair: (-pair[1], pair[0]))
    assert len(expected) == 7
    assert facet.counts == tuple(expected[:3])
    assert facet.others == sum(count for _, count in expected[3:])


# ------------------------------------------------------------------ the command


def test_tipkg_search_prints_hits_and_json(dist_dir: Path, tmp_path: Path) -> None:
    """On the index ``tipkg build`` wrote (the session's build)."""
    dist = dist_dir
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
