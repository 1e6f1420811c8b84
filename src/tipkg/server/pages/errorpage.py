"""How every error is answered: one line of text, or for a browser a page (for a 404, one that
lists what does exist next to the address asked for).

:func:`error_response` is the app's one exception handler; route handlers only raise.
"""

from __future__ import annotations

from http import HTTPStatus

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tipkg.server.errors import HttpError
from tipkg.server.negotiation import AcceptError, best_match
from tipkg.server.pages.common import select
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published
from tipkg.server.web import current_published

# The most resources listed from the missing one's parent path.
MAX_LISTED_NEIGHBOURS = 20


def error_response(request: Request, error: HttpError) -> Response:
    """``error`` as a page when the client prefers HTML to text, else as its one line."""
    try:
        accept = request.headers.get("accept")
        wants_html = best_match(("text/plain", "text/html"), accept) == "text/html"
    except AcceptError:
        wants_html = False
    if not wants_html:
        return PlainTextResponse(error.message + "\n", error.status, error.headers)
    published = current_published(request)
    iri = published.iri_for_path(request.url.path)
    response = render(
        request,
        published,
        "error.html",
        status_code=error.status,
        title="Not found" if error.status == 404 else HTTPStatus(error.status).phrase,
        status=error.status,
        message=error.message,
        iri=iri,
        neighbours=neighbours(published, iri) if error.status == 404 else [],
    )
    response.headers.update(error.headers)
    return response


def neighbours(published: Published, iri: str) -> list[tuple[str, str]]:
    """(name, href) of the resources under the missing one's parent path."""
    parent = iri.rstrip("/").rsplit("/", 1)[0] + "/"
    if not parent.startswith(published.base_iri) or parent == published.base_iri:
        return []
    namer = Namer(published)
    return [
        (namer.display_name(row["s"].value), namer.href(row["s"].value))
        for row in select(
            published,
            "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
            "FILTER(isIRI(?s) && STRSTARTS(STR(?s), $parent)) } ORDER BY ?s "
            f"LIMIT {MAX_LISTED_NEIGHBOURS}",
            parent=ox.Literal(parent),
        )
    ]
