"""The curator's path: ``add-report`` writes a skeleton that asserts nothing and builds,
``reanchor`` moves citations after a corrected text (touching IRI tokens only), and
``validate`` counts the sentences no fact cites (``--strict`` fails on them)."""

from __future__ import annotations

from pathlib import Path

from tipkg.turtle_edit import iri_tokens, rewrite_iris, tokenize

BASE = "https://w3id.org/tipkg/"


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
