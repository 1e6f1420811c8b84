"""The 404 for a path that names nothing in the build: for a browser, a page that lists what does
exist next to it; for anything else, one line of text.
"""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tipkg.server.negotiation import AcceptError, best_match
from tipkg.server.pages.common import select
from tipkg.server.pages.facts import render
from tipkg.server.pages.naming import Namer
from tipkg.server.published import Published

# The most resources listed from the missing one's parent path.
MAX_LISTED_NEIGHBOURS = 20


def render_not_found(request: Request, published: Published) -> Response:
    """404 for a path that names nothing in the build: a page that helps, or one line of text."""
    iri = published.iri_for_path(request.url.path)
    try:
        wants_html = (
            best_match(("text/html", "text/plain"), request.headers.get("accept")) == "text/html"
        )
    except AcceptError:
        wants_html = False
    if not wants_html:
        return PlainTextResponse(
            f"nothing is known about <{iri}> in this dataset\n", status_code=404
        )
    namer = Namer(published)
    parent = iri.rstrip("/").rsplit("/", 1)[0] + "/"
    neighbours: list[tuple[str, str]] = []
    if parent.startswith(published.base_iri) and parent != published.base_iri:
        neighbours = [
            (namer.display_name(row["s"].value), namer.href(row["s"].value))
            for row in select(
                published,
                "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
                "FILTER(isIRI(?s) && STRSTARTS(STR(?s), $parent)) } ORDER BY ?s "
                f"LIMIT {MAX_LISTED_NEIGHBOURS}",
                parent=ox.Literal(parent),
            )
        ]
    return render(
        request,
        published,
        "not_found.html",
        status_code=404,
        title="Not found",
        iri=iri,
        neighbours=neighbours,
    )
