"""The search page, ``GET /search?q=…&kind=…&document=…&year=…&page=…``: ranked hits from the
build's full-text index (:mod:`tipkg.search`), as a page or as JSON (by ``Accept``, or
``?format=json``).

Each hit links to its resource's page; a sentence hit links to its report's page with the
sentence highlighted and the facts drawn from it (``?sentence=N#sentence-N``). Filters are facet
links with counts that keep the other filters. A query the index cannot read is answered 400:
for a person, the page with its form and the reason; for a program, ``{"query", "error"}``.
Those two are the search's own answers, not errors of the server, so they are rendered here.

The index is opened once per loaded build; a search costs the index's work on its hits and a
few label lookups for one page, whatever the corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tipkg.dist import SEARCH_INDEX_DIR
from tipkg.errors import InputError, SearchError
from tipkg.formats import HTML, SEARCH_FORMATS
from tipkg.search.engine import (
    DEFAULT_LIMIT,
    MAX_OFFSET,
    Facet,
    Hit,
    SearchIndex,
    SearchResult,
    SnippetPart,
)
from tipkg.search.index import VALUE_SEPARATOR
from tipkg.search.model import KINDS
from tipkg.search.syntax import MAX_QUERY_CHARS
from tipkg.server.errors import ServiceUnavailable
from tipkg.server.pages.common import html_variant, page_total
from tipkg.server.pages.document import sentence_anchor
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published
from tipkg.server.web import acceptable, current_published, not_modified, whole_number

PAGE_SIZE = DEFAULT_LIMIT
# The engine pages no further than MAX_OFFSET hits in.
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
NO_QUERY = "no query: give the words to search for as ?q="
# Between the values of one field in a snippet (a resource's several names).
SHOWN_SEPARATOR = " · "
# What the filter for each kind of hit is called (a hit is labelled with its kind itself).
KIND_PLURALS = {
    "meeting": "Meetings",
    "state": "States",
    "territory": "Territories",
    "statement": "Statements",
    "sentence": "Sentences",
    "report": "Reports",
    "concept": "Concepts",
    "organisation": "Organisations",
    "other": "Other",
}


def search_index(published: Published) -> SearchIndex:
    """The build's full-text index, opened once per build (a 503 if the build has none)."""
    try:
        return published.derived(
            "search_index", lambda build: SearchIndex(build.dist_dir / SEARCH_INDEX_DIR)
        )
    except InputError as error:
        raise ServiceUnavailable(f"search is unavailable: {error.message}") from None


@dataclass(frozen=True)
class SearchForm:
    """What was asked: the query text, the filters and the page (1-based)."""

    text: str
    kinds: tuple[str, ...]
    document: str | None
    year: int | None
    page: int

    @classmethod
    def read(cls, params: QueryParams) -> SearchForm:
        """The form in ``params``; a page or year that is not a number is a ``SearchError``
        (every kind is checked by the index, which names the ones it knows)."""
        page_text = params.get("page", "1").strip() or "1"
        year_text = (params.get("year") or "").strip()
        form = cls(
            text=params.get("q", "").strip(),
            kinds=tuple(k for k in params.getlist("kind") if k),
            document=(params.get("document") or "").strip() or None,
            year=whole_number(year_text),
            page=whole_number(page_text) or 0,
        )
        if form.page < 1:
            raise SearchError(f"page must be a whole number from 1, not {page_text[:20]!r}")
        if year_text and form.year is None:
            raise SearchError(f"year must be a year such as 2021, not {year_text[:20]!r}")
        if form.page > MAX_PAGE:
            raise SearchError(
                f"page {form.page} is past the last page shown ({MAX_PAGE}): "
                "add words or filters to narrow the search"
            )
        return form

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """This form's query parameters with ``changes`` (a filter set to ``None`` is dropped;
        ``kinds`` is a tuple); page 1 is left out."""
        values: dict[str, Any] = {
            "kinds": self.kinds,
            "document": self.document,
            "year": self.year,
            "page": self.page,
            **changes,
        }
        pairs = [("q", self.text)]
        pairs += [("kind", kind) for kind in values["kinds"]]
        pairs += [(name, str(values[name])) for name in ("document", "year") if values[name]]
        if values["page"] != 1:
            pairs.append(("page", str(values["page"])))
        return pairs

    def href(self, fmt: str | None = None, **changes: Any) -> str:
        pairs = self.params(**changes) + ([("format", fmt)] if fmt else [])
        return "/search?" + urlencode(pairs)

    def neighbours(self, pages: int, fmt: str | None = None) -> tuple[str | None, str | None]:
        """The links to the pages before and after this one, where there are such pages."""
        previous = self.href(fmt, page=self.page - 1) if self.page > 1 else None
        following = self.href(fmt, page=self.page + 1) if self.page < pages else None
        return previous, following


