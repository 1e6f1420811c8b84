"""Reading a SPARQL 1.1 Protocol request: the query, the dataset and the format asked for,
however they were sent (GET, a direct POST, a form POST), refused in one line when malformed.

The format may be named by ``format``, ``output`` or ``results`` (Virtuoso reads the first,
Fuseki and Joseki the second, Rasqal the third; SPARQLWrapper sends all three, each with its
return format's name and, for some, a second value: a media type, a comma-separated list of
them, or nothing). The first value that is not empty, in that order, is the override, and it
must name a format of :mod:`tipkg.formats` (a 400 otherwise), so a typo is never silently
answered in the default format; the values after it are not read.

Statuses raised here: 400 for a malformed request (text that is not UTF-8, a graph URI that is
not an IRI, a format name nothing answers to), 403 for any update, 413 for a query over
``max_query_bytes``, 415 for an unknown POST body type. A cut answer carries
:data:`TRUNCATED_HEADER` (SPARQL result formats have no place for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

import pyoxigraph as ox
from starlette.requests import Request

from tipkg.formats import ANSWER_FORMATS, Format, format_named
from tipkg.server.errors import (
    UPDATES_REFUSED,
    BadRequest,
    ContentTooLarge,
    Forbidden,
    UnsupportedMediaType,
)
from tipkg.server.evaluation import QueryJob
from tipkg.settings import Settings

TRUNCATED_HEADER = "X-Tipkg-Truncated"
# Every format an answer of the endpoint can take, whatever the query's form.
# The parameters clients name the answer's format with, in the order they are read.
FORMAT_PARAMETERS = ("format", "output", "results")
FORM_URLENCODED = "application/x-www-form-urlencoded"
# The prologue (comments, BASE, PREFIX) and then the query form's keyword. The repetition is
# possessive (``*+``): no backtracking, so the match is linear in the text's length whatever it
# holds (a nested ``(\s+)*`` took seconds for 24 spaces, on the event loop).
QUERY_FORM = re.compile(
    r"^(?:\s|#[^\n]*|BASE\s*<[^>]*>|PREFIX\s+[^\s:]*:\s*<[^>]*>)*+"
    r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ProtocolRequest:
    """The parameters of a SPARQL Protocol request, however they were sent."""

    query: str | None
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    format_override: str | None

    def job(self, results_format: Format | None, graph_format: Format | None) -> QueryJob:
        """The job for a query worker: the query over the dataset the request names (the
        union of all graphs when it names none), answered in the negotiated formats."""
        dataset_given = bool(self.default_graphs or self.named_graphs)
        return QueryJob(
            query=self.query or "",
            results_format=results_format.name if results_format else None,
            graph_format=graph_format.name if graph_format else None,
            default_graphs=self.default_graphs if dataset_given else None,
            named_graphs=self.named_graphs if dataset_given else None,
        )


async def read_protocol_request(request: Request, settings: Settings) -> ProtocolRequest:
    """The query and dataset from a GET, a direct POST or a form POST."""
    url_params = decode_form(request.scope["query_string"], "the query string")
    fields: dict[str, list[str]] = {}
    if request.method == "POST":
        queries, fields = await _read_body(request)
    else:
        queries = url_params.get("query", [])
    if "update" in fields or "update" in url_params:
        raise Forbidden(UPDATES_REFUSED)
    if len(queries) > 1:
        raise BadRequest("give exactly one 'query' parameter")

    def values(name: str) -> list[str]:
        return fields.get(name, []) + url_params.get(name, [])

    named = (value for name in FORMAT_PARAMETERS for value in values(name) if value.strip())
    format_override = next(named, None)
    if format_override is not None and format_named(format_override, ANSWER_FORMATS) is None:
        known = ", ".join(f.name for f in ANSWER_FORMATS)
        raise BadRequest(f"unknown format {format_override!r}; use one of {known}")
    query = queries[0] if queries else None
    if query is not None and len(query.encode("utf-8")) > settings.max_query_bytes:
        raise ContentTooLarge(
            f"the query is larger than {settings.max_query_bytes} bytes (max_query_bytes)"
        )
    return ProtocolRequest(
        query=query,
        default_graphs=graph_iris(values("default-graph-uri"), "default-graph-uri"),
        named_graphs=graph_iris(values("named-graph-uri"), "named-graph-uri"),
        format_override=format_override,
    )


def graph_iris(values: list[str], parameter: str) -> tuple[str, ...]:
    """The graph IRIs a request names; each must be an absolute IRI (a 400 otherwise)."""
    for value in values:
        try:
            ox.NamedNode(value)
        except ValueError:
            raise BadRequest(f"{parameter} {value!r} is not an absolute IRI") from None
    return tuple(values)


async def _read_body(request: Request) -> tuple[list[str], dict[str, list[str]]]:
    """The queries and form fields of a POST (the app refuses bodies over ``max_body_bytes``)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    body = await request.body()
    if media_type == "application/sparql-update":
        raise Forbidden(UPDATES_REFUSED)
    if media_type == "application/sparql-query":
        try:
            return [body.decode("utf-8")], {}
        except UnicodeDecodeError:
            raise BadRequest("the request body is not valid UTF-8") from None
    if media_type == FORM_URLENCODED:
        fields = decode_form(body, "the form body")
        return fields.get("query", []), fields
    raise UnsupportedMediaType(
        "POST a query as application/sparql-query or as the 'query' field of "
        f"{FORM_URLENCODED}, not {media_type or 'an untyped body'}"
    )


def decode_form(raw: bytes, what: str) -> dict[str, list[str]]:
    """A query string or form body (``application/x-www-form-urlencoded``) as name → values.

    Read as UTF-8 first (a client may send raw UTF-8 bytes), then percent-decoded by the
    standard library, which keeps a malformed escape (``%zz``) as written. Bytes that are not
    UTF-8, raw or percent-encoded, are a 400: replacing them would answer another query.
    """
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None


def query_form(query: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE read from the text; ``None`` if it is none of these."""
    match = QUERY_FORM.match(query.lstrip("\ufeff"))
    return match.group(1).upper() if match else None
