"""The build's own files: each dump byte for byte, and its VoID description. The files come
from the snapshot the build was loaded from, never from dist/ as it is now, so each carries
the ETag of the build it belongs to."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from tipkg.dist import UNLISTED_FILES
from tipkg.formats import GRAPH_FORMATS, HTML
from tipkg.server.errors import NotFound
from tipkg.server.published import Published
from tipkg.server.web import acceptable, current_published, graph_response, negotiate, not_modified


async def download(request: Request) -> Response:
    """A file of the build, byte for byte; a listed file has its SHA-256 as ETag."""
    published = current_published(request)
    name = request.path_params["name"]
    listed = published.derived(
        "downloads", lambda build: {listed.name: listed for listed in build.manifest.files}
    )
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
    return BuildFileResponse(published, name, media_type=media_type, headers=headers)


class BuildFileResponse(FileResponse):
    """A file of a build's snapshot. It holds the build until the file is sent: a snapshot's
    directory is removed once nothing holds its build, and a rebuild may replace the current
    build while a client is still downloading."""

    def __init__(self, published: Published, name: str, **kwargs: Any) -> None:
        super().__init__(published.dist_dir / name, **kwargs)
        self.published = published


async def well_known_void(request: Request) -> Response:
    """The VoID and DCAT description of the dataset (RFC 5785 / VoID §7.2), negotiated; a
    browser is sent to the dataset's page."""
    published = current_published(request)
    override = request.query_params.get("format")
    if override is None and negotiate(request, (*GRAPH_FORMATS, HTML)) is HTML:
        return RedirectResponse("/dataset", status_code=303)
    fmt = acceptable(request, GRAPH_FORMATS, override, "the VoID description")

    def void_triples() -> list[ox.Triple]:
        quads = published.store.quads_for_pattern(None, None, None, published.description_graph)
        return [quad.triple for quad in quads]

    return graph_response(request, published, fmt, "void", void_triples)
