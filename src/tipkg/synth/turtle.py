"""The corpus as project files: pyoxigraph's Turtle serialiser, absolute IRIs, readable prefixes.

Files are written in a fixed order from ordered inputs, so the same corpus gives the same bytes.
Shared entities (``data/shared/``) and links (``data/linksets/``) are written only for what some
report cites: every state, organisation and series in the graph is mentioned somewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox

import tipkg.synth.world as world
from tipkg.synth.reports import (
    DBR_,
    DCAT_,
    DCT_,
    FREQ_,
    OWL_,
    RDF_,
    SCHEMA_,
    SKOS_,
    WD_,
    WDT_,
    XSD_,
    A,
    Corpus,
    Entity,
    Report,
    english,
)
from tipkg.synth.world import BROADER, COVID_19_WIKIDATA, TOP_TOPIC, TOPICS

GEONAMES = "https://sws.geonames.org/"
ISO_639_1_EN = ox.NamedNode("http://id.loc.gov/vocabulary/iso639-1/en")
T = ox.Triple
WRITTEN_BARE = {A, XSD_.string, RDF_.langString, XSD_.boolean}  # a, "…", "…"@en, true


class Writer:
    """Writes ``data/`` for a corpus; each file declares only the prefixes it uses."""

    def __init__(self, corpus: Corpus, data_dir: Path) -> None:
        self.corpus, self.minted, self.data_dir = corpus, corpus.minted, data_dir
        self.prefix_of = {ns: name for name, ns in self.minted.prefixes.items() if name != "gn"}

    def write(self, path: Path, triples: list[ox.Triple], **extra: str) -> None:
        prefix_of = self.prefix_of | {namespace: name for name, namespace in extra.items()}
        used: dict[str, str] = {}
        for triple in triples:
            for term in (triple.subject, triple.predicate, triple.object):
                if isinstance(term, ox.Literal):
                    term = term.datatype  # rdf:langString or xsd:string are written bare
                if term in WRITTEN_BARE:
                    continue
                iri = term.value
                namespace = iri[: max(iri.rfind("/"), iri.rfind("#")) + 1]
                if namespace in prefix_of:
                    used[prefix_of[namespace]] = namespace
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used))

    def write_all(self, dataset_file: Path) -> None:
        for report in self.corpus.reports:
            self.write_report(report)
        self.write_dataset(dataset_file)
        shared = self.data_dir / "shared"
        self.write(shared / "places.ttl", list(self.places()))
        self.write(shared / "organizations.ttl", list(self.organizations()))
        self.write(shared / "events.ttl", list(self.events()))
        self.write(shared / "concepts.ttl", list(self.concepts()))
        for name, triples in self.linksets().items():
            self.write(self.data_dir / "linksets" / f"{name}.ttl", triples)

    def write_report(self, report: Report) -> None:
        folder = self.data_dir / "reports" / report.slug
        folder.mkdir(parents=True)
        (folder / "source.txt").write_bytes((report.text + "\n").encode("utf-8"))
        document = str(self.minted.iris.document(report.slug))
        doc = ox.NamedNode(document)
        note = (
            f"A synthetic report written by tipkg synth (seed {self.corpus.seed}): its meetings, "
            "committees, dates and wording are invented."
        )
        described = [
            T(doc, A, SCHEMA_.NewsArticle),
            T(doc, DCT_.title, english(report.title)),
            T(doc, DCT_.language, ISO_639_1_EN),
            T(doc, SCHEMA_.inLanguage, ox.Literal("en")),
            T(doc, DCT_.subject, self.minted.concept[TOP_TOPIC]),
            T(doc, SKOS_.editorialNote, english(note)),
        ]
        self.write(folder / "document.ttl", described)
        facts = [T(s, p, o) for s, pairs in report.facts.items() for p, o in pairs]
        self.write(folder / "facts.ttl", grouped(facts), s=f"{document}/sentence/")

    def write_dataset(self, dataset_file: Path) -> None:
        """The project's own dataset description, retitled: this corpus is synthetic."""
        dataset = ox.NamedNode(str(self.minted.iris.dataset))
        corpus = self.corpus
        title = f"tipkg synthetic corpus: {len(corpus.reports)} reports (seed {corpus.seed})"
        description = (
            "A synthetic corpus written by tipkg synth for tests and benchmarks. Its reports, "
            "meetings, committees, dates and wording are invented; the states and territories, "
            "their ISO 3166 codes and Wikidata items are real. It is not a source of facts."
        )
        parsed = ox.parse(
            path=str(dataset_file), format=ox.RdfFormat.TURTLE, base_iri=self.minted.iris.base
        )
        retitled = [DCT_.title, DCT_.description]
        triples = [t for t in parsed if not (t.subject == dataset and t.predicate in retitled)]
        triples += [
            T(dataset, DCT_.title, english(title)),
            T(dataset, DCT_.description, english(description)),
            T(dataset, DCAT_.keyword, english("synthetic data")),
        ]
        void = "http://rdfs.org/ns/void#"
        self.write(self.data_dir / "dataset.ttl", grouped(triples), void=void)

    def cited(self, kind: type[Entity]) -> list[Entity]:
        entities = [e for e in self.corpus.cited.values() if isinstance(e, kind)]
        return sorted(entities, key=lambda e: e.slug)

    def places(self) -> Iterator[ox.Triple]:
        tip = self.minted.tip
        for polity in self.cited(world.Polity):
            assert isinstance(polity, world.Polity)
            node = self.minted.node(polity)
            yield T(node, A, tip.SovereignState if polity.sovereign else tip.DependentTerritory)
            yield T(node, SCHEMA_.name, english(polity.name))
            yield T(node, WDT_.P297, ox.Literal(polity.alpha2))
            yield T(node, WDT_.P298, ox.Literal(polity.alpha3))
            yield T(node, DCT_.source, WD_[polity.wikidata])

    def organizations(self) -> Iterator[ox.Triple]:
        tip = self.minted.tip
        for org in self.cited(world.Org):
            assert isinstance(org, world.Org)
            node = self.minted.node(org)
            yield T(node, A, tip.Committee if org.committee else tip.IntergovernmentalOrganization)
            yield T(node, SCHEMA_.name, english(org.name))
            yield T(node, SCHEMA_.alternateName, english(org.abbr))
            if org.wikidata:
                yield T(node, DCT_.source, WD_[org.wikidata])
        for unit in self.cited(world.Unit):
            assert isinstance(unit, world.Unit)
            node = self.minted.node(unit)
            yield T(node, A, tip.GovernmentUnit)
            yield T(node, SCHEMA_.name, english(unit.name))
            yield T(node, tip.governmentUnitOf, self.minted.node(unit.polity))

    def events(self) -> Iterator[ox.Triple]:
        tip, covid = self.minted.tip, self.minted.covid
        for series in self.cited(world.Series):
            assert isinstance(series, world.Series)
            node = self.minted.node(series)
            yield T(node, A, tip.MeetingSeries)
            yield T(node, SCHEMA_.name, english(series.name))
            yield T(node, tip.convenedBy, self.minted.node(series.convener))
            if series.frequency:
                yield T(node, DCT_.accrualPeriodicity, FREQ_[series.frequency])
        if self.corpus.pandemic_cited:
            yield T(covid, A, SCHEMA_.Event)
            yield T(covid, SCHEMA_.name, english("COVID-19 pandemic"))
            yield T(covid, DCT_.source, WD_[COVID_19_WIKIDATA])

    def concepts(self) -> Iterator[ox.Triple]:
        concept, topics = self.minted.concept, self.minted.scheme["tip-topics"]
        themes = self.minted.scheme["meeting-themes"]
        yield T(topics, A, SKOS_.ConceptScheme)
        yield T(topics, SKOS_.prefLabel, english("Topics in cooperation against trafficking"))
        yield T(topics, SKOS_.definition, english("Agenda topics and principles reports name."))
        yield T(topics, SKOS_.hasTopConcept, concept[TOP_TOPIC])
        yield T(themes, A, SKOS_.ConceptScheme)
        yield T(themes, SKOS_.prefLabel, english("Themes of meetings"))
        yield T(themes, SKOS_.definition, english("Themes of meetings, in the reports' words."))
        for key, label in TOPICS.items():
            yield T(concept[key], A, SKOS_.Concept)
            yield T(concept[key], SKOS_.inScheme, topics)
            if key == TOP_TOPIC:
                yield T(concept[key], SKOS_.topConceptOf, topics)
            else:
                yield T(concept[key], SKOS_.broader, concept[BROADER.get(key, TOP_TOPIC)])
            yield T(concept[key], SKOS_.prefLabel, english(label))

    def linksets(self) -> dict[str, list[ox.Triple]]:
        """Links to Wikidata, DBpedia and GeoNames for what the corpus cites, where known."""
        links: dict[str, list[ox.Triple]] = {"dbpedia": [], "geonames": [], "wikidata": []}
        entities: list[Entity] = [*self.cited(world.Polity), *self.cited(world.Org)]
        for entity in entities:
            assert isinstance(entity, world.Polity | world.Org)
            node = self.minted.node(entity)
            if entity.wikidata:
                links["wikidata"].append(T(node, OWL_.sameAs, WD_[entity.wikidata]))
            if entity.dbpedia:
                links["dbpedia"].append(T(node, OWL_.sameAs, DBR_[entity.dbpedia]))
            if isinstance(entity, world.Polity) and entity.geonames:
                geonames = ox.NamedNode(f"{GEONAMES}{entity.geonames}/")
                links["geonames"].append(T(node, OWL_.sameAs, geonames))
        if self.corpus.pandemic_cited:
            covid = self.minted.covid
            links["wikidata"].append(T(covid, OWL_.sameAs, WD_[COVID_19_WIKIDATA]))
            links["dbpedia"].append(T(covid, OWL_.sameAs, DBR_["COVID-19_pandemic"]))
        top = self.minted.concept[TOP_TOPIC]
        links["dbpedia"].append(T(top, SKOS_.closeMatch, DBR_.Human_trafficking))
        return links


def grouped(triples: list[ox.Triple]) -> list[ox.Triple]:
    """Triples subject by subject and, within one, predicate by predicate (each in order of first
    appearance), so the serialiser writes each subject once and ``p o1 , o2``."""
    subjects: dict[Any, int] = {}
    predicates: dict[tuple[Any, ox.NamedNode], int] = {}
    for triple in triples:
        subjects.setdefault(triple.subject, len(subjects))
        predicates.setdefault((triple.subject, triple.predicate), len(predicates))
    return sorted(triples, key=lambda t: (subjects[t.subject], predicates[t.subject, t.predicate]))
