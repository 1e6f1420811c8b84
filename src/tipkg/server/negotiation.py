"""Content negotiation: which of the representations we offer best fits a client's ``Accept``.

Scoring follows RFC 9110 §12.5.1: each offered type takes the q-value of the most specific
media range that matches it (``type/subtype`` over ``type/*`` over ``*/*``); q=0 refuses it;
the highest q wins and ties go to the server's order of preference. A header that does not
parse is the client's error (400), not a reason to guess.

Why not a library: werkzeug's and python-mimeparse's Accept parsers skip what they cannot read
instead of refusing it, and a malformed header must be a 400 here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from tipkg.formats import Format, format_named
from tipkg.server.errors import BadRequest, NotAcceptable

TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MEDIA_RANGE = re.compile(rf"^\s*({TOKEN})/({TOKEN})\s*((?:;.*)?)$")
PARAMETER = re.compile(rf'^\s*({TOKEN})\s*=\s*({TOKEN}|"(?:[^"\\]|\\.)*")\s*$')
QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


class AcceptError(BadRequest):
    """A malformed ``Accept`` header."""


@dataclass(frozen=True)
class MediaRange:
    """One element of an ``Accept`` header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """How closely this range names ``media_type``: 2 exact, 1 ``type/*``, 0 ``*/*``, -1 not."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 0 if self.subtype == "*" else -1
        if self.type != main:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


@lru_cache(maxsize=512)
def parse_accept(header: str) -> tuple[MediaRange, ...]:
    """The media ranges of an ``Accept`` header; ``AcceptError`` names the first bad element.

    Cached: a client sends the same header with every request, and parsing it is a visible
    share of a small query's cost.
    """
    ranges = []
    for element in header.split(","):
        if not element.strip():
            continue  # RFC 9110 #rule: empty list elements are allowed and ignored
        match = MEDIA_RANGE.match(element)
        if match is None:
            raise AcceptError(f"malformed Accept header element {element.strip()!r}")
        main, sub, parameters = match.group(1).lower(), match.group(2).lower(), match.group(3)
        if main == "*" and sub != "*":
            raise AcceptError(f"malformed Accept header element {element.strip()!r}")
        q = 1.0
        for parameter in filter(str.strip, parameters.split(";")):
            pair = PARAMETER.match(parameter)
            if pair is None:
                raise AcceptError(f"malformed parameter {parameter.strip()!r} in Accept header")
            if pair.group(1).lower() == "q":
                if not QVALUE.match(pair.group(2)):
                    raise AcceptError(f"q must be a number from 0 to 1, got {pair.group(2)!r}")
                q = float(pair.group(2))
        ranges.append(MediaRange(main, sub, q))
    return tuple(ranges)


def best_match(offered: Sequence[str], accept: str | None) -> str | None:
    """The offered media type the client prefers, ``None`` when it accepts none of them.

    A missing or empty header accepts anything, so the first offered type is the default.
    """
    if accept is None or not accept.strip():
        return offered[0] if offered else None
    ranges = parse_accept(accept)
    best: str | None = None
    best_q = 0.0
    for media_type in offered:
        specificity, q = -1, 0.0
        for media_range in ranges:
            score = media_range.specificity(media_type)
            if score > specificity:
                specificity, q = score, media_range.q
        if q > best_q:
            best, best_q = media_type, q
    return best


@lru_cache(maxsize=512)
def choose_format(
    formats: tuple[Format, ...], accept: str | None, override: str | None
) -> Format | None:
    """The format to answer in: ``override`` (a ``?format=`` name or media type) wins over Accept.

    ``None`` means nothing fits (406). A format's other media types only count where the client
    asked for them, so ``Accept: application/json`` gets SPARQL JSON for SELECT and JSON-LD for
    CONSTRUCT. Cached like :func:`parse_accept`; ``formats`` is a tuple so it can be a cache
    key.
    """
    if override is not None:
        return format_named(override, formats)
    offered: list[str] = []
    owner: dict[str, Format] = {}
    for fmt in formats:
        offered.append(fmt.media_type)
        owner[fmt.media_type] = fmt
    for fmt in formats:
        for alias in fmt.media_types:
            if alias not in owner:
                offered.append(alias)
                owner[alias] = fmt
    chosen = best_match(offered, accept)
    return owner[chosen] if chosen is not None else None


def not_acceptable(formats: Sequence[Format], what: str) -> NotAcceptable:
    """The 406 for ``what``, listing what is offered instead."""
    offered = ", ".join(f"{f.media_type} (format={f.name})" for f in formats)
    return NotAcceptable(f"no acceptable format for {what}; offered: {offered}")
