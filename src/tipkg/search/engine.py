"""Answering a search from the index: ranked hits with safe snippets, and facet counts.

Hits are ranked by BM25 over the three fields (boosts in ``FIELD_BOOSTS``); hits of equal score
keep a fixed order (by kind, then by a hash of their IRI: :func:`~tipkg.search.index.order_key`),
so the same entries answer the same way whatever history built the index. Facet counts cover
every hit, not only the page: each facet is counted with the *other* filters applied, so a
reader who picked one kind still sees how many hits the other kinds have.

A snippet comes back as parts, each plain text with a flag for whether it matched (and its
HTML-escaped form), so no caller has to trust markup made from the data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from tipkg.errors import SearchError
from tipkg.search.index import FIELD_BOOSTS, FIELDS, analyzer, open_index
from tipkg.search.model import KINDS, SentenceRef
from tipkg.search.syntax import Node, Term, parse

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 10_000
MAX_YEAR = 9999
# Most words one prefix may stand for: "tr*" would ask for every one of hundreds.
MAX_PREFIX_WORDS = 200
SNIPPET_CHARS = 200
# Context kept before the first match, and how much of a field Tantivy is asked to mark.
SNIPPET_LEAD_CHARS = 60
WHOLE_FIELD_CHARS = 1_000_000
# Documents listed in the document facet (the most frequent); kinds and years are all listed.
FACET_DOCUMENTS = 25
FACET_SIZES = {"kind": len(KINDS), "document": FACET_DOCUMENTS, "year": 10_000}
# Per segment, every value is counted before the lists are merged, so counts are exact.
FACET_SEGMENT_SIZE = 1_000_000
ELLIPSIS = "…"

Filters = dict[str, tantivy.Query]


@dataclass(frozen=True)
class SnippetPart:
    """A run of a snippet's text, matched or not."""

    text: str
    match: bool

    @property
    def html(self) -> str:
        """The text escaped for HTML (the caller adds its own mark for a match)."""
        return html.escape(self.text)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "html": self.html, "match": self.match}


@dataclass(frozen=True)
class Hit:
    """One entry that matches: what to show and where to link. ``sentence`` is set for
    sentence hits (its number and offsets in the report ``document``)."""

    iri: str
    kind: str
    label: str
    document: str | None
    year: int | None
    snippet: tuple[SnippetPart, ...]
    sentence: SentenceRef | None
    score: float

    def to_json(self) -> dict[str, Any]:
        sentence = self.sentence
        return {
            "iri": self.iri,
            "kind": self.kind,
            "label": self.label,
            "document": self.document,
            "year": self.year,
            "snippet": [part.to_json() for part in self.snippet],
            "sentence": (
                {"number": sentence.number, "begin": sentence.begin, "end": sentence.end}
                if sentence
                else None
            ),
            "score": self.score,
        }


