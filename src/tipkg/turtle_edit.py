"""Change IRIs in a curator's Turtle file without touching anything else in it.

A curator's file carries comments, alignment and wording that re-serialising would destroy, and
editing it as lines of text would also change IRIs inside comments and string literals. So the
file is cut into Turtle tokens (comments, short and long string literals with their escapes,
IRI references, prefixed names, the rest) and only IRI tokens whose resolved IRI is to change are
rewritten, each in the spelling it had (relative stays relative, prefixed stays prefixed).
:func:`rewrite_iris` then parses the result and refuses it unless its triples are exactly the
original ones with the mapping applied.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from tipkg.errors import InputError
from tipkg.terms import OxTerm

# Character classes of the Turtle grammar (W3C Turtle 1.1, section 6.5).
_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_LOCAL_ESCAPABLE = "_~.-!$&'()*+,;=/?#@%"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[" + re.escape(_LOCAL_ESCAPABLE) + "])"
_PN_PREFIX = f"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PN_LOCAL = (
    f"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
)
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

# One alternative per token kind, tried in this order at each position.
_TOKEN = re.compile(
    "|".join(
        (
            r"(?P<space>[ \t\r\n]+)",
            r"(?P<comment>#[^\r\n]*)",
            r"(?P<iri><(?:[^\x00-\x20<>\"{}|^`\\]|" + _UCHAR + ")*>)",
            r'(?P<string>"""(?:(?:"|"")?(?:[^"\\]|\\[\s\S]))*"""'
            r"|'''(?:(?:'|'')?(?:[^'\\]|\\[\s\S]))*'''"
            r'|"(?:[^"\\\r\n]|\\[\s\S])*"'
            r"|'(?:[^'\\\r\n]|\\[\s\S])*')",
            r"(?P<at>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)",
            r"(?P<bnode>_:[" + _PN_CHARS_U + "0-9](?:[" + _PN_CHARS + ".]*[" + _PN_CHARS + "])?)",
            f"(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)",
            r"(?P<word>[A-Za-z]+)",
            r"(?P<other>[\s\S])",
        )
    )
)
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Token:
    """A piece of the file: its kind (a group name of ``_TOKEN``), its text and where it starts."""

    kind: str
    text: str
    start: int


def tokenize(text: str) -> list[Token]:
    """The whole text as tokens; joined again they give back ``text`` exactly."""
    return [Token(m.lastgroup or "other", m.group(), m.start()) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class IriToken:
    """A token that names an IRI in a statement (not in a prefix or base declaration)."""

    index: int
    iri: str
    namespace: str  # the prefix's namespace for a prefixed name, "" for an IRI reference
    base: str  # the base IRI in effect where the token is


def iri_tokens(tokens: list[Token], base: str) -> Iterator[IriToken]:
    """Every IRI a statement names, resolved as a Turtle parser would: against the ``@base`` in
    effect (at first ``base``), prefixed names by the prefixes declared so far."""
    prefixes: dict[str, str] = {}
    meaningful = [i for i, token in enumerate(tokens) if token.kind not in ("space", "comment")]
    position = 0
    while position < len(meaningful):
        index = meaningful[position]
        token = tokens[index]
        keyword = token.text.lower().lstrip("@")
        after_literal = position > 0 and tokens[meaningful[position - 1]].kind == "string"
        directive = (token.kind == "at" and not after_literal) or (
            token.kind == "word" and keyword in ("prefix", "base")
        )
        if directive and keyword == "prefix" and position + 2 < len(meaningful):
            name, namespace = (tokens[i] for i in meaningful[position + 1 : position + 3])
            prefixes[name.text[:-1]] = resolve(_iri_text(namespace.text), base)
            position += 3
            continue
        if directive and keyword == "base" and position + 1 < len(meaningful):
            base = resolve(_iri_text(tokens[meaningful[position + 1]].text), base)
            position += 2
            continue
        if token.kind == "iri":
            yield IriToken(index, resolve(_iri_text(token.text), base), "", base)
        elif token.kind == "pname":
            prefix, local = token.text.split(":", 1)
            if prefix in prefixes:
                namespace = prefixes[prefix]
                yield IriToken(index, namespace + _unescape_local(local), namespace, base)
        position += 1


def resolve(reference: str, base: str) -> str:
    """An IRI reference resolved against ``base`` (RFC 3986, keeping an empty fragment)."""
    return reference if _ABSOLUTE.match(reference) else str(URIRef(reference, base=base))


def _iri_text(token_text: str) -> str:
    """An IRI reference token's IRI, its ``\\u`` escapes decoded."""
    return re.sub(_UCHAR, lambda m: chr(int(m.group()[2:], 16)), token_text[1:-1])


