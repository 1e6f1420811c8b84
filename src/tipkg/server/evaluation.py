"""Evaluating one SPARQL query on the build: the half of the endpoint that runs in a query worker.

:func:`evaluate` is the handler the query pool runs in its worker processes. It checks SERVICE
calls, executes the query on pyoxigraph, cuts the answer at ``max_rows`` rows or
``max_response_bytes`` bytes and serialises it with pyoxigraph's writers. Nothing here imports
Starlette, so a worker loads only what it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pyoxigraph as ox

from tipkg.formats import GRAPH_FORMATS, RESULTS_FORMATS, Format, serialize_triples
from tipkg.server.errors import (
    UPDATES_REFUSED,
    BadGateway,
    BadRequest,
    Forbidden,
    HttpError,
    InternalError,
    one_line,
)
from tipkg.server.federation import federation_refusal
from tipkg.server.negotiation import not_acceptable
from tipkg.server.published import Published
from tipkg.server.querytext import QueryText

T = TypeVar("T")
# The one answer to a SERVICE call that failed, whatever the remote side said or did.
SERVICE_FAILED = "a SERVICE endpoint could not be queried"


@dataclass(frozen=True)
class QueryJob:
    """What a worker needs to answer one query: the formats (by name, ``None`` where nothing
    the client accepts fits) and the dataset (``None`` for the build's own: the merge as the
    default graph, every named graph by name)."""

    query: str
    results_format: str | None
    graph_format: str | None
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None


@dataclass(frozen=True)
class QueryAnswer:
    """A worker's answer: the body, its type, and whether rows were cut at ``max_rows``."""

    content_type: str
    body: bytes
    truncated: bool = False


def evaluate(published: Published, job: QueryJob) -> QueryAnswer | HttpError:
    """Answer one query. The client's mistakes come back as the error to answer with (returned,
    not raised, so that the pool tells them from our bugs, which it reports as failures)."""
    try:
        return _answer(published, job)
    except HttpError as error:
        return error


def _answer(published: Published, job: QueryJob) -> QueryAnswer:
    query = QueryText(job.query, published.base_iri, published.prefixes)
    refusal = federation_refusal(query, published.settings)
    if refusal is not None:
        raise BadRequest(refusal)
    settings = published.settings
    cut = Cut(settings.max_rows, settings.max_response_bytes)
    try:
        result = published.store.query(
            query.text,
            base_iri=published.base_iri,
            prefixes=published.prefixes,
            **_dataset(job),
        )
        if isinstance(result, ox.QueryBoolean):
            fmt = _chosen(job.results_format, RESULTS_FORMATS, "these results")
            return QueryAnswer(fmt.content_type, result.serialize(format=fmt.results))
        if isinstance(result, ox.QuerySolutions):
            fmt = _chosen(job.results_format, RESULTS_FORMATS, "these results")
            return QueryAnswer(fmt.content_type, *solutions_body(result, fmt, cut))
        fmt = _chosen(job.graph_format, GRAPH_FORMATS, "this graph")
        return QueryAnswer(fmt.content_type, *triples_body(result, fmt, published.prefixes, cut))
    except SyntaxError as error:
        if is_update(query.text):
            raise Forbidden(UPDATES_REFUSED) from None
        raise BadRequest(f"SPARQL syntax error: {one_line(str(error))}") from None
    except (OSError, ValueError) as error:
        if query.may_call_service:
            # The remote side's words (its status, its body, "connection refused") stay out
            # of the answer: they would tell a client what listens where behind this server.
            raise BadGateway(SERVICE_FAILED) from None
        raise InternalError(f"query evaluation failed: {one_line(str(error))}") from None


