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
# xsd:integer and every type derived from it (which a pyoxigraph store keeps as xsd:integer).
INTEGER_DATATYPES = frozenset(
    str(XSD[name])
    for name in (
        "integer nonNegativeInteger positiveInteger nonPositiveInteger negativeInteger long int "
        "short byte unsignedLong unsignedInt unsignedShort unsignedByte"
    ).split()
)

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
    "vcard": Namespace("http://www.w3.org/2006/vcard/ns#"),
}


class PrefixIndex:
    """Finds the prefix whose namespace is the longest an IRI starts with. Namespaces end in
    ``/`` or ``#``, so the IRI's own ``/`` and ``#`` give the few candidates to look up, instead
    of every prefix being tried against every IRI."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.by_namespace: dict[str, str] = {}
        for name, namespace in prefixes.items():
            self.by_namespace.setdefault(str(namespace), name)

    def longest(self, iri: str) -> tuple[str, str] | None:
        """``(prefix, namespace)``, or ``None`` when no namespace fits."""
        end = len(iri)
        while True:
            cut = max(iri.rfind("/", 0, end), iri.rfind("#", 0, end))
            if cut < 0:
                return None
            namespace = iri[: cut + 1]
            if namespace in self.by_namespace:
                return self.by_namespace[namespace], namespace
            end = cut

    def compact(self, iri: str) -> str | None:
        """``prefix:local``, or ``None`` when no namespace fits."""
        found = self.longest(iri)
        return f"{found[0]}:{iri[len(found[1]) :]}" if found else None


_COMMON_INDEX = PrefixIndex(COMMON_PREFIXES)


def prefixed_name(iri: str, prefixes: Mapping[str, str] | None = None) -> str:
    """``prefix:local`` by the longest namespace ``iri`` starts with, else ``<iri>``."""
    index = _COMMON_INDEX if prefixes is None else PrefixIndex(prefixes)
    return index.compact(iri) or f"<{iri}>"


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
