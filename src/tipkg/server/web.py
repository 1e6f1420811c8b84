"""What every route handler does with a request: find the build it is answered from, negotiate
the format, answer 304 when the client already has the representation, and say where the
server is reached (never where a request's ``Host`` header says, unless it is trusted).

Everything served comes from an immutable build, so a representation's validators are derived
from the build's version (see :meth:`Published.cache_headers`); graphs computed from a build are
kept in the result cache under its version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.formats import Format, serialize_triples
from tipkg.server.errors import BadRequest
from tipkg.server.negotiation import choose_format, not_acceptable
from tipkg.server.published import Published, PublishedHolder
from tipkg.server.querypool import ResultCache

# A page number longer than this names no page of any list a build holds.
MAX_PAGE_DIGITS = 9


def current_published(request: Request) -> Published:
    """The build to answer ``request`` from (reloaded first if dist/ changed)."""
    holder: PublishedHolder = request.app.state.published
    return holder.get()


def negotiate(
    request: Request, formats: tuple[Format, ...], override: str | None = None
) -> Format | None:
    """The offered format the client prefers (``override``, a ``?format=`` value, wins over
    ``Accept``); ``None`` when it accepts none. A malformed ``Accept`` raises a 400."""
    return choose_format(formats, request.headers.get("accept"), override)


def acceptable(
    request: Request, formats: tuple[Format, ...], override: str | None, what: str
) -> Format:
    """Like :func:`negotiate`, but nothing acceptable is a 406 that lists the offer."""
    fmt = negotiate(request, formats, override)
    if fmt is None:
        raise not_acceptable(formats, what)
    return fmt


def whole_number(text: str) -> int | None:
    """``text`` as a whole number from 1, written in ASCII digits (``"²"`` is a digit to
    ``str.isdigit`` but not to ``int``) and at most ``MAX_PAGE_DIGITS`` long; else ``None``."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_PAGE_DIGITS and int(text):
        return int(text)
    return None


def page_number(request: Request) -> int:
    """The page of a paginated list a request asks for (``?page=N``, from 1; 1 when absent or
    empty); anything else is a 400."""
    text = request.query_params.get("page", "").strip() or "1"
    page = whole_number(text)
    if page is None:
        raise BadRequest(f"page must be a whole number from 1, not {text[:20]!r}")
    return page


def not_modified(
    request: Request, published: Published, headers: Mapping[str, str]
) -> Response | None:
    """A 304 carrying ``headers`` when the request's validators match their ``ETag`` or the
    build's date, else ``None``. ``If-None-Match`` wins over ``If-Modified-Since``
    (RFC 9110 §13.2.2); tags compare weakly, as the RFC says for GET."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if "*" in tags or headers["ETag"].removeprefix("W/") in tags:
            return Response(status_code=304, headers=dict(headers))
        return None
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return None
        if since.tzinfo is not None and since >= published.modified:
            return Response(status_code=304, headers=dict(headers))
    return None


def graph_response(
    request: Request,
    published: Published,
    fmt: Format,
    variant: str,
    triples: Callable[[], Iterable[ox.Triple]],
) -> Response:
    """A graph derived from the build alone (named by ``variant``), in ``fmt``: a 304 when the
    client has it, else computed once per build and kept in the result cache."""
    headers = published.cache_headers(f"{variant}\n{fmt.name}")
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    cache: ResultCache = request.app.state.result_cache
    key = (variant, published.version, fmt.name)
    body = cache.get(key)
    if body is None:
        body = serialize_triples(triples(), fmt, published.prefixes)
        cache.put(key, body, len(body))
    return Response(body, 200, headers, media_type=fmt.content_type)


def endpoint_url(request: Request, published: Published) -> str:
    """Where clients reach the SPARQL endpoint (see :func:`site_url`)."""
    return site_url(request, published) + "sparql"


def site_url(request: Request, published: Published) -> str:
    """Where clients reach this server: ``public_url`` if set; else this request's own host,
    if it is one of ``trusted_hosts``; else the base IRI the server answers under. A request's
    ``Host`` header is the client's to write, so taken as it comes it would put any name into
    pages and descriptions, and into every shared cache in front of them."""
    settings = published.settings
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/"
    host = request.headers.get("host", "").lower()
    if host and host in settings.trusted_hosts:
        return f"{request.url.scheme}://{host}/"
    return published.base_iri
