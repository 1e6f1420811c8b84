"""The query language people type, checked and rewritten into FTS5's.

Words (``trafficking``), prefixes (``traffick*``), quoted phrases (``"victim protection"``,
``"victim prot"*``), ``AND`` (also implied between terms), ``OR``, ``NOT`` (``a NOT b``: FTS5 has
no unary NOT) and parentheses. Every term is passed to FTS5 as a quoted string, so punctuation in
a word (``COVID-19``, ``St.``, ``name:value``) is text, never FTS5 syntax; everything else that
FTS5 would refuse is refused here first, as a :class:`SearchError` with one line saying what to
type instead. Limits keep one query's cost bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tipkg.errors import SearchError

MAX_QUERY_CHARS = 300
MAX_TERMS = 16
# A shorter prefix would expand to a large part of the vocabulary.
MIN_PREFIX_CHARS = 2
OPERATORS = ("AND", "OR", "NOT")

_LEXEME = re.compile(r'\s+|"[^"]*"\*?|"|\(|\)|[^\s"()]+')
# unicode61 makes tokens of letters and digits (and private-use characters); a term without
# one is punctuation, which matches nothing.
_TOKEN_CHARACTER = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "term", "operator", "(" or ")"
    text: str  # the FTS5 string for a term, the operator, or the parenthesis


def to_fts5(query: str) -> str:
    """The FTS5 expression for ``query``, or a :class:`SearchError` saying what is wrong."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(
            f"the query is {len(query):,} characters long; at most {MAX_QUERY_CHARS} are searched"
        )
    lexemes = _lex(query)
    terms = sum(1 for lexeme in lexemes if lexeme.kind == "term")
    if not lexemes:
        raise SearchError('nothing to search for: type a word, a prefix* or a "quoted phrase"')
    if terms > MAX_TERMS:
        raise SearchError(f"the query has {terms} terms; at most {MAX_TERMS} are searched")
    parser = _Parser(lexemes)
    expression = parser.disjunction()
    if parser.position < len(lexemes):
        raise SearchError("unmatched ')': remove it or add a '(' before it")
    return expression


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    for match in _LEXEME.finditer(query):
        text = match.group()
        if text.isspace():
            continue
        if text == '"':
            raise SearchError('unbalanced quote: close the phrase with a second "')
        if text in ("(", ")"):
            lexemes.append(_Lexeme(text, text))
        elif text in OPERATORS:
            lexemes.append(_Lexeme("operator", text))
        else:
            term = _term(text)
            if term is not None:
                lexemes.append(_Lexeme("term", term))
    return lexemes


def _term(text: str) -> str | None:
    """A word or phrase as an FTS5 string (``*`` kept as a prefix mark); ``None`` for
    punctuation alone."""
    quoted = text.startswith('"')
    body = text.rstrip("*")
    prefix = body != text
    if quoted:
        body = body[1:-1]
    if not _TOKEN_CHARACTER.search(body):
        if prefix:
            raise SearchError("a '*' must follow the start of a word: traffick*")
        return None
    if prefix:
        last_token = re.split(r"[\W_]+", body.strip())[-1]
        if len(last_token) < MIN_PREFIX_CHARS:
            raise SearchError(
                f"a prefix needs at least {MIN_PREFIX_CHARS} letters before '*': "
                f"{text!r} would match too much"
            )
    fts5 = '"' + body.replace('"', '""') + '"'
    return fts5 + " *" if prefix else fts5


class _Parser:
    """Recursive descent over FTS5's precedence (NOT binds tighter than AND, AND than OR),
    writing the expression back with every operator and parenthesis explicit."""

    def __init__(self, lexemes: list[_Lexeme]):
        self.lexemes = lexemes
        self.position = 0
        self.depth = 0  # parentheses open

    def _peek(self) -> _Lexeme | None:
        return self.lexemes[self.position] if self.position < len(self.lexemes) else None

    def _take(self, kind: str, text: str | None = None) -> bool:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind == kind and text in (None, lexeme.text):
            self.position += 1
            return True
        return False

    def disjunction(self) -> str:
        parts = [self._conjunction()]
        while self._take("operator", "OR"):
            parts.append(self._conjunction("OR"))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _conjunction(self, after: str | None = None) -> str:
        parts = [self._negation(after)]
        while True:
            if self._take("operator", "AND"):
                parts.append(self._negation("AND"))
                continue
            lexeme = self._peek()
            if lexeme is None or lexeme.kind not in ("term", "("):
                break
            parts.append(self._negation())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _negation(self, after: str | None = None) -> str:
        expression = self._primary(after)
        while self._take("operator", "NOT"):
            expression = f"({expression} NOT {self._primary('NOT')})"
        return expression

    def _primary(self, after: str | None) -> str:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind == "term":
            self.position += 1
            return lexeme.text
        if self._take("("):
            self.depth += 1
            inner = self.disjunction()
            if not self._take(")"):
                raise SearchError("unclosed '(': add a ')' after the terms it groups")
            self.depth -= 1
            return inner
        raise SearchError(self._missing_term(lexeme, after))

    def _missing_term(self, lexeme: _Lexeme | None, after: str | None) -> str:
        """Why there is no term where one must be, and what to type."""
        if after == "AND" and lexeme is not None and lexeme.text == "NOT":
            return "write NOT without AND: trafficking NOT labour"
        if after is not None:
            return f"{after} needs a term after it: trafficking {after} smuggling"
        if lexeme is None:
            return "unclosed '(': add a ')' after the terms it groups"
        if lexeme.text == "NOT":
            return "NOT needs a term before it: trafficking NOT labour"
        if lexeme.kind == "operator":
            return f"{lexeme.text} needs a term before it: trafficking {lexeme.text} smuggling"
        if self.depth:
            return "nothing to search for inside '()'"
        return "unmatched ')': remove it or add a '(' before it"
