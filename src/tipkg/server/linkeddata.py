"""Dereferencing: every IRI minted under the base answers from this server.

One scheme everywhere (slash IRIs, 303 See Other): a request for a resource's IRI
(``/id/event/x``, ``/ontology``, ``/graph/shared``, ``/dataset``) is redirected to the document
that describes it in the format the client prefers: ``/id/event/x.html``, ``.ttl``, ``.jsonld``,
``.nt`` or ``.rdf`` (RDF/XML). ``?format=`` on the IRI overrides ``Accept``. The document URLs
answer 200 with ``Content-Location``, ``Vary: Accept``, and the build's ETag and Last-Modified.

Hash IRIs (``<base>ontology#Meeting``, ``…/document/x#char=3,9``) are described by their document:
the description of a document includes every resource whose IRI is the document's plus a fragment.
When an IRI that itself ends in a format suffix exists (``…/distribution/tipkg.ttl``), the IRI wins
and its documents are ``…/tipkg.ttl.html`` and so on.

The description of a resource (Pubby / LodView style): every triple with it as subject in any graph,
the blank nodes it points to folded in, and every triple that points at it (incoming links).
This module knows nothing of HTML; the pages module hands it a renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tipkg.formats import DOCUMENT_FORMATS, HTML, Format, format_named, serialize_triples
from tipkg.server.negotiation import AcceptError, choose_format
from tipkg.server.published import Published, current_published

FORMATS_BY_SUFFIX: dict[str, Format] = {fmt.suffix: fmt for fmt in DOCUMENT_FORMATS}
# How deep nested blank nodes are folded into a description (guards against pathological chains).
MAX_BLANK_DEPTH = 8
# The most incoming links a description carries; a hub resource can have very many.
MAX_INCOMING = 2_000

HtmlRenderer = Callable[[Request, Published, "Description"], Response]


@dataclass(frozen=True)
class Description:
    """What the server says about one resource (and the hash resources inside its document)."""

    iri: str
    # The resource itself first, then its hash resources, in IRI order.
    subjects: tuple[str, ...]
    # Triples whose subject is one of ``subjects`` or a blank node folded in from them.
    outgoing: tuple[ox.Triple, ...]
    # Triples from elsewhere pointing at one of ``subjects``.
    incoming: tuple[ox.Triple, ...]
    incoming_truncated: bool

    def triples(self) -> list[ox.Triple]:
        """Everything, for an RDF serialisation."""
        return [*self.outgoing, *self.incoming]

    def about(self, subject: str) -> list[ox.Triple]:
        """The outgoing triples of one of the described subjects."""
        return [t for t in self.outgoing if _value(t.subject) == subject]


@dataclass(frozen=True)
class DocumentUrl:
    """A request path split into the resource it documents and the format it asks for."""

    iri: str
    format: Format


def _value(term: object) -> str:
    return term.value if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


# ------------------------------------------------------------------ what is known, what is said


class HashIndex:
    """Which hash IRIs live in which document, computed once per build."""

    def __init__(self, store: ox.Store, base_iri: str):
        by_document: dict[str, list[str]] = {}
        query = (
            "SELECT DISTINCT ?s WHERE { GRAPH ?g { ?s ?p ?o } "
            f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{_sparql_string(base_iri)}") '
            '&& CONTAINS(STR(?s), "#")) }'
        )
        for row in store.query(query):
            document, _, _ = row["s"].value.partition("#")
            by_document.setdefault(document, []).append(row["s"].value)
        self.by_document = {doc: tuple(sorted(iris)) for doc, iris in by_document.items()}


def hash_index(published: Published) -> HashIndex:
    """The hash-IRI index of this build, computed once per build."""
    return published.derived("hash_index", lambda p: HashIndex(p.store, p.base_iri))


def _sparql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def is_known(published: Published, iri: str) -> bool:
    """Whether the build mentions ``iri`` as a subject, an object or a graph name."""
    node = ox.NamedNode(iri)
    store = published.store
    return (
        next(store.quads_for_pattern(node, None, None), None) is not None
        or next(store.quads_for_pattern(None, None, node), None) is not None
        or next(store.quads_for_pattern(None, None, None, node), None) is not None
        or iri in hash_index(published).by_document
    )


def describe(published: Published, iri: str) -> Description:
    """The description of ``iri``: its triples, its hash resources', blank nodes, incoming links."""
    store = published.store
    subjects = (iri, *hash_index(published).by_document.get(iri, ()))
    if iri == str(published.iris.ontology):
        ontology_graph = ox.NamedNode(published.iris.graph("ontology"))
        outgoing = _unique(
            q.triple for q in store.quads_for_pattern(None, None, None, ontology_graph)
        )
        outgoing += _folded(store, outgoing, set(subjects) | {_value(t.subject) for t in outgoing})
    else:
        outgoing = []
        for subject in subjects:
            outgoing += _unique(
                q.triple for q in store.quads_for_pattern(ox.NamedNode(subject), None, None)
            )
        outgoing += _folded(store, outgoing, set(subjects))
    described = {_value(t.subject) for t in outgoing} | set(subjects)
    incoming: list[ox.Triple] = []
    truncated = False
    for subject in subjects:
        for triple in _unique(
            q.triple for q in store.quads_for_pattern(None, None, ox.NamedNode(subject))
        ):
            if isinstance(triple.subject, ox.NamedNode) and triple.subject.value in described:
                continue
            if len(incoming) >= MAX_INCOMING:
                truncated = True
                break
            incoming.append(triple)
    return Description(
        iri=iri,
        subjects=subjects,
        outgoing=tuple(sorted(outgoing, key=_triple_key)),
        incoming=tuple(sorted(incoming, key=_triple_key)),
        incoming_truncated=truncated,
    )


