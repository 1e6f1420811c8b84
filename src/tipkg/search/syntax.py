"""The query language people type, read into a tree the engine turns into its own queries.

Words (``trafficking``), prefixes (``traffick*``), quoted phrases (``"victim protection"``),
``AND`` (also implied between terms), ``OR``, ``NOT`` (``a NOT b``: there is no query for
"everything but") and parentheses; ``NOT`` binds tighter than ``AND``, ``AND`` than ``OR``. A word
is text whatever its punctuation (``COVID-19`` is the phrase "covid 19", ``name:value`` two
words), so no engine syntax leaks through. What cannot be read is a :class:`SearchError` with
one line saying what to type instead; limits keep the cost of one query bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tipkg.errors import SearchError

MAX_QUERY_CHARS = 300
MAX_TERMS = 16
# A shorter prefix would stand for a large part of the vocabulary.
MIN_PREFIX_CHARS = 2
OPERATORS = ("AND", "OR", "NOT")

_LEXEME = re.compile(r'\s+|"[^"]*"\*?|"|\(|\)|[^\s"()]+')
# The index makes words of runs of letters and digits; a term without one is punctuation.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Term:
    """A word, a phrase (``phrase``: it was quoted) or a word's beginning (``prefix``)."""

    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Operation:
    """``AND`` and ``OR`` of two or more operands; ``NOT``: the first without the second."""

    operator: str
    operands: tuple[Node, ...]


Node = Term | Operation


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "term", "operator", "(" or ")"
    text: str
    term: Term | None = None


def parse(query: str) -> Node:
    """The tree of ``query``, or a :class:`SearchError` saying what is wrong."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(
            f"the query is {len(query):,} characters long; at most {MAX_QUERY_CHARS} are searched"
        )
    lexemes = _lex(query)
    if not lexemes:
        raise SearchError('nothing to search for: type a word, a prefix* or a "quoted phrase"')
    terms = sum(1 for lexeme in lexemes if lexeme.kind == "term")
    if terms > MAX_TERMS:
        raise SearchError(f"the query has {terms} terms; at most {MAX_TERMS} are searched")
    parser = _Parser(lexemes)
    tree = parser.disjunction()
    if parser.position < len(lexemes):
        raise SearchError("unmatched ')': remove it or add a '(' before it")
    return tree


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
                lexemes.append(_Lexeme("term", text, term))
    return lexemes


def _term(text: str) -> Term | None:
    """The term ``text`` stands for; ``None`` for punctuation alone, which matches nothing."""
    phrase = text.startswith('"')
    body = text.rstrip("*")
    prefix = body != text
    if phrase:
        body = body[1:-1]
    words = _WORD.findall(body)
    if prefix and phrase:
        raise SearchError("a '*' ends a word, not a quoted phrase: traffick*")
    if prefix and len(words) != 1:
        raise SearchError("a '*' must follow the start of one word: traffick*")
    if prefix and len(words[0]) < MIN_PREFIX_CHARS:
        raise SearchError(
            f"a prefix needs at least {MIN_PREFIX_CHARS} letters before '*': "
            f"{text!r} would match too much"
        )
    return Term(body, phrase, prefix) if words else None


class _Parser:
    """Recursive descent over the precedence (NOT tighter than AND, AND tighter than OR)."""

    def __init__(self, lexemes: list[_Lexeme]) -> None:
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

    def disjunction(self) -> Node:
        operands = [self._conjunction()]
        while self._take("operator", "OR"):
            operands.append(self._conjunction("OR"))
        return operands[0] if len(operands) == 1 else Operation("OR", tuple(operands))

    def _conjunction(self, after: str | None = None) -> Node:
        operands = [self._negation(after)]
        while True:
            if self._take("operator", "AND"):
                operands.append(self._negation("AND"))
                continue
            lexeme = self._peek()
            if lexeme is None or lexeme.kind not in ("term", "("):
                break
            operands.append(self._negation())
        return operands[0] if len(operands) == 1 else Operation("AND", tuple(operands))

    def _negation(self, after: str | None = None) -> Node:
        node = self._primary(after)
        while self._take("operator", "NOT"):
            node = Operation("NOT", (node, self._primary("NOT")))
        return node

    def _primary(self, after: str | None) -> Node:
        lexeme = self._peek()
        if lexeme is not None and lexeme.term is not None:
            self.position += 1
            return lexeme.term
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
