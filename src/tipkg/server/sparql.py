"""The SPARQL 1.1 Protocol endpoint at ``/sparql``, read-only and limited.

The HTTP side (this module's route) reads the request, negotiates the answer's format and asks
the query pool; the evaluation side (:func:`evaluate`, run inside a worker process) executes the
query on pyoxigraph, cuts the answer at ``max_rows`` and serialises it.

Statuses: 200; 304 on a matching ``If-None-Match`` for a GET; 400 for a malformed request, Accept
header or query (with the parser's message) and for a refused SERVICE; 403 for any update;
406 when no offered format fits; 413 for a query or body over its limit; 415 for an unknown
POST body type; 503 when a query outlives ``query_timeout`` or no worker frees up in time.
A cut answer carries ``X-Tipkg-Truncated: true`` (SPARQL result formats have no place for it).
"""

from __future__ import annotations

import binascii
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tipkg.formats import (
    GRAPH_FORMATS,
    HTML,
    RESULTS_FORMATS,
    Format,
    format_named,
    serialize_triples,
)
from tipkg.server.negotiation import AcceptError, choose_format, offered_list
from tipkg.server.published import Published, current_published, not_modified
from tipkg.server.querypool import PoolBusy, QueryPool, QueryTimeout, ResultCache, WorkerFailed
from tipkg.vocab import SD, VOID

TRUNCATED_HEADER = "X-Tipkg-Truncated"
FORM_URLENCODED = "application/x-www-form-urlencoded"
MALFORMED_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# The prologue (comments, BASE, PREFIX) and then the query form's keyword. The repetition is
# possessive (``*+``): no backtracking, so the match is linear in the text's length whatever it
# holds (a nested ``(\s+)*`` took seconds for 24 spaces, on the event loop).
QUERY_FORM = re.compile(
    r"^(?:\s|#[^\n]*|BASE\s*<[^>]*>|PREFIX\s+[^\s:]*:\s*<[^>]*>)*+"
    r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b",
    re.IGNORECASE,
)


class ProtocolError(Exception):
    """A request the protocol cannot answer: a ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class QueryJob:
    """What a worker needs to answer one query; the formats are ``None`` where nothing fits."""

    query: str
    results_format: str | None
    graph_format: str | None
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None


@dataclass(frozen=True)
class QueryOutcome:
    """A worker's answer: the HTTP status, the body and whether rows were cut."""

    status: int
    content_type: str
    body: bytes
    truncated: bool = False


@dataclass(frozen=True)
class ProtocolRequest:
    """The parameters of a SPARQL Protocol request, however they were sent."""

    query: str | None
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    format_override: str | None


# ------------------------------------------------------------------ the route


def sparql_routes() -> list[BaseRoute]:
    return [Route("/sparql", sparql_endpoint, methods=["GET", "POST"])]


async def sparql_endpoint(request: Request) -> Response:
    """One SPARQL Protocol request: a query, or (with no query) the service description."""
    published = current_published(request)
    try:
        protocol = await read_protocol_request(request, published)
        if protocol.query is None:
            return service_description_response(request, published, protocol)
        return await query_response(request, published, protocol)
    except ProtocolError as error:
        return plain_response(error.status, error.message, error.headers)


