"""Browsing: ``/id/event/`` (and each kind of :data:`tipkg.dist.BROWSE_KINDS`) lists its members
a page at a time, by name or by date, and ``/timeline`` lists the meetings by date with their
hosts, series and reports.

Every page reads its rows from the listings the build wrote (:mod:`tipkg.browse.listing`):
the manifest says how many there are, and a page reads only its own rows, so a page costs the
same in a build of one report as in one of ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from tipkg.browse.listing import Listing, Row
from tipkg.dist import BROWSE_DIR, BROWSE_KINDS, TIMELINE_LISTING, ListingEntry
from tipkg.server.errors import BadRequest, NotFound
from tipkg.server.pages.common import LIST_PAGE_SIZE, html_variant, page_total
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import Namer, readable_date
from tipkg.server.published import Published
from tipkg.server.web import current_published, not_modified, page_number

PAGE_SIZE = LIST_PAGE_SIZE
TIMELINE_PAGE_SIZE = LIST_PAGE_SIZE
# What each kind's page is called, and what its members are.
KIND_TITLES = {
    "event": ("Events", "Meetings, meeting series and the wider events they were held in."),
    "place": ("Places", "States and territories."),
    "org": ("Organisations", "Committees, ministries, departments and other bodies."),
    "concept": ("Concepts", "Topics of cooperation and the themes of meetings."),
    "document": ("Documents", "The reports the data was drawn from."),
}
SORT_NAMES = {"label": "name", "date": "date"}


@dataclass(frozen=True)
class BrowseLink:
    """A listing as the landing page and the frame link to it."""

    title: str
    href: str
    count: int


def listing(published: Published, name: str) -> tuple[ListingEntry, Listing]:
    """The listing ``name`` of the build and its manifest entry, opened once per build."""
    entry = published.manifest.listing(name)
    if entry is None:
        raise NotFound(f"this build has no listing {name!r}: rebuild with `tipkg build`")

    def open_listing(build: Published) -> Listing:
        return Listing(build.dist_dir / BROWSE_DIR, name, entry["rows"], len(entry["orders"]))

    return entry, published.derived(f"listing {name}", open_listing)


def browse_links(published: Published) -> list[BrowseLink]:
    """Every listing with its size, for the landing page."""
    links = []
    for kind in BROWSE_KINDS:
        entry = published.manifest.listing(kind)
        if entry is not None:
            links.append(BrowseLink(KIND_TITLES[kind][0], f"/id/{kind}/", entry["rows"]))
    timeline = published.manifest.listing(TIMELINE_LISTING)
    if timeline is not None:
        links.append(BrowseLink("Timeline of meetings", "/timeline", timeline["rows"]))
    return links


def page_and_pages(request: Request, count: int, size: int) -> tuple[int, int]:
    """The page asked for (:func:`~tipkg.server.web.page_number`) and the number of pages;
    one past the end is a 404."""
    page, pages = page_number(request), page_total(count, size)
    if page > pages:
        raise NotFound(f"page {page} is past the last page ({pages}) of {request.url.path}")
    return page, pages


def page_href(path: str, page: int, **params: str) -> str:
    """A link to ``page`` of a listing, keeping its other parameters (page 1 is left out)."""
    pairs = [(name, value) for name, value in params.items() if value]
    if page != 1:
        pairs.append(("page", str(page)))
    return path + ("?" + urlencode(pairs) if pairs else "")


# ------------------------------------------------------------------ /id/KIND/


@dataclass(frozen=True)
class MemberView:
    """One row of a kind's listing."""

    name: str
    href: str
    iri: str
    date: str | None
    machine_date: str | None


def browse_page(request: Request) -> Response:
    """The members of one kind, a page at a time, by name or by date."""
    published = current_published(request)
    kind = request.url.path.strip("/").split("/")[-1]
    sort = request.query_params.get("sort", "label")
    entry, rows = listing(published, kind)
    if sort not in entry["orders"]:
        raise BadRequest(f"sort must be one of {', '.join(entry['orders'])}, not {sort!r}")
    page, pages = page_and_pages(request, entry["rows"], PAGE_SIZE)
    headers = published.cache_headers(html_variant(f"browse {kind} {sort} {page}"))
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    namer = Namer(published)
    path = request.url.path
    sort_param = "" if sort == "label" else sort
    found = rows.page((page - 1) * PAGE_SIZE, PAGE_SIZE, entry["orders"].index(sort))
    title, description = KIND_TITLES[kind]
    response = render(
        request,
        published,
        "listing.html",
        title=title,
        description=description,
        kinds=[(KIND_TITLES[k][0], f"/id/{k}/", k == kind) for k in BROWSE_KINDS],
        members=[member_view(namer, row) for row in found],
        total=entry["rows"],
        first_shown=(page - 1) * PAGE_SIZE + 1,
        sorts=[
            (SORT_NAMES[name], page_href(path, 1, sort="" if name == "label" else name))
            for name in entry["orders"]
            if name == "label" or entry["dated"]
        ],
        sort=SORT_NAMES[sort],
        dated=entry["dated"],
        **pagination(path, page, pages, sort=sort_param),
    )
    response.headers.update(headers)
    return response


