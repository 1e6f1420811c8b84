"""The build the server answers from: a snapshot of dist/ read once into a pyoxigraph store,
reloaded when dist/ changes.

Base IRI rule: a build is written under its *canonical* base (``manifest.json``'s ``base_iri``).
The server answers under the *effective* base, which is ``settings.base_iri`` when that was set
explicitly (``--base-iri`` or ``TIPKG_BASE_IRI``) and the canonical base otherwise. When the two
differ, every IRI under the canonical base is rewritten to the effective base as the store is
loaded, so ``tipkg serve --base-iri http://127.0.0.1:8080/`` makes each minted IRI
dereferenceable from the local server. Literals are never rewritten.

Route handlers read the build through :func:`tipkg.server.web.current_published`; nothing else
holds on to a ``Published`` across requests, so a rebuild of dist/ is picked up within a second
or so (it is loaded in the background meanwhile). The server loads a build from a
:class:`~tipkg.server.snapshots.Snapshot` of dist/ and answers everything, its downloads included,
from that snapshot; its query workers load the same snapshot's directory. This module imports
nothing of Starlette: query workers load builds with it too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox

from tipkg.dist import MANIFEST_NAME, QUADS_NAME, VOID_NAME, Manifest, read_manifest
from tipkg.errors import InputError
from tipkg.server.snapshots import Snapshot, Snapshots, file_stamp
from tipkg.settings import Settings
from tipkg.vocab import Iris

T = TypeVar("T")

RELOAD_CHECK_SECONDS = 1.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExampleQuery:
    """One example query from dist/queries, its IRIs already under the effective base."""

    name: str
    title: str
    question: str
    text: str


@dataclass(frozen=True)
class Published:
    """One loaded build of dist/: its manifest, its store, and the HTTP validators it implies."""

    dist_dir: Path
    settings: Settings
    manifest: Manifest
    canonical_base: str
    base_iri: str
    store: ox.Store
    queries: dict[str, ExampleQuery]
    etag: str
    last_modified: str
    modified: datetime
    # The fingerprint of the dist/ manifest this build was read from (see snapshots.file_stamp).
    stamp: tuple[int, int, int] = field(repr=False)
    # The snapshot its files are in, kept (so on disk) as long as this build is in use.
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)
    _derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _derived_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def derived(self, name: str, compute: Callable[[Published], T]) -> T:
        """What pages compute once per build (indexes, counts), kept with the build itself so
        it goes when a new build replaces this one. Requests render in threads: one computes."""
        with self._derived_lock:
            if name not in self._derived:
                self._derived[name] = compute(self)
            return self._derived[name]

    @property
    def version(self) -> str:
        """The build's identity: SHA-256 of ``tipkg.nq``, as written in the manifest."""
        return self.manifest.version

    @property
    def iris(self) -> Iris:
        """IRI shapes under the effective base."""
        return Iris(self.base_iri)

    @property
    def prefixes(self) -> dict[str, str]:
        """The project's and the common prefixes, as queries and serialisations use them."""
        return {name: str(namespace) for name, namespace in self.iris.prefixes().items()}

    def rebase(self, text: str) -> str:
        """Text (a query, an IRI) with the canonical base replaced by the effective one."""
        return rebase_text(text, self.canonical_base, self.base_iri)

    def iri_for_path(self, path: str) -> str:
        """The IRI a request path stands for (``/id/event/x`` → ``<base>id/event/x``)."""
        return self.base_iri + path.lstrip("/")

    def path_for_iri(self, iri: str) -> str | None:
        """The local path that dereferences ``iri``, or ``None`` when it is not under the base."""
        if not iri.startswith(self.base_iri):
            return None
        return "/" + iri[len(self.base_iri) :]

    def variant_etag(self, variant: str) -> str:
        """A weak ETag for one representation (``variant`` names it, e.g. a media type + path)."""
        token = sha256(f"{self.etag}\n{variant}".encode()).hexdigest()[:24]
        return f'W/"{token}"'

    def cache_headers(self, variant: str) -> dict[str, str]:
        """``ETag`` and ``Last-Modified`` for a representation derived only from this build."""
        return {"ETag": self.variant_etag(variant), "Last-Modified": self.last_modified}


def rebase_text(text: str, canonical_base: str, base_iri: str) -> str:
    return text if canonical_base == base_iri else text.replace(canonical_base, base_iri)


def effective_base(canonical_base: str, settings: Settings) -> str:
    """The base the server answers under: the configured one if it was set, else the build's."""
    if "base_iri" in settings.explicit:
        return settings.base_iri
    return canonical_base


def load_published(dist_dir: Path, settings: Settings) -> Published:
    """Read the build in ``dist_dir`` as it is now; a missing or half-written build is a
    one-line ``InputError``. (The server reads snapshots: see :func:`load_snapshot`.)"""
    dist_dir = dist_dir.resolve()
    return _read(dist_dir, settings, file_stamp(dist_dir / MANIFEST_NAME), None)


