"""The ASGI app: the SPARQL endpoint, the dumps, the VoID description and the pages, in one process.

Every response passes through the same middleware: CORS ``*`` for GET and POST, ``Vary: Accept``
(representations are negotiated), gzip above ``gzip_min_bytes`` and a 413 for request bodies over
``max_body_bytes``. Everything served comes from the immutable build, so responses carry an
``ETag`` and ``Last-Modified`` from the manifest and revalidation answers 304.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pyoxigraph as ox
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tipkg.dist import UNLISTED_FILES
from tipkg.formats import GRAPH_FORMATS, HTML, serialize_triples
from tipkg.server.pages import page_routes
from tipkg.server.published import (
    PublishedHolder,
    current_published,
    load_published,
    not_modified,
)
from tipkg.server.querypool import QueryPool, ResultCache
from tipkg.server.sparql import (
    TRUNCATED_HEADER,
    ProtocolError,
    evaluate,
    negotiate,
    not_acceptable,
    plain_response,
    sparql_routes,
)
from tipkg.settings import Settings

# Level 9 took 1.3–1.9× the time of level 6 on the dumps for 0.6–2 % smaller output.
GZIP_LEVEL = 6


def create_app(settings: Settings, dist_dir: Path) -> Starlette:
    """The app serving ``dist_dir``; raises ``InputError`` at once if the build is missing."""
    published = load_published(dist_dir, settings)
    pool = QueryPool(published.dist_dir, settings, evaluate)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.close()

    app = Starlette(
        routes=[*sparql_routes(), *file_routes(), *page_routes()],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
                expose_headers=[TRUNCATED_HEADER, "ETag", "Last-Modified", "Content-Location"],
                max_age=86400,
            ),
            Middleware(HttpRulesMiddleware, max_body_bytes=settings.max_body_bytes),
            Middleware(
                GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.published = PublishedHolder(published)
    app.state.query_pool = pool
    app.state.result_cache = ResultCache(max_bytes=settings.query_cache_bytes)
    return app


def run(settings: Settings, dist_dir: Path) -> None:
    """Serve ``dist_dir`` on ``settings.host:settings.port`` until interrupted."""
    uvicorn.Server(uvicorn_config(create_app(settings, dist_dir), settings)).run()


def uvicorn_config(app: Starlette, settings: Settings, log_level: str = "info") -> uvicorn.Config:
    """How the app is served: httptools, uvloop where installed, and no per-request access log
    (a log line per request is work on the one event loop every client waits on; put a proxy
    in front when access logs are wanted)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http="httptools",
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        access_log=False,
        log_level=log_level,
    )


# ------------------------------------------------------------------ the build's files


def file_routes() -> list[BaseRoute]:
    return [
        Route("/download/{name}", download, methods=["GET"]),
        Route("/.well-known/void", well_known_void, methods=["GET"]),
    ]


async def download(request: Request) -> Response:
    """A file of the build, byte for byte, with its SHA-256 as ETag."""
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
        return plain_response(404, f"no file {name!r} in this build; see /download/SHA256SUMS")
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    if (unchanged := not_modified(request, headers, published.modified)) is not None:
        return unchanged
    return FileResponse(published.dist_dir / name, media_type=media_type, headers=headers)


async def well_known_void(request: Request) -> Response:
    """The VoID and DCAT description of the dataset (RFC 5785 / VoID §7.2), negotiated."""
    published = current_published(request)
    override = request.query_params.get("format")
    try:
        if override is None and negotiate(request, (*GRAPH_FORMATS, HTML), None) is HTML:
            return RedirectResponse("/dataset", status_code=303)  # a browser: the dataset's page
        fmt = negotiate(request, GRAPH_FORMATS, override)
        if fmt is None:
            raise not_acceptable(GRAPH_FORMATS, "the VoID description")
    except ProtocolError as error:
        return plain_response(error.status, error.message)
    variant = f"void\n{fmt.name}"
    if (unchanged := published.not_modified(request, variant)) is not None:
        return unchanged
    cache: ResultCache = request.app.state.result_cache
    key = ("void", published.version, published.base_iri, fmt.name)
    body = cache.get(key)
    if body is None:
        void_graph = ox.NamedNode(published.iris.graph("void"))
        quads = published.store.quads_for_pattern(None, None, None, void_graph)
        body = serialize_triples([quad.triple for quad in quads], fmt, published.prefixes)
        cache.put(key, body, len(body))
    return Response(body, 200, published.cache_headers(variant), media_type=fmt.content_type)


# ------------------------------------------------------------------ middleware


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a request body passes the limit."""


class HttpRulesMiddleware:
    """The two rules every response follows, in one layer (each layer costs every request):
    ``Vary: Accept``, since most of what this server sends is chosen by the Accept header, and
    413 for a request body over ``max_body_bytes``, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        message = f"the request body is larger than {limit} bytes (max_body_bytes)"
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                await plain_response(413, message)(scope, receive, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return event

        async def send_with_vary(event: Message) -> None:
            nonlocal started
            if event["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=event)
                varies = {part.strip().lower() for part in headers.get("vary", "").split(",")}
                if "accept" not in varies:
                    headers.add_vary_header("Accept")
            await send(event)

        try:
            await self.app(scope, counting_receive, send_with_vary)
        except BodyTooLarge:
            if started:
                raise
            await plain_response(413, message)(scope, receive, send_with_vary)
