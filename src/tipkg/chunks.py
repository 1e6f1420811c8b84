"""One unit's part of every dump, written once and kept while the unit is unchanged.

A dump is its units' chunks in graph-IRI order (:mod:`tipkg.publish` concatenates them), so a
changed report costs the serialisation of its own graph, not the corpus's. Each chunk is a
complete document of its format written by pyoxigraph's serialiser (Turtle and TriG allow
prefix directives anywhere, so one document after another is still one document); the JSON-LD
chunk is the node objects of the ``@graph`` array, each written by ``json.dumps``. Every chunk
also has a gzip member: gzip members concatenate into one valid ``.gz`` file.

The triple formats (``ttl``, ``nt``, ``jsonld``) hold each graph's statements in turn, so a
statement two reports both make appears in each report's chunk; RDF readers merge them.

Before a chunk is kept it is read back by pyoxigraph and must hold exactly the statements it was
written from; a chunk holding anything beyond printable ASCII (where readers have disagreed:
line separators, non-BMP characters, …) is read back by rdflib as well (:mod:`tipkg.dump_check`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from tipkg import rdf_writers
from tipkg.dist import DUMP_FORMATS
from tipkg.dump_check import QUAD_FORMATS, check_bytes
from tipkg.jsonld import NodeWriter

GZIP_LEVEL = 6


@dataclass(frozen=True)
class Chunk:
    """One format's chunk of one unit."""

    fmt: str
    data: bytes
    gzipped: bytes


def write_chunks(
    graph: ox.NamedNode,
    triples: frozenset[ox.Triple],
    prefixes: Mapping[str, str],
    writer: NodeWriter,
    where: str,
) -> dict[str, Chunk]:
    """Every format's chunk of one named graph, each checked by reading it back."""
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    serialised = {
        "ttl": rdf_writers.turtle(triples, prefixes),
        "nt": rdf_writers.ntriples(triples),
        "nq": rdf_writers.nquads(quads),
        "trig": rdf_writers.trig(quads, prefixes),
        "jsonld": jsonld_nodes(writer, triples),
    }
    chunks = {}
    for fmt in DUMP_FORMATS:
        data = serialised[fmt]
        expected = quads if fmt in QUAD_FORMATS else triples
        check_bytes(_readable(fmt, data, writer), fmt, expected, where)
        chunks[fmt] = Chunk(fmt, data, gzip_member(data))
    return chunks


def jsonld_nodes(writer: NodeWriter, triples: frozenset[ox.Triple]) -> bytes:
    """The node objects, one JSON value each, comma-separated: a slice of an array."""
    nodes = writer.node_objects(triples)
    return ",\n".join(_json(node) for node in nodes).encode("utf-8")


def jsonld_head(context: Mapping[str, Any]) -> bytes:
    return ('{\n"@context": ' + _json(dict(context)) + ',\n"@graph": [\n').encode("utf-8")


JSONLD_SEPARATOR = b",\n"
JSONLD_TAIL = b"\n]\n}\n"


def _readable(fmt: str, data: bytes, writer: NodeWriter) -> bytes:
    """The chunk as a document on its own (the JSON-LD slice wrapped in a document)."""
    if fmt != "jsonld":
        return data
    return jsonld_head(writer.context) + data + JSONLD_TAIL


def _json(value: Any) -> str:
    """One line per value (node objects one per line: fast to write, easy to diff)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def gzip_member(data: bytes) -> bytes:
    """gzip with no file name and no time in the header, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def pack(parts: Mapping[str, bytes], path: Path) -> dict[str, list[int]]:
    """Write ``parts`` one after another to one file; return where each is (``[offset,
    length]`` by name). One file per unit instead of one per part: at 10,000 reports the
    cache is tens of thousands of files rather than hundreds of thousands, and writing them
    costs a tenth."""
    places: dict[str, list[int]] = {}
    offset = 0
    with path.open("wb") as out:
        for name, data in parts.items():
            out.write(data)
            places[name] = [offset, len(data)]
            offset += len(data)
    return places


def chunk_parts(chunks: Mapping[str, Chunk]) -> dict[str, bytes]:
    """Each chunk and its gzip member under the name a record looks it up by (``ttl``,
    ``ttl.gz``, …)."""
    parts: dict[str, bytes] = {}
    for chunk in chunks.values():
        parts[chunk.fmt] = chunk.data
        parts[f"{chunk.fmt}.gz"] = chunk.gzipped
    return parts
