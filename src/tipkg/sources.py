"""Source documents: the verbatim text, its sentences with exact offsets, and NIF 2.0 triples.

Offsets count Unicode code points from the start of ``source.txt`` decoded as UTF-8, as NIF's
RFC 5147 strings do; ``text[begin:end]`` is always exactly the sentence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib.namespace import RDFS, XSD

from tipkg.errors import InputError
from tipkg.locate import Location, read_turtle_text
from tipkg.terms import RDF_TYPE, iri
from tipkg.vocab import NIF, SPDX, Iris

# A full stop after one of these does not end a sentence ("St. Vincent", "Dr. Smith").
ABBREVIATIONS = frozenset(
    (
        "st mr mrs ms dr no nos mt ft jr sr gov hon rev prof gen col capt lt sgt vs etc "
        "e.g i.e u.s u.k u.n inc ltd co dept govt approx"
    ).split()
)
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*(?=\s|$)")
# A phrase IRI's fragment: #char=BEGIN,END (RFC 5147 character offsets, as NIF writes them).
PHRASE_FRAGMENT = re.compile(r"#char=(\d+),(\d+)$")


@dataclass(frozen=True)
class Sentence:
    number: int
    begin: int
    end: int
    text: str


@dataclass(frozen=True)
class SourceText:
    slug: str
    path: Path
    text: str
    sha256: str
    sentences: tuple[Sentence, ...]


def read_source(slug: str, path: Path) -> SourceText:
    """Read a report's text verbatim (UTF-8, no newline translation) and split it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read source text: {error.strerror}", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError("source text is not valid UTF-8", path, line) from None
    if not text.strip():
        raise InputError("source text is empty", path)
    sentences = tuple(split_sentences(text))
    return SourceText(slug, path, text, hashlib.sha256(raw).hexdigest(), sentences)


def split_sentences(text: str) -> list[Sentence]:
    """Split on sentence-final punctuation and line breaks, never after a known abbreviation."""
    sentences: list[Sentence] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line_start, line = line_match.start(), line_match.group()
        start = 0
        for end_match in _SENTENCE_END.finditer(line):
            words = line[start : end_match.start()].split()
            if words and words[-1].lower().rstrip(".") in ABBREVIATIONS:
                continue
            _append(sentences, text, line_start + start, line_start + end_match.end())
            start = end_match.end()
        _append(sentences, text, line_start + start, line_start + len(line))
    return sentences


def _append(sentences: list[Sentence], text: str, begin: int, end: int) -> None:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    if begin < end:
        sentences.append(Sentence(len(sentences) + 1, begin, end, text[begin:end]))


def describe(source: SourceText, iris: Iris) -> list[ox.Triple]:
    """NIF triples for the document, its checksum and every sentence."""
    document = iri(iris.document(source.slug))
    checksum = iri(iris.checksum(source.slug))
    triples = [
        ox.Triple(document, RDF_TYPE, iri(NIF.Context)),
        ox.Triple(document, iri(NIF.isString), ox.Literal(source.text)),
        ox.Triple(document, iri(NIF.beginIndex), offset(0)),
        ox.Triple(document, iri(NIF.endIndex), offset(len(source.text))),
        ox.Triple(document, iri(SPDX.checksum), checksum),
        ox.Triple(checksum, RDF_TYPE, iri(SPDX.Checksum)),
        ox.Triple(checksum, iri(SPDX.algorithm), iri(SPDX.checksumAlgorithm_sha256)),
        ox.Triple(
            checksum,
            iri(SPDX.checksumValue),
            ox.Literal(source.sha256, datatype=iri(XSD.hexBinary)),
        ),
    ]
    previous: ox.NamedNode | None = None
    for sentence in source.sentences:
        node = iri(iris.sentence(source.slug, sentence.number))
        triples += [
            ox.Triple(node, RDF_TYPE, iri(NIF.Sentence)),
            ox.Triple(
                node, iri(RDFS.label), ox.Literal(f"Sentence {sentence.number}", language="en")
            ),
            ox.Triple(node, iri(NIF.referenceContext), document),
            ox.Triple(node, iri(NIF.beginIndex), offset(sentence.begin)),
            ox.Triple(node, iri(NIF.endIndex), offset(sentence.end)),
            ox.Triple(node, iri(NIF.anchorOf), ox.Literal(sentence.text)),
        ]
        if previous is not None:
            triples.append(ox.Triple(previous, iri(NIF.nextSentence), node))
            triples.append(ox.Triple(node, iri(NIF.previousSentence), previous))
        previous = node
    return triples


