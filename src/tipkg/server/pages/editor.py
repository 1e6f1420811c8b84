"""The query editor at ``GET /sparql`` for browsers: YASGUI when its files are vendored, and
always a plain form whose query runs on the server and comes back as an HTML table, so the
editor works with no JavaScript. Results go through the query pool, so every limit applies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tipkg.formats import (
    GRAPH_FORMATS,
    N_TRIPLES,
    RESULTS_FORMATS,
    SPARQL_JSON,
    Format,
)
from tipkg.server.pages.common import STATIC_DIR, example_links, script_json, sparql_href
from tipkg.server.pages.facts import render
from tipkg.server.pages.naming import Namer, ValueView, literal_view
from tipkg.server.published import Published, current_published
from tipkg.server.querypool import ResultCache
from tipkg.server.sparql import (
    ProtocolError,
    QueryJob,
    query_form,
    read_protocol_request,
    run_in_pool,
)

VENDOR_DIR = STATIC_DIR / "vendor"
YASGUI_ASSETS = ("yasgui.min.js", "yasgui.min.css")
# The formats results can be downloaded in, by the query forms that answer in them.
DOWNLOADS_BY_FORMS: tuple[tuple[tuple[str, ...], tuple[Format, ...]], ...] = (
    (("SELECT", "ASK"), RESULTS_FORMATS),
    (("CONSTRUCT", "DESCRIBE"), GRAPH_FORMATS),
)
# What the editor holds when the build has no example queries.
FALLBACK_QUERY = "SELECT ?thing ?label WHERE {\n  ?thing rdfs:label ?label .\n}\nLIMIT 20\n"


def yasgui_available() -> bool:
    """Whether ``scripts/vendor-assets.sh`` has copied the YASGUI build into static/vendor/."""
    return all((VENDOR_DIR / name).is_file() for name in YASGUI_ASSETS)


@dataclass
class ResultTable:
    """A query's answer as the editor shows it."""

    form: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[ValueView | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False
    error: str | None = None
    status: int = 200


class DeferredHTMLResponse(Response):
    """An HTML response whose body is rendered when it is sent.

    The SPARQL route calls :func:`sparql_editor` synchronously, but showing a query's results
    needs the query pool, which is async; so the page is rendered in ``__call__``.
    """

    media_type = "text/html"

    def __init__(self, request: Request):
        super().__init__(content=b"", media_type=self.media_type)
        self.request = request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rendered = await editor_page(self.request)
        self.body = rendered.body
        self.status_code = rendered.status_code
        self.raw_headers = rendered.raw_headers
        await super().__call__(scope, receive, send)


def sparql_editor(request: Request) -> Response:
    """The query editor for browsers (``GET /sparql`` wanting HTML), with results for a query."""
    return DeferredHTMLResponse(request)


async def editor_page(request: Request) -> Response:
    """The editor holding the request's query (else the first example) and its results."""
    published = current_published(request)
    query = request.query_params.get("query")
    results: ResultTable | None = None
    downloads: list[tuple[str, str]] = []
    if query is not None and query.strip():
        results = await run_for_page(request, published)
        for forms, formats in DOWNLOADS_BY_FORMS:
            if results.form in forms:
                downloads += [(fmt.label, sparql_href(query, format=fmt.name)) for fmt in formats]
    default_query = (
        next(iter(published.queries.values())).text if published.queries else FALLBACK_QUERY
    )
    prefixes = {name: str(ns) for name, ns in published.iris.prefixes().items()}
    status = results.status if results is not None and results.error else 200
    return render(
        request,
        published,
        "sparql.html",
        status_code=status,
        title="Query the data",
        editor_text=query if query else default_query,
        results=results,
        downloads=downloads,
        examples=example_links(published),
        download_formats=[
            (fmt, " ".join(forms)) for forms, formats in DOWNLOADS_BY_FORMS for fmt in formats
        ],
        results_formats=RESULTS_FORMATS,
        graph_formats=GRAPH_FORMATS,
        yasgui=yasgui_available(),
        editor_config=script_json(
            {
                "endpoint": "/sparql",
                "query": query or default_query,
                "run": bool(query),
                "prefixes": prefixes,
            }
        ),
        settings=published.settings,
    )


async def run_for_page(request: Request, published: Published) -> ResultTable:
    """Run the request's query through the pool (so every limit applies) and tabulate the answer."""
    try:
        protocol = await read_protocol_request(request, published)
    except ProtocolError as error:
        return ResultTable(form="", error=error.message, status=error.status)
    query = protocol.query or ""
    form = query_form(query) or "SELECT"
    given_dataset = bool(protocol.default_graphs or protocol.named_graphs)
    job = QueryJob(
        query=query,
        results_format=SPARQL_JSON.name,
        graph_format=N_TRIPLES.name,
        default_graphs=protocol.default_graphs if given_dataset else None,
        named_graphs=protocol.named_graphs if given_dataset else None,
    )
    cache: ResultCache = request.app.state.result_cache
    key = (published.version, published.base_iri, job)
    outcome = cache.get(key)
    if outcome is None:
        try:
            outcome = await run_in_pool(request.app.state.query_pool, published, job)
        except ProtocolError as error:
            return ResultTable(form=form, error=error.message, status=error.status)
        if outcome.status == 200:
            cache.put(key, outcome, len(outcome.body) + len(query))
    if outcome.status != 200:
        return ResultTable(
            form=form, error=outcome.body.decode("utf-8", "replace").strip(), status=outcome.status
        )
    namer = Namer(published)
    if outcome.content_type.startswith("application/sparql-results+json"):
        document = json.loads(outcome.body)
        if "boolean" in document:
            return ResultTable(form="ASK", boolean=bool(document["boolean"]))
        columns = list(document["head"]["vars"])
        rows = [
            [json_term_view(namer, binding.get(column)) for column in columns]
            for binding in document["results"]["bindings"]
        ]
        return ResultTable(form="SELECT", columns=columns, rows=rows, truncated=outcome.truncated)
    triples = ox.parse(outcome.body, format=ox.RdfFormat.N_TRIPLES)
    rows = [
        [namer.value(t.subject), namer.value(t.predicate), namer.value(t.object)] for t in triples
    ]
    return ResultTable(
        form=form,
        columns=["subject", "predicate", "object"],
        rows=rows,
        truncated=outcome.truncated,
    )


def json_term_view(namer: Namer, binding: dict[str, Any] | None) -> ValueView | None:
    """A cell of a SELECT result (SPARQL JSON term) as a page value."""
    if binding is None:
        return None
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return namer.value(ox.NamedNode(value))
    if kind == "bnode":
        return ValueView(kind="literal", text=f"_:{value}", note="blank node")
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in binding:
            return literal_view(ox.Literal(value, language=binding["xml:lang"]))
        datatype = binding.get("datatype")
        return literal_view(
            ox.Literal(value, datatype=ox.NamedNode(datatype) if datatype else None)
        )
    return ValueView(kind="literal", text=json.dumps(value))