@dataclass
class FacetLink:
    """One value of a facet: its name, how many hits have it, and the link that applies it
    (or, when it is applied, removes it)."""

    name: str
    count: int
    href: str
    selected: bool


@dataclass
class HitView:
    """A hit as the page shows it."""

    iri: str
    kind: str
    label: str
    href: str
    snippet: tuple[SnippetPart, ...]
    year: int | None
    document_title: str | None
    document_href: str | None
    sentence_number: int | None = None
    # For a sentence hit: the sentence's own page (the title links into its report).
    sentence_href: str | None = None


def search_page(request: Request) -> Response:
    """Hits for ``?q=`` as a page or JSON; the form alone when nothing is asked."""
    published = current_published(request)
    params = request.query_params
    fmt = acceptable(request, SEARCH_FORMATS, params.get("format"), "search results")
    try:
        form = SearchForm.read(params)
    except SearchError as error:
        return refusal(request, published, fmt is HTML, params.get("q", ""), error.message)
    if not form.text:
        if fmt is not HTML:
            return refusal(request, published, False, "", NO_QUERY)
        return render(request, published, "search.html", title="Search", **page_context(form))
    headers = published.cache_headers(html_variant(f"search {fmt.name} {request.url.query}"))
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    try:
        result = search_index(published).search(
            form.text, form.kinds, form.document, form.year, PAGE_SIZE, form.offset
        )
    except SearchError as error:
        return refusal(request, published, fmt is HTML, form.text, error.message, form)
    namer = Namer(published)
    hits = [hit_view(namer, hit) for hit in result.hits]
    if fmt is HTML:
        response: Response = render(
            request,
            published,
            "search.html",
            title=f"{form.text} · Search",
            **page_context(form, result, hits, namer),
        )
    else:
        response = JSONResponse(result_json(form, result, hits))
    response.headers.update(headers)
    return response


def refusal(
    request: Request,
    published: Published,
    wants_html: bool,
    text: str,
    message: str,
    form: SearchForm | None = None,
) -> Response:
    """The 400 for a search the index cannot run: the form and the reason, or JSON."""
    if not wants_html:
        return JSONResponse({"query": text, "error": message}, status_code=400)
    form = form or SearchForm(text.strip(), (), None, None, 1)
    return render(
        request,
        published,
        "search.html",
        status_code=400,
        title="Search",
        **page_context(form, error=message),
    )


