"""tipkg.shacl gives exactly pyshacl's results, pyshacl being the reference: on the real data, on
every invalid fixture dropped into the real report, on synthetic corpora with and without planted
violations, and on literals an Oxigraph store would rewrite.

A result is compared as (focus, path, value, messages, severity, source shape, constraint
component), terms in N-Triples syntax. The real project is assembled once; each fixture rebuilds
only the report's graph (as ``graph.assemble`` does, with the fixture among its files), which the
engine adds to the other graphs, loaded once, for the time of one validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.term import Node

from tipkg.errors import InputError
from tipkg.graph import (
    KnowledgeGraph,
    Materialiser,
    assemble,
    assemble_unit,
    load_rules,
    read_turtle,
)
from tipkg.project import Unit, load_project, units_of
from tipkg.settings import Settings
from tipkg.shacl import DataGraph, Result, Validator, compile_shapes
from tipkg.synth import PLANT_KINDS, PLANTED_FILE, write_corpus
from tipkg.terms import ToOxigraph, from_oxigraph

# pyshacl re-parses a SPARQL constraint for every focus node; the validate stage's graph caches
# the parsed queries, which makes the reference runs several times faster.
from tipkg.validate import load_shapes, reference_results

from support import PROJECT_ROOT

BASE = "https://w3id.org/tipkg/"
SETTINGS = Settings.load({"base_iri": BASE}, environ={})
FIXTURES = sorted(
    path
    for path in (Path(__file__).parent / "fixtures" / "invalid").glob("*.ttl")
    if path.read_text(encoding="utf-8").startswith("# expect: ")
)
SH_NS = "http://www.w3.org/ns/shacl#"
Key = tuple[str, str, str, tuple[str, ...], str, str, str]


@dataclass
class RealProject:
    """The real project assembled once, its report's graph apart from all the others."""

    kg: KnowledgeGraph
    shapes: Graph
    validator: Validator
    report: Unit
    others: list[tuple[Node, Node, Node]]  # every triple not in the report's graph
    context: DataGraph  # the same triples, loaded once for the engine
    materialiser: Materialiser


@pytest.fixture(scope="module")
def real() -> RealProject:
    project = load_project(PROJECT_ROOT)
    kg = assemble(project, SETTINGS)
    shapes = load_shapes(kg.iris.base, project.shape_files)
    [report] = [unit for unit in units_of(project) if unit.kind == "document"]
    others = [
        rdflib_triple(triple) for unit in kg.units if unit.unit != report for triple in unit.triples
    ]
    context = DataGraph(ox_triples(others))
    ontology = kg.graph_triples("ontology")
    materialiser = Materialiser(ontology, load_rules(project.rule_files, BASE), BASE)
    validator = compile_shapes(shapes)
    return RealProject(kg, shapes, validator, report, others, context, materialiser)


def rdflib_triple(triple: ox.Triple) -> tuple[Node, Node, Node]:
    return tuple(from_oxigraph(term) for term in triple)  # type: ignore[return-value]


def rdflib_graph(path: Path) -> Graph:
    graph = Graph()
    parsed = read_turtle(path, BASE, path.name)
    for triple in parsed.triples:
        graph.add(rdflib_triple(triple))
    for prefix, namespace in parsed.prefixes.items():
        graph.bind(prefix, namespace)
    return graph


def pyshacl_results(triples: object, shapes: Graph) -> set[Key]:
    """pyshacl's own results, read through the door ``tipkg validate --engine pyshacl`` uses."""
    data = Graph()
    for triple in triples:  # type: ignore[attr-defined]
        data.add(triple)
    return engine_results(reference_results(data, shapes))


def engine_results(results: list[Result]) -> set[Key]:
    def text(term: object) -> str:
        return "" if term is None else str(term)

    return {
        (
            text(r.focus),
            text(r.path),
            text(r.value),
            tuple(sorted(r.messages)),
            text(r.severity),
            text(r.source_shape),
            text(r.component),
        )
        for r in results
    }


