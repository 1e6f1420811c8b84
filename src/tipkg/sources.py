"""Source documents: the verbatim text, its sentences with exact offsets, and NIF 2.0 triples.

Offsets count Unicode code points from the start of ``source.txt`` decoded as UTF-8, as NIF's
RFC 5147 strings do; ``text[begin:end]`` is always exactly the sentence.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from tipkg.errors import InputError
from tipkg.locate import Location, read_turtle_text
from tipkg.project import ReportFolder
from tipkg.vocab import NIF, SPDX, Iris

# A full stop after one of these does not end a sentence ("St. Vincent", "Dr. Smith").
ABBREVIATIONS = frozenset(
    (
        "st mr mrs ms dr no nos mt ft jr sr gov hon rev prof gen col capt lt sgt vs etc "
        "e.g i.e u.s u.k u.n inc ltd co dept govt approx"
    ).split()
)
_SENTENCE_END = re.compile(r"[.!?][\"”’)]*(?=\s|$)")
_PHRASE_FRAGMENT = re.compile(r"#char=(\d+),(\d+)$")


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


def read_source(report: ReportFolder) -> SourceText:
    """Read a report's text verbatim (UTF-8, no newline translation) and split it."""
    try:
        raw = report.source_path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read source text: {error.strerror}", report.source_path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError("source text is not valid UTF-8", report.source_path, line) from None
    if not text.strip():
        raise InputError("source text is empty", report.source_path)
    sentences = tuple(split_sentences(text))
    return SourceText(
        report.slug, report.source_path, text, hashlib.sha256(raw).hexdigest(), sentences
    )


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


def describe(source: SourceText, iris: Iris) -> Graph:
    """NIF triples for the document, its checksum and every sentence."""
    graph = Graph()
    document = iris.document(source.slug)
    checksum = iris.checksum(source.slug)
    graph.add((document, RDF.type, NIF.Context))
    graph.add((document, NIF.isString, Literal(source.text)))
    graph.add((document, NIF.beginIndex, Literal(0, datatype=XSD.nonNegativeInteger)))
    graph.add((document, NIF.endIndex, Literal(len(source.text), datatype=XSD.nonNegativeInteger)))
    graph.add((document, SPDX.checksum, checksum))
    graph.add((checksum, RDF.type, SPDX.Checksum))
    graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    graph.add((checksum, SPDX.checksumValue, Literal(source.sha256, datatype=XSD.hexBinary)))
    previous: URIRef | None = None
    for sentence in source.sentences:
        node = iris.sentence(source.slug, sentence.number)
        graph.add((node, RDF.type, NIF.Sentence))
        graph.add((node, RDFS.label, Literal(f"Sentence {sentence.number}", lang="en")))
        graph.add((node, NIF.referenceContext, document))
        graph.add((node, NIF.beginIndex, Literal(sentence.begin, datatype=XSD.nonNegativeInteger)))
        graph.add((node, NIF.endIndex, Literal(sentence.end, datatype=XSD.nonNegativeInteger)))
        graph.add((node, NIF.anchorOf, Literal(sentence.text)))
        if previous is not None:
            graph.add((previous, NIF.nextSentence, node))
            graph.add((node, NIF.previousSentence, previous))
        previous = node
    return graph


def anchor_citations(
    source: SourceText, facts: Graph, iris: Iris, turtle_files: tuple[Path, ...]
) -> Graph:
    """Check every sentence and phrase the facts cite, and complete phrases with their offsets.

    A phrase is written ``<id/document/<slug>#char=BEGIN,END> nif:anchorOf "…"``; its offsets
    must lie inside the text and its anchor must equal the text there. Raises ``InputError``
    naming the Turtle file and line of the first bad citation.
    """
    document = str(iris.document(source.slug))
    sentence_prefix = document + "/sentence/"
    completed = Graph()
    for term in sorted({t for triple in facts for t in triple if isinstance(t, URIRef)}):
        iri = str(term)
        if iri.startswith(sentence_prefix):
            number = iri[len(sentence_prefix) :]
            if not number.isdigit() or not 1 <= int(number) <= len(source.sentences):
                where = _locate(turtle_files, iris, term)
                raise InputError(
                    f"cites sentence {number} of '{source.slug}', which has sentences 1 to "
                    f"{len(source.sentences)}",
                    where.path,
                    where.line,
                )
        elif iri.startswith(document + "#"):
            completed += _anchor_phrase(source, facts, term, iris, turtle_files)
    return completed


def _anchor_phrase(
    source: SourceText, facts: Graph, phrase: URIRef, iris: Iris, turtle_files: tuple[Path, ...]
) -> Graph:
    fragment = str(phrase)[len(str(iris.document(source.slug))) :]
    where = _locate(turtle_files, iris, phrase)
    path, line = where.path, where.line
    match = _PHRASE_FRAGMENT.search(fragment)
    if match is None:
        raise InputError(f"phrase IRI must end in '#char=BEGIN,END', got '{fragment}'", path, line)
    begin, end = int(match.group(1)), int(match.group(2))
    if not begin < end <= len(source.text):
        raise InputError(
            f"offsets {begin},{end} lie outside the text of '{source.slug}' "
            f"(0 to {len(source.text)} characters)",
            path,
            line,
        )
    anchor = facts.value(phrase, NIF.anchorOf)
    if anchor is None or str(anchor) != source.text[begin:end]:
        raise InputError(
            f"phrase anchor {str(anchor)!r} differs from the text at {begin},{end}: "
            f"{source.text[begin:end]!r}",
            path,
            line,
        )
    graph = Graph()
    graph.add((phrase, NIF.referenceContext, iris.document(source.slug)))
    graph.add((phrase, NIF.beginIndex, Literal(begin, datatype=XSD.nonNegativeInteger)))
    graph.add((phrase, NIF.endIndex, Literal(end, datatype=XSD.nonNegativeInteger)))
    for sentence in source.sentences:
        if sentence.begin <= begin and end <= sentence.end:
            graph.add((phrase, NIF.superString, iris.sentence(source.slug, sentence.number)))
    return graph


def _locate(turtle_files: tuple[Path, ...], iris: Iris, term: URIRef) -> Location:
    """The first file and line that write ``term``, for error messages."""
    for path in turtle_files:
        text = read_turtle_text(path, iris.base)
        line = text.line_of(text.spellings(str(term), iris.base))
        if line is not None:
            return Location(path, line)
    return Location(turtle_files[0] if turtle_files else Path(), None)
