"""The ASGI app: the SPARQL endpoint, the dumps, the VoID description and the pages, in one process.

Every URL it answers is in :func:`routes`. Every response passes through the same middleware:
CORS ``*`` for GET and POST, ``Vary: Accept`` (representations are negotiated), gzip above
``gzip_min_bytes``, a 431 for an Accept header past its bounds and a 413 for request bodies
over ``max_body_bytes``. Bounds below HTTP (request line and header sizes, slow clients, the
number of connections) are kept by the protocol uvicorn runs (:mod:`.connections`). Every error
is an ``HttpError`` rendered by one handler. Everything served comes from the immutable build,
so responses carry an ``ETag`` and ``Last-Modified`` from the manifest and revalidation answers
304.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tipkg.dist import BROWSE_KINDS
from tipkg.server.connections import guarded_protocol
from tipkg.server.errors import ContentTooLarge, HeaderFieldsTooLarge, HttpError
from tipkg.server.evaluation import evaluate
from tipkg.server.files import download, well_known_void
from tipkg.server.linkeddata import dereference
from tipkg.server.logs import RateLimit, limit_log_volume
from tipkg.server.pages.browse import browse_page, timeline_page
from tipkg.server.pages.common import STATIC_DIR
from tipkg.server.pages.errorpage import error_response
from tipkg.server.pages.landing import landing_page
from tipkg.server.pages.search import search_page
from tipkg.server.protocol import TRUNCATED_HEADER
from tipkg.server.published import PublishedHolder, load_snapshot
from tipkg.server.querypool import QueryPool, ResultCache
from tipkg.server.snapshots import Snapshots
from tipkg.server.sparql import sparql_endpoint
from tipkg.settings import Settings

# Level 9 took 1.3–1.9× the time of level 6 on the dumps for 0.6–2 % smaller output.
GZIP_LEVEL = 6
# On every response. Scripts only from this server, and no inline script (so no injected
# markup or javascript: URL could run even if one slipped through); styles may be inline
# because YASGUI writes <style> elements; no framing (clickjacking); no content sniffing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


def routes() -> list[BaseRoute]:
    """Every URL the server answers, in order; the last route takes every other path."""
    return [
        Route("/", landing_page, methods=["GET", "HEAD"]),
        Route("/sparql", sparql_endpoint, methods=["GET", "POST"]),
        Route("/search", search_page, methods=["GET", "HEAD"]),
        *(Route(f"/id/{kind}/", browse_page, methods=["GET", "HEAD"]) for kind in BROWSE_KINDS),
        Route("/timeline", timeline_page, methods=["GET", "HEAD"]),
        Route("/download/{name}", download, methods=["GET"]),
        Route("/.well-known/void", well_known_void, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False)),
        Route("/{path:path}", dereference, methods=["GET", "HEAD"]),  # minted IRIs, their pages
    ]


def create_app(settings: Settings, dist_dir: Path) -> Starlette:
    """The app serving ``dist_dir``; raises ``InputError`` at once if the build is missing."""
    snapshots = Snapshots(dist_dir)
    holder = PublishedHolder(load_snapshot(snapshots, settings), snapshots)
    # With federation off, query workers have no network at all: SERVICE cannot reach anything.
    pool = QueryPool(
        lambda: holder.get().dist_dir, settings, evaluate, offline=not settings.federation
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.close()
            snapshots.close()

    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
                expose_headers=[
                    TRUNCATED_HEADER,
                    "ETag",
                    "Last-Modified",
                    "Content-Location",
                    "Link",
                ],
                max_age=86400,
            ),
            Middleware(HttpRulesMiddleware, settings=settings),
            Middleware(
                GZipMiddleware, minimum_size=settings.gzip_min_bytes, compresslevel=GZIP_LEVEL
            ),
        ],
        exception_handlers={HttpError: handle_error, HTTPException: handle_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.published = holder
    app.state.query_pool = pool
    app.state.result_cache = ResultCache(max_bytes=settings.query_cache_bytes)
    return app


def handle_error(request: Request, error: Exception) -> Response:
    """The one exception handler: our errors, and Starlette's own (404 for a missing static file,
    405 for a method a route does not take) in our words."""
    if isinstance(error, HTTPException):
        error = HttpError.for_status(error.status_code, error.detail, error.headers)
    return error_response(request, cast(HttpError, error))


def run(settings: Settings, dist_dir: Path) -> None:
    """Serve ``dist_dir`` on ``settings.host:settings.port`` until interrupted."""
    config = uvicorn_config(create_app(settings, dist_dir), settings)
    limit_log_volume(RateLimit())  # after uvicorn's config has set up its log handlers
    uvicorn.Server(config).run()


def uvicorn_config(app: Starlette, settings: Settings, log_level: str = "info") -> uvicorn.Config:
    """How the app is served: httptools with the bounds of :mod:`.connections`, uvloop where
    installed, and no per-request access log (a log line per request is work on the one event
    loop every client waits on; put a proxy in front when access logs are wanted)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=guarded_protocol(settings),
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        timeout_keep_alive=settings.keep_alive_timeout,  # typed int, used as call_later's delay
        access_log=False,
        log_level=log_level,
    )


# ------------------------------------------------------------------ middleware


class HttpRulesMiddleware:
    """The rules every request and response follow, in one layer (each layer costs every
    request): ``Vary: Accept``, since most of what this server sends is chosen by the Accept
    header; :data:`SECURITY_HEADERS`; 431 for an Accept header over ``max_accept_bytes`` or
    ``max_accept_ranges`` (it is parsed on the event loop every client shares); and 413 for a
    request body over
    ``max_body_bytes``: a declared one (Content-Length) is answered here, a streamed one raises
    from ``receive`` into the handler reading it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def too_large(self) -> ContentTooLarge:
        limit = self.settings.max_body_bytes
        return ContentTooLarge(f"the request body is larger than {limit} bytes (max_body_bytes)")

    def refusal(self, headers: list[tuple[bytes, bytes]]) -> HttpError | None:
        """Why the request is refused before it reaches a handler, if it is."""
        settings = self.settings
        for key, value in headers:
            too_long = value.isdigit() and int(value) > settings.max_body_bytes
            if key == b"content-length" and too_long:
                return self.too_large()
            if key == b"accept" and len(value) > settings.max_accept_bytes:
                return HeaderFieldsTooLarge(
                    f"the Accept header is longer than {settings.max_accept_bytes} bytes "
                    "(max_accept_bytes)"
                )
            if key == b"accept" and value.count(b",") >= settings.max_accept_ranges:
                return HeaderFieldsTooLarge(
                    f"the Accept header lists more than {settings.max_accept_ranges} media "
                    "ranges (max_accept_ranges)"
                )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.settings.max_body_bytes
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise self.too_large()
            return event

        async def send_with_rules(event: Message) -> None:
            if event["type"] == "http.response.start":
                headers = MutableHeaders(scope=event)
                varies = {part.strip().lower() for part in headers.get("vary", "").split(",")}
                if "accept" not in varies:
                    headers.add_vary_header("Accept")
                headers.raw.extend(SECURITY_HEADERS)  # set nowhere else: appended, not looked up
            await send(event)

        refusal = self.refusal(scope["headers"])
        if refusal is not None:
            response = error_response(Request(scope), refusal)
            await response(scope, receive, send_with_rules)
            return
        await self.app(scope, counting_receive, send_with_rules)