async def read_protocol_request(request: Request, published: Published) -> ProtocolRequest:
    """The query and dataset from a GET, a direct POST or a form POST."""
    settings = published.settings
    url_params = decode_form(request.scope["query_string"])
    fields: dict[str, list[str]] = {}
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        body = await request.body()  # app.HttpRulesMiddleware refuses bodies over the limit
        if media_type == "application/sparql-update":
            raise ProtocolError(403, "this endpoint is read-only: SPARQL updates are refused")
        if media_type == "application/sparql-query":
            queries = [decode_utf8(body, "request body")]
        elif media_type == FORM_URLENCODED:
            fields = decode_form(body)
            queries = fields.get("query", [])
        else:
            raise ProtocolError(
                415,
                "POST a query as application/sparql-query or as the 'query' field of "
                f"{FORM_URLENCODED}, not {media_type or 'an untyped body'}",
            )
    else:
        queries = url_params.get("query", [])
    if "update" in fields or "update" in url_params:
        raise ProtocolError(403, "this endpoint is read-only: SPARQL updates are refused")
    if len(queries) > 1:
        raise ProtocolError(400, "give exactly one 'query' parameter")

    def values(name: str) -> list[str]:
        return fields.get(name, []) + url_params.get(name, [])

    formats = values("format")
    format_override = formats[0] if formats else None
    if format_override is not None and format_named(format_override) is None:
        raise ProtocolError(
            400,
            f"unknown format {format_override!r}; use one of "
            + ", ".join(f.name for f in RESULTS_FORMATS + GRAPH_FORMATS),
        )
    query = queries[0] if queries else None
    if query is not None and len(query.encode("utf-8")) > settings.max_query_bytes:
        raise ProtocolError(
            413, f"the query is larger than {settings.max_query_bytes} bytes (max_query_bytes)"
        )
    return ProtocolRequest(
        query=query,
        default_graphs=tuple(values("default-graph-uri")),
        named_graphs=tuple(values("named-graph-uri")),
        format_override=format_override,
    )


def decode_form(raw: bytes) -> dict[str, list[str]]:
    """A query string or form body (``application/x-www-form-urlencoded``) as name → values.

    The same answer as ``urllib.parse.parse_qs(..., keep_blank_values=True)``, but decoded in C:
    profiling showed urllib's pure-Python percent-decoding taking a quarter of the event loop's
    time for a 1 kB query. binascii's quoted-printable decoder reads ``=XX``; with ``=`` escaped
    as ``=3D``, ``+`` as ``=20`` and ``%`` turned into ``=``, it decodes percent-escapes exactly.
    A malformed escape (``%`` without two hex digits) falls back to urllib's lenient reading.
    """
    if MALFORMED_ESCAPE.search(raw):
        return parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    fields: dict[str, list[str]] = {}
    for pair in raw.split(b"&"):
        if pair:
            name, _, value = pair.partition(b"=")
            fields.setdefault(_unescape(name), []).append(_unescape(value))
    return fields


def _unescape(part: bytes) -> str:
    if b"%" in part or b"+" in part:
        part = binascii.a2b_qp(part.replace(b"=", b"=3D").replace(b"+", b"=20").replace(b"%", b"="))
    return part.decode("utf-8", "replace")


def decode_utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(400, f"the {what} is not valid UTF-8") from None


def negotiate(request: Request, formats: tuple[Format, ...], override: str | None) -> Format | None:
    try:
        return choose_format(formats, request.headers.get("accept"), override)
    except AcceptError as error:
        raise ProtocolError(400, str(error)) from None


def not_acceptable(formats: Sequence[Format], what: str) -> ProtocolError:
    return ProtocolError(406, f"no acceptable format for {what}; offered: {offered_list(formats)}")


async def query_response(
    request: Request, published: Published, protocol: ProtocolRequest
) -> Response:
    query = protocol.query or ""
    form = query_form(query)
    if form in ("SELECT", "ASK"):
        wanted: tuple[Format, ...] = RESULTS_FORMATS
    elif form in ("CONSTRUCT", "DESCRIBE"):
        wanted = GRAPH_FORMATS
    else:
        wanted = RESULTS_FORMATS + GRAPH_FORMATS
    if wants_editor(request, protocol, wanted):
        return sparql_editor_response(request)
    if negotiate(request, wanted, protocol.format_override) is None:
        raise not_acceptable(wanted, f"a {form or 'SPARQL'} query")
    results_format = negotiate(request, RESULTS_FORMATS, protocol.format_override)
    graph_format = negotiate(request, GRAPH_FORMATS, protocol.format_override)
    dataset_given = bool(protocol.default_graphs or protocol.named_graphs)
    dataset = (protocol.default_graphs, protocol.named_graphs) if dataset_given else None
    job = QueryJob(
        query=query,
        results_format=results_format.name if results_format else None,
        graph_format=graph_format.name if graph_format else None,
        default_graphs=protocol.default_graphs if dataset_given else None,
        named_graphs=protocol.named_graphs if dataset_given else None,
    )
    # GET answers are validated like every other representation of the build; POST ones are not
    # cacheable (RFC 9110 §9.3.3), so they carry no validators.
    validators: dict[str, str] = {}
    if request.method != "POST":
        variant = "\n".join(
            ("sparql", query, str(job.results_format), str(job.graph_format), repr(dataset))
        )
        validators = published.cache_headers(variant)
        if (unchanged := not_modified(request, validators, published.modified)) is not None:
            return unchanged
    cache: ResultCache = request.app.state.result_cache
    key = (published.version, published.base_iri, job)
    outcome = cache.get(key)
    if outcome is None:
        pool: QueryPool = request.app.state.query_pool
        outcome = await run_in_pool(pool, published, job)
        if outcome.status == 200:
            cache.put(key, outcome, len(outcome.body) + len(query))
    headers = {"Cache-Control": "no-cache"}
    if outcome.status == 200:
        headers.update(validators)
    if outcome.truncated:
        headers[TRUNCATED_HEADER] = "true"
    return Response(outcome.body, outcome.status, headers, media_type=outcome.content_type)


