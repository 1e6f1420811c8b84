"""The curator's path: ``add-report`` writes a skeleton that asserts nothing and builds,
``reanchor`` moves citations after a corrected text (touching IRI tokens only), and
``validate`` counts the sentences no fact cites (``--strict`` fails on them)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from tipkg.curate import add_report
from tipkg.project import load_project
from tipkg.sources import split_sentences
from tipkg.synth import write_corpus
from tipkg.turtle_edit import iri_tokens, rewrite_iris, tokenize
from tipkg.vocab import NIF, Iris

from support import PROJECT_ROOT, REPORT_SLUG, copy_project, one_line_error, report_dir, tipkg

BASE = "https://w3id.org/tipkg/"
NEWS = (
    "Saint Lucia and Haiti joined a virtual meeting of the Organization of American States (OAS) "
    "on Monday, May 10, 2021. St. Vincent and the Grenadines also took part, with observers from "
    "the Republic of Utopia.\nThe meeting was told that human trafficking had grown.\n"
)
PHRASE_LINE = re.compile(r'^#\s+<id/document/([\w-]+)#char=(\d+),(\d+)> nif:anchorOf (".*") \.$')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A curator's copy of the project with a build in dist/ (and its cache)."""
    project = copy_project(tmp_path_factory.mktemp("curate") / "project")
    result = tipkg("build", "--quiet", cwd=project)
    assert result.returncode == 0, result.stderr
    return project


@pytest.fixture
def fresh(built: Path, tmp_path: Path) -> Path:
    """A copy of the built project that a test may change."""
    return Path(shutil.copytree(built, tmp_path / "project"))


def literal(turtle_string: str) -> str:
    """A Turtle string literal's value, read by a Turtle parser."""
    statement = f"<x:s> <x:p> {turtle_string} ."
    return next(iter(ox.parse(statement.encode(), format=ox.RdfFormat.TURTLE))).object.value


def triples(path: Path, base: str = BASE) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(path=path, format=ox.RdfFormat.TURTLE, base_iri=base)]


def phrases(path: Path, base: str = BASE) -> dict[str, str]:
    """Each phrase IRI written in ``path`` → its anchor."""
    return {
        t.subject.value: t.object.value
        for t in triples(path, base)
        if t.predicate.value == str(NIF.anchorOf)
    }


def offsets(phrase: str) -> tuple[int, int]:
    begin, end = re.search(r"#char=(\d+),(\d+)$", phrase).groups()  # type: ignore[union-attr]
    return int(begin), int(end)


# ------------------------------------------------------------------ add-report


def test_add_report_lists_known_entities_candidates_and_builds(fresh: Path) -> None:
    source = fresh / "news.txt"
    source.write_bytes(NEWS.encode("utf-8"))
    result = tipkg("add-report", "news.txt", "--slug", "utopia-oas-2021", cwd=fresh)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created data/reports/utopia-oas-2021/")
    folder = fresh / "data" / "reports" / "utopia-oas-2021"
    assert (folder / "source.txt").read_bytes() == source.read_bytes()
    assert triples(folder / "facts.ttl") == [] and triples(folder / "document.ttl") == []
    facts = (folder / "facts.ttl").read_text(encoding="utf-8")
    entities: dict[str, set[str]] = {}
    for block in facts.split("# ----")[1:]:
        lines = block.splitlines()
        for line, next_line in itertools.pairwise(lines):
            match = PHRASE_LINE.match(next_line)
            if match and not line.startswith("#   <"):
                begin, end = int(match.group(2)), int(match.group(3))
                anchor = literal(match.group(4))
                assert NEWS[begin:end] == anchor
                entities.setdefault(anchor, set()).update(re.findall(r"\b[a-z]+:[\w-]+", line))
    assert entities["Saint Lucia"] >= {"place:saint-lucia"}
    assert entities["Haiti"] >= {"place:haiti"}
    assert entities["Organization of American States"] >= {"tiporg:organization-of-american-states"}
    assert entities["OAS"] >= {"tiporg:organization-of-american-states"}
    assert entities["St. Vincent and the Grenadines"] >= {"place:saint-vincent-and-the-grenadines"}
    assert entities["human trafficking"] >= {"concept:trafficking-in-persons"}
    candidates = facts.split("candidates for data/shared/")[1].splitlines()[1]
    begin, end = NEWS.index("Republic of Utopia"), NEWS.index("Republic of Utopia") + 18
    assert candidates == (
        f'#   <id/document/utopia-oas-2021#char={begin},{end}> nif:anchorOf "Republic of Utopia" .'
    )
    assert "Monday" not in facts.split("candidates")[1]
    built_again = tipkg("build", "--quiet", cwd=fresh)
    assert built_again.returncode == 0, built_again.stderr


