"""The contract between the build and the server: the files of dist/ and its manifest.

``publish.py`` writes dist/ under these names and describes it with a :class:`Manifest`;
the server reads it back with :func:`read_manifest`, which checks every field the build writes
(so no reader needs a default) and every file the manifest lists (so a half-written build is
refused). Both sides import this module; neither spells a file name of its own.
"""

from __future__ import annotations

import json
import types
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, TypedDict, Union, get_args, get_origin, get_type_hints, is_typeddict

import pyoxigraph as ox

from tipkg.errors import InputError
from tipkg.formats import JSON_LD, N_QUADS, N_TRIPLES, TRIG, TURTLE, Format

DUMP_NAME = "tipkg"
# The dumps by name (also their suffix: ``tipkg.ttl``), in the order of the download list.
DUMP_FORMATS: dict[str, Format] = {
    fmt.name: fmt for fmt in (TURTLE, JSON_LD, N_TRIPLES, N_QUADS, TRIG)
}
# The dump the server loads; its SHA-256 is the build's version.
QUADS_NAME = f"{DUMP_NAME}.{N_QUADS.suffix}"
CONTEXT_NAME = "context.jsonld"
ONTOLOGY_NAME = "ontology.ttl"
VOID_NAME = "void.ttl"
SUMS_NAME = "SHA256SUMS"
MANIFEST_NAME = "manifest.json"
QUERIES_DIR = "queries"
# The pyoxigraph store the server opens read-only: the named graphs and, as the default graph,
# their merge.
STORE_DIR = "store"
# The full-text index (:mod:`tipkg.search`), a Tantivy directory. Like the store, it is not in
# SHA256SUMS: Tantivy names its files by random UUIDs, so no two builds write the same bytes.
SEARCH_INDEX_DIR = "search"
# The browse listings (:mod:`tipkg.browse.listing`): per listing a rows file and its index,
# in SHA256SUMS and the manifest's ``listings``, not in ``files`` (they are not downloads).
BROWSE_DIR = "browse"
# The kinds of resource listed at ``/id/KIND/``: the path segments under ``id/``.
BROWSE_KINDS = ("event", "place", "org", "concept", "document")
# The listing of meetings by date.
TIMELINE_LISTING = "timeline"
# Files of the build that the manifest's ``files`` does not list, with their media types.
UNLISTED_FILES = {SUMS_NAME: "text/plain; charset=utf-8", MANIFEST_NAME: "application/json"}


@dataclass
class PublishedFile:
    """A file of the build with its size and checksum (and its triples, for RDF files)."""

    name: str
    media_type: str
    bytes: int
    sha256: str
    triples: int | None = None


class GraphEntry(TypedDict):
    """A named graph of the build."""

    iri: str
    kind: str
    triples: int
    # SHA-256 of the graph's N-Quads: what a later build (or `tipkg publish`) compares to know
    # whether the graph changed.
    sha256: str


class DocumentEntry(TypedDict):
    """A source document (a report) of the build."""

    slug: str
    iri: str
    graph: str
    title: str
    sha256: str
    sentences: int


class ListedFile(TypedDict):
    """A file of a listing (``browse/event.jsonl``), checked like the files of ``files``."""

    name: str
    bytes: int
    sha256: str


class ListingEntry(TypedDict):
    """A browse listing: a kind's members (``name`` is the kind) or the timeline."""

    name: str
    rows: int
    # The orders its rows can be read in, the first being the order of its rows file.
    orders: list[str]
    # How many rows have a date (a listing with none offers no order by date).
    dated: int
    files: list[ListedFile]


class QueryEntry(TypedDict):
    """An example query, copied into dist/queries/."""

    name: str
    file: str
    title: str
    question: str


@dataclass
class Manifest:
    """What a build wrote: ``dist/manifest.json``."""

    base_iri: str
    version: str
    modified: str
    triples: int
    graphs: list[GraphEntry]
    files: list[PublishedFile]
    documents: list[DocumentEntry]
    queries: list[QueryEntry]
    classes: dict[str, int]
    links: dict[str, int]
    listings: list[ListingEntry]

    def listing(self, name: str) -> ListingEntry | None:
        """The listing called ``name``, if the build wrote one."""
        return next((entry for entry in self.listings if entry["name"] == name), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, path: Path) -> Manifest:
        """The manifest in ``text``; anything but what a build writes is a one-line
        ``InputError`` pointing at ``path``."""
        try:
            return _conform(json.loads(text), cls, "manifest")
        except json.JSONDecodeError as error:
            raise InputError(
                f"unreadable manifest ({error}): rebuild with `tipkg build`", path
            ) from None
        except ValueError as error:
            raise InputError(f"{error}: rebuild with `tipkg build`", path) from None