async def run_in_pool(pool: QueryPool, published: Published, job: QueryJob) -> QueryOutcome:
    settings = published.settings
    try:
        return await pool.run(published.version, job)
    except QueryTimeout:
        raise ProtocolError(
            503,
            f"query stopped: it ran longer than {settings.query_timeout:g} s (query_timeout); "
            "narrow it with more selective patterns or a LIMIT",
        ) from None
    except PoolBusy:
        raise ProtocolError(
            503,
            f"all {pool.size} query workers stayed busy for {settings.query_timeout:g} s; "
            "try again shortly",
            {"Retry-After": "1"},
        ) from None
    except WorkerFailed as error:
        raise ProtocolError(500, f"the query could not be evaluated: {error}") from None


def query_form(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE read from the text; ``None`` if it is none of these."""
    match = QUERY_FORM.match(query.lstrip("\ufeff"))
    return match.group(1).upper() if match else None


def plain_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers, media_type="text/plain; charset=utf-8")


# ------------------------------------------------------------------ the browser editor hook


def wants_editor(request: Request, protocol: ProtocolRequest, formats: tuple[Format, ...]) -> bool:
    """A browser's GET: HTML is preferred over every format the answer could take."""
    if request.method == "POST" or protocol.format_override is not None:
        return False
    return negotiate(request, (*formats, HTML), None) is HTML


def sparql_editor_response(request: Request) -> Response:
    """The query editor the pages module renders, for browsers that prefer HTML."""
    from tipkg.server import pages

    return pages.sparql_editor(request)


# ------------------------------------------------------------------ service description


def service_description_response(
    request: Request, published: Published, protocol: ProtocolRequest
) -> Response:
    if request.method == "POST":
        raise ProtocolError(400, "no query given: send it as 'query'")
    if wants_editor(request, protocol, GRAPH_FORMATS):
        return sparql_editor_response(request)
    fmt = negotiate(request, GRAPH_FORMATS, protocol.format_override)
    if fmt is None:
        raise not_acceptable(GRAPH_FORMATS, "the service description")
    endpoint = endpoint_url(request, published)
    variant = f"service-description\n{endpoint}\n{fmt.name}"
    if (unchanged := published.not_modified(request, variant)) is not None:
        return unchanged
    cache: ResultCache = request.app.state.result_cache
    key = ("service-description", published.version, published.base_iri, endpoint, fmt.name)
    body = cache.get(key)
    if body is None:
        body = serialize_triples(service_description(published, endpoint), fmt, published.prefixes)
        cache.put(key, body, len(body))
    return Response(body, 200, published.cache_headers(variant), media_type=fmt.content_type)


def endpoint_url(request: Request, published: Published) -> str:
    """Where clients reach this endpoint: ``public_url`` if set, else the URL of this request."""
    public_url = published.settings.public_url
    if public_url:
        return public_url.rstrip("/") + "/sparql"
    return f"{request.url.scheme}://{request.url.netloc}/sparql"


def service_description(published: Published, endpoint: str) -> list[ox.Triple]:
    """An ``sd:Service`` for this endpoint: languages, formats, features, limits and the dataset."""
    settings = published.settings
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    service = ox.NamedNode(endpoint)

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(str(SD[name]))

    def count(value: int) -> ox.Literal:
        return ox.Literal(
            str(value), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
        )

    triples = [
        ox.Triple(service, rdf_type, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(
            service,
            sd("defaultEntailmentRegime"),
            ox.NamedNode("http://www.w3.org/ns/entailment/Simple"),
        ),
        ox.Triple(
            service,
            ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"),
            ox.Literal(
                f"Read-only. Queries stop after {settings.query_timeout:g} s and return at most "
                f"{settings.max_rows} rows (a cut answer carries the HTTP header "
                f"{TRUNCATED_HEADER}: true). The default graph is the union of the named graphs."
            ),
        ),
    ]
    if settings.federation:
        triples.append(ox.Triple(service, sd("feature"), sd("BasicFederatedQuery")))
    for fmt in (*RESULTS_FORMATS, *GRAPH_FORMATS):
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(str(fmt.iri))))
    dataset = ox.BlankNode("dataset")
    default_graph = ox.BlankNode("default")
    triples += [
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, sd("Dataset")),
        ox.Triple(dataset, ox.NamedNode(str(VOID.inDataset)), ox.NamedNode(published.iris.dataset)),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, rdf_type, sd("Graph")),
    ]
    union = published.store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", use_default_graph_as_union=True
    )
    triples.append(
        ox.Triple(default_graph, ox.NamedNode(str(VOID.triples)), next(iter(union))["n"])
    )
    per_graph = published.store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    )
    for index, row in enumerate(per_graph):
        named, graph = ox.BlankNode(f"named{index}"), ox.BlankNode(f"graph{index}")
        triples += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, rdf_type, sd("NamedGraph")),
            ox.Triple(named, sd("name"), row["g"]),
            ox.Triple(named, sd("graph"), graph),
            ox.Triple(graph, rdf_type, sd("Graph")),
            ox.Triple(graph, ox.NamedNode(str(VOID.triples)), count(int(row["n"].value))),
        ]
    return triples


