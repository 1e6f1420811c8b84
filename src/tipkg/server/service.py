"""The SPARQL service description (SPARQL 1.1 Service Description) that ``GET /sparql`` with
no query answers: what the endpoint speaks, in which formats, within which limits, over which
dataset, with the size of every graph.
"""

from __future__ import annotations

import pyoxigraph as ox

from tipkg.formats import GRAPH_FORMATS, RESULTS_FORMATS
from tipkg.server.protocol import TRUNCATED_HEADER
from tipkg.server.published import Published
from tipkg.vocab import RDF, RDFS, SD, VOID, XSD

A = ox.NamedNode(str(RDF.type))


def sd(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(SD[name]))


def service_description(published: Published, endpoint: str) -> list[ox.Triple]:
    """An ``sd:Service`` for the endpoint at ``endpoint``, with its default dataset."""
    settings = published.settings
    service = ox.NamedNode(endpoint)
    limits = (
        f"Read-only. Queries stop after {settings.query_timeout:g} s and return at most "
        f"{settings.max_rows} rows or {settings.max_response_bytes} bytes (a cut answer carries "
        f"the HTTP header {TRUNCATED_HEADER}: true). The default graph is the union of the "
        "named graphs, unless the query names its own dataset (FROM, FROM NAMED)."
    )
    features = ["UnionDefaultGraph"] + (["BasicFederatedQuery"] if settings.federation else [])
    triples = [
        ox.Triple(service, A, sd("Service")),
        ox.Triple(service, sd("endpoint"), service),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        *(ox.Triple(service, sd("feature"), sd(feature)) for feature in features),
        ox.Triple(
            service,
            sd("defaultEntailmentRegime"),
            ox.NamedNode("http://www.w3.org/ns/entailment/Simple"),
        ),
        ox.Triple(service, ox.NamedNode(str(RDFS.comment)), ox.Literal(limits)),
    ]
    for fmt in (*RESULTS_FORMATS, *GRAPH_FORMATS):
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(str(fmt.iri))))
    return triples + default_dataset(published, service)


def default_dataset(published: Published, service: ox.NamedNode) -> list[ox.Triple]:
    """The dataset queries run over: the union as default graph, and each named graph."""
    dataset, default_graph = ox.BlankNode("dataset"), ox.BlankNode("default")
    union = published.store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", use_default_graph_as_union=True
    )
    triples = [
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, A, sd("Dataset")),
        ox.Triple(dataset, ox.NamedNode(str(VOID.inDataset)), ox.NamedNode(published.iris.dataset)),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, A, sd("Graph")),
        ox.Triple(default_graph, ox.NamedNode(str(VOID.triples)), next(iter(union))["n"]),
    ]
    per_graph = published.store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    )
    for index, row in enumerate(per_graph):
        named, graph = ox.BlankNode(f"named{index}"), ox.BlankNode(f"graph{index}")
        size = ox.Literal(row["n"].value, datatype=ox.NamedNode(str(XSD.integer)))
        triples += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, A, sd("NamedGraph")),
            ox.Triple(named, sd("name"), row["g"]),
            ox.Triple(named, sd("graph"), graph),
            ox.Triple(graph, A, sd("Graph")),
            ox.Triple(graph, ox.NamedNode(str(VOID.triples)), size),
        ]
    return triples
