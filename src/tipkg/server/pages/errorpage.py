"""How every error is answered: one line of text, or for a browser a page (for a 404, one that
lists what does exist next to the address asked for).

The neighbours are suggestions, found by a bounded look rather than a search of the build (no
index finds IRIs by their start): minted paths follow classes (``id/event/`` holds meetings), so
the first instances of each class are looked at, a few hundred at most per class.

:func:`error_response` is the app's one exception handler; route handlers only raise.
"""

from __future__ import annotations

from http import HTTPStatus
from itertools import islice

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tipkg.server.errors import HttpError
from tipkg.server.negotiation import AcceptError, best_match
from tipkg.server.pages.facts import class_iris
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published
from tipkg.server.web import current_published
from tipkg.vocab import RDF

# The most resources listed from the missing one's parent path.
MAX_LISTED_NEIGHBOURS = 20
# The most instances of one class looked at for them.
NEIGHBOURS_LOOKED_AT_PER_CLASS = 200
RDF_TYPE = ox.NamedNode(str(RDF.type))


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
    found: set[str] = set()
    for cls in class_iris(published):
        instances = published.store.quads_for_pattern(
            None, RDF_TYPE, ox.NamedNode(cls), ox.DefaultGraph()
        )
        for quad in islice(instances, NEIGHBOURS_LOOKED_AT_PER_CLASS):
            if isinstance(quad.subject, ox.NamedNode) and quad.subject.value.startswith(parent):
                found.add(quad.subject.value)
        if len(found) >= MAX_LISTED_NEIGHBOURS:
            break
    namer = Namer(published)
    return [
        (namer.display_name(neighbour), namer.href(neighbour))
        for neighbour in sorted(found)[:MAX_LISTED_NEIGHBOURS]
    ]