def offset(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=iri(XSD.nonNegativeInteger))


def anchor_citations(
    source: SourceText, facts: Iterable[ox.Triple], iris: Iris, turtle_files: tuple[Path, ...]
) -> list[ox.Triple]:
    """Check every sentence and phrase the facts cite, and complete phrases with their offsets.

    A phrase is written ``<id/document/<slug>#char=BEGIN,END> nif:anchorOf "…"``; its offsets
    must lie inside the text and its anchor must equal the text there. Raises ``InputError``
    naming the Turtle file and line of the first bad citation.
    """
    facts = list(facts)
    document = str(iris.document(source.slug))
    sentence_prefix = document + "/sentence/"
    anchors: dict[str, list[str]] = {}
    for triple in facts:
        if triple.predicate.value == str(NIF.anchorOf) and isinstance(triple.object, ox.Literal):
            anchors.setdefault(triple.subject.value, []).append(triple.object.value)
    cited = sorted({t.value for triple in facts for t in triple if isinstance(t, ox.NamedNode)})
    documents = str(iris.id) + "document/"
    completed: list[ox.Triple] = []
    for term in cited:
        other = term[len(documents) :].split("/", 1)[0].split("#", 1)[0]
        if term.startswith(documents) and other != source.slug:
            where = _locate(turtle_files, iris, term)
            raise InputError(
                f"names <{term}>, which belongs to report '{other}': a report's files speak "
                f"only of its own text (id/document/{source.slug}…)",
                where.path,
                where.line,
            )
        if term.startswith(sentence_prefix):
            number = term[len(sentence_prefix) :]
            if not number.isdigit() or not 1 <= int(number) <= len(source.sentences):
                where = _locate(turtle_files, iris, term)
                raise InputError(
                    f"cites sentence {number} of '{source.slug}', which has sentences 1 to "
                    f"{len(source.sentences)}",
                    where.path,
                    where.line,
                )
        elif term.startswith(document + "#"):
            completed += _anchor_phrase(source, anchors.get(term, []), term, iris, turtle_files)
    return completed


def _anchor_phrase(
    source: SourceText, anchors: list[str], phrase: str, iris: Iris, turtle_files: tuple[Path, ...]
) -> list[ox.Triple]:
    fragment = phrase[len(str(iris.document(source.slug))) :]

    def refuse(message: str) -> InputError:
        where = _locate(turtle_files, iris, phrase)  # only looked up for the message
        return InputError(message, where.path, where.line)

    match = PHRASE_FRAGMENT.search(fragment)
    if match is None:
        raise refuse(f"phrase IRI must end in '#char=BEGIN,END', got '{fragment}'")
    begin, end = int(match.group(1)), int(match.group(2))
    if not begin < end <= len(source.text):
        raise refuse(
            f"offsets {begin},{end} lie outside the text of '{source.slug}' "
            f"(0 to {len(source.text)} characters)"
        )
    anchor = min(anchors) if anchors else None
    if anchor is None or anchor != source.text[begin:end]:
        raise refuse(
            f"phrase anchor {anchor!r} differs from the text at {begin},{end}: "
            f"{source.text[begin:end]!r}"
        )
    node = ox.NamedNode(phrase)
    completed = [
        ox.Triple(node, iri(NIF.referenceContext), iri(iris.document(source.slug))),
        ox.Triple(node, iri(NIF.beginIndex), offset(begin)),
        ox.Triple(node, iri(NIF.endIndex), offset(end)),
    ]
    for sentence in source.sentences:
        if sentence.begin <= begin and end <= sentence.end:
            sentence_node = iri(iris.sentence(source.slug, sentence.number))
            completed.append(ox.Triple(node, iri(NIF.superString), sentence_node))
    return completed


def _locate(turtle_files: tuple[Path, ...], iris: Iris, term: str) -> Location:
    """The first file and line that write ``term``, for error messages."""
    for path in turtle_files:
        text = read_turtle_text(path, iris.base)
        line = text.line_of(text.spellings(term, iris.base))
        if line is not None:
            return Location(path, line)
    return Location(turtle_files[0] if turtle_files else Path(), None)