def _dataset(job: QueryJob) -> dict[str, Any]:
    """The query's dataset. The protocol's ``default-graph-uri``/``named-graph-uri`` win over
    the query's ``FROM``/``FROM NAMED`` (SPARQL 1.1 Protocol §2.1.4), which pyoxigraph reads
    itself and which win over the store's own: its default graph, the RDF merge of the named
    graphs (a set, so a triple two reports state is one answer, not two)."""
    if job.default_graphs is not None or job.named_graphs is not None:
        return {
            "default_graph": [ox.NamedNode(iri) for iri in job.default_graphs or ()],
            "named_graphs": [ox.NamedNode(iri) for iri in job.named_graphs or ()],
        }
    return {}


def _chosen(name: str | None, offered: tuple[Format, ...], what: str) -> Format:
    """The negotiated format for this kind of answer; known only now for a query whose form
    the HTTP side could not read, so nothing may have fitted (406)."""
    fmt = next((f for f in offered if f.name == name), None)
    if fmt is None:
        raise not_acceptable(offered, what)
    return fmt


@dataclass(frozen=True)
class Cut:
    """How much of an answer is sent: at most ``rows`` rows (or triples), ``bytes`` bytes."""

    rows: int
    bytes: int


def solutions_body(solutions: ox.QuerySolutions, fmt: Format, cut: Cut) -> tuple[bytes, bool]:
    """The solutions in ``fmt`` within ``cut``, and whether any were left out.

    pyoxigraph writes a whole ``QuerySolutions`` and cannot build one from a list, so the rows
    kept are read back into one from SPARQL TSV, whose terms are the N-Triples syntax that
    ``str()`` gives every pyoxigraph term: nothing is lost, and its own writers do the rest.
    """
    header = "\t".join("?" + variable.value for variable in solutions.variables) + "\n"
    lines, truncated = _first(("\t".join(map(_tsv_term, row)) for row in solutions), cut, len)

    def render(count: int) -> bytes:
        text = header + "".join(line + "\n" for line in lines[:count])
        kept = ox.parse_query_results(text.encode("utf-8"), format=ox.QueryResultsFormat.TSV)
        return cast(ox.QuerySolutions, kept).serialize(format=fmt.results)

    body, trimmed = _fitted(render, len(lines), cut.bytes)
    return body, truncated or trimmed


def triples_body(
    triples: Iterable[ox.Triple], fmt: Format, prefixes: dict[str, str], cut: Cut
) -> tuple[bytes, bool]:
    """The triples in ``fmt`` within ``cut``, and whether any were left out."""
    kept, truncated = _first(triples, cut, lambda triple: len(str(triple)))
    body, trimmed = _fitted(
        lambda count: serialize_triples(kept[:count], fmt, prefixes), len(kept), cut.bytes
    )
    return body, truncated or trimmed


def _first(items: Iterable[T], cut: Cut, size: Callable[[T], int]) -> tuple[list[T], bool]:
    """The first items within ``cut`` (their ``size`` summed as they come, so one huge row,
    say a ``GROUP_CONCAT`` of everything, stops the reading), and whether any were left out."""
    kept: list[T] = []
    total = 0
    for item in items:
        total += size(item)
        if len(kept) == cut.rows or total > cut.bytes:
            return kept, True
        kept.append(item)
    return kept, False


def _fitted(render: Callable[[int], bytes], count: int, max_bytes: int) -> tuple[bytes, bool]:
    """The body of the first ``count`` items, or of fewer when the format's own overhead
    takes it over ``max_bytes``; and whether it had to be fewer."""
    body = render(count)
    trimmed = False
    while len(body) > max_bytes and count > 0:
        count = min(count - 1, count * max_bytes // len(body))
        body = render(count)
        trimmed = True
    return body, trimmed


def _tsv_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Triple):
        return f"<<( {term} )>>"
    return str(term)


def is_update(query: str) -> bool:
    """Whether text that is not a query parses as a SPARQL Update (so it earns 403, not 400)."""
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(query)
    except Exception:  # pyparsing raises several types; any of them means "not an update"
        return False
    return True
