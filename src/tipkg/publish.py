"""Publish a validated graph as dumps in ``dist/``: reproducible, checksummed, described.

Everything is written to a temporary sibling directory and swapped in only when every file is
complete, so a failed build leaves the previous ``dist/`` exactly as it was. Output is
byte-identical for the same input: lines and nodes are sorted, gzip headers carry no time,
and the only date comes from the dataset description (or ``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, SKOS, VOID, XSD

from tipkg import rdf_writers
from tipkg.dist import (
    CONTEXT_NAME,
    DUMP_FORMATS,
    DUMP_NAME,
    MANIFEST_NAME,
    ONTOLOGY_NAME,
    QUADS_NAME,
    QUERIES_DIR,
    SUMS_NAME,
    VOID_NAME,
    Manifest,
    PublishedFile,
)
from tipkg.dump_check import QUAD_FORMATS, check_dump
from tipkg.errors import InputError
from tipkg.formats import JSON_LD
from tipkg.graph import KnowledgeGraph, bound_graph
from tipkg.project import Project
from tipkg.query import load_queries
from tipkg.terms import ToOxigraph
from tipkg.validate import check_description, raise_for
from tipkg.vocab import SD, SPDX, Iris

LINK_PREDICATES = (OWL.sameAs, SKOS.exactMatch, SKOS.closeMatch)


@dataclass(frozen=True)
class Statistics:
    """Counts a curator and the VoID description both want."""

    triples: int
    triples_per_graph: dict[str, int]
    entities_per_class: dict[str, int]
    links_per_target: dict[str, int]


def named_graphs(dataset: Dataset) -> list[Graph]:
    """The non-empty named graphs, sorted by IRI."""
    graphs = [g for g in dataset.graphs() if len(g) and isinstance(g.identifier, URIRef)]
    return sorted(graphs, key=lambda g: str(g.identifier))


def statistics(kg: KnowledgeGraph, targets: dict[str, str]) -> Statistics:
    """Triples per graph, entities per asserted or materialised class, links per target dataset."""
    union = kg.union
    described = {kg.iris.graph("ontology"), kg.iris.graph("dataset")}
    entities = Graph()
    for graph in named_graphs(kg.dataset):
        if graph.identifier not in described:
            entities += graph
    classes: Counter[str] = Counter()
    for cls in set(entities.objects(None, RDF.type)):
        classes[union.namespace_manager.normalizeUri(cls)] = len(
            set(entities.subjects(RDF.type, cls))
        )
    links: Counter[str] = Counter()
    for predicate in LINK_PREDICATES:
        for obj in union.objects(None, predicate):
            for space, title in targets.items():
                if str(obj).startswith(space):
                    links[title] += 1
    return Statistics(
        triples=len(union),
        triples_per_graph={str(g.identifier): len(g) for g in named_graphs(kg.dataset)},
        entities_per_class=dict(sorted(classes.items())),
        links_per_target=dict(sorted(links.items())),
    )


def link_targets(kg: KnowledgeGraph) -> dict[str, str]:
    """External datasets declared in data/dataset.ttl: uriSpace → title."""
    description = kg.dataset.graph(kg.iris.graph("dataset"))
    targets = {}
    for dataset, space in description.subject_objects(VOID.uriSpace):
        if dataset != kg.iris.dataset:
            targets[str(space)] = str(description.value(dataset, DCTERMS.title) or dataset)
    return dict(sorted(targets.items()))


# ------------------------------------------------------------------ serialisations


def jsonld_context(union: Graph, iris: Iris) -> dict[str, Any]:
    """A human-friendly @context: prefixes, plus a short term for every property used whose
    local name is unambiguous, coerced to @id or to its one datatype where the data allows."""
    context: dict[str, Any] = {prefix: str(ns) for prefix, ns in iris.prefixes().items()}
    by_local_name: dict[str, set[URIRef]] = {}
    for predicate in set(union.predicates()):
        local = union.namespace_manager.normalizeUri(predicate).split(":")[-1]
        if local.isidentifier():
            by_local_name.setdefault(local, set()).add(predicate)
    for local, predicates in sorted(by_local_name.items()):
        if local in context or local == "type" or not local[0].islower():
            continue
        # On a clash of local names the most used property gets the short term.
        predicate = max(sorted(predicates), key=lambda p: len(set(union.subject_objects(p))))
        objects = set(union.objects(None, predicate))
        term: dict[str, Any] = {"@id": union.namespace_manager.normalizeUri(predicate)}
        if all(isinstance(o, URIRef) for o in objects):
            term["@type"] = "@id"
        else:
            datatypes = {o.datatype for o in objects if isinstance(o, Literal)}
            languages = {o.language for o in objects if isinstance(o, Literal)}
            if (
                len(datatypes) == 1
                and None not in datatypes
                and all(isinstance(o, Literal) for o in objects)
            ):
                term["@type"] = union.namespace_manager.normalizeUri(next(iter(datatypes)))
            elif datatypes == {None} and languages == {"en"}:
                term["@language"] = "en"
        context[local] = term
    return {"@context": context}


def to_jsonld(union: Graph, context: dict[str, Any]) -> str:
    """JSON-LD 1.1 compacted with the published context, nodes and values in a stable order."""
    document = json.loads(union.serialize(format="json-ld", context=context["@context"]))
    nodes = document.get("@graph", [document])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda v: json.dumps(v, sort_keys=True))
    ordered = {
        "@context": context["@context"],
        "@graph": sorted(
            ({k: node[k] for k in sorted(node) if k != "@context"} for node in nodes),
            key=lambda n: str(n.get("@id", "")),
        ),
    }
    return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ VoID and DCAT


def describe_dataset(
    kg: KnowledgeGraph, stats: Statistics, files: list[PublishedFile], modified: str
) -> Graph:
    """VoID + DCAT: the dataset, its graphs as subsets, its linksets and its distributions."""
    iris = kg.iris
    description = bound_graph(iris)
    description += kg.dataset.graph(iris.graph("dataset"))
    dataset = iris.dataset
    description.set((dataset, DCTERMS.modified, Literal(modified[:10], datatype=XSD.date)))
    description.add((dataset, VOID.triples, Literal(stats.triples)))
    description.add((dataset, VOID.uriSpace, Literal(iris.base + "id/")))
    description.add((dataset, VOID.sparqlEndpoint, URIRef(iris.base + "sparql")))
    description.add((dataset, VOID.rootResource, iris.ontology))
    for vocabulary in sorted(
        {
            str(p).rsplit("#", 1)[0] + "#" if "#" in str(p) else str(p).rsplit("/", 1)[0] + "/"
            for p in kg.union.predicates()
        }
    ):
        description.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    for graph_iri, count in stats.triples_per_graph.items():
        subset = URIRef(graph_iri)
        description.add((dataset, VOID.subset, subset))
        description.add((subset, RDF.type, VOID.Dataset))
        description.add((subset, RDF.type, SD.NamedGraph))
        description.add((subset, VOID.triples, Literal(count)))
    union = kg.union
    for cls_name, count in stats.entities_per_class.items():
        cls = union.namespace_manager.expand_curie(cls_name)
        partition = URIRef(f"{iris.base}dataset/class/{cls_name.replace(':', '-')}")
        description.add((dataset, VOID.classPartition, partition))
        description.add((partition, VOID["class"], cls))
        description.add((partition, VOID.entities, Literal(count)))
    targets = link_targets(kg)
    for graph_iri in stats.triples_per_graph:
        if "/graph/linkset/" not in graph_iri:
            continue
        graph = kg.dataset.graph(URIRef(graph_iri))
        for space in targets:
            target = next(description.subjects(VOID.uriSpace, Literal(space)))
            for predicate in LINK_PREDICATES:
                count = sum(1 for o in graph.objects(None, predicate) if str(o).startswith(space))
                if not count:
                    continue
                local = union.namespace_manager.normalizeUri(predicate).replace(":", "-")
                linkset = URIRef(f"{graph_iri}/{local}")
                description.add((dataset, VOID.subset, linkset))
                description.add((linkset, RDF.type, VOID.Linkset))
                description.add((linkset, VOID.subjectsTarget, dataset))
                description.add((linkset, VOID.objectsTarget, target))
                description.add((linkset, VOID.target, target))
                description.add((linkset, VOID.linkPredicate, predicate))
                description.add((linkset, VOID.triples, Literal(count)))
                description.add((linkset, DCTERMS.source, URIRef(graph_iri)))
    license_iri = description.value(dataset, DCTERMS.license)
    for published in files:
        url = URIRef(f"{iris.base}download/{published.name}")
        distribution = URIRef(f"{iris.base}dataset/distribution/{published.name}")
        checksum = URIRef(f"{iris.base}dataset/distribution/{published.name}/sha256")
        description.add((dataset, DCAT.distribution, distribution))
        description.add((distribution, RDF.type, DCAT.Distribution))
        description.add((distribution, DCTERMS.title, distribution_title(published.name)))
        description.add((distribution, DCAT.downloadURL, url))
        description.add((distribution, DCAT.accessURL, url))
        description.add(
            (
                distribution,
                DCAT.mediaType,
                URIRef("https://www.iana.org/assignments/media-types/" + published.media_type),
            )
        )
        description.add(
            (distribution, DCAT.byteSize, Literal(published.bytes, datatype=XSD.nonNegativeInteger))
        )
        description.add((distribution, SPDX.checksum, checksum))
        description.add((checksum, RDF.type, SPDX.Checksum))
        description.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        description.add(
            (checksum, SPDX.checksumValue, Literal(published.sha256, datatype=XSD.hexBinary))
        )
        if license_iri is not None:
            description.add((distribution, DCTERMS.license, license_iri))
        if published.triples is not None:
            description.add((distribution, VOID.triples, Literal(published.triples)))
        if not published.name.endswith(".gz") and published.name.startswith(DUMP_NAME + "."):
            description.add((dataset, VOID.dataDump, url))
    return description


# ------------------------------------------------------------------ the write


def serialise(kg: KnowledgeGraph, fmt: str, context: dict[str, Any] | None = None) -> bytes:
    """One dump: ``ttl``, ``jsonld`` and ``nt`` hold the RDF merge of the named graphs, ``nq``
    and ``trig`` keep each graph. JSON-LD is compacted with ``context`` (by default the one
    :func:`jsonld_context` derives); the other formats come from pyoxigraph's serialisers."""
    prefixes = {name: str(namespace) for name, namespace in kg.iris.prefixes().items()}
    if fmt == "nq":
        return rdf_writers.nquads(kg.quads)
    if fmt == "trig":
        return rdf_writers.trig(kg.quads, prefixes)
    if fmt == "ttl":
        return rdf_writers.turtle(kg.union_triples, prefixes)
    if fmt == "nt":
        return rdf_writers.ntriples(kg.union_triples)
    if fmt == "jsonld":
        return to_jsonld(kg.union, context or jsonld_context(kg.union, kg.iris)).encode("utf-8")
    raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(DUMP_FORMATS)}")