@dataclass(frozen=True)
class Facet:
    """Hits per value, most first (ties by value); ``others`` counts the hits whose value a
    long facet leaves out of ``counts``."""

    counts: tuple[tuple[str | int, int], ...]
    others: int

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": [{"value": value, "count": count} for value, count in self.counts],
            "others": self.others,
        }


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, the number of hits in all, and the facets of all of them."""

    query: str
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, Facet]  # "kind", "document", "year"
    limit: int
    offset: int

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            "hits": [hit.to_json() for hit in self.hits],
            "facets": {name: facet.to_json() for name, facet in self.facets.items()},
        }

    def format_text(self) -> str:
        """For a terminal: each hit's kind, label, IRI and snippet (matches [bracketed]), then
        the facet counts."""
        if not self.total:
            return f"no hits for {self.query}"
        shown = f"{self.offset + 1}–{self.offset + len(self.hits)} of " if self.hits else ""
        lines = [f"{shown}{self.total:,} hit{'s' * (self.total != 1)} for {self.query}"]
        for hit in self.hits:
            about = ", ".join(str(v) for v in (hit.document, hit.year) if v is not None)
            lines.append(f"  {hit.kind:<12}  {hit.label}" + (f"  ({about})" if about else ""))
            where = hit.iri
            if hit.sentence is not None:
                where += f"  (characters {hit.sentence.begin}–{hit.sentence.end})"
            lines.append(f"  {'':<12}  {where}")
            marked = "".join(f"[{p.text}]" if p.match else p.text for p in hit.snippet)
            lines.append(f"  {'':<12}  {' '.join(marked.split())}")
        for name, facet in self.facets.items():
            counts = ", ".join(f"{value} {count:,}" for value, count in facet.counts)
            more = f" and {facet.others:,} in others" if facet.others else ""
            lines.append(f"{name}: {counts or '-'}{more}")
        return "\n".join(lines)


def checked_request(kinds: Iterable[str], limit: int, offset: int) -> tuple[str, ...]:
    """The kinds asked for, each once, when they and the page are ones the index answers;
    else a ``SearchError`` that says why."""
    kinds = tuple(dict.fromkeys(kinds))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise SearchError(f"no kind {unknown[0]!r}: choose from {', '.join(KINDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be 1 to {MAX_LIMIT}, not {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise SearchError(f"offset must be 0 to {MAX_OFFSET:,}, not {offset}")
    return kinds


class SearchIndex:
    """An index opened for many searches: a server keeps one per process (and reopens it when
    a new build lands), usable from any thread."""

    def __init__(self, path: Path) -> None:
        self.index = open_index(path)
        self.schema = self.index.schema
        self.searcher = self.index.searcher()
        self.analyzer = analyzer()

    def search(
        self,
        text: str,
        kinds: Iterable[str] = (),
        document: str | None = None,
        year: int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> SearchResult:
        """The hits for ``text`` (see :mod:`tipkg.search.syntax`), filtered by kind (any of
        ``kinds``), report slug and year; a bad query or filter is a ``SearchError``."""
        tree = parse(text)
        kinds = checked_request(kinds, limit, offset)
        filters: Filters = {}
        if kinds:
            filters["kind"] = tantivy.Query.term_set_query(self.schema, "kind", list(kinds))
        if document is not None:
            filters["document"] = tantivy.Query.term_query(self.schema, "document", document)
        if year is not None:
            filters["year"] = (
                tantivy.Query.term_query(self.schema, "year", year)
                if 0 < year <= MAX_YEAR
                else tantivy.Query.empty_query()
            )
        try:
            matching = self._query(tree)
            total, ranked = self._ranked(self._filtered(matching, filters), offset + limit)
            snippets = _Snippets(self.searcher, self.schema, matching)
            hits = tuple(self._hit(snippets, score, address) for score, address in ranked[offset:])
            facets = self._facets(matching, filters)
        except (
            ValueError
        ) as error:  # what Tantivy refuses, which the checks above should not let by
            raise SearchError(f"cannot search for {text!r}: {error}") from None
        return SearchResult(text, total, hits, facets, limit, offset)

    # ------------------------------------------------------------------ queries

    def _query(self, node: Node) -> tantivy.Query:
        if isinstance(node, Term):
            return self._term(node)
        operands = [self._query(operand) for operand in node.operands]
        if node.operator == "OR":
            clauses = [(tantivy.Occur.Should, query) for query in operands]
        elif node.operator == "AND":
            clauses = [(tantivy.Occur.Must, query) for query in operands]
        else:
            clauses = [(tantivy.Occur.Must, operands[0]), (tantivy.Occur.MustNot, operands[1])]
        return tantivy.Query.boolean_query(clauses)

    def _term(self, term: Term) -> tantivy.Query:
        """The term in any field, each field's BM25 score boosted by its weight."""
        words = self.analyzer.analyze(term.text)
        per_field = []
        for field in FIELDS:
            if term.prefix:
                queries = [self._word(field, word) for word in self._expand(field, words[0])]
            elif len(words) == 1:
                queries = [self._word(field, words[0])]
            else:
                queries = [tantivy.Query.phrase_query(self.schema, field, words)]
            per_field += [tantivy.Query.boost_query(q, FIELD_BOOSTS[field]) for q in queries]
        if not per_field:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field])

    def _word(self, field: str, word: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, word)

    def _expand(self, field: str, prefix: str) -> list[str]:
        """The indexed words of ``field`` that start with ``prefix`` (each then ranked by BM25
        like a word typed in full)."""
        found = self.searcher.terms_with_prefix(field, prefix, limit=MAX_PREFIX_WORDS + 1)
        if len(found) > MAX_PREFIX_WORDS:
            raise SearchError(
                f"{prefix}* stands for more than {MAX_PREFIX_WORDS} words: type more of the word"
            )
        return sorted(word for word, _ in found)

    def _filtered(self, matching: tantivy.Query, filters: Filters) -> tantivy.Query:
        """``matching`` within the filters, which select without adding to the score."""
        if not filters:
            return matching
        clauses = [(tantivy.Occur.Must, matching)]
        clauses += [
            (tantivy.Occur.Must, tantivy.Query.const_score_query(query, 0.0))
            for query in filters.values()
        ]
        return tantivy.Query.boolean_query(clauses)

    # ------------------------------------------------------------------ hits

    def _ranked(
        self, query: tantivy.Query, wanted: int
    ) -> tuple[int, list[tuple[float, tantivy.DocAddress]]]:
        """The number of hits, and the first ``wanted`` in order. Tantivy orders equal scores by
        where documents happen to lie, so every hit tied with the last one wanted is fetched
        and all are ordered by their ``order`` key."""
        fetch = wanted + 1
        first = self.searcher.search(query, fetch, count=True)
        hits = first.hits
        while len(hits) == fetch and hits[-1][0] == hits[wanted - 1][0]:
            fetch *= 4
            hits = self.searcher.search(query, fetch, count=False).hits
        keys = self.searcher.fast_field_values("order", [address for _, address in hits])
        ordered = sorted(zip(hits, keys, strict=True), key=lambda hit: (-hit[0][0], hit[1]))
        return int(first.count), [hit for hit, _ in ordered[:wanted]]

    def _hit(self, snippets: _Snippets, score: float, address: tantivy.DocAddress) -> Hit:
        document = self.searcher.doc(address)
        number = document.get_first("sentence")
        return Hit(
            iri=document.get_first("iri"),
            kind=document.get_first("kind"),
            label=document.get_first("label"),
            document=document.get_first("document"),
            year=document.get_first("year"),
            snippet=snippets.of(document),
            sentence=(
                SentenceRef(
                    number,
                    document.get_first("sentence_begin"),
                    document.get_first("sentence_end"),
                )
                if number is not None
                else None
            ),
            score=float(score),
        )

    # ------------------------------------------------------------------ facets

    def _facets(self, matching: tantivy.Query, filters: Filters) -> dict[str, Facet]:
        """Each facet counted under the other facets' filters: one aggregation per distinct
        set of filters (a single one when nothing is filtered)."""
        by_filters: dict[tuple[str, ...], list[str]] = {}
        for name in FACET_SIZES:
            by_filters.setdefault(tuple(f for f in filters if f != name), []).append(name)
        facets: dict[str, Facet] = {}
        for applied, names in by_filters.items():
            query = self._filtered(matching, {f: filters[f] for f in applied})
            request = {
                name: {
                    "terms": {
                        "field": name,
                        "size": FACET_SIZES[name],
                        "segment_size": FACET_SEGMENT_SIZE,
                    }
                }
                for name in names
            }
            answer = self.searcher.aggregate(query, request)
            for name in names:
                buckets = answer[name]["buckets"]
                counts = sorted(
                    ((bucket["key"], int(bucket["doc_count"])) for bucket in buckets),
                    key=lambda pair: (-pair[1], pair[0]),
                )
                facets[name] = Facet(tuple(counts), int(answer[name]["sum_other_doc_count"]))
        return {name: facets[name] for name in FACET_SIZES}


