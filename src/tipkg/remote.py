"""Publish a build into an existing triple store by the standard protocols, sending only what
changed.

The stores users grow into (Oxigraph, Fuseki, GraphDB, Virtuoso, QLever, Neptune) all speak the
SPARQL 1.1 Graph Store HTTP Protocol and the SPARQL 1.1 Protocol, so one client serves them all:

- each named graph of the build, and ``void.ttl`` as ``<base>graph/dataset`` (as ``tipkg
  serve`` has it), is sent as N-Triples with one ``PUT STORE?graph=IRI``; PUT replaces the graph, so
  publishing twice is harmless;
- the store keeps its own record of what it holds, the graph ``<base>graph/publication``: one
  ``<g> schema:sha256 "…"`` per graph (the SHA-256 of the N-Triples sent) and the build's
  ``schema:version``. A graph whose digest the record already has is not sent; a recorded graph
  the build no longer has is deleted (``DELETE STORE?graph=IRI``);
- the record never claims more than the store holds: it lists a graph only once its PUT was
  answered 2xx, and is written every ``CHECKPOINT_SECONDS`` while sending, on failure if the
  store still answers, and last; so a run that fails part-way is resumed by the next, which
  sends only what still differs;
- every graph sent is counted by SPARQL afterwards and must hold the build's count.

Graphs are streamed from ``tipkg.nq`` (one run of lines per graph, which is checked, not
assumed), so memory holds a few graphs at a time, never the dump.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox

from tipkg.dist import QUADS_NAME, VOID_NAME, Manifest, read_manifest
from tipkg.errors import InputError, TipkgError
from tipkg.settings import Settings
from tipkg.vocab import SCHEMA, Iris

# How often, at most, the record is brought up to date while graphs are being sent: the most
# work a run that dies leaves to be repeated.
CHECKPOINT_SECONDS = 10.0
# Graphs counted by one SPARQL query in the final check.
COUNT_BATCH = 500
# Graph names a one-line error lists before "and N more".
LISTED_NAMES = 5
N_TRIPLES = ox.RdfFormat.N_TRIPLES.media_type
SPARQL_JSON = ox.QueryResultsFormat.JSON.media_type
SHA256 = ox.NamedNode(str(SCHEMA.sha256))
VERSION = ox.NamedNode(str(SCHEMA.version))

GraphListener = Callable[[str, str, int], None]


class PublishFailed(TipkgError):
    """The store refused or failed to take the build (exit status 3); the message says what it
    holds now."""

    exit_code = 3


class RequestFailed(Exception):
    """One request failed for good, after its retries; the message is one line."""


@dataclass(frozen=True)
class Remote:
    """Where the store is and how to talk to it."""

    store_url: str  # the Graph Store Protocol endpoint
    query_url: str  # the SPARQL query endpoint
    connections: int
    timeout: float
    retries: int
    backoff: float
    retry_seconds: float
    auth: httpx.Auth | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, store_url: str, query_url: str | None, settings: Settings) -> Remote:
        """The store at ``store_url``; queries go to ``query_url`` or, by default, to the
        endpoint's sibling ``query`` (Oxigraph's ``/store`` → ``/query``, Fuseki's
        ``/ds/data`` → ``/ds/query``). Credentials come from the settings (the environment)."""
        for url in (store_url, query_url):
            if url is not None:
                _check_url(url)
        if settings.publish_connections < 1 or settings.publish_retries < 0:
            raise InputError("publish_connections must be 1 or more, publish_retries 0 or more")
        return cls(
            store_url=store_url,
            query_url=query_url or str(httpx.URL(store_url).join("query")),
            connections=settings.publish_connections,
            timeout=settings.publish_timeout,
            retries=settings.publish_retries,
            backoff=settings.publish_backoff,
            retry_seconds=settings.publish_retry_seconds,
            auth=_auth(settings),
        )


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InputError(f"not a URL: {url!r} ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InputError(f"not an http(s) URL: {url!r}")
    if parsed.userinfo:
        raise InputError(
            "credentials go in TIPKG_PUBLISH_USER and TIPKG_PUBLISH_PASSWORD "
            "(or TIPKG_PUBLISH_TOKEN), not in the URL"
        )


def _auth(settings: Settings) -> httpx.Auth | None:
    """HTTP Basic from a user and password, or a Bearer token; never both."""
    if settings.publish_token and (settings.publish_user or settings.publish_password):
        raise InputError("set TIPKG_PUBLISH_TOKEN or TIPKG_PUBLISH_USER/PASSWORD, not both")
    if settings.publish_token:
        return BearerAuth(settings.publish_token)
    if settings.publish_password and not settings.publish_user:
        raise InputError("TIPKG_PUBLISH_PASSWORD is set but TIPKG_PUBLISH_USER is not")
    if settings.publish_user:
        return httpx.BasicAuth(settings.publish_user, settings.publish_password)
    return None


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer TOKEN`` on every request."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class GraphContent:
    """One graph as it is sent: its N-Triples and their SHA-256. The triples keep the order
    they are read in, which the build fixes (each graph's lines sorted), so the same graph gives
    the same digest without sorting again."""

    iri: str
    ntriples: bytes
    triples: int
    sha256: str

    @classmethod
    def of(cls, iri: str, triples: list[ox.Triple]) -> GraphContent:
        data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        return cls(iri, data, len(triples), hashlib.sha256(data).hexdigest())


@dataclass
class Outcome:
    """What a publish did, for its last line."""

    store_url: str
    sent: dict[str, int] = field(default_factory=dict)  # graph IRI → triples
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"published to {self.store_url}: {len(self.sent)} graphs sent, {self.skipped} "
            f"skipped, {len(self.deleted)} deleted; {sum(self.sent.values()):,} triples in "
            f"{self.seconds:.1f} s"
        )


def publish(dist_dir: Path, remote: Remote, on_graph: GraphListener | None = None) -> Outcome:
    """Bring the store up to the build in ``dist_dir``; ``on_graph(action, iri, triples)`` hears
    of each graph ``"sent"`` or ``"deleted"``. Raises :class:`PublishFailed` (one line: what
    was and was not published) when the store fails, ``InputError`` for a broken build."""
    manifest = read_manifest(dist_dir)
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=remote.connections)
    with httpx.Client(auth=remote.auth, timeout=remote.timeout, limits=limits) as client:
        run = _Run(manifest, remote, client, on_graph or (lambda action, iri, triples: None))
        run.publish(graphs_of(dist_dir, manifest))
    run.outcome.seconds = time.perf_counter() - started
    return run.outcome


def graphs_of(dist_dir: Path, manifest: Manifest) -> Iterator[GraphContent]:
    """Every graph of the build, streamed from ``tipkg.nq``, then the dataset description.

    The dump must hold each graph the manifest lists, as one run of lines with the manifest's
    count, and nothing else; anything else is an ``InputError`` (the build is broken)."""
    quads_path = dist_dir / QUADS_NAME
    expected = {entry["iri"]: entry["triples"] for entry in manifest.graphs}
    seen: set[str] = set()
    for graph, triples in _runs(quads_path):
        if not isinstance(graph, ox.NamedNode) or graph.value not in expected:
            raise InputError(f"holds {graph}, which manifest.json does not list", quads_path)
        if graph.value in seen:
            raise InputError(f"is not grouped by graph: {graph} comes twice", quads_path)
        if len(triples) != expected[graph.value]:
            raise InputError(
                f"holds {len(triples)} triples of {graph} in one run of lines, manifest.json "
                f"says {expected[graph.value]}: rebuild with `tipkg build`, which writes each "
                "graph's lines together",
                quads_path,
            )
        seen.add(graph.value)
        yield GraphContent.of(graph.value, triples)
    for iri in sorted(expected.keys() - seen):
        if expected[iri]:
            raise InputError(f"lacks <{iri}>, which manifest.json lists", quads_path)
        yield GraphContent.of(iri, [])
    void = [quad.triple for quad in ox.parse(path=dist_dir / VOID_NAME, format=ox.RdfFormat.TURTLE)]
    yield GraphContent.of(void_graph(manifest), void)


def _runs(
    quads_path: Path,
) -> Iterator[tuple[ox.NamedNode | ox.BlankNode | ox.DefaultGraph, list[ox.Triple]]]:
    """The dump's consecutive quads of one graph name, as (graph name, triples)."""
    current: ox.NamedNode | ox.BlankNode | ox.DefaultGraph | None = None
    triples: list[ox.Triple] = []
    try:
        for quad in ox.parse(path=quads_path, format=ox.RdfFormat.N_QUADS):
            if quad.graph_name != current:
                if current is not None:
                    yield current, triples
                current, triples = quad.graph_name, []
            triples.append(quad.triple)
    except SyntaxError as error:
        raise InputError(f"unreadable N-Quads: {error}", quads_path) from None
    if current is not None:
        yield current, triples


def void_graph(manifest: Manifest) -> str:
    """The graph the dataset description (``void.ttl``) is published as."""
    return str(Iris(manifest.base_iri).graph("dataset"))


def record_graph(manifest: Manifest) -> str:
    """The graph in which the store keeps the record of what it holds."""
    return str(Iris(manifest.base_iri).graph("publication"))


class _Run:
    """One publish: the record read from the store, the PUTs in flight, what they achieved."""

    def __init__(
        self, manifest: Manifest, remote: Remote, client: httpx.Client, on_graph: GraphListener
    ) -> None:
        self.manifest = manifest
        self.remote = remote
        self.client = client
        self.on_graph = on_graph
        self.record_iri = record_graph(manifest)
        self.built = {entry["iri"] for entry in manifest.graphs} | {void_graph(manifest)}
        self.outcome = Outcome(remote.store_url)
        self.saved: dict[str, str] = {}  # graph IRI → digest, as the store's record says
        self.saved_version: str | None = None
        self.holds: dict[str, str] = {}  # the same, as the store holds it now
        self.pending: set[str] = set()  # graphs that differ and are not (yet) sent
        self.checkpointed = time.monotonic()

    def publish(self, graphs: Iterator[GraphContent]) -> None:
        try:
            self.saved, self.saved_version = self._read_record()
        except PublishFailed as error:
            raise PublishFailed(
                f"publish to {self.remote.store_url} failed before sending anything: "
                f"{error.message}"
            ) from None
        self.holds = dict(self.saved)
        self._send(graphs)
        for iri in sorted(self.saved.keys() - self.built):
            try:
                self._request("DELETE", self.remote.store_url, params={"graph": iri}, gone_ok=True)
            except RequestFailed as error:
                self._fail(f"deleting {self._name(iri)}: {error}")
            del self.holds[iri]
            self.outcome.deleted.append(iri)
            self.on_graph("deleted", iri, 0)
        self._check_counts()
        try:
            self._save_record(self.manifest.version)
        except RequestFailed as error:
            self._fail(f"writing {self._name(self.record_iri)}: {error}")

    def _send(self, graphs: Iterator[GraphContent]) -> None:
        """PUT every graph whose digest the record lacks, a few at a time; after a failure,
        read on without sending, so the error can list exactly what is left."""
        in_flight: dict[Future[None], GraphContent] = {}
        failure: str | None = None
        with ThreadPoolExecutor(self.remote.connections) as pool:
            try:
                for graph in graphs:
                    if self.saved.get(graph.iri) == graph.sha256:
                        self.outcome.skipped += 1
                        continue
                    self.pending.add(graph.iri)
                    while failure is None and len(in_flight) >= 2 * self.remote.connections:
                        failure = self._settle(in_flight)
                    if failure is None:
                        in_flight[pool.submit(self._put, graph)] = graph
                while in_flight:
                    failure = self._settle(in_flight) or failure
            except BaseException:
                for future in in_flight:
                    future.cancel()
                self._save_quietly()
                raise
        if failure is not None:
            self._fail(failure)

    def _settle(self, in_flight: dict[Future[None], GraphContent]) -> str | None:
        """Wait for a PUT to be answered; note those that succeeded (and checkpoint the record
        when it is time); return the first failure."""
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        failure = None
        for future in done:
            graph = in_flight.pop(future)
            error = future.exception()
            if isinstance(error, RequestFailed):
                failure = failure or f"{self._name(graph.iri)}: {error}"
                continue
            if error is not None:
                raise error
            self.holds[graph.iri] = graph.sha256
            self.pending.discard(graph.iri)
            self.outcome.sent[graph.iri] = graph.triples
            self.on_graph("sent", graph.iri, graph.triples)
        if time.monotonic() - self.checkpointed >= CHECKPOINT_SECONDS:
            self._save_quietly()
        return failure

    def _put(self, graph: GraphContent) -> None:
        headers = {"Content-Type": N_TRIPLES}
        params = {"graph": graph.iri}
        self._request(
            "PUT", self.remote.store_url, params=params, content=graph.ntriples, headers=headers
        )

    def _read_record(self) -> tuple[dict[str, str], str | None]:
        """The digests and the version the store's record holds (none in a store never
        published to)."""
        record = f"<{self.record_iri}>"
        rows = self._select(
            f"SELECT ?graph ?sha256 ?version WHERE {{ GRAPH {record} {{ "
            f"{{ ?graph {SHA256} ?sha256 }} UNION {{ {record} {VERSION} ?version }} }} }}"
        )
        digests = {row["graph"]: row["sha256"] for row in rows if "sha256" in row}
        version = next((row["version"] for row in rows if "version" in row), None)
        return digests, version

    def _save_record(self, version: str | None, retry: bool = True) -> None:
        """PUT the record as the store holds it now, unless the store's copy already says so."""
        self.checkpointed = time.monotonic()
        if self.holds == self.saved and version == self.saved_version:
            return
        record = ox.NamedNode(self.record_iri)
        triples = [
            ox.Triple(ox.NamedNode(iri), SHA256, ox.Literal(digest))
            for iri, digest in sorted(self.holds.items())
        ]
        if version is not None:
            triples.append(ox.Triple(record, VERSION, ox.Literal(version)))
        content = GraphContent.of(self.record_iri, triples)
        self._request(
            "PUT",
            self.remote.store_url,
            params={"graph": self.record_iri},
            content=content.ntriples,
            headers={"Content-Type": N_TRIPLES},
            retry=retry,
        )
        self.saved, self.saved_version = dict(self.holds), version

    def _save_quietly(self) -> None:
        """A checkpoint, or the record on the way out of a failure: the build's version is not
        claimed, and a store that does not answer is left for the next checkpoint or run."""
        with contextlib.suppress(RequestFailed):
            self._save_record(self.saved_version, retry=False)

    def _check_counts(self) -> None:
        """Each graph sent must hold, in the store, the triples the build counted (one SPARQL
        COUNT per graph, asked for ``COUNT_BATCH`` graphs at a time)."""
        expected = {entry["iri"]: entry["triples"] for entry in self.manifest.graphs}
        expected[void_graph(self.manifest)] = next(
            f.triples or 0 for f in self.manifest.files if f.name == VOID_NAME
        )
        sent = sorted(self.outcome.sent)
        for start in range(0, len(sent), COUNT_BATCH):
            batch = sent[start : start + COUNT_BATCH]
            values = " ".join(f"<{iri}>" for iri in batch)
            try:
                rows = self._select(
                    f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                    "GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
                )
            except PublishFailed as error:
                self._fail(f"the count check: {error.message}")
            counted = {row["g"]: int(row["n"]) for row in rows}
            wrong = [iri for iri in batch if counted.get(iri, 0) != expected[iri]]
            if wrong:
                for iri in wrong:
                    self.holds.pop(iri, None)
                    self.pending.add(iri)
                first = wrong[0]
                self._fail(
                    f"the count check: {self._name(first)} holds {counted.get(first, 0)} "
                    f"triples in the store, the build has {expected[first]}"
                )

    def _select(self, query: str) -> list[dict[str, str]]:
        """A SELECT's rows as {variable: value}."""
        url = self.remote.query_url
        try:
            response = self._request(
                "POST", url, data={"query": query}, headers={"Accept": SPARQL_JSON}
            )
            bindings = response.json()["results"]["bindings"]
            return [{name: term["value"] for name, term in row.items()} for row in bindings]
        except RequestFailed as error:
            raise PublishFailed(f"query endpoint {url}: {error} (see --query-endpoint)") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PublishFailed(
                f"query endpoint {url} did not answer with SPARQL JSON results "
                "(see --query-endpoint)"
            ) from None

    def _request(
        self, method: str, url: str, *, gone_ok: bool = False, retry: bool = True, **options: Any
    ) -> httpx.Response:
        """One request, retried with exponential backoff after a 5xx, a 429 or a connection
        error, within the retry count and time; any other 4xx fails at once. ``gone_ok``: a
        404 is success (a DELETE of a graph already gone)."""
        remote = self.remote
        attempts = remote.retries + 1 if retry else 1
        waited = 0.0
        for attempt in range(attempts):
            try:
                response = self.client.request(method, url, **options)
            except httpx.TransportError as error:
                problem, asked = f"{type(error).__name__} ({error})", 0.0
            else:
                status = response.status_code
                if response.is_success or (gone_ok and status == 404):
                    return response
                problem = f"HTTP {status} {response.reason_phrase}{_said(response)}"
                if status != 429 and status < 500:
                    raise RequestFailed(problem)
                asked = _retry_after(response)
            delay = max(asked, remote.backoff * 2**attempt)
            if attempt + 1 == attempts or waited + delay > remote.retry_seconds:
                break
            time.sleep(delay)
            waited += delay
        retries = f" after {attempt} {'retry' if attempt == 1 else 'retries'}" if attempt else ""
        raise RequestFailed(problem + retries)

    def _fail(self, failure: str) -> None:
        """Save what the store holds if it still answers, then stop with one line saying what
        was published and what was not."""
        self._save_quietly()
        sent = sorted(self.outcome.sent)
        parts = [
            f"publish to {self.remote.store_url} failed at {failure}",
            f"published {len(sent)} graphs{self._names(sent)}",
        ]
        if self.outcome.deleted:
            parts.append(f"deleted {len(self.outcome.deleted)}{self._names(self.outcome.deleted)}")
        parts.append(f"not published {len(self.pending)}{self._names(sorted(self.pending))}")
        left = sorted(self.holds.keys() - self.built)
        if left:
            parts.append(f"not deleted {len(left)}{self._names(left)}")
        raise PublishFailed("; ".join(parts) + "; run again to resume")

    def _names(self, iris: list[str]) -> str:
        if not iris:
            return ""
        shown = ", ".join(self._name(iri) for iri in iris[:LISTED_NAMES])
        more = len(iris) - LISTED_NAMES
        return f" ({shown}{f', and {more:,} more' if more > 0 else ''})"

    def _name(self, iri: str) -> str:
        """A graph IRI as short as it is clear: relative to the build's base."""
        return iri.removeprefix(self.manifest.base_iri)


def _said(response: httpx.Response) -> str:
    """The first line of what the store said, if anything (stores explain a 400 there)."""
    lines = response.text.strip().splitlines()
    return f": {lines[0][:160]}" if lines else ""


def _retry_after(response: httpx.Response) -> float:
    """The seconds a 429 or 503 asks the client to wait (RFC 9110: seconds or a date)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 0.0