def _unique(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Triples once each (the same triple may sit in several named graphs)."""
    return list(dict.fromkeys(triples))


def _folded(store: ox.Store, triples: list[ox.Triple], seen_subjects: set[str]) -> list[ox.Triple]:
    """The triples of every blank node reachable from ``triples``, breadth first."""
    folded: list[ox.Triple] = []
    frontier = [t.object for t in triples if isinstance(t.object, ox.BlankNode)]
    seen: set[str] = set()
    for _ in range(MAX_BLANK_DEPTH):
        next_frontier: list[ox.BlankNode] = []
        for node in frontier:
            if node.value in seen:
                continue
            seen.add(node.value)
            for triple in _unique(q.triple for q in store.quads_for_pattern(node, None, None)):
                folded.append(triple)
                if isinstance(triple.object, ox.BlankNode):
                    next_frontier.append(triple.object)
        if not next_frontier:
            break
        frontier = next_frontier
    return folded


def _triple_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), str(triple.predicate), str(triple.object))


# ------------------------------------------------------------------ URLs and negotiation


def requested_iris(published: Published, request: Request) -> list[str]:
    """The IRIs a request path may stand for: as sent (percent-encoded) and decoded."""
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    candidates = [published.iri_for_path(raw_path), published.iri_for_path(unquote(raw_path))]
    return list(dict.fromkeys(candidates))


def resolve(published: Published, request: Request) -> tuple[str | None, DocumentUrl | None]:
    """Either the known IRI the path names, or the document URL it names; both may be None."""
    candidates = requested_iris(published, request)
    for iri in candidates:
        if is_known(published, iri):
            return iri, None
    for candidate in candidates:
        stem, dot, suffix = candidate.rpartition(".")
        if dot and suffix in FORMATS_BY_SUFFIX and is_known(published, stem):
            return None, DocumentUrl(stem, FORMATS_BY_SUFFIX[suffix])
    return None, None


def format_override(request: Request) -> tuple[bool, Format | None]:
    """``(given, format)`` from ``?format=``; given with no format means the value is unknown."""
    wanted = request.query_params.get("format")
    if wanted is None:
        return False, None
    return True, format_named(wanted, DOCUMENT_FORMATS)


def document_path(published: Published, iri: str, fmt: Format) -> str:
    """The local URL path of ``iri``'s document in ``fmt`` (``/id/event/x.ttl``)."""
    resource, _, fragment = iri.partition("#")
    path = published.path_for_iri(resource)
    if path is None:
        raise ValueError(f"{iri} is not under the base {published.base_iri}")
    return f"{path}.{fmt.suffix}" + (f"#{fragment}" if fragment else "")


def alternates(published: Published, iri: str) -> list[tuple[Format, str]]:
    """Every format of ``iri``'s document with its path, for links and ``rel=alternate``."""
    return [(fmt, document_path(published, iri, fmt)) for fmt in DOCUMENT_FORMATS]


def available_formats_text() -> str:
    return ", ".join(f"{fmt.media_type} (.{fmt.suffix})" for fmt in DOCUMENT_FORMATS)


# ------------------------------------------------------------------ the route


def dereference_route(
    render_html: HtmlRenderer,
    render_not_found: Callable[[Request, Published], Response],
    html_version: str,
) -> Route:
    """The catch-all route that serves IRIs and their documents; it must be the last route.

    ``html_version`` names the release of the HTML renderer; it is part of the HTML documents'
    ETags, so a new release is never answered with a 304 for a page the old one rendered.
    """

    def dereference(request: Request) -> Response:
        published = current_published(request)
        iri, document = resolve(published, request)
        if iri is not None:
            return _see_other(request, published, iri)
        if document is not None:
            return _document(
                request, published, document.iri, document.format, render_html, html_version
            )
        return render_not_found(request, published)

    return Route("/{path:path}", dereference, methods=["GET", "HEAD"], name="dereference")


def _see_other(request: Request, published: Published, iri: str) -> Response:
    given, fmt = format_override(request)
    vary = {"Vary": "Accept"}
    if given and fmt is None:
        return PlainTextResponse(
            f"unknown format {request.query_params['format']!r}; use one of: "
            + ", ".join(FORMATS_BY_SUFFIX),
            status_code=400,
            headers=vary,
        )
    if fmt is None:
        try:
            fmt = choose_format(DOCUMENT_FORMATS, request.headers.get("accept"), None)
        except AcceptError as error:
            return PlainTextResponse(str(error), status_code=400, headers=vary)
    if fmt is None:
        return PlainTextResponse(
            f"{iri} is described in these formats only: {available_formats_text()}",
            status_code=406,
            headers=vary,
        )
    return RedirectResponse(document_path(published, iri, fmt), status_code=303, headers=vary)


def _document(
    request: Request,
    published: Published,
    iri: str,
    fmt: Format,
    render_html: HtmlRenderer,
    html_version: str,
) -> Response:
    path = document_path(published, iri, fmt)
    variant = f"{fmt.name} {path}" + (f" {html_version}" if fmt is HTML else "")
    headers = {"Content-Location": path, "Vary": "Accept", **published.cache_headers(variant)}
    not_modified = published.not_modified(request, variant)
    if not_modified is not None:
        not_modified.headers.update(headers)
        return not_modified
    description = describe(published, iri)
    if fmt is HTML:
        response = render_html(request, published, description)
    else:
        body = serialize_triples(description.triples(), fmt, published.prefixes)
        response = Response(body, media_type=fmt.content_type)
    response.headers.update(headers)
    return response
