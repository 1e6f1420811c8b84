"""The query editor at ``GET /sparql`` for browsers: YASGUI when its files are vendored, and
always a plain form whose query runs on the server and comes back as an HTML table, so the
editor works with no JavaScript. Results go through the query pool, so every limit applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.formats import GRAPH_FORMATS, N_TRIPLES, RESULTS_FORMATS, SPARQL_JSON, Format
from tipkg.server.errors import HttpError
from tipkg.server.jobs import answer
from tipkg.server.pages.common import STATIC_DIR, example_links, script_json, sparql_href
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import Namer, ValueView
from tipkg.server.protocol import ProtocolRequest, query_form
from tipkg.server.published import Published

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


async def editor_page(
    request: Request, published: Published, protocol: ProtocolRequest
) -> Response:
    """The editor holding the request's query (else the first example) and its results."""
    query = protocol.query
    results: ResultTable | None = None
    downloads: list[tuple[str, str]] = []
    if query is not None and query.strip():
        results = await results_table(request, published, protocol)
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


async def results_table(
    request: Request, published: Published, protocol: ProtocolRequest
) -> ResultTable:
    """Run the query as the endpoint does (so every limit applies) and tabulate the answer."""
    form = query_form(protocol.query or "") or "SELECT"
    try:
        result = await answer(request, published, protocol.job(SPARQL_JSON, N_TRIPLES))
    except HttpError as error:
        return ResultTable(form=form, error=error.message, status=error.status)
    namer = Namer(published)
    if result.content_type == SPARQL_JSON.content_type:
        parsed = ox.parse_query_results(result.body, format=SPARQL_JSON.results)
        if isinstance(parsed, ox.QueryBoolean):
            return ResultTable(form="ASK", boolean=bool(parsed))
        columns = [variable.value for variable in parsed.variables]
        rows = [[cell_view(namer, term) for term in solution] for solution in parsed]
        return ResultTable(form="SELECT", columns=columns, rows=rows, truncated=result.truncated)
    triples = ox.parse(result.body, format=N_TRIPLES.rdf)
    rows = [[cell_view(namer, term) for term in triple] for triple in triples]
    return ResultTable(
        form=form,
        columns=["subject", "predicate", "object"],
        rows=rows,
        truncated=result.truncated,
    )


def cell_view(
    namer: Namer, term: ox.NamedNode | ox.BlankNode | ox.Literal | None
) -> ValueView | None:
    """A cell of a result table: a term as pages show it, a blank node by its label."""
    if term is None:
        return None
    if isinstance(term, ox.BlankNode):
        return ValueView(kind="literal", text=f"_:{term.value}", note="blank node")
    if isinstance(term, ox.NamedNode | ox.Literal):
        return namer.value(term)
    return ValueView(kind="literal", text=str(term), note="triple")
