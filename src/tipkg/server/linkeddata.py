"""Dereferencing: every IRI minted under the base answers from this server.

One scheme everywhere (slash IRIs, 303 See Other): a request for a resource's IRI
(``/id/event/x``, ``/ontology``, ``/graph/shared``, ``/dataset``) is redirected to the
representation of its description in the format the client prefers: ``/id/event/x.html``,
``.ttl``, ``.jsonld``, ``.nt`` or ``.rdf`` (RDF/XML). ``?format=`` on the IRI overrides
``Accept``. The representations answer 200 with ``Content-Location``, ``Vary: Accept``, and the
build's ETag and Last-Modified. When an IRI that itself ends in a format suffix exists
(``…/distribution/tipkg.ttl``), the IRI wins and its representations are ``…/tipkg.ttl.html``
and so on. A path that names nothing is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tipkg.formats import DOCUMENT_FORMATS, HTML, Format, format_named, serialize_triples
from tipkg.server.descriptions import describe_resource, is_known, representation_path
from tipkg.server.errors import BadRequest, NotFound
from tipkg.server.pages.common import PAGES_VERSION
from tipkg.server.pages.resource import render_resource
from tipkg.server.published import Published
from tipkg.server.web import acceptable, current_published, not_modified, page_number

FORMATS_BY_SUFFIX: dict[str, Format] = {fmt.suffix: fmt for fmt in DOCUMENT_FORMATS}


@dataclass(frozen=True)
class RepresentationUrl:
    """A request path split into the resource it represents and the format it asks for."""

    iri: str
    format: Format


def dereference(request: Request) -> Response:
    """A minted IRI (303 to its representation) or a representation of one (200)."""
    published = current_published(request)
    iri, representation = match_path(published, request)
    if iri is not None:
        return see_other(request, published, iri)
    if representation is not None:
        return represent(request, published, representation.iri, representation.format)
    raise NotFound(
        f"nothing is known about <{published.iri_for_path(request.url.path)}> in this dataset"
    )


def requested_iris(published: Published, request: Request) -> list[str]:
    """The IRIs a request path may stand for: as sent (percent-encoded) and decoded."""
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    candidates = [published.iri_for_path(raw_path), published.iri_for_path(unquote(raw_path))]
    return list(dict.fromkeys(candidates))


def match_path(
    published: Published, request: Request
) -> tuple[str | None, RepresentationUrl | None]:
    """Either the known IRI the path names, or the representation it names; both may be None."""
    candidates = requested_iris(published, request)
    for iri in candidates:
        if is_known(published, iri):
            return iri, None
    for candidate in candidates:
        stem, dot, suffix = candidate.rpartition(".")
        if dot and suffix in FORMATS_BY_SUFFIX and is_known(published, stem):
            return None, RepresentationUrl(stem, FORMATS_BY_SUFFIX[suffix])
    return None, None


def see_other(request: Request, published: Published, iri: str) -> Response:
    """303 to the representation in the format ``?format=`` names, else the one ``Accept``
    prefers."""
    vary = {"Vary": "Accept"}
    wanted = request.query_params.get("format")
    if wanted is not None:
        fmt = format_named(wanted, DOCUMENT_FORMATS)
        if fmt is None:
            known = ", ".join(FORMATS_BY_SUFFIX)
            raise BadRequest(f"unknown format {wanted!r}; use one of: {known}")
    else:
        fmt = acceptable(request, DOCUMENT_FORMATS, None, f"<{iri}>")
    return RedirectResponse(representation_path(published, iri, fmt), status_code=303, headers=vary)


def represent(request: Request, published: Published, iri: str, fmt: Format) -> Response:
    """The description of ``iri`` in ``fmt``, validated like every representation of the build.

    The HTML pages' version is part of their ETags, so a new release of the pages is never
    answered with a 304 for a page the old one rendered."""
    page = page_number(request)
    path = representation_path(published, iri, fmt) + (f"?page={page}" if page > 1 else "")
    variant = f"{fmt.name} {path}" + (f" {PAGES_VERSION}" if fmt is HTML else "")
    headers = {"Content-Location": path, "Vary": "Accept", **published.cache_headers(variant)}
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    description = describe_resource(published, iri, page)
    if fmt is HTML:
        response = render_resource(request, published, description)
    else:
        body = serialize_triples(description.triples(), fmt, published.prefixes)
        response = Response(body, media_type=fmt.content_type)
    response.headers.update(headers)
    return response