class _Snippets:
    """Snippets for one query's hits: a passage of the first field (names, text, notes) with a
    match in it, around its first match; else the start of the first field there is.

    Tantivy cuts a field into fixed windows and picks one, which can leave a match at a
    window's very edge; it is asked for the whole field and the passage is cut here."""

    def __init__(
        self, searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query
    ) -> None:
        self.searcher = searcher
        self.schema = schema
        self.query = query
        self.generators: dict[str, tantivy.SnippetGenerator] = {}

    def _generator(self, field: str) -> tantivy.SnippetGenerator:
        if field not in self.generators:
            generator = tantivy.SnippetGenerator.create(
                self.searcher, self.query, self.schema, field
            )
            generator.set_max_num_chars(WHOLE_FIELD_CHARS)
            self.generators[field] = generator
        return self.generators[field]

    def of(self, document: tantivy.Document) -> tuple[SnippetPart, ...]:
        texts = {field: document.get_first(field) for field in FIELDS}
        present = [field for field in FIELDS if texts[field]]
        for field in present:
            snippet = self._generator(field).snippet_from_doc(document)
            if snippet.highlighted():
                return _passage(texts[field], _matches(snippet))
        return _passage(texts[present[0]], []) if present else ()


def _matches(snippet: tantivy.Snippet) -> list[tuple[int, int]]:
    """Where the matches are, in code points of the field's text (Tantivy counts UTF-8 bytes
    from the start of its fragment, which here is the start of the field)."""
    fragment = snippet.fragment().encode("utf-8")
    offset = snippet.fragment_range().start

    def chars(end: int) -> int:
        return len(fragment[:end].decode("utf-8", errors="ignore")) + offset

    return [(chars(match.start), chars(match.end)) for match in snippet.highlighted()]


