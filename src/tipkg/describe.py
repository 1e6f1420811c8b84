"""What the dataset holds, counted from its store, and the VoID + DCAT description of it.

Counts come from SPARQL over a pyoxigraph store holding the named graphs and, as its default
graph, their RDF merge (each triple once): the same store ``tipkg serve`` answers from, so the
numbers the description, the manifest and ``/sparql`` give are one and the same.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, SKOS, VOID, XSD

from tipkg.dist import DUMP_FORMATS, DUMP_NAME, PublishedFile
from tipkg.errors import InputError
from tipkg.graph import bound_graph
from tipkg.terms import from_oxigraph
from tipkg.vocab import SD, SPDX, Iris, prefixed_name

LINK_PREDICATES = (OWL.sameAs, SKOS.exactMatch, SKOS.closeMatch)
MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
GZIP = "application/gzip"
SPARQL_PROTOCOL = "https://www.w3.org/TR/sparql11-protocol/"
# The EU Publications Office's file types, which DCAT-AP asks dct:format to take.
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
FILE_TYPES = {
    "ttl": "RDF_TURTLE",
    "nt": "RDF_N_TRIPLES",
    "nq": "RDF_N_QUADS",
    "trig": "RDF_TRIG",
    "jsonld": "JSON_LD",
}
# The parts of a project a change of which is a change of the dataset.
PROJECT_PARTS = ("data", "ontology", "shapes", "queries")
FORMAT_NAMES = {
    "ttl": "Turtle",
    "jsonld": "JSON-LD",
    "nt": "N-Triples",
    "nq": "N-Quads, one named graph per source",
    "trig": "TriG, one named graph per source",
}


@dataclass(frozen=True)
class Statistics:
    """Counts a curator and the VoID description both want."""

    triples: int
    triples_per_graph: dict[str, int]
    entities_per_class: dict[str, int]
    links_per_target: dict[str, int]


@dataclass(frozen=True)
class LinksetCount:
    """How many links one linkset file makes into one target dataset with one predicate."""

    graph: str
    target: str
    predicate: str
    count: int


def _select(store: ox.Store, query: str) -> list[ox.QuerySolution]:
    return list(store.query(query))


def statistics(store: ox.Store, iris: Iris, triples_per_graph: Mapping[str, int]) -> Statistics:
    """Triples (each once), triples per graph, entities per class outside the ontology and the
    dataset description, and links per target dataset."""
    [total] = _select(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    excluded = f"<{iris.graph('ontology')}>, <{iris.graph('dataset')}>"
    prefixes = {name: str(ns) for name, ns in iris.prefixes().items()}
    classes = {
        prefixed_name(row["class"].value, prefixes): int(row["n"].value)
        for row in _select(
            store,
            "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?class } "
            f"FILTER(isIRI(?class) && ?g NOT IN ({excluded})) }} GROUP BY ?class",
        )
    }
    targets = link_targets(store, iris)
    links: dict[str, int] = {}
    for count in linkset_counts(store, iris, targets):
        links[targets[count.target]] = links.get(targets[count.target], 0) + count.count
    return Statistics(
        triples=int(total["n"].value),
        triples_per_graph=dict(sorted(triples_per_graph.items())),
        entities_per_class=dict(sorted(classes.items())),
        links_per_target=dict(sorted(links.items())),
    )


def link_targets(store: ox.Store, iris: Iris) -> dict[str, str]:
    """External datasets the dataset description declares: uriSpace → title."""
    rows = _select(
        store,
        "PREFIX void: <http://rdfs.org/ns/void#> PREFIX dct: <http://purl.org/dc/terms/> "
        f"SELECT ?space ?title WHERE {{ GRAPH <{iris.graph('dataset')}> {{ "
        "?d void:uriSpace ?space OPTIONAL { ?d dct:title ?title } "
        f"FILTER(?d != <{iris.dataset}>) }} }}",
    )
    return dict(
        sorted(
            (row["space"].value, row["title"].value if row["title"] else row["space"].value)
            for row in rows
        )
    )


def linkset_counts(store: ox.Store, iris: Iris, targets: Mapping[str, str]) -> list[LinksetCount]:
    """Links per linkset graph, target URI space and link predicate (each link once)."""
    predicates = " ".join(f"<{p}>" for p in LINK_PREDICATES)
    rows = _select(
        store,
        f"SELECT ?g ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} VALUES ?p {{ {predicates} }} "
        f'FILTER(STRSTARTS(STR(?g), "{iris.graph("linkset")}/")) }}',
    )
    counts: dict[tuple[str, str, str], int] = {}
    for row in rows:
        for space in targets:
            if row["o"].value.startswith(space):
                key = (row["g"].value, space, row["p"].value)
                counts[key] = counts.get(key, 0) + 1
    return [LinksetCount(g, space, p, n) for (g, space, p), n in sorted(counts.items())]


def vocabularies(store: ox.Store) -> list[str]:
    """The namespaces of every predicate used."""
    predicates = [row["p"].value for row in _select(store, "SELECT DISTINCT ?p WHERE { ?s ?p ?o }")]
    return sorted({p[: max(p.rfind("#"), p.rfind("/")) + 1] for p in predicates})


@dataclass(frozen=True)
class Dates:
    """When the dataset was first issued and last modified, as ISO timestamps (UTC)."""

    issued: str
    modified: str


def release_dates(root: Path, inputs: Iterable[Path]) -> Dates:
    """The dataset's dates, derived rather than typed by hand: ``SOURCE_DATE_EPOCH`` if set (for
    both); else the first and the last commit that touched the project's inputs, when the
    project is a git checkout; else the oldest and newest modification time of its input files.
    The same commit gives the same dates, so rebuilds stay byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            stamp = _utc(datetime.fromtimestamp(int(epoch), tz=UTC))
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH must be an integer, got {epoch!r}") from None
        return Dates(stamp, stamp)
    history = _commit_dates(root)
    if history:
        return Dates(history[0], history[-1])
    times = sorted(path.stat().st_mtime for path in inputs)
    first, last = (datetime.fromtimestamp(t, tz=UTC) for t in (times[0], times[-1]))
    return Dates(_utc(first), _utc(last))