FORMAT_NAMES = {
    "ttl": "Turtle",
    "jsonld": "JSON-LD",
    "nt": "N-Triples",
    "nq": "N-Quads, one named graph per source",
    "trig": "TriG, one named graph per source",
}


def distribution_title(name: str) -> Literal:
    """What a downloadable file holds, in words (DCAT wants a title people read)."""
    suffix = name.removesuffix(".gz").partition(".")[2]
    if name == "context.jsonld":
        what = "The JSON-LD context of the JSON-LD dump"
    elif name == "ontology.ttl":
        what = "The tipkg ontology in Turtle"
    elif name == "void.ttl":
        what = "The dataset's VoID and DCAT description in Turtle"
    else:
        what = f"The whole dataset in {FORMAT_NAMES.get(suffix, suffix)}"
    compressed = ", gzip-compressed" if name.endswith(".gz") else ""
    return Literal(f"{what}{compressed} ({name})", lang="en")


def build_date(kg: KnowledgeGraph) -> str:
    """The build's one timestamp: SOURCE_DATE_EPOCH if set, else the dataset's dct:modified."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH must be an integer, got {epoch!r}") from None
    modified = kg.dataset.graph(kg.iris.graph("dataset")).value(kg.iris.dataset, DCTERMS.modified)
    if modified is None or not isinstance(modified.toPython(), date):
        raise InputError("the dataset description needs a dct:modified date (xsd:date)")
    return f"{modified.toPython().isoformat()}T00:00:00Z"


def write(kg: KnowledgeGraph, project: Project, out_dir: Path) -> Manifest:
    """Write every dump, its gzip, the context, VoID/DCAT, SHA256SUMS and the manifest, then
    swap the new directory in place of ``out_dir``."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        manifest = _write_into(kg, project, staging)
        _swap(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write_into(kg: KnowledgeGraph, project: Project, staging: Path) -> Manifest:
    iris = kg.iris
    prefixes = {name: str(namespace) for name, namespace in iris.prefixes().items()}
    context = jsonld_context(kg.union, iris)
    ontology_graph = ox.NamedNode(iris.graph("ontology"))
    ontology = [quad.triple for quad in kg.quads if quad.graph_name == ontology_graph]
    files: list[PublishedFile] = []
    for fmt in DUMP_FORMATS:
        path = staging / f"{DUMP_NAME}.{fmt}"
        data = serialise(kg, fmt, context)
        files.append(_save(path, data, _media_type(path.name), len(kg.dataset)))
        check_dump(path, fmt, kg.quads if fmt in QUAD_FORMATS else kg.union_triples)
        files.append(
            _save(
                path.with_name(f"{path.name}.gz"), _gzip(data), "application/gzip", len(kg.dataset)
            )
        )
    context_text = json.dumps(context, indent=2, ensure_ascii=False) + "\n"
    files.append(
        _save(staging / CONTEXT_NAME, context_text.encode(), _media_type(CONTEXT_NAME), None)
    )
    ontology_bytes = rdf_writers.turtle(ontology, prefixes)
    files.append(_save(staging / ONTOLOGY_NAME, ontology_bytes, "text/turtle", len(ontology)))
    (staging / QUERIES_DIR).mkdir()
    queries = []
    for query_file in load_queries(project.query_files):
        shutil.copyfile(query_file.path, staging / QUERIES_DIR / query_file.path.name)
        queries.append(
            {
                "name": query_file.name,
                "file": f"{QUERIES_DIR}/{query_file.path.name}",
                "title": query_file.title,
                "question": query_file.question,
            }
        )
    modified = build_date(kg)
    targets = link_targets(kg)
    stats = statistics(kg, targets)
    description = describe_dataset(kg, stats, files, modified)
    raise_for(
        check_description(kg, description, project.shape_files),
        "the dataset description the build writes (void.ttl)",
    )
    void = sorted_triples(description)
    void_bytes = rdf_writers.turtle(void, prefixes)
    files.append(_save(staging / VOID_NAME, void_bytes, "text/turtle", len(void)))
    check_dump(staging / VOID_NAME, "ttl", void)
    sums = "".join(f"{f.sha256}  {f.name}\n" for f in sorted(files, key=lambda f: f.name))
    (staging / SUMS_NAME).write_text(sums, encoding="utf-8")
    manifest = Manifest(
        base_iri=iris.base,
        version=next(f.sha256 for f in files if f.name == QUADS_NAME),
        modified=modified,
        triples=stats.triples,
        graphs=[
            {"iri": iri, "kind": _graph_kind(iri, iris), "triples": count}
            for iri, count in stats.triples_per_graph.items()
        ],
        files=files,
        documents=[
            {
                "slug": slug,
                "iri": str(iris.document(slug)),
                "graph": str(iris.graph("document", slug)),
                "title": str(kg.dataset.value(iris.document(slug), DCTERMS.title) or slug),
                "sha256": source.sha256,
                "sentences": len(source.sentences),
            }
            for slug, source in sorted(kg.sources.items())
        ],
        queries=queries,
        classes=stats.entities_per_class,
        links=stats.links_per_target,
    )
    (staging / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def sorted_triples(graph: Graph) -> list[ox.Triple]:
    """An rdflib graph's triples as pyoxigraph terms in a fixed order (it holds no blank nodes:
    the dataset description is generated, and every node in it has an IRI)."""
    converter = ToOxigraph()
    triples = {ox.Triple(*(converter.term(term) for term in triple)) for triple in graph}
    return sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))


def _graph_kind(graph_iri: str, iris: Iris) -> str:
    return graph_iri[len(iris.base + "graph/") :].split("/", 1)[0]


def _media_type(name: str) -> str:
    if name == CONTEXT_NAME:
        return JSON_LD.media_type
    return DUMP_FORMATS[name.rsplit(".", 1)[-1]].media_type


def _gzip(data: bytes) -> bytes:
    """gzip with no file name and no time in the header, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def _save(path: Path, data: bytes, media_type: str, triples: int | None) -> PublishedFile:
    path.write_bytes(data)
    return PublishedFile(
        path.name, media_type, len(data), hashlib.sha256(data).hexdigest(), triples
    )


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old tree is removed last."""
    retired: Path | None = None
    if out_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
        retired.rmdir()
        out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except OSError:
        if retired is not None:
            retired.rename(out_dir)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
