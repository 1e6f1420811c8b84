"""The HTML side of the server: landing page, resource pages, ontology docs and the query editor.

Every page is readable with no JavaScript. One module per page kind (:mod:`.landing`,
:mod:`.resource`, :mod:`.ontology`, :mod:`.editor`, :mod:`.notfound`) over the shared parts:
:mod:`.common` (templates, version, links, safe JSON), :mod:`.naming` (labels and how terms read),
:mod:`.facts` (what is fixed per build, and the page frame) and :mod:`.document` (source text).

Page data comes from the running build (:class:`~tipkg.server.published.Published`): labels,
types and text from its store, counts and files from its manifest.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tipkg.server import linkeddata
from tipkg.server.pages.common import PAGES_VERSION, STATIC_DIR
from tipkg.server.pages.editor import sparql_editor
from tipkg.server.pages.landing import landing
from tipkg.server.pages.notfound import render_not_found
from tipkg.server.pages.resource import render_resource

__all__ = ["page_routes", "sparql_editor"]


def page_routes() -> list[BaseRoute]:
    """The landing page, static files and (last, a catch-all) the dereferencing of IRIs."""
    return [
        Route("/", landing, methods=["GET", "HEAD"], name="landing"),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
        linkeddata.dereference_route(render_resource, render_not_found, PAGES_VERSION),
    ]
