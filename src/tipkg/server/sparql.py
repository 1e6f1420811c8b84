"""The SPARQL 1.1 Protocol endpoint at ``/sparql``, read-only and limited.

A request is read by :mod:`.protocol`. With no query it gets the service description
(:mod:`.service`); a browser that prefers HTML gets the query editor (:mod:`.pages.editor`);
otherwise the query is answered from the result cache or by a query worker (:mod:`.jobs`,
:mod:`.evaluation`), in the format negotiated here.

Statuses: 200; 304 on a matching ``If-None-Match`` for a GET; 400 for a malformed request,
Accept header or query (with the parser's message) and for a refused SERVICE; 403 for any
update; 406 when no offered format fits; 413 for a query or body over its limit; 415 for an
unknown POST body type; 503 when a query outlives ``query_timeout`` or no worker frees up in time.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from tipkg.formats import (
    ANSWER_FORMATS,
    GRAPH_FORMATS,
    HTML,
    RESULTS_FORMATS,
    Format,
    hinted_format,
)
from tipkg.server.errors import BadRequest
from tipkg.server.jobs import answer
from tipkg.server.pages.editor import editor_page
from tipkg.server.protocol import (
    TRUNCATED_HEADER,
    ProtocolRequest,
    query_form,
    read_protocol_request,
)
from tipkg.server.published import Published
from tipkg.server.service import service_description
from tipkg.server.web import (
    acceptable,
    current_published,
    endpoint_url,
    graph_response,
    negotiate,
    not_modified,
)


async def sparql_endpoint(request: Request) -> Response:
    """One SPARQL Protocol request: a query, or (with no query) the service description."""
    published = current_published(request)
    protocol = await read_protocol_request(request, published.settings)
    if protocol.query is None:
        return await service_description_response(request, published, protocol)
    return await query_response(request, published, protocol)


def wants_editor(request: Request, protocol: ProtocolRequest, offered: tuple[Format, ...]) -> bool:
    """A browser's GET: HTML is preferred over every format the answer could take."""
    if request.method == "POST" or protocol.format_override is not None:
        return False
    return negotiate(request, (*offered, HTML)) is HTML


async def service_description_response(
    request: Request, published: Published, protocol: ProtocolRequest
) -> Response:
    if request.method == "POST":
        raise BadRequest("no query given: send it as 'query'")
    if wants_editor(request, protocol, GRAPH_FORMATS):
        return await editor_page(request, published, protocol)
    override = protocol.format_override
    fmt = acceptable(request, GRAPH_FORMATS, override, "the service description")
    endpoint = endpoint_url(request, published)
    variant = f"service-description\n{endpoint}"
    description = partial(service_description, published, endpoint)
    return graph_response(request, published, fmt, variant, description)


def answer_formats(form: str | None) -> tuple[Format, ...]:
    """The formats a query's answer can take, by its form (any of them when it is unreadable)."""
    if form in ("SELECT", "ASK"):
        return RESULTS_FORMATS
    if form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_FORMATS
    return ANSWER_FORMATS


def kin_name(override: str | None, offered: tuple[Format, ...]) -> str | None:
    """A ``format``/``output``/``results`` value as the name of an offered format: clients send
    one return format whatever the query's form, so a format of the other kind is read as its
    kin (:func:`~tipkg.formats.hinted_format`); a name with no kin offered stays as given (and
    gets its 406). Only SPARQL answers are this lenient: other routes take names as they are."""
    if override is None:
        return None
    kin = hinted_format(override, offered)
    return kin.name if kin is not None else override


async def query_response(
    request: Request, published: Published, protocol: ProtocolRequest
) -> Response:
    """The query's answer in the negotiated format (the results or the graph format: which one
    the worker uses is known for sure only once the query is parsed)."""
    form = query_form(protocol.query or "")
    offered = answer_formats(form)
    if wants_editor(request, protocol, offered):
        return await editor_page(request, published, protocol)
    if not (protocol.query or "").strip():
        raise BadRequest("the query is empty")
    override = protocol.format_override
    acceptable(request, offered, kin_name(override, offered), f"a {form or 'SPARQL'} query")
    job = protocol.job(
        negotiate(request, RESULTS_FORMATS, kin_name(override, RESULTS_FORMATS)),
        negotiate(request, GRAPH_FORMATS, kin_name(override, GRAPH_FORMATS)),
    )
    # GET answers are validated like every other representation of the build; POST ones are not
    # cacheable (RFC 9110 §9.3.3), so they carry no validators.
    validators: dict[str, str] = {}
    if request.method != "POST":
        validators = published.cache_headers(f"sparql\n{job!r}")
        if (unchanged := not_modified(request, published, validators)) is not None:
            return unchanged
    result = await answer(request, published, job)
    headers = {"Cache-Control": "no-cache", **validators}
    if result.truncated:
        headers[TRUNCATED_HEADER] = "true"
    return Response(result.body, 200, headers, media_type=result.content_type)
