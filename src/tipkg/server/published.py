"""The build the server answers from: a snapshot of dist/ with its store opened read-only,
opened afresh when dist/ changes.

The store (``dist/store``, written by ``tipkg build``) is opened with
``pyoxigraph.Store.read_only``: nothing is parsed or loaded at start, every process (the server
and each query worker) reads the same files on disk, and none can change them. Its default
graph is the RDF merge of the build's named graphs, each triple once, and it is SPARQL's default
graph as it is; its named graphs are the build's, plus the dataset's own description
(``void.ttl``) in ``<base>graph/dataset``, which the merge leaves out. A store is accepted only
when its description gives ``tipkg.nq`` the SHA-256 the manifest calls the build's version, so a
store from another build is never served with this manifest.

Base IRI rule: a read-only store cannot be rewritten, so the server answers under the base the
build was made with (``manifest.json``'s ``base_iri``). A base IRI set explicitly for serving
(``--base-iri`` or ``TIPKG_BASE_IRI``) that is not the build's is refused with an ``InputError``
that names both and the fix: build for the URL to be served, ``tipkg --base-iri URL build``.

Route handlers read the build through :func:`tipkg.server.web.current_published`; nothing else
holds on to a ``Published`` across requests, so a rebuild of dist/ is picked up within a second
or so (it is opened in the background meanwhile). The server opens a build from a
:class:`~tipkg.server.snapshots.Snapshot` of dist/ and answers everything, its downloads included,
from that snapshot; its query workers open the same snapshot's store. This module imports
nothing of Starlette: query workers open builds with it too.
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

from tipkg.dist import MANIFEST_NAME, Manifest, open_store, read_manifest
from tipkg.errors import InputError
from tipkg.server.snapshots import Snapshot, Snapshots, file_stamp
from tipkg.settings import Settings
from tipkg.vocab import Iris

T = TypeVar("T")

RELOAD_CHECK_SECONDS = 1.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExampleQuery:
    """One example query from dist/queries."""

    name: str
    title: str
    question: str
    text: str


@dataclass(frozen=True)
class Published:
    """One opened build of dist/: its manifest, its store, and the HTTP validators it implies."""

    dist_dir: Path
    settings: Settings
    manifest: Manifest
    # Read-only: the default graph is the merge of the named graphs (see the module doc).
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
    def base_iri(self) -> str:
        """The base every IRI of the build is under, the one the server answers under too."""
        return self.manifest.base_iri

    @property
    def iris(self) -> Iris:
        """IRI shapes under the build's base."""
        return Iris(self.base_iri)

    @property
    def description_graph(self) -> ox.NamedNode:
        """The named graph holding the dataset's own description (void.ttl)."""
        return ox.NamedNode(self.iris.graph("dataset"))

    def triples(
        self,
        subject: ox.NamedNode | ox.BlankNode | None = None,
        predicate: ox.NamedNode | None = None,
        obj: ox.NamedNode | ox.BlankNode | ox.Literal | None = None,
    ) -> list[ox.Triple]:
        """The statements matching a pattern, each once: the merge (the default graph) and
        then the dataset's description, which the merge leaves out. Both are index lookups,
        so a pattern with a bound term costs what it matches, not the size of the build."""
        found = dict.fromkeys(
            quad.triple
            for graph in (ox.DefaultGraph(), self.description_graph)
            for quad in self.store.quads_for_pattern(subject, predicate, obj, graph)
        )
        return list(found)

    @property
    def prefixes(self) -> dict[str, str]:
        """The project's and the common prefixes, as queries and serialisations use them."""
        return {name: str(namespace) for name, namespace in self.iris.prefixes().items()}

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


def check_served_base(manifest: Manifest, settings: Settings, dist_dir: Path) -> None:
    """The server answers under the build's own base: one asked for explicitly must be that
    one, as a read-only store cannot be moved under another."""
    asked = settings.base_iri
    if "base_iri" in settings.explicit and asked != manifest.base_iri:
        raise InputError(
            f"this build's base IRI is {manifest.base_iri}, not {asked} as asked: "
            f"build for it with `tipkg --base-iri {asked} build`, or serve without a base IRI",
            dist_dir,
        )


def load_published(dist_dir: Path, settings: Settings) -> Published:
    """Open the build in ``dist_dir`` as it is now; a missing or half-written build is a
    one-line ``InputError``. (The server reads snapshots: see :func:`load_snapshot`.)"""
    dist_dir = dist_dir.resolve()
    return _read(dist_dir, settings, file_stamp(dist_dir / MANIFEST_NAME), None)


def load_snapshot(snapshots: Snapshots, settings: Settings) -> Published:
    """Take a snapshot of dist/ and open the build from it."""
    snapshot = snapshots.take()
    return _read(snapshot.path, settings, snapshot.stamp, snapshot, snapshots.dist_dir)


def _read(
    dist_dir: Path,
    settings: Settings,
    stamp: tuple[int, int, int],
    snapshot: Snapshot | None,
    named: Path | None = None,
) -> Published:
    """The build in ``dist_dir`` (a snapshot of ``named``, the dist/ the user named)."""
    manifest = read_manifest(dist_dir)
    check_served_base(manifest, settings, named or dist_dir)
    store = open_store(dist_dir, manifest)
    modified = _parse_modified(manifest.modified, dist_dir)
    return Published(
        dist_dir=dist_dir,
        settings=settings,
        manifest=manifest,
        store=store,
        queries=_read_queries(dist_dir, manifest),
        etag=sha256(manifest.version.encode()).hexdigest()[:32],
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


def _read_queries(dist_dir: Path, manifest: Manifest) -> dict[str, ExampleQuery]:
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
            text=text,
        )
    return queries


class PublishedHolder:
    """Keeps the current build; when dist/'s manifest changes (checked at most once a second)
    a snapshot of the new build is opened in the background and then served.

    A build that fails to open (a rebuild caught half-way, say) is logged once and changes
    nothing served: the previous build, its files and its ETags stay; the next check tries
    again.
    """

    def __init__(self, published: Published, snapshots: Snapshots) -> None:
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
