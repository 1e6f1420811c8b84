"""The build's own files: each dump of dist/ byte for byte, and its VoID description."""

from __future__ import annotations

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from tipkg.dist import UNLISTED_FILES
from tipkg.formats import GRAPH_FORMATS, HTML
from tipkg.server.errors import NotFound
from tipkg.server.web import acceptable, current_published, graph_response, negotiate, not_modified


async def download(request: Request) -> Response:
    """A file of the build, byte for byte; a listed file has its SHA-256 as ETag."""
    published = current_published(request)
    name = request.path_params["name"]
    listed = {published_file.name: published_file for published_file in published.manifest.files}
    if name in listed:
        media_type = listed[name].media_type
        headers = {"ETag": f'W/"{listed[name].sha256}"', "Last-Modified": published.last_modified}
    elif name in UNLISTED_FILES:
        media_type = UNLISTED_FILES[name]
        headers = published.cache_headers(f"download\n{name}")
    else:
        raise NotFound(f"no file {name!r} in this build; see /download/SHA256SUMS")
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    return FileResponse(published.dist_dir / name, media_type=media_type, headers=headers)


async def well_known_void(request: Request) -> Response:
    """The VoID and DCAT description of the dataset (RFC 5785 / VoID §7.2), negotiated; a
    browser is sent to the dataset's page."""
    published = current_published(request)
    override = request.query_params.get("format")
    if override is None and negotiate(request, (*GRAPH_FORMATS, HTML)) is HTML:
        return RedirectResponse("/dataset", status_code=303)
    fmt = acceptable(request, GRAPH_FORMATS, override, "the VoID description")
    void_graph = ox.NamedNode(published.iris.graph("void"))

    def void_triples() -> list[ox.Triple]:
        quads = published.store.quads_for_pattern(None, None, None, void_graph)
        return [quad.triple for quad in quads]

    return graph_response(request, published, fmt, "void", void_triples)