def test_a_text_with_line_breaks_of_every_kind_stays_in_comments(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    text = 'Haiti\tand "Saint Lucia" met.\r\nThe\u2028OAS \\ spoke\u2029of Haiti.\rAgain Haiti.\r\n'
    source = tmp_path / "odd.txt"
    source.write_bytes(text.encode("utf-8"))
    created = add_report(load_project(project), Iris(BASE), source, "odd-breaks")
    facts = created.folder / "facts.ttl"
    assert triples(facts) == []
    written = facts.read_text(encoding="utf-8")
    for line in written.splitlines():
        assert line == "" or line.startswith(("#", "@prefix ")), repr(line)
    anchors = [PHRASE_LINE.match(line) for line in written.split("\n")]
    found = [(int(m.group(2)), int(m.group(3)), literal(m.group(4))) for m in anchors if m]
    assert ("Haiti" in [anchor for *_, anchor in found]) and len(found) >= 4
    for begin, end, anchor in found:
        assert text[begin:end] == anchor
    # Uncommented, every suggested phrase is a statement that reads back exactly.
    body = "\n".join(
        line[1:].strip() if PHRASE_LINE.match(line) else line for line in written.split("\n")
    )
    (created.folder / "facts.ttl").write_text(body, encoding="utf-8")
    assert {(*offsets(p), a) for p, a in phrases(facts).items()} == set(found)


def test_add_report_refuses_a_bad_slug_or_an_existing_report(built: Path) -> None:
    source = f"data/reports/{REPORT_SLUG}/source.txt"
    for slug, message in (
        ("Bad Slug", "bad slug 'Bad Slug'"),
        (REPORT_SLUG, f"report '{REPORT_SLUG}' exists already"),
    ):
        one_line_error(tipkg("add-report", source, "--slug", slug, cwd=built), 2, message)
    assert sorted(p.name for p in (built / "data" / "reports").iterdir()) == [REPORT_SLUG]
    assert not list((built / "data").glob(".add-report-*"))


# ------------------------------------------------------------------ reanchor


def edit_real_text(text: str) -> str:
    """Words inserted and deleted before cited phrases, and a new sentence 2."""
    edits = (
        ("Saint Lucia has recently participated", "Saint Lucia has participated"),
        ("2021, the Commonwealth", "It was a busy month. On that day, the Commonwealth"),
        ("On Thursday, May 6, It was", "It was"),
        ("The forum was held", "The forum, the first of its kind, was held"),
        ("The Turks and Caicos, Antigua", "In all, The Turks and Caicos, Antigua"),
        ("Meantime, Saint Lucia also", "Meantime, Saint Lucia"),
    )
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_reanchor_restores_every_offset_of_the_real_report(fresh: Path) -> None:
    folder = report_dir(fresh)
    facts_path = folder / "facts.ttl"
    before = facts_path.read_text(encoding="utf-8")
    old_text = (folder / "source.txt").read_text(encoding="utf-8")
    new_text = edit_real_text(old_text)
    (folder / "source.txt").write_text(new_text, encoding="utf-8")
    result = tipkg("reanchor", cwd=fresh)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  moved  s:2 → s:3" in result.stdout and "  moved  s:11 → s:12" in result.stdout
    assert "wrote  data/reports/" in result.stdout
    after = facts_path.read_text(encoding="utf-8")
    for anchor_iri, anchor in phrases(facts_path).items():
        begin, end = offsets(anchor_iri)
        assert new_text[begin:end] == anchor
    # Only IRI tokens changed: comments, literals and layout are as the curator wrote them.
    old_tokens, new_tokens = tokenize(before), tokenize(after)
    assert len(old_tokens) == len(new_tokens)
    changed = [(o, n) for o, n in zip(old_tokens, new_tokens, strict=True) if o.text != n.text]
    assert changed and all(o.kind == n.kind and o.kind in ("iri", "pname") for o, n in changed)
    # A citation of an unedited sentence still names the sentence with the same words.
    old_sentences = {s.number: s.text for s in split_sentences(old_text)}
    new_sentences = {s.number: s.text for s in split_sentences(new_text)}
    sentence = re.compile(rf"{re.escape(BASE)}id/document/{REPORT_SLUG}/sentence/(\d+)$")
    cited_before = [t for t in triples(folder / "facts.ttl") if sentence.match(t.object.value)]
    assert len(cited_before) > 30
    old_facts = fresh / "old-facts.ttl"
    old_facts.write_text(before, encoding="utf-8")
    old_cited = [t for t in triples(old_facts) if sentence.match(t.object.value)]
    for old, new in zip(old_cited, cited_before, strict=True):
        old_number = int(sentence.match(old.object.value).group(1))  # type: ignore[union-attr]
        new_number = int(sentence.match(new.object.value).group(1))  # type: ignore[union-attr]
        if old_sentences[old_number] in new_sentences.values():
            assert new_sentences[new_number] == old_sentences[old_number]
    built_again = tipkg("build", "--quiet", cwd=fresh)
    assert built_again.returncode == 0, built_again.stderr
    again = tipkg("reanchor", "--report", REPORT_SLUG, cwd=fresh)
    assert again.returncode == 0 and "unchanged since the last build" in again.stdout


def test_reanchor_without_the_builds_store_says_so_in_one_line(fresh: Path) -> None:
    folder = report_dir(fresh)
    text = (folder / "source.txt").read_text(encoding="utf-8")
    (folder / "source.txt").write_text(edit_real_text(text), encoding="utf-8")
    shutil.rmtree(fresh / "dist" / "store")
    before = (folder / "facts.ttl").read_bytes()
    result = tipkg("reanchor", cwd=fresh)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "tipkg: error: dist: missing store/: rebuild with `tipkg build`\n"
    assert (folder / "facts.ttl").read_bytes() == before


def test_reanchor_refuses_to_apply_twice(fresh: Path) -> None:
    folder = report_dir(fresh)
    source = folder / "source.txt"
    source.write_text(edit_real_text(source.read_text(encoding="utf-8")), encoding="utf-8")
    assert tipkg("reanchor", cwd=fresh).returncode == 0
    once = (folder / "facts.ttl").read_bytes()
    one_line_error(tipkg("reanchor", cwd=fresh), 2, "the last build did not publish")
    assert (folder / "facts.ttl").read_bytes() == once


def test_reanchor_lists_lost_phrases_and_sentences_and_leaves_their_file(fresh: Path) -> None:
    folder = report_dir(fresh)
    before = (folder / "facts.ttl").read_bytes()
    text = (folder / "source.txt").read_text(encoding="utf-8")
    edited = text.replace(", and Antigua and Bermuda are", " are").replace("recently ", "")
    edited = edited.replace(" The virtual meeting was hosted by Argentina.", "")
    (folder / "source.txt").write_text(edited, encoding="utf-8")
    result = tipkg("reanchor", cwd=fresh)
    assert result.returncode == 1
    assert re.search(
        r'lost   data/reports/[\w-]+/facts\.ttl:\d+: phrase #char=1192,1211 "Antigua and Bermuda": '
        "no longer in the text",
        result.stdout,
    ), result.stdout
    assert re.search(r"facts\.ttl:\d+: cites s:8, which is no longer in the text", result.stdout)
    assert "facts.ttl unchanged: 2 citations can no longer be anchored" in result.stdout
    assert (folder / "facts.ttl").read_bytes() == before


def test_a_repeated_quote_is_placed_by_its_context(fresh: Path) -> None:
    folder = report_dir(fresh)
    text = (folder / "source.txt").read_text(encoding="utf-8")
    quote = "St. Vincent and the Grenadines"
    extra = f"Observers from {quote} and The Turks and Caicos attended."
    edited = text.replace(
        "The Turks and Caicos, Antigua", f"{extra}\nThe Turks and Caicos, Antigua"
    )
    (folder / "source.txt").write_text(edited, encoding="utf-8")
    result = tipkg("reanchor", cwd=fresh)
    assert result.returncode == 0, result.stdout
    assert "  moved  s:6 → s:7" in result.stdout
    anchored = {a: offsets(p) for p, a in phrases(folder / "facts.ttl").items()}
    first, second = edited.index(quote), edited.index(quote, edited.index(quote) + 1)
    assert anchored[quote] == (second, second + len(quote)) and first < second
    turks = edited.index("The Turks and Caicos", edited.index(extra) + len(extra))
    assert anchored["The Turks and Caicos"] == (turks, turks + len("The Turks and Caicos"))


def edit_outside_phrases(text: str, spans: list[tuple[int, int]]) -> str:
    """A new first sentence, a word inserted before the last phrase and one deleted before
    the first, never touching a quoted span."""
    last = max(spans)[0]
    text = text[:last] + "(indeed) " + text[last:]
    cited = [range(b, e) for b, e in spans]
    words = [m for m in re.finditer(r" \w+", text[: min(spans)[0]])]
    doomed = next(m for m in words if not any(m.start() in r or m.end() - 1 in r for r in cited))
    text = text[: doomed.start()] + text[doomed.end() :]
    return "This sentence is new. " + text


def test_reanchor_on_synthetic_reports(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, 3, 11, PROJECT_ROOT, BASE)
    assert tipkg("build", "--quiet", cwd=corpus).returncode == 0
    edited: dict[Path, str] = {}
    for report in load_project(corpus).reports:
        cited = phrases(report.folder / "facts.ttl")
        if not cited:
            continue
        text = report.source_path.read_text(encoding="utf-8")
        edited[report.folder] = edit_outside_phrases(text, [offsets(p) for p in cited])
        report.source_path.write_text(edited[report.folder], encoding="utf-8")
    assert edited, "the corpus quotes no phrase"
    result = tipkg("reanchor", cwd=corpus)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  moved  s:1 → s:2" in result.stdout
    for folder, text in edited.items():
        for phrase, anchor in phrases(folder / "facts.ttl").items():
            begin, end = offsets(phrase)
            assert text[begin:end] == anchor
    built_again = tipkg("build", "--quiet", cwd=corpus)
    assert built_again.returncode == 0, built_again.stderr


def test_only_iri_tokens_are_rewritten(tmp_path: Path) -> None:
    """IRIs inside comments, short and long literals and escaped names stay as written; IRIs
    in statements change, in their own spelling."""
    old, new = f"{BASE}id/document/r#char=1,5", f"{BASE}id/document/r#char=11,15"
    turtle = "\n".join(
        (
            "# <id/document/r#char=1,5> in a comment",
            "@prefix d: <id/document/> .",
            "PREFIX s: <id/document/r/sentence/>",
            "<id/document/r#char=1,5> <x:p> 'a <id/document/r#char=1,5>' ,",
            '    """x "" <id/document/r#char=1,5>',
            '""" ;',
            r"    <x:q> d:r\#char\=1\,5 , s:2 , [ <x:r> <id/document/r#char=1,5> ] .",
            "@base <id/document/> .",
            r'<r#char=1,5> <x:p> "\"<r#char=1,5>" .',
            "",
        )
    )
    path = tmp_path / "t.ttl"
    path.write_text(turtle, encoding="utf-8")
    mapping = {old: new, f"{BASE}id/document/r/sentence/2": f"{BASE}id/document/r/sentence/3"}
    rewritten = rewrite_iris(path, turtle, BASE, mapping)
    assert rewritten.changed == 5
    assert rewritten.text == (
        turtle.replace("<id/document/r#char=1,5> <x:p> 'a", "<id/document/r#char=11,15> <x:p> 'a")
        .replace(r"d:r\#char\=1\,5", r"d:r\#char\=11\,15")
        .replace("s:2", "s:3")
        .replace("<x:r> <id/document/r#char=1,5>", "<x:r> <id/document/r#char=11,15>")
        .replace('<r#char=1,5> <x:p> "', '<r#char=11,15> <x:p> "')
    )
    statement_iris = [f.iri for f in iri_tokens(tokenize(rewritten.text), BASE)]
    assert old not in statement_iris and statement_iris.count(new) == 4


# ------------------------------------------------------------------ coverage


def test_validate_counts_uncited_sentences_and_strict_fails_on_them(fresh: Path) -> None:
    facts = report_dir(fresh) / "facts.ttl"
    # Sentence 3 stays cited through the quoted theme, once no fact cites it directly.
    theme = f"<id/document/{REPORT_SLUG}#char=428,508> , s:3 ."
    text = facts.read_text(encoding="utf-8").replace("s:1 , s:2 , s:3 ;", "s:1 , s:2 ;")
    facts.write_text(text.replace(theme, theme.replace(" , s:3", "")), encoding="utf-8")
    strict = tipkg("validate", "--strict", cwd=fresh)
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert strict.stdout.startswith("conforms:")
    assert strict.stdout.endswith(f"{REPORT_SLUG}: 0 of 11 sentences cited by no fact\n")
    source = report_dir(fresh) / "source.txt"
    text = source.read_text(encoding="utf-8")
    source.write_text(text + " Nothing cites this.", encoding="utf-8")
    uncited = {"sentence": 12, "begin": len(text) + 1, "end": len(text) + 20}
    lenient = tipkg("validate", "--format", "json", cwd=fresh)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert json.loads(lenient.stdout)["coverage"] == [
        {
            "report": REPORT_SLUG,
            "sentences": 12,
            "uncited": [{**uncited, "text": "Nothing cites this."}],
        }
    ]
    strict = tipkg("validate", "--strict", cwd=fresh)
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-2:] == [
        f"{REPORT_SLUG}: 1 of 12 sentences cited by no fact",
        f"data/reports/{REPORT_SLUG}/source.txt: sentence 12 (char={len(text) + 1},"
        f'{len(text) + 20}) is cited by no fact: "Nothing cites this."',
    ]
