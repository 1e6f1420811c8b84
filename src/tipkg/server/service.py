"""The SPARQL service description (SPARQL 1.1 Service Description) that ``GET /sparql`` with
no query answers: what the endpoint speaks, in which formats, within which limits, over which
dataset, with the size of every graph. The sizes are the manifest's, counted by the build from
the same store: nothing is counted per request.
"""

from __future__ import annotations

import pyoxigraph as ox

from tipkg.dist import VOID_NAME
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
        f"the HTTP header {TRUNCATED_HEADER}: true). The default graph is the RDF merge of the "
        "data's named graphs, each triple once; the dataset's own description is the named "
        f"graph {published.iris.graph('dataset')}. A query may name its own dataset (FROM, "
        "FROM NAMED)."
    )
    features = ["BasicFederatedQuery"] if settings.federation else []
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
    """The dataset queries run over: the merge as default graph, and each named graph."""
    dataset, default_graph = ox.BlankNode("dataset"), ox.BlankNode("default")
    manifest = published.manifest
    triples = [
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, A, sd("Dataset")),
        ox.Triple(dataset, ox.NamedNode(str(VOID.inDataset)), ox.NamedNode(published.iris.dataset)),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, A, sd("Graph")),
        ox.Triple(default_graph, ox.NamedNode(str(VOID.triples)), _integer(manifest.triples)),
    ]
    description = next(f.triples for f in manifest.files if f.name == VOID_NAME)
    sizes = {graph["iri"]: graph["triples"] for graph in manifest.graphs}
    sizes[published.description_graph.value] = description or 0
    for index, (name, size) in enumerate(sorted(sizes.items())):
        named, graph = ox.BlankNode(f"named{index}"), ox.BlankNode(f"graph{index}")
        triples += [
            ox.Triple(dataset, sd("namedGraph"), named),
            ox.Triple(named, A, sd("NamedGraph")),
            ox.Triple(named, sd("name"), ox.NamedNode(name)),
            ox.Triple(named, sd("graph"), graph),
            ox.Triple(graph, A, sd("Graph")),
            ox.Triple(graph, ox.NamedNode(str(VOID.triples)), _integer(size)),
        ]
    return triples


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(str(XSD.integer)))
