"""The source text on pages: a fact's cited sentences quoted in their paragraph, and a source
document's full text with an anchor on every sentence and phrase.

Sentences and phrases are NIF strings (``nif:referenceContext`` + begin/end offsets) into the
document's ``nif:isString``; offsets that do not fit the text are never quoted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pyoxigraph as ox

from tipkg.server.pages.common import select
from tipkg.server.pages.naming import RDF_TYPE, Namer, ValueView, local_name, natural_key
from tipkg.server.published import Published
from tipkg.vocab import NIF, PROV

IS_STRING = str(NIF.isString)
REFERENCE_CONTEXT = str(NIF.referenceContext)
BEGIN_INDEX = str(NIF.beginIndex)
END_INDEX = str(NIF.endIndex)
SUPER_STRING = str(NIF.superString)
NIF_SENTENCE = str(NIF.Sentence)
NIF_PHRASE = str(NIF.Phrase)
DERIVED_FROM = str(PROV.wasDerivedFrom)
# The most facts named beside a highlighted sentence (its own page lists them all).
MAX_FOCUS_FACTS = 50


def document_text(published: Published, document: str) -> str | None:
    """The full text (``nif:isString``) of a source document, cached per build."""
    texts: dict[str, str] = published.derived("document_texts", lambda _: {})
    if document not in texts:
        literal = next(
            (t.object for t in published.triples(ox.NamedNode(document), ox.NamedNode(IS_STRING))),
            None,
        )
        if literal is None:
            return None
        texts[document] = literal.value
    return texts[document]


def sentence_anchor(iri: str) -> str:
    """The id of a sentence (or phrase) within its document's page."""
    if "#" in iri:
        return iri.rsplit("#", 1)[1]
    return "sentence-" + local_name(iri)


# ------------------------------------------------------------------ quoting the source


@dataclass(frozen=True)
class Segment:
    """A run of a quoted paragraph: ``context``, the cited ``sentence`` or the cited ``phrase``."""

    kind: str
    text: str


@dataclass
class Quote:
    """A paragraph of a source with the cited sentences (and phrases in them) marked."""

    document_title: str
    document_href: str
    sentences: list[tuple[str, str]]  # (name, href) of each cited sentence
    begin: int
    segments: list[Segment]


@dataclass(frozen=True)
class Span:
    """A stretch of a source text that a fact cites."""

    iri: str
    document: str
    begin: int
    end: int


def text_span(namer: Namer, iri: str) -> Span | None:
    """The document and offsets of a sentence or phrase, or ``None`` when it is not a text span."""
    node = ox.NamedNode(iri)
    values: dict[str, Any] = {}
    for triple in namer.published.triples(node):
        values.setdefault(triple.predicate.value, triple.object)
    context, begin, end = (
        values.get(REFERENCE_CONTEXT),
        values.get(BEGIN_INDEX),
        values.get(END_INDEX),
    )
    if not isinstance(context, ox.NamedNode) or begin is None or end is None:
        return None
    try:
        return Span(iri, context.value, int(begin.value), int(end.value))
    except ValueError:
        return None


def span_fits(span: Span, text: str) -> bool:
    """Whether the span's offsets lie inside ``text`` (and enclose something)."""
    return 0 <= span.begin < span.end <= len(text)


def quotes(namer: Namer, cited: Iterable[str]) -> tuple[list[Quote], list[str]]:
    """The cited text spans quoted in context, and the cited IRIs that are not text spans.

    Sentences of one paragraph make one quote; a phrase is marked, more strongly, inside the
    sentence it lies in.
    """
    sentences: dict[str, Span] = {}
    phrases: dict[str, list[Span]] = {}
    others: list[str] = []
    for iri in cited:
        span = text_span(namer, iri)
        if span is None:
            others.append(iri)
            continue
        is_sentence = any(
            t.object.value == NIF_SENTENCE
            for t in namer.published.triples(ox.NamedNode(iri), ox.NamedNode(RDF_TYPE))
        )
        if is_sentence:
            sentences[iri] = span
            continue
        container = next(
            (
                t.object.value
                for t in namer.published.triples(ox.NamedNode(iri), ox.NamedNode(SUPER_STRING))
                if isinstance(t.object, ox.NamedNode)
            ),
            None,
        )
        container_span = text_span(namer, container) if container else None
        if container is None or container_span is None:
            sentences[iri] = span
            continue
        sentences.setdefault(container, container_span)
        phrases.setdefault(container, []).append(span)
    paragraphs: dict[tuple[str, int], list[Span]] = {}
    for span in sentences.values():
        text = document_text(namer.published, span.document)
        if text is None or not span_fits(span, text):
            others.append(span.iri)
            continue
        start = text.rfind("\n", 0, span.begin) + 1
        paragraphs.setdefault((span.document, start), []).append(span)
    result = [
        make_quote(namer, sorted(group, key=lambda s: s.begin), phrases)
        for group in paragraphs.values()
    ]
    result.sort(key=lambda quote: (quote.document_title, quote.begin))
    return result, others