def ox_triples(triples: object) -> list[ox.Triple]:
    to_ox = ToOxigraph()
    return [ox.Triple(to_ox.term(s), to_ox.term(p), to_ox.term(o)) for s, p, o in triples]  # type: ignore[attr-defined]


def report_graph_with(real: RealProject, fixture: Path) -> list[tuple[Node, Node, Node]]:
    """The report's graph as ``graph.assemble`` builds it with ``fixture`` among its files."""
    report = Unit(
        "document", real.report.name, (*real.report.turtle_files, fixture), real.report.source_path
    )
    unit = assemble_unit(report, real.kg.iris, real.materialiser)
    return [rdflib_triple(triple) for triple in unit.triples]


def test_the_real_data_conforms_for_both(real: RealProject) -> None:
    report = [rdflib_triple(t) for u in real.kg.units if u.unit == real.report for t in u.triples]
    union = [*real.others, *report]
    assert pyshacl_results(union, real.shapes) == set()
    assert real.validator.validate(DataGraph(ox_triples(union))) == []


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_each_invalid_fixture_gives_what_pyshacl_gives(real: RealProject, fixture: Path) -> None:
    report = report_graph_with(real, fixture)
    expected = pyshacl_results([*real.others, *report], real.shapes)
    with real.context.including(ox_triples(report)):
        found = engine_results(real.validator.validate(real.context))
    assert expected, "the fixture should break a shape"
    assert found == expected


@pytest.mark.parametrize("plant", [0, len(PLANT_KINDS)], ids=["conforming", "planted"])
def test_a_synthetic_corpus_gives_what_pyshacl_gives(tmp_path: Path, plant: int) -> None:
    write_corpus(tmp_path / "corpus", 30, 5, PROJECT_ROOT, BASE, plant=plant)
    project = load_project(tmp_path / "corpus")
    kg = assemble(project, SETTINGS)
    shapes = load_shapes(kg.iris.base, project.shape_files)
    union = [rdflib_triple(triple) for triple in kg.union_triples]
    found = compile_shapes(shapes).validate(DataGraph(ox_triples(union)))
    assert engine_results(found) == pyshacl_results(union, shapes)
    planted = set()
    if plant:
        record = json.loads((tmp_path / "corpus" / PLANTED_FILE).read_text(encoding="utf-8"))
        planted = {(f["focus"], f["message"]) for v in record["violations"] for f in v["findings"]}
    assert {(r.focus.value, " / ".join(r.messages)) for r in found} == planted


EDGE_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:Shape a sh:NodeShape ; sh:targetSubjectsOf ex:ordinal , ex:flag , ex:start , ex:name ;
  sh:property [ sh:path ex:ordinal ; sh:datatype xsd:positiveInteger ; sh:message "datatype" ] ,
    [ sh:path ex:ordinal ; sh:maxCount 1 ; sh:message "count" ] ,
    [ sh:path ex:ordinal ; sh:pattern "^[1-9]" ; sh:message "pattern" ] ,
    [ sh:path ex:ordinal ; sh:in ( 1 2 3 ) ; sh:message "in" ] ,
    [ sh:path ex:flag ; sh:hasValue false ; sh:message "hasValue" ] ,
    [ sh:path ex:start ; sh:lessThanOrEquals ex:end ; sh:message "order" ] ,
    [ sh:path ex:name ; sh:languageIn ( "en" ) ; sh:message "language" ] .
"""
# Literals a store rewrites ("03" as "3", positiveInteger as integer, "0" as false, @en-GB as
# @en-gb) and comparisons pyshacl decides on rdflib's values.
EDGE_DATA = """
@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:a ex:ordinal "3"^^xsd:positiveInteger , 3 ; ex:flag "0"^^xsd:boolean ; ex:name "A"@en-GB .
ex:b ex:ordinal "03"^^xsd:positiveInteger ; ex:flag false ; ex:name "B"@EN .
ex:c ex:ordinal "3"^^xsd:positiveInteger ; ex:start "2021-06-02"^^xsd:date ;
  ex:end "2021-06-01"^^xsd:date , "2021-06-03T00:00:00"^^xsd:dateTime , "June" .