def load_snapshot(snapshots: Snapshots, settings: Settings) -> Published:
    """Take a snapshot of dist/ and read the build from it."""
    snapshot = snapshots.take()
    return _read(snapshot.path, settings, snapshot.stamp, snapshot)


def _read(
    dist_dir: Path, settings: Settings, stamp: tuple[int, int, int], snapshot: Snapshot | None
) -> Published:
    manifest = read_manifest(dist_dir)
    canonical_base = manifest.base_iri
    base_iri = effective_base(canonical_base, settings)
    store = ox.Store()
    quads_path = dist_dir / QUADS_NAME
    void_graph = ox.NamedNode(Iris(base_iri).graph("void"))
    try:
        quads = ox.parse(path=quads_path, format=ox.RdfFormat.N_QUADS)
        store.extend(_rebased_quads(quads, canonical_base, base_iri))
        void_triples = ox.parse(
            path=dist_dir / VOID_NAME, format=ox.RdfFormat.TURTLE, base_iri=canonical_base
        )
        store.extend(
            _rebased_quads(
                (ox.Quad(t.subject, t.predicate, t.object, void_graph) for t in void_triples),
                canonical_base,
                base_iri,
            )
        )
    except (SyntaxError, ValueError) as error:
        raise InputError(f"unreadable build: {error}", dist_dir) from None
    modified = _parse_modified(manifest.modified, dist_dir)
    return Published(
        dist_dir=dist_dir,
        settings=settings,
        manifest=manifest,
        canonical_base=canonical_base,
        base_iri=base_iri,
        store=store,
        queries=_read_queries(dist_dir, manifest, canonical_base, base_iri),
        etag=sha256(f"{manifest.version}\n{base_iri}".encode()).hexdigest()[:32],
        last_modified=format_datetime(modified, usegmt=True),
        modified=modified,
        stamp=stamp,
        snapshot=snapshot,
    )


def _parse_modified(text: str, dist_dir: Path) -> datetime:
    try:
        modified = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise InputError(
            f"manifest 'modified' is not a date: {text!r}", dist_dir / MANIFEST_NAME
        ) from None
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    # HTTP dates have whole seconds; compare If-Modified-Since against the same precision.
    return modified.astimezone(UTC).replace(microsecond=0)


def _read_queries(
    dist_dir: Path, manifest: Manifest, canonical_base: str, base_iri: str
) -> dict[str, ExampleQuery]:
    queries: dict[str, ExampleQuery] = {}
    for entry in manifest.queries:
        path = dist_dir / entry["file"]
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise InputError("listed in manifest.json but missing", path) from None
        queries[entry["name"]] = ExampleQuery(
            name=entry["name"],
            title=entry["title"],
            question=entry["question"],
            text=rebase_text(text, canonical_base, base_iri),
        )
    return queries


def _rebased_quads(quads: Any, canonical_base: str, base_iri: str) -> Any:
    """The quads with every IRI under ``canonical_base`` moved under ``base_iri``."""
    if canonical_base == base_iri:
        return quads
    cut = len(canonical_base)

    def term(node: Any) -> Any:
        if isinstance(node, ox.NamedNode):
            value = node.value
            return (
                ox.NamedNode(base_iri + value[cut:]) if value.startswith(canonical_base) else node
            )
        if isinstance(node, ox.Literal):
            datatype = node.datatype
            if datatype.value.startswith(canonical_base) and node.language is None:
                return ox.Literal(node.value, datatype=term(datatype))
            return node
        if isinstance(node, ox.Triple):
            return ox.Triple(term(node.subject), term(node.predicate), term(node.object))
        return node

    return (
        ox.Quad(term(q.subject), term(q.predicate), term(q.object), term(q.graph_name))
        for q in quads
    )


class PublishedHolder:
    """Keeps the current build; when dist/'s manifest changes (checked at most once a second)
    a snapshot of the new build is loaded in the background and then served.

    A build that fails to load (a rebuild caught half-way, say) is logged once and changes
    nothing served: the previous build, its files and its ETags stay; the next check tries
    again.
    """

    def __init__(self, published: Published, snapshots: Snapshots):
        self._published = published
        self._snapshots = snapshots
        self._checked_at = time.monotonic()
        self._failed_stamp: tuple[int, int, int] | None = None
        self._loading = False
        self._lock = threading.Lock()

    def get(self) -> Published:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_SECONDS:
            return self._published
        with self._lock:
            if now - self._checked_at >= RELOAD_CHECK_SECONDS and not self._loading:
                self._checked_at = now
                stamp = file_stamp(self._snapshots.dist_dir / MANIFEST_NAME)
                if stamp != self._published.stamp:
                    self._loading = True
                    threading.Thread(target=self._reload, args=(stamp,), daemon=True).start()
        return self._published

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        current = self._published
        try:
            self._published = load_snapshot(self._snapshots, current.settings)
            log.info("reloaded %s (version %s)", self._snapshots.dist_dir, self._published.version)
        except InputError as error:
            if stamp != self._failed_stamp:  # say it once per broken manifest
                log.warning("keeping the previous build: %s", error)
            self._failed_stamp = stamp
        finally:
            self._loading = False