def read_manifest(dist_dir: Path) -> Manifest:
    """The manifest of the build in ``dist_dir``, once every file it lists is there at its
    recorded size (a build caught half-way is refused, not half-served)."""
    if not dist_dir.is_dir():
        raise InputError("no build here: run `tipkg build` first", dist_dir)
    path = dist_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no manifest.json: the build is missing or unfinished", dist_dir) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            f"unreadable manifest ({error}): rebuild with `tipkg build`", path
        ) from None
    manifest = Manifest.from_json(text, path)
    for required in (QUADS_NAME, VOID_NAME):
        if not (dist_dir / required).is_file():
            raise InputError(f"missing {required}: the build is unfinished", dist_dir)
    listed = [(f.name, f.bytes) for f in manifest.files] + [
        (f["name"], f["bytes"]) for entry in manifest.listings for f in entry["files"]
    ]
    for name, recorded in listed:
        file_path = dist_dir / name
        try:
            size = file_path.stat().st_size
        except OSError:
            raise InputError("listed in manifest.json but missing", file_path) from None
        if size != recorded:
            raise InputError(
                f"{size} bytes, manifest.json says {recorded}: the build is unfinished",
                file_path,
            )
    return manifest


def _conform(value: Any, hint: Any, where: str) -> Any:
    """``value`` (parsed JSON) checked against the type ``hint``: dataclasses and TypedDicts
    by their fields, lists and dicts by their items; ``ValueError`` names the first misfit."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        for option in args:
            try:
                return _conform(value, option, where)
            except ValueError:
                continue
        raise ValueError(f"{where} is {json.dumps(value)[:40]}, not {hint}")
    if is_dataclass(hint) or is_typeddict(hint):
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        hints = get_type_hints(hint)
        missing = [name for name in hints if name not in value]
        if missing:
            raise ValueError(f"{where} lacks {', '.join(missing)}")
        checked = {name: _conform(value[name], hints[name], f"{where}.{name}") for name in hints}
        return hint(**checked)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        return [_conform(item, args[0], f"{where}[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        return {key: _conform(item, args[1], f"{where}.{key}") for key, item in value.items()}
    if hint is type(None):
        if value is not None:
            raise ValueError(f"{where} is not null")
        return value
    # JSON has one number type: a bool is not an int here, and an int is not a str.
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ValueError(f"{where} is {json.dumps(value)[:40]}, not {hint.__name__}")
    return value


# The predicate of each file checksum in the dataset description (void.ttl).
SPDX_CHECKSUM_VALUE = ox.NamedNode("http://spdx.org/rdf/terms#checksumValue")


def open_store(dist_dir: Path, manifest: Manifest) -> ox.Store:
    """The build's store, read-only, once it is known to be this manifest's: the checksums in
    its description (one per file of the build) include the manifest's version. A missing,
    unreadable or other build's store is a one-line ``InputError``."""
    path = dist_dir / STORE_DIR
    if not path.is_dir():
        raise InputError(f"missing {STORE_DIR}/: rebuild with `tipkg build`", dist_dir)
    try:
        store = ox.Store.read_only(str(path))
    except (OSError, RuntimeError) as error:  # RocksDB's corruption errors are RuntimeErrors
        reason = " ".join(str(error).split())
        raise InputError(f"unreadable store ({reason}): rebuild with `tipkg build`", path) from None
    description = ox.NamedNode(manifest.base_iri + "graph/dataset")
    checksums = {  # read whole: no store iterator outlives this call (see descriptions.py)
        quad.object.value.lower()
        for quad in store.quads_for_pattern(None, SPDX_CHECKSUM_VALUE, None, description)
    }
    if manifest.version not in checksums:
        raise InputError(
            "the store is not the build manifest.json describes: rebuild with `tipkg build`",
            path,
        )
    return store
