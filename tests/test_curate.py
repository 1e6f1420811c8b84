"""The curator's path: ``add-report`` writes a skeleton that asserts nothing and builds,
``reanchor`` moves citations after a corrected text (touching IRI tokens only), and
``validate`` counts the sentences no fact cites (``--strict`` fails on them)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from tipkg.curate import add_report
from tipkg.project import load_project
from tipkg.turtle_edit import iri_tokens, rewrite_iris, tokenize
from tipkg.vocab import NIF, Iris

from support import REPORT_SLUG, copy_project, report_dir

TIPKG = str(Path(sys.executable).parent / "tipkg")
BASE = "https://w3id.org/tipkg/"
NEWS = (
    "Saint Lucia and Haiti joined a virtual meeting of the Organization of American States (OAS) "
    "on Monday, May 10, 2021. St. Vincent and the Grenadines also took part, with observers from "
    "the Republic of Utopia.\nThe meeting was told that human trafficking had grown.\n"
)
PHRASE_LINE = re.compile(r'^#\s+<id/document/([\w-]+)#char=(\d+),(\d+)> nif:anchorOf (".*") \.$')


def tipkg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TIPKG, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


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
        result = tipkg("add-report", source, "--slug", slug, cwd=built)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and message in result.stderr
    assert sorted(p.name for p in (built / "data" / "reports").iterdir()) == [REPORT_SLUG]
    assert not list((built / "data").glob(".add-report-*"))


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