# ------------------------------------------------------------------ evaluation (in a worker)


def evaluate(published: Published, job: QueryJob) -> QueryOutcome:
    """Run one query on the build: the worker-side half of the endpoint. Never raises for the
    client's mistakes; they come back as a 4xx outcome with a one-line message."""
    refusal = federation_refusal(job.query, published)
    if refusal is not None:
        return error_outcome(400, refusal)
    options: dict[str, Any] = {"use_default_graph_as_union": True}
    if job.default_graphs is not None or job.named_graphs is not None:
        options = {
            "default_graph": [ox.NamedNode(iri) for iri in job.default_graphs or ()],
            "named_graphs": [ox.NamedNode(iri) for iri in job.named_graphs or ()],
        }
    try:
        result = published.store.query(
            job.query, base_iri=published.base_iri, prefixes=published.prefixes, **options
        )
        if isinstance(result, ox.QueryBoolean | ox.QuerySolutions):
            return results_outcome(job, result, published.settings.max_rows)
        triples = list(islice(result, published.settings.max_rows + 1))
        truncated = len(triples) > published.settings.max_rows
        del triples[published.settings.max_rows :]
        if job.graph_format is None:
            return error_outcome(
                406, f"no acceptable format for this graph; offered: {offered_list(GRAPH_FORMATS)}"
            )
        fmt = next(f for f in GRAPH_FORMATS if f.name == job.graph_format)
        body = serialize_triples(triples, fmt, published.prefixes)
        return QueryOutcome(200, fmt.content_type, body, truncated)
    except SyntaxError as error:
        if is_update(job.query):
            return error_outcome(403, "this endpoint is read-only: SPARQL updates are refused")
        return error_outcome(400, f"SPARQL syntax error: {one_line(str(error))}")
    except (OSError, ValueError) as error:
        return error_outcome(500, f"query evaluation failed: {one_line(str(error))}")