def _unescape_local(local: str) -> str:
    return re.sub(r"\\(.)", r"\1", local)


def _escape_local(local: str) -> str:
    """A local name as a prefixed name may spell it: reserved characters escaped, and ``.`` or
    ``-`` too where the grammar does not allow them bare (last, or first)."""
    escaped = []
    for position, char in enumerate(local):
        bare = char in "_" or (char in ".-" and 0 < position < len(local) - 1)
        escaped.append(f"\\{char}" if char in _LOCAL_ESCAPABLE and not bare else char)
    return "".join(escaped)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


@dataclass(frozen=True)
class Rewritten:
    """The new text of a file and how many IRI tokens changed."""

    text: str
    changed: int


def rewrite_iris(path: Path, text: str, base: str, mapping: Mapping[str, str]) -> Rewritten:
    """``text`` (the file at ``path``) with every IRI token in ``mapping`` replaced by its
    image in the same spelling, checked by parsing: the new file's triples must equal the old
    one's with ``mapping`` applied, in order, else ``InputError`` and no text is returned."""
    tokens = tokenize(text)
    pieces = [token.text for token in tokens]
    changed = 0
    for found in iri_tokens(tokens, base):
        new_iri = mapping.get(found.iri)
        if new_iri is None or new_iri == found.iri:
            continue
        token = tokens[found.index]
        spelled = _respell(token.text, found, new_iri)
        if spelled is None:
            raise InputError(
                f"cannot respell {token.text} as <{new_iri}>: nothing written",
                path,
                line_of(text, token.start),
            )
        pieces[found.index] = spelled
        changed += 1
    rewritten = "".join(pieces)
    expected = [_mapped(triple, mapping) for triple in _parse(path, text, base)]
    if _parse(path, rewritten, base) != expected:
        raise InputError(
            "rewriting would change more than the re-anchored IRIs: nothing written", path
        )
    return Rewritten(rewritten, changed)


def _respell(token_text: str, found: IriToken, new_iri: str) -> str | None:
    """The token for ``new_iri`` in the spelling of ``token_text``, or ``None`` if there is none
    (a prefixed name whose namespace the new IRI leaves, or an escape in the changed part)."""
    if found.namespace:
        if not new_iri.startswith(found.namespace):
            return None
        prefix = token_text.split(":", 1)[0]
        return f"{prefix}:{_escape_local(new_iri[len(found.namespace) :])}"
    common = next(
        (i for i, (a, b) in enumerate(zip(found.iri, new_iri, strict=False)) if a != b),
        min(len(found.iri), len(new_iri)),
    )
    old_tail, new_tail = found.iri[common:], new_iri[common:]
    reference = token_text[1:-1]
    if not reference.endswith(old_tail) or re.search(r'[\x00-\x20<>"{}|^`\\]', new_tail):
        return None
    respelled = reference[: len(reference) - len(old_tail)] + new_tail
    resolved = resolve(_iri_text(f"<{respelled}>"), found.base)
    return f"<{respelled}>" if resolved == new_iri else None


def _parse(path: Path, text: str, base: str) -> list[ox.Triple]:
    """The file's triples in document order, blank nodes named by first appearance (two
    parses of the same structure then compare equal)."""
    try:
        parsed = ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE, base_iri=base)
        triples = [quad.triple for quad in parsed]
    except SyntaxError as error:
        raise InputError(f"Turtle syntax error: {error}", path, error.lineno) from None
    names: dict[str, ox.BlankNode] = {}

    def named(term: OxTerm) -> OxTerm:
        if isinstance(term, ox.BlankNode):
            return names.setdefault(term.value, ox.BlankNode(f"b{len(names)}"))
        return term

    return [ox.Triple(named(t.subject), t.predicate, named(t.object)) for t in triples]


def _mapped(triple: ox.Triple, mapping: Mapping[str, str]) -> ox.Triple:
    def image(term: OxTerm) -> OxTerm:
        if isinstance(term, ox.NamedNode) and term.value in mapping:
            return ox.NamedNode(mapping[term.value])
        return term

    return ox.Triple(image(triple.subject), image(triple.predicate), image(triple.object))


def string_literals(text: str) -> Iterable[Token]:
    """The string literal tokens of a Turtle text (for notes about what they say)."""
    return (token for token in tokenize(text) if token.kind == "string")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step (a temporary file beside it, then a rename), keeping its
    permissions: a crash leaves the old file or the new one, never half of one."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