def _commit_dates(root: Path) -> list[str]:
    try:
        log = subprocess.run(
            ["git", "-C", str(root), "log", "--format=%ct", "--", *PROJECT_PARTS],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if log.returncode != 0:
        return []
    stamps = sorted(int(line) for line in log.stdout.split() if line.isdigit())
    return [_utc(datetime.fromtimestamp(stamp, tz=UTC)) for stamp in stamps]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def coverage(store: ox.Store) -> tuple[str | None, str | None, list[str]]:
    """What the data covers: its first and last meeting day, and the states and territories
    that host, take part in or are members of something."""
    [dates] = _select(
        store,
        "PREFIX schema: <https://schema.org/> SELECT (MIN(?start) AS ?first) (MAX(?end) AS ?last) "
        "WHERE { ?event schema:startDate ?start ; schema:endDate ?end }",
    )
    places = _select(
        store,
        "PREFIX schema: <https://schema.org/> PREFIX org: <http://www.w3.org/ns/org#> "
        "SELECT DISTINCT ?place WHERE { ?place a schema:AdministrativeArea . "
        "{ ?x schema:attendee ?place } UNION { ?x schema:organizer ?place } "
        "UNION { ?x org:member ?place } } ORDER BY ?place",
    )
    first = dates["first"].value if dates["first"] else None
    last = dates["last"].value if dates["last"] else None
    return first, last, [row["place"].value for row in places]


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


def describe_dataset(
    store: ox.Store,
    iris: Iris,
    stats: Statistics,
    files: Iterable[PublishedFile],
    dates: Dates,
) -> Graph:
    """VoID + DCAT (DCAT-AP 3's mandatory and recommended properties): the dataset as the
    curators describe it (``graph/dataset``), its dates, its coverage in time and space, its
    graphs as subsets, its class partitions, its linksets, its distributions and the SPARQL
    endpoint that serves it."""
    description = bound_graph(iris)
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(iris.graph("dataset"))):
        description.add(tuple(from_oxigraph(term) for term in quad.triple))
    dataset = iris.dataset
    description.set((dataset, DCTERMS.issued, Literal(dates.issued[:10], datatype=XSD.date)))
    description.set((dataset, DCTERMS.modified, Literal(dates.modified[:10], datatype=XSD.date)))
    description.add((dataset, DCAT.landingPage, URIRef(iris.base)))
    _describe_coverage(description, store, iris)
    _describe_service(description, iris)
    description.add((dataset, VOID.triples, Literal(stats.triples)))
    description.add((dataset, VOID.uriSpace, Literal(iris.base + "id/")))
    description.add((dataset, VOID.sparqlEndpoint, URIRef(iris.base + "sparql")))
    description.add((dataset, VOID.rootResource, iris.ontology))
    for vocabulary in vocabularies(store):
        description.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    _describe_subsets(description, iris, stats)
    _describe_linksets(description, store, iris)
    _describe_distributions(description, iris, files)
    return description


def _describe_coverage(description: Graph, store: ox.Store, iris: Iris) -> None:
    dataset = iris.dataset
    first, last, places = coverage(store)
    if first and last:
        period = URIRef(f"{iris.base}dataset/temporal")
        description.add((dataset, DCTERMS.temporal, period))
        description.add((period, RDF.type, DCTERMS.PeriodOfTime))
        description.add((period, DCAT.startDate, Literal(first, datatype=XSD.date)))
        description.add((period, DCAT.endDate, Literal(last, datatype=XSD.date)))
    for place in places:
        description.add((dataset, DCTERMS.spatial, URIRef(place)))
        description.add((URIRef(place), RDF.type, DCTERMS.Location))