ex:d ex:start "2021-06-01Z"^^xsd:date ; ex:end "2021-06-01"^^xsd:date .
"""


def test_literals_the_store_rewrites_are_judged_as_given(tmp_path: Path) -> None:
    graphs = []
    for name, text in (("shapes.ttl", EDGE_SHAPES), ("data.ttl", EDGE_DATA)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        graphs.append(rdflib_graph(tmp_path / name))
    shapes, data = graphs
    found = compile_shapes(shapes).validate(DataGraph(ox_triples(data)))
    assert engine_results(found) == pyshacl_results(data, shapes)
    assert {r.messages for r in found} >= {("datatype",), ("count",), ("pattern",), ("in",)}


def test_focus_restricts_the_results_to_those_nodes(real: RealProject) -> None:
    [fixture] = [f for f in FIXTURES if f.stem == "participation-repeated"]
    report = report_graph_with(real, fixture)
    before = real.validator.validate(real.context)
    with real.context.including(ox_triples(report)):
        everything = real.validator.validate(real.context)
        focus = {everything[0].focus}
        assert len({r.focus for r in everything}) == 2
        assert real.validator.validate(real.context, focus=focus) == [
            r for r in everything if r.focus in focus
        ]
        assert real.validator.validate(real.context, focus=set()) == []
    assert real.validator.validate(real.context) == before  # the report's triples are gone


def test_constraints_are_classified_local_or_global(real: RealProject) -> None:
    """Only what reads beyond a node's own values is global: every SPARQL constraint and the
    one inverse path; the rest (hundreds) is local."""
    local = {c.describe() for c in real.validator.local_constraints}
    assert sorted(c.describe() for c in real.validator.global_constraints) == [
        "tipsh:ClassAlignmentShape SPARQLConstraintComponent",
        "tipsh:MeetingShape SPARQLConstraintComponent",
        "tipsh:MembershipShape SPARQLConstraintComponent",
        "tipsh:ParticipationShape SPARQLConstraintComponent",
        "tipsh:ParticipationShape SPARQLConstraintComponent",
        "tipsh:ReportShape SPARQLConstraintComponent",
        "tipsh:SourceShape SPARQLConstraintComponent",
        "tipsh:StringShape SPARQLConstraintComponent",
        "tipsh:ThemeShape SPARQLConstraintComponent",
        f"tipsh:ThemeShape ^<{BASE}ontology#theme> MinCountConstraintComponent",
    ]
    for constraint in (
        "tipsh:EventShape <https://schema.org/startDate> LessThanOrEqualsConstraintComponent",
        "tipsh:DerivedFromShape <http://www.w3.org/ns/prov#wasDerivedFrom> OrConstraintComponent",
        "tipsh:LinkableShape NodeKindConstraintComponent",
        "tipsh:PolityKindShape XoneConstraintComponent",
    ):
        assert constraint in local


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        ("ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:nodeKind sh:IRI .", "sh:targetNode"),
        ("ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:T .", "sh:node"),
        (
            "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ( ex:p ex:q ) ; "
            "sh:minCount 1 ] .",
            "only a predicate or the sh:inversePath",
        ),
        (
            'ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select "SELECT $this '
            'WHERE { $this ?p ?o } LIMIT 1" ] .',
            "LIMIT",
        ),
    ],
)
def test_an_unsupported_feature_is_an_input_error_naming_the_shape(
    tmp_path: Path, shape: str, why: str
) -> None:
    prefixes = "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .\n"
    (tmp_path / "shapes.ttl").write_text(prefixes + shape, encoding="utf-8")
    shapes = rdflib_graph(tmp_path / "shapes.ttl")
    with pytest.raises(InputError, match="ex:S") as raised:
        compile_shapes(shapes)
    assert why in str(raised.value)
    assert SH_NS not in str(raised.value)  # named by prefixed name