def page_context(
    form: SearchForm,
    result: SearchResult | None = None,
    hits: list[HitView] | None = None,
    namer: Namer | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """What search.html shows: the form, and for a result its hits, facets and page links
    (or why the search could not run)."""
    context: dict[str, Any] = {
        "form": form,
        "search_text": form.text,
        "max_query_chars": MAX_QUERY_CHARS,
        "result": result,
        "hits": hits or [],
        "error": error,
    }
    if result is None or namer is None:
        return context
    pages = page_count(result.total)
    previous_href, next_href = form.neighbours(pages)
    context.update(
        facets=facet_links(form, result.facets, namer),
        others={name: facet.others for name, facet in result.facets.items()},
        active=active_filters(form, namer),
        pages=pages,
        first_shown=result.offset + 1,
        last_shown=result.offset + len(result.hits),
        previous_href=previous_href,
        next_href=next_href,
        json_href=form.href("json"),
    )
    return context


def page_count(total: int) -> int:
    """How many pages ``total`` hits fill, as far as the index pages."""
    return min(MAX_PAGE, page_total(total, PAGE_SIZE))


def hit_view(namer: Namer, hit: Hit) -> HitView:
    """A hit with its links."""
    published = namer.published
    iri = hit.iri
    document = str(published.iris.document(hit.document)) if hit.document else None
    view = HitView(
        iri=iri,
        kind=hit.kind,
        label=hit.label,
        href=namer.href(iri),
        snippet=tuple(
            SnippetPart(part.text.replace(VALUE_SEPARATOR, SHOWN_SEPARATOR), part.match)
            for part in hit.snippet
        ),
        year=hit.year,
        document_title=namer.display_name(document) if document else None,
        document_href=namer.href(document) if document and hit.kind != "report" else None,
    )
    if hit.sentence is not None and document is not None:
        number = hit.sentence.number
        view.sentence_number = number
        view.sentence_href = view.href
        view.href = namer.href(document) + f"?sentence={number}#{sentence_anchor(iri)}"
    return view


def facet_links(
    form: SearchForm, facets: dict[str, Facet], namer: Namer
) -> dict[str, list[FacetLink]]:
    """Each facet's values as links that keep the other filters and go back to page 1."""
    kinds = [
        FacetLink(
            name=KIND_PLURALS.get(str(value), str(value)),
            count=count,
            href=form.href(kinds=() if value in form.kinds else (value,), page=1),
            selected=value in form.kinds,
        )
        for value, count in sorted(facets["kind"].counts, key=lambda vc: KINDS.index(vc[0]))
    ]
    documents = [
        FacetLink(
            name=namer.display_name(str(namer.published.iris.document(str(value)))),
            count=count,
            href=form.href(document=None if value == form.document else value, page=1),
            selected=value == form.document,
        )
        for value, count in facets["document"].counts
    ]
    years = [
        FacetLink(
            name=str(value),
            count=count,
            href=form.href(year=None if value == form.year else value, page=1),
            selected=value == form.year,
        )
        for value, count in sorted(facets["year"].counts)
    ]
    return {"kind": kinds, "document": documents, "year": years}


def active_filters(form: SearchForm, namer: Namer) -> list[tuple[str, str]]:
    """(what, link that removes it) for each filter applied."""
    active = [
        (
            KIND_PLURALS.get(kind, kind),
            form.href(kinds=tuple(k for k in form.kinds if k != kind), page=1),
        )
        for kind in form.kinds
    ]
    if form.document:
        title = namer.display_name(str(namer.published.iris.document(form.document)))
        active.append((title, form.href(document=None, page=1)))
    if form.year:
        active.append((str(form.year), form.href(year=None, page=1)))
    return active


def result_json(form: SearchForm, result: SearchResult, hits: Iterable[HitView]) -> dict[str, Any]:
    """The engine's answer, each hit under the served base with the path of its page (and of a
    sentence's place in its report), and links to the neighbouring pages."""
    document = result.to_json()
    for hit_json, view in zip(document["hits"], hits, strict=True):
        hit_json["iri"] = view.iri
        hit_json["href"] = view.sentence_href or view.href
        hit_json["document_title"] = view.document_title
        hit_json["in_document"] = view.href if view.sentence_href else None
    pages = page_count(result.total)
    previous, following = form.neighbours(pages, "json")
    document.update(
        filters={"kind": list(form.kinds), "document": form.document, "year": form.year},
        page=form.page,
        pages=pages,
        previous=previous,
        next=following,
    )
    return document
