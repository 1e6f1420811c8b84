"""The curator's path: ``add-report`` writes a skeleton that asserts nothing and builds,
``reanchor`` moves citations after a corrected text (touching IRI tokens only), and
``validate`` counts the sentences no fact cites (``--strict`` fails on them)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from tipkg.turtle_edit import iri_tokens, rewrite_iris, tokenize
from tipkg.vocab import NIF

from support import REPORT_SLUG, copy_project, report_dir

TIPKG = str(Path(sys.executable).parent / "tipkg")
BASE = "https://w3id.org/tipkg/"


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