def _describe_service(description: Graph, iris: Iris) -> None:
    """The SPARQL endpoint as a DCAT data service; its description is the endpoint itself (a
    GET without a query answers with the SPARQL service description)."""
    dataset, endpoint = iris.dataset, URIRef(iris.base + "sparql")
    description.add((endpoint, RDF.type, DCAT.DataService))
    title = Literal("SPARQL 1.1 endpoint of the tipkg dataset", lang="en")
    description.add((endpoint, DCTERMS.title, title))
    description.add((endpoint, DCAT.endpointURL, endpoint))
    description.add((endpoint, DCAT.endpointDescription, endpoint))
    description.add((endpoint, DCTERMS.conformsTo, URIRef(SPARQL_PROTOCOL)))
    description.add((endpoint, DCAT.servesDataset, dataset))
    license_iri = description.value(dataset, DCTERMS.license)
    if license_iri is not None:
        description.add((endpoint, DCTERMS.license, license_iri))


def _describe_subsets(description: Graph, iris: Iris, stats: Statistics) -> None:
    dataset = iris.dataset
    prefixes = {name: str(ns) for name, ns in iris.prefixes().items()}
    for graph_iri, count in stats.triples_per_graph.items():
        subset = URIRef(graph_iri)
        description.add((dataset, VOID.subset, subset))
        description.add((subset, RDF.type, VOID.Dataset))
        description.add((subset, RDF.type, SD.NamedGraph))
        description.add((subset, VOID.triples, Literal(count)))
    for class_name, count in stats.entities_per_class.items():
        prefix, _, local = class_name.partition(":")
        cls = URIRef(prefixes[prefix] + local)
        partition = URIRef(f"{iris.base}dataset/class/{class_name.replace(':', '-')}")
        description.add((dataset, VOID.classPartition, partition))
        description.add((partition, VOID["class"], cls))
        description.add((partition, VOID.entities, Literal(count)))


def _describe_linksets(description: Graph, store: ox.Store, iris: Iris) -> None:
    dataset = iris.dataset
    targets = link_targets(store, iris)
    for count in linkset_counts(store, iris, targets):
        target = next(description.subjects(VOID.uriSpace, Literal(count.target)))
        local = prefixed_name(count.predicate).replace(":", "-")
        linkset = URIRef(f"{count.graph}/{local}")
        description.add((dataset, VOID.subset, linkset))
        description.add((linkset, RDF.type, VOID.Linkset))
        description.add((linkset, VOID.subjectsTarget, dataset))
        description.add((linkset, VOID.objectsTarget, target))
        description.add((linkset, VOID.target, target))
        description.add((linkset, VOID.linkPredicate, URIRef(count.predicate)))
        description.add((linkset, VOID.triples, Literal(count.count)))
        description.add((linkset, DCTERMS.source, URIRef(count.graph)))


def _describe_distributions(description: Graph, iris: Iris, files: Iterable[PublishedFile]) -> None:
    dataset = iris.dataset
    license_iri = description.value(dataset, DCTERMS.license)
    for published in files:
        url = URIRef(f"{iris.base}download/{published.name}")
        distribution = URIRef(f"{iris.base}dataset/distribution/{published.name}")
        checksum = URIRef(f"{distribution}/sha256")
        inner = published.name.removesuffix(".gz")
        suffix = inner.rpartition(".")[2]
        inner_type = DUMP_FORMATS[suffix].media_type if suffix in DUMP_FORMATS else None
        compressed = published.name.endswith(".gz")
        # DCAT: a compressed file's media type is that of what it holds, its compression apart.
        media_type = URIRef(MEDIA_TYPES + (inner_type if compressed else published.media_type))
        if compressed:
            description.add((distribution, DCAT.compressFormat, URIRef(MEDIA_TYPES + GZIP)))
        if inner.startswith(DUMP_NAME + ".") and suffix in FILE_TYPES:
            description.add(
                (distribution, DCTERMS["format"], URIRef(FILE_TYPE + FILE_TYPES[suffix]))
            )
        description.add((dataset, DCAT.distribution, distribution))
        description.add((distribution, RDF.type, DCAT.Distribution))
        description.add((distribution, DCTERMS.title, distribution_title(published.name)))
        description.add((distribution, DCAT.downloadURL, url))
        description.add((distribution, DCAT.accessURL, url))
        description.add((distribution, DCAT.mediaType, media_type))
        size = Literal(published.bytes, datatype=XSD.nonNegativeInteger)
        description.add((distribution, DCAT.byteSize, size))
        description.add((distribution, SPDX.checksum, checksum))
        description.add((checksum, RDF.type, SPDX.Checksum))
        description.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        value = Literal(published.sha256, datatype=XSD.hexBinary)
        description.add((checksum, SPDX.checksumValue, value))
        if license_iri is not None:
            description.add((distribution, DCTERMS.license, license_iri))
        if published.triples is not None:
            description.add((distribution, VOID.triples, Literal(published.triples)))
        if not published.name.endswith(".gz") and published.name.startswith(DUMP_NAME + "."):
            description.add((dataset, VOID.dataDump, url))