def results_outcome(
    job: QueryJob, result: ox.QueryBoolean | ox.QuerySolutions, max_rows: int
) -> QueryOutcome:
    if job.results_format is None:
        return error_outcome(
            406, f"no acceptable format for these results; offered: {offered_list(RESULTS_FORMATS)}"
        )
    fmt = next(f for f in RESULTS_FORMATS if f.name == job.results_format)
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome(200, fmt.content_type, result.serialize(format=fmt.results))
    solutions, truncated = first_solutions(result, max_rows)
    return QueryOutcome(200, fmt.content_type, solutions.serialize(format=fmt.results), truncated)


def first_solutions(solutions: ox.QuerySolutions, limit: int) -> tuple[ox.QuerySolutions, bool]:
    """The first ``limit`` solutions, and whether there were more.

    pyoxigraph writes a whole ``QuerySolutions`` and cannot build one from a list, so the rows
    kept are read back into one from SPARQL TSV, whose terms are the N-Triples syntax that
    ``str()`` gives every pyoxigraph term: nothing is lost, and its own writers do the rest.
    """
    variables = [variable.value for variable in solutions.variables]
    rows = list(islice(solutions, limit + 1))
    lines = ["\t".join("?" + name for name in variables)]
    lines += ["\t".join(map(_tsv_term, row)) for row in rows[:limit]]
    text = "".join(line + "\n" for line in lines)
    kept = ox.parse_query_results(text.encode("utf-8"), format=ox.QueryResultsFormat.TSV)
    return cast(ox.QuerySolutions, kept), len(rows) > limit


def _tsv_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):
        return f"<<( {term} )>>"
    return str(term)


def error_outcome(status: int, message: str) -> QueryOutcome:
    return QueryOutcome(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"))


def one_line(text: str) -> str:
    return " ".join(text.split())


def is_update(query: str) -> bool:
    """Whether text that is not a query parses as a SPARQL Update (so it earns 403, not 400)."""
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(query)
    except Exception:  # pyparsing raises several types; any of them means "not an update"
        return False
    return True


# ------------------------------------------------------------------ federation


def federation_refusal(query: str, published: Published) -> str | None:
    """Why this query's SERVICE calls are refused, or ``None`` when it may run.

    Only queries that could contain SERVICE (the word, or a ``\\u`` escape that might spell it)
    are parsed with rdflib, whose algebra names every SERVICE endpoint.
    """
    lowered = query.lower()
    if "service" not in lowered and "\\u" not in lowered:
        return None
    try:
        endpoints = service_endpoints(query, published)
    except Exception as error:  # rdflib's parser raises several types
        return f"cannot check this query's SERVICE calls: {one_line(str(error))}"
    settings = published.settings
    for endpoint in endpoints:
        if not settings.federation:
            return "SERVICE is disabled on this server (federation is off)"
        if endpoint is None:
            return "SERVICE with a variable endpoint is refused: name the endpoint"
        if endpoint not in settings.federation_allow:
            return f"SERVICE <{endpoint}> is not in the allowed endpoints (federation_allow)"
        refusal = private_address_refusal(endpoint)
        if refusal is not None:
            return refusal
    return None


def service_endpoints(query: str, published: Published) -> list[str | None]:
    """Every SERVICE endpoint IRI in ``query`` (``None`` for a variable endpoint)."""
    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translateQuery, traverse
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    algebra = translateQuery(parseQuery(query), base=published.base_iri, initNs=published.prefixes)
    endpoints: list[str | None] = []

    def visit(node: Any) -> None:
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            endpoints.append(str(node.term) if isinstance(node.term, URIRef) else None)

    traverse(algebra.algebra, visitPre=visit)
    return endpoints


def private_address_refusal(endpoint: str) -> str | None:
    """Refuse an allowed endpoint named by host name that resolves to a loopback or private
    address: such endpoints must be listed by IP address, so a DNS answer cannot turn an
    allowed public name into a door to the local network."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"SERVICE <{endpoint}> is not an http(s) URL"
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        pass
    else:
        return None  # listed by IP address: the operator chose it deliberately
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 80)}
    except OSError as error:
        return f"SERVICE <{endpoint}>: cannot resolve {parts.hostname} ({error})"
    for address in sorted(addresses):
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return (
                f"SERVICE <{endpoint}>: {parts.hostname} resolves to the non-public address "
                f"{ip}; list the endpoint by IP address to allow it"
            )
    return None
