"""What the dataset holds, counted from its store, and the VoID + DCAT description of it.

Counts come from SPARQL over a pyoxigraph store holding the named graphs and, as its default
graph, their RDF merge (each triple once): the same store ``tipkg serve`` answers from, so the
numbers the description, the manifest and ``/sparql`` give are one and the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, SKOS, VOID, XSD

from tipkg.dist import DUMP_NAME, PublishedFile
from tipkg.errors import InputError
from tipkg.terms import from_oxigraph
from tipkg.vocab import SD, SPDX, Iris, prefixed_name

LINK_PREDICATES = (OWL.sameAs, SKOS.exactMatch, SKOS.closeMatch)
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


def build_date(store: ox.Store, iris: Iris) -> str:
    """The build's one timestamp: SOURCE_DATE_EPOCH if set, else the dataset's dct:modified."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH must be an integer, got {epoch!r}") from None
    rows = _select(
        store,
        f"SELECT ?m WHERE {{ GRAPH <{iris.graph('dataset')}> {{ <{iris.dataset}> "
        "<http://purl.org/dc/terms/modified> ?m } }",
    )
    values = [from_oxigraph(row["m"]) for row in rows]
    dates = [v.toPython() for v in values if isinstance(v, Literal)]
    if len(dates) != 1 or not isinstance(dates[0], date):
        raise InputError("the dataset description needs one dct:modified date (xsd:date)")
    return f"{dates[0].isoformat()}T00:00:00Z"


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
    modified: str,
) -> Graph:
    """VoID + DCAT: the dataset as the curators describe it (``graph/dataset``), its graphs as
    subsets, its class partitions, its linksets and its distributions."""
    description = Graph(bind_namespaces="none")
    for prefix, namespace in iris.prefixes().items():
        description.bind(prefix, namespace, replace=True)
    for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(iris.graph("dataset"))):
        description.add(tuple(from_oxigraph(term) for term in quad.triple))
    dataset = iris.dataset
    description.set((dataset, DCTERMS.modified, Literal(modified[:10], datatype=XSD.date)))
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
        media_type = URIRef("https://www.iana.org/assignments/media-types/" + published.media_type)
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