def _passage(text: str, matches: list[tuple[int, int]]) -> tuple[SnippetPart, ...]:
    """About ``SNIPPET_CHARS`` of ``text`` from a little before the first match, cut between
    words, as parts; an ellipsis where text is left out."""
    first_begin, first_end = matches[0] if matches else (0, 0)
    start = max(0, min(first_begin - SNIPPET_LEAD_CHARS, len(text) - SNIPPET_CHARS))
    if start > 0:
        space = text.find(" ", start, first_begin)
        start = space + 1 if space >= 0 else first_begin
    end = max(start + SNIPPET_CHARS, first_end)
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space > first_end else end
    else:
        end = len(text)
    parts = [SnippetPart(ELLIPSIS, False)] if start > 0 else []
    position = start
    for begin, finish in matches:
        if begin >= end:
            break
        parts.append(SnippetPart(text[position:begin], False))
        position = min(finish, end)
        parts.append(SnippetPart(text[begin:position], True))
    parts.append(SnippetPart(text[position:end], False))
    if end < len(text):
        parts.append(SnippetPart(ELLIPSIS, False))
    return _merged(part for part in parts if part.text)


def _merged(parts: Iterable[SnippetPart]) -> tuple[SnippetPart, ...]:
    """Adjacent parts of the same flag as one (the ellipsis joins its neighbour)."""
    merged: list[SnippetPart] = []
    for part in parts:
        if merged and merged[-1].match == part.match:
            merged[-1] = SnippetPart(merged[-1].text + part.text, part.match)
        else:
            merged.append(part)
    return tuple(merged)


def search(index_path: Path, text: str, **filters: Any) -> SearchResult:
    """One search of the index at ``index_path``: ``filters`` are :meth:`SearchIndex.search`'s
    (kinds, document, year, limit, offset)."""
    return SearchIndex(index_path).search(text, **filters)
