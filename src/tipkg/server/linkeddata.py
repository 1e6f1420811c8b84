"""Dereferencing: every IRI minted under the base answers from this server.

One scheme everywhere (slash IRIs, 303 See Other): a request for a resource's IRI
(``/id/event/x``, ``/ontology``, ``/graph/shared``, ``/dataset``) is redirected to the
representation of its description in the format the client prefers: ``/id/event/x.html``,
``.ttl``, ``.jsonld``, ``.nt`` or ``.rdf`` (RDF/XML). ``?format=`` on the IRI overrides
``Accept``. The representations answer 200 with ``Content-Location``, ``Vary: Accept``, and the
build's ETag and Last-Modified; the RDF ones say what they are about, in which dataset and under
which licence (:func:`~tipkg.server.descriptions.document_statements`). When an IRI that itself
ends in a format suffix exists (``…/distribution/tipkg.ttl``), the IRI wins and its
representations are ``…/tipkg.ttl.html`` and so on. A path that names nothing is a 404.

The JSON-LD representation is compacted with the context the dump uses (``dist/context.jsonld``,
derived from the shapes: short keys, native numbers and booleans, an array for every key) and
written by the dump's own :class:`~tipkg.jsonld.NodeWriter`.
The context is embedded, not referenced by URL: a document then reads the same with every
processor, including those that load no remote context (pyoxigraph's parser by default, JSON-LD
processors locked down as JSON-LD 1.1's security considerations advise) and a copy saved to
disk; it always carries the exact context it was compacted with, whichever build a cache kept;
and the dump does the same. It costs some 18 KB a document, under 3 KB once gzipped. The same
context is downloadable on its own as ``/download/context.jsonld``, the build's file byte for
byte.

pyoxigraph's store keeps every type derived from ``xsd:integer`` (``xsd:positiveInteger``,
``xsd:nonNegativeInteger``, …) as ``xsd:integer`` (oxigraph/oxigraph#1413), so a description read
from it would say ``tip:ordinal 1`` where the build wrote ``"1"^^xsd:positiveInteger``. The build
checked every value of such a predicate against the datatype its value shape requires, and the
context carries that datatype, so the RDF documents give such an ``xsd:integer`` back its type
(:func:`~tipkg.server.descriptions.integer_types_restored`).

Every answer about a resource, the 303, the 200s and their 304s, carries a ``Link`` header
(RFC 8288) so a client finds the other formats without parsing a body: on a representation,
``rel="alternate"`` with its media type for each other representation; on the 303, whose link
context is the resource itself, ``rel="alternate"`` for every representation and also
``rel="describedby"`` for the RDF ones, the machine-readable descriptions of that resource. A
representation gets no ``describedby``: its context is the document, which the others describe
no more than it describes itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tipkg.formats import (
    DOCUMENT_FORMATS,
    HTML,
    JSON_LD,
    Format,
    format_named,
    serialize_triples,
)
from tipkg.server.descriptions import (
    alternates,
    describe_resource,
    document_statements,
    is_known,
    jsonld_writer,
    representation_path,
)
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
    wanted = request.query_params.get("format")
    if wanted is not None:
        fmt = format_named(wanted, DOCUMENT_FORMATS)
        if fmt is None:
            known = ", ".join(FORMATS_BY_SUFFIX)
            raise BadRequest(f"unknown format {wanted!r}; use one of: {known}")
    else:
        fmt = acceptable(request, DOCUMENT_FORMATS, None, f"<{iri}>")
    headers = {"Vary": "Accept", "Link": links(published, iri, None)}
    return RedirectResponse(
        representation_path(published, iri, fmt), status_code=303, headers=headers
    )


def represent(request: Request, published: Published, iri: str, fmt: Format) -> Response:
    """The description of ``iri`` in ``fmt``, validated like every representation of the build.

    The HTML pages' version is part of their ETags, so a new release of the pages is never
    answered with a 304 for a page the old one rendered."""
    page = page_number(request)
    query = {"page": str(page)} if page > 1 else {}
    if fmt is HTML and request.query_params.get("sentence"):  # marks a sentence of a report
        query["sentence"] = request.query_params["sentence"]
    path = representation_path(published, iri, fmt) + (f"?{urlencode(query)}" if query else "")
    variant = f"{fmt.name} {path}" + (f" {PAGES_VERSION}" if fmt is HTML else "")
    headers = {
        "Content-Location": path,
        "Vary": "Accept",
        "Link": links(published, iri, fmt),
        **published.cache_headers(variant),
    }
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    description = describe_resource(published, iri, page)
    if fmt is HTML:
        response = render_resource(request, published, description)
    else:
        triples = [*description.triples(), *document_statements(published, iri, fmt)]
        response = Response(
            serialize_description(published, triples, fmt), media_type=fmt.content_type
        )
    response.headers.update(headers)
    return response


def serialize_description(published: Published, triples: list[ox.Triple], fmt: Format) -> bytes:
    """A description in an RDF format; JSON-LD compacted with the build's context, embedded."""
    if fmt is not JSON_LD:
        return serialize_triples(triples, fmt, published.prefixes)
    writer = jsonld_writer(published)
    document = {"@context": writer.context, "@graph": writer.node_objects(triples)}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def links(published: Published, iri: str, shown: Format | None) -> str:
    """The ``Link`` header of an answer about ``iri``: every representation but ``shown`` as an
    alternate; with nothing shown (the 303), the RDF ones also as descriptions of ``iri``."""
    values = []
    for fmt, path in alternates(published, iri):
        if fmt is shown:
            continue
        target = quote(path, safe="/:@!$&'()*+,;=%#?~")  # an IRI's other characters as UTF-8
        values.append(f'<{target}>; rel="alternate"; type="{fmt.media_type}"')
        if shown is None and fmt is not HTML:
            values.append(f'<{target}>; rel="describedby"; type="{fmt.media_type}"')
    return ", ".join(values)