def member_view(namer: Namer, row: Row) -> MemberView:
    iri = row["iri"]
    date = row.get("date")
    return MemberView(
        name=row["label"],
        href=namer.href(iri),
        iri=iri,
        date=readable_date(date) if date else None,
        machine_date=date,
    )


def pagination(path: str, page: int, pages: int, **params: str) -> dict[str, Any]:
    """The page links a listing shows."""
    return {
        "page": page,
        "pages": pages,
        "first_href": page_href(path, 1, **params) if page > 1 else None,
        "previous_href": page_href(path, page - 1, **params) if page > 1 else None,
        "next_href": page_href(path, page + 1, **params) if page < pages else None,
        "last_href": page_href(path, pages, **params) if page < pages else None,
    }


# ------------------------------------------------------------------ /timeline


@dataclass(frozen=True)
class LinkView:
    name: str
    href: str


@dataclass(frozen=True)
class MeetingView:
    """One meeting of the timeline."""

    name: str
    href: str
    year: str | None
    start: str | None
    end: str | None
    machine_start: str | None
    hosts: list[LinkView]
    series: list[LinkView]
    reports: list[LinkView]


def timeline_page(request: Request) -> Response:
    """The meetings by date, a page at a time, with a link to where each year starts."""
    published = current_published(request)
    entry, rows = listing(published, TIMELINE_LISTING)
    page, pages = page_and_pages(request, entry["rows"], TIMELINE_PAGE_SIZE)
    headers = published.cache_headers(html_variant(f"timeline {page}"))
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    namer = Namer(published)
    found = rows.page((page - 1) * TIMELINE_PAGE_SIZE, TIMELINE_PAGE_SIZE)
    response = render(
        request,
        published,
        "timeline.html",
        title="Timeline of meetings",
        meetings=[meeting_view(namer, row) for row in found],
        total=entry["rows"],
        undated=entry["rows"] - entry["dated"],
        years=[
            (year, page_href("/timeline", start // TIMELINE_PAGE_SIZE + 1) + f"#year-{year}")
            for year, start in year_starts(published, entry, rows)
        ],
        **pagination("/timeline", page, pages),
    )
    response.headers.update(headers)
    return response


def meeting_view(namer: Namer, row: Row) -> MeetingView:
    def links(key: str) -> list[LinkView]:
        return [LinkView(link["label"], namer.href(link["iri"])) for link in row.get(key, ())]

    start, end = row.get("date"), row.get("end")
    return MeetingView(
        name=row["label"],
        href=namer.href(row["iri"]),
        year=start[:4] if start else None,
        start=readable_date(start) if start else None,
        end=readable_date(end) if end and end != start else None,
        machine_start=start,
        hosts=links("hosts"),
        series=links("series"),
        reports=links("reports"),
    )


def year_starts(published: Published, entry: ListingEntry, rows: Listing) -> list[tuple[str, int]]:
    """(year, the row it starts at) for each year of the timeline, once per build: a binary
    search of the rows by date per year, a few reads each."""

    def find(_: Published) -> list[tuple[str, int]]:
        dated = entry["dated"]
        if not dated:
            return []
        first, last = rows.row(0)["date"][:4], rows.row(dated - 1)["date"][:4]
        if not (first.isdigit() and last.isdigit()):
            return []
        starts = []
        for year in range(int(first), int(last) + 1):
            start = first_at_or_after(rows, dated, f"{year:04d}")
            if start < dated and rows.row(start)["date"].startswith(f"{year:04d}"):
                starts.append((f"{year:04d}", start))
        return starts

    return published.derived("timeline years", find)


def first_at_or_after(rows: Listing, dated: int, date: str) -> int:
    """The first of the ``dated`` rows (sorted by date) whose date is not before ``date``."""
    low, high = 0, dated
    while low < high:
        middle = (low + high) // 2
        if rows.row(middle)["date"] < date:
            low = middle + 1
        else:
            high = middle
    return low