def make_quote(namer: Namer, sentences: list[Span], phrases: dict[str, list[Span]]) -> Quote:
    """One paragraph, its cited ``sentences`` marked and their cited ``phrases`` marked more."""
    first, last = sentences[0], sentences[-1]
    text = document_text(namer.published, first.document) or ""
    start = text.rfind("\n", 0, first.begin) + 1
    stop = text.find("\n", last.end)
    stop = len(text) if stop == -1 else stop
    sentence_marks = [(s.begin, s.end) for s in sentences]
    phrase_marks = [
        (p.begin, p.end)
        for s in sentences
        for p in phrases.get(s.iri, [])
        if s.begin <= p.begin < p.end <= s.end
    ]
    cuts = sorted({start, stop, *(b for m in sentence_marks + phrase_marks for b in m)})
    segments: list[Segment] = []
    for left, right in pairwise(cuts):
        if any(b <= left and right <= e for b, e in phrase_marks):
            kind = "phrase"
        elif any(b <= left and right <= e for b, e in sentence_marks):
            kind = "sentence"
        else:
            kind = "context"
        segments.append(Segment(kind, text[left:right]))
    return Quote(
        document_title=namer.display_name(first.document),
        document_href=namer.href(first.document) + f"#{sentence_anchor(first.iri)}",
        sentences=[(namer.display_name(s.iri), namer.href(s.iri)) for s in sentences],
        begin=first.begin,
        segments=segments,
    )


# ------------------------------------------------------------------ a document's full text


@dataclass
class TextRun:
    """A run of a document's text: plain, or a sentence (holding plain runs and phrases)."""

    text: str = ""
    anchor: str | None = None
    number: str | None = None
    href: str | None = None
    parts: list[TextRun] = field(default_factory=list)
    iri: str | None = None
    # The sentence a link asked for (``?sentence=N``), shown marked.
    highlighted: bool = False


def full_text(namer: Namer, document: str) -> list[TextRun] | None:
    """The document's text split into sentences (with anchors) and the phrases inside them."""
    text = document_text(namer.published, document)
    if text is None:
        return None
    spans = [
        (row["s"].value, int(row["b"].value), int(row["e"].value), row["t"].value)
        for row in select(
            namer.published,
            "SELECT ?s ?b ?e ?t WHERE { ?s nif:referenceContext $doc ; a ?t ; "
            "nif:beginIndex ?b ; nif:endIndex ?e FILTER(?t IN (nif:Sentence, nif:Phrase)) } "
            "ORDER BY ?b DESC(?e)",
            doc=ox.NamedNode(document),
        )
    ]
    sentences = [(s, b, e) for s, b, e, t in spans if t == NIF_SENTENCE and 0 <= b < e <= len(text)]
    phrases = [(s, b, e) for s, b, e, t in spans if t == NIF_PHRASE and 0 <= b < e <= len(text)]
    runs: list[TextRun] = []
    position = 0
    for iri, begin, end in sentences:
        if begin < position:
            continue  # overlapping sentences: keep the first
        if begin > position:
            runs.append(TextRun(text=text[position:begin]))
        sentence = TextRun(
            anchor=sentence_anchor(iri), number=local_name(iri), href=namer.href(iri), iri=iri
        )
        inner = begin
        for phrase_iri, phrase_begin, phrase_end in phrases:
            if phrase_begin < inner or phrase_end > end:
                continue
            if phrase_begin > inner:
                sentence.parts.append(TextRun(text=text[inner:phrase_begin]))
            sentence.parts.append(
                TextRun(
                    text=text[phrase_begin:phrase_end],
                    anchor=sentence_anchor(phrase_iri),
                    iri=phrase_iri,
                )
            )
            inner = phrase_end
        if inner < end:
            sentence.parts.append(TextRun(text=text[inner:end]))
        runs.append(sentence)
        position = end
    if position < len(text):
        runs.append(TextRun(text=text[position:]))
    return runs


# ------------------------------------------------------------------ one sentence asked for


@dataclass
class SentenceFocus:
    """The sentence a link into a document asked for (a search hit's), and the facts drawn from
    it or from a phrase quoted in it."""

    number: str
    anchor: str
    href: str
    facts: list[ValueView]
    more_facts: bool


def sentence_focus(
    namer: Namer, runs: list[TextRun] | None, number: str | None
) -> SentenceFocus | None:
    """Marks sentence ``number`` of the document's ``runs`` highlighted and names the facts
    that cite it (at most ``MAX_FOCUS_FACTS``); ``None`` when it has no such sentence."""
    sentence = next(
        (run for run in runs or () if run.number is not None and run.number == number), None
    )
    if sentence is None or sentence.iri is None or sentence.anchor is None:
        return None
    sentence.highlighted = True
    cited = [sentence.iri, *(part.iri for part in sentence.parts if part.iri)]
    facts: dict[str, ValueView] = {}
    more = False
    for iri in cited:
        for triple in namer.published.triples(None, ox.NamedNode(DERIVED_FROM), ox.NamedNode(iri)):
            subject = triple.subject
            if not isinstance(subject, ox.NamedNode) or subject.value in facts:
                continue
            if len(facts) == MAX_FOCUS_FACTS:
                more = True
                break
            facts[subject.value] = namer.value(subject)
    return SentenceFocus(
        number=number or "",
        anchor=sentence.anchor,
        href=sentence.href or "",
        facts=sorted(facts.values(), key=lambda view: natural_key(view.text)),
        more_facts=more,
    )
