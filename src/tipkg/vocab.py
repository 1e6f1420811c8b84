"""Namespaces: the reused vocabularies, and the one place that turns the base IRI into IRIs.

Project files write minted IRIs relative to the base (``<id/event/…>``,
``@prefix tip: <ontology#>``); they are resolved against ``Settings.base_iri`` when parsed,
so the base is declared once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rdflib import Namespace, URIRef
from rdflib.namespace import (
    DCAT,
    DCTERMS,
    FOAF,
    ORG,
    OWL,
    PROV,
    RDF,
    RDFS,
    SH,
    SKOS,
    TIME,
    VOID,
    XSD,
)

SCHEMA = Namespace("https://schema.org/")
NIF = Namespace("http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
DBR = Namespace("http://dbpedia.org/resource/")
GEONAMES = Namespace("https://sws.geonames.org/")
FREQ = Namespace("http://purl.org/cld/freq/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

# Prefixes every serialisation and query shares, in the order they are written out.
COMMON_PREFIXES: dict[str, Namespace] = {
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "owl": Namespace(str(OWL)),
    "xsd": Namespace(str(XSD)),
    "skos": Namespace(str(SKOS)),
    "dct": Namespace(str(DCTERMS)),
    "prov": Namespace(str(PROV)),
    "org": Namespace(str(ORG)),
    "foaf": Namespace(str(FOAF)),
    "time": Namespace(str(TIME)),
    "schema": SCHEMA,
    "nif": NIF,
    "spdx": SPDX,
    "void": Namespace(str(VOID)),
    "dcat": Namespace(str(DCAT)),
    "sh": Namespace(str(SH)),
    "wd": WD,
    "wdt": WDT,
    "dbr": DBR,
    "gn": GEONAMES,
    "freq": FREQ,
    "vann": Namespace("http://purl.org/vocab/vann/"),
}


def prefixed_name(iri: str, prefixes: Mapping[str, str] = COMMON_PREFIXES) -> str:
    """``prefix:local`` by the longest namespace ``iri`` starts with, else ``<iri>``."""
    best = max(
        ((prefix, str(ns)) for prefix, ns in prefixes.items() if iri.startswith(str(ns))),
        key=lambda item: len(item[1]),
        default=None,
    )
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else f"<{iri}>"


@dataclass(frozen=True)
class Iris:
    """Every IRI shape the project mints, derived from one base IRI."""

    base: str

    @property
    def ontology(self) -> URIRef:
        return URIRef(self.base + "ontology")

    @property
    def tip(self) -> Namespace:
        return Namespace(self.base + "ontology#")

    @property
    def id(self) -> Namespace:
        return Namespace(self.base + "id/")

    @property
    def dataset(self) -> URIRef:
        return URIRef(self.base + "dataset")

    def graph(self, *parts: str) -> URIRef:
        return URIRef(self.base + "graph/" + "/".join(parts))

    def document(self, slug: str) -> URIRef:
        return URIRef(f"{self.base}id/document/{slug}")

    def sentence(self, slug: str, number: int) -> URIRef:
        return URIRef(f"{self.base}id/document/{slug}/sentence/{number}")

    def checksum(self, slug: str) -> URIRef:
        return URIRef(f"{self.base}id/document/{slug}/sha256")

    def prefixes(self) -> dict[str, Namespace]:
        """The project's own prefixes followed by the common ones."""
        minted = {
            "tip": self.tip,
            "id": self.id,
            "event": Namespace(self.base + "id/event/"),
            "tiporg": Namespace(self.base + "id/org/"),
            "place": Namespace(self.base + "id/place/"),
            "concept": Namespace(self.base + "id/concept/"),
            "doc": Namespace(self.base + "id/document/"),
            "participation": Namespace(self.base + "id/participation/"),
            "membership": Namespace(self.base + "id/membership/"),
            "statement": Namespace(self.base + "id/statement/"),
            "scheme": Namespace(self.base + "id/scheme/"),
            "graph": Namespace(self.base + "graph/"),
        }
        return {**minted, **COMMON_PREFIXES}
