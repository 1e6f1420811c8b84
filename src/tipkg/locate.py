"""Where in a project's Turtle files a term or a statement was written, so that a message names a
place a curator can open (``data/reports/x/facts.ttl:57``) rather than an IRI.

This reads Turtle only to point at it: the prefixes a file declares and the lines a term's
spellings occur on. It never changes a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tipkg.errors import display_path
from tipkg.turtle_edit import resolve

_PREFIX_DECLARATION = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z0-9_.-]*):\s*<([^>]*)>", re.I)
# A prefixed name ends where no name character follows ("s:1" must not match "s:10").
_WORD_END = r"(?![\w:#/-]|\.\w)"


@dataclass(frozen=True)
class Location:
    """A file and, where known, the line in it."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        where = display_path(self.path)
        return where if self.line is None else f"{where}:{self.line}"


@dataclass(frozen=True)
class TurtleText:
    """One Turtle file's lines and the namespaces its prefixes stand for (resolved)."""

    lines: tuple[str, ...]
    namespaces: tuple[tuple[str, str], ...]

    def spellings(self, iri: str, base: str) -> list[str]:
        """The ways ``iri`` can be written in this file: in full, relative to the base, or as a
        prefixed name with any prefix the file declares."""
        found = [f"<{iri}>"]
        if iri.startswith(base):
            found.append(f"<{iri[len(base) :]}>")
        for prefix, namespace in self.namespaces:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                found.append(f"{prefix}:{iri[len(namespace) :]}")
        return found

    def line_of(self, needles: list[str], start: int = 0) -> int | None:
        """The 1-based number of the first line from ``start`` holding one of ``needles`` as a
        whole term (comment lines skipped)."""
        patterns = [re.compile(re.escape(needle) + _WORD_END) for needle in needles if needle]
        for index in range(start, len(self.lines)):
            line = self.lines[index]
            if line.lstrip().startswith("#"):
                continue
            if any(pattern.search(line) for pattern in patterns):
                return index + 1
        return None


def read_turtle_text(path: Path, base: str) -> TurtleText:
    """The file as it is now (cached while it is unchanged)."""
    try:
        status = path.stat()
    except OSError:
        return TurtleText((), ())
    return _read_turtle_text(path, base, status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=64)
def _read_turtle_text(path: Path, base: str, _mtime_ns: int, _size: int) -> TurtleText:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return TurtleText((), ())
    # Lines as a Turtle parser and an editor count them: str.splitlines also breaks at U+2028,
    # U+0085 and other characters a literal may hold, which would shift every later line.
    lines = tuple(text.replace("\r\n", "\n").split("\n"))
    namespaces = []
    for line in lines:
        match = _PREFIX_DECLARATION.match(line)
        if match:
            namespaces.append((match.group(1), resolve(match.group(2), base)))
    return TurtleText(lines, tuple(namespaces))


def locate_statement(
    path: Path, base: str, subject: str, value: str | None = None, value_is_iri: bool = True
) -> Location:
    """The line in ``path`` where ``subject`` is described and, if given, where ``value`` is
    written within that description (a literal's lexical form, or an IRI in any spelling)."""
    text = read_turtle_text(path, base)
    subject_line = text.line_of(text.spellings(subject, base))
    if subject_line is None or value is None:
        return Location(path, subject_line)
    needles = text.spellings(value, base) if value_is_iri else [f'"{value.splitlines()[0]}']
    value_line = text.line_of(needles, start=subject_line - 1)
    return Location(path, value_line or subject_line)


def locate_text(path: Path, base: str, *needles: str) -> Location:
    """The first line of ``path`` holding any of ``needles`` (written as in the file)."""
    return Location(path, read_turtle_text(path, base).line_of(list(needles)))
