"""The graph stage: named graphs, a configurable base, materialised schema.org, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import ORG, RDF, XSD

from tipkg.errors import InputError
from tipkg.graph import KnowledgeGraph, assemble
from tipkg.project import load_project
from tipkg.settings import Settings
from tipkg.vocab import SCHEMA

from support import PROJECT_ROOT, REPORT_SLUG, copy_project, report_dir

BASE = "https://w3id.org/tipkg/"


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return assemble(load_project(PROJECT_ROOT), Settings.load(environ={}))


def iri(path: str, base: str = BASE) -> URIRef:
    return URIRef(base + path)


def test_named_graphs_one_per_document_linkset_and_the_ontology(kg: KnowledgeGraph) -> None:
    names = {str(g.identifier) for g in kg.dataset.graphs() if len(g)}
    assert names == {
        BASE + "graph/ontology",
        BASE + "graph/dataset",
        BASE + "graph/shared",
        BASE + "graph/linkset/dbpedia",
        BASE + "graph/linkset/geonames",
        BASE + "graph/linkset/wikidata",
        BASE + f"graph/document/{REPORT_SLUG}",
    }


def test_facts_live_in_their_documents_graph(kg: KnowledgeGraph) -> None:
    document_graph = kg.dataset.graph(iri(f"graph/document/{REPORT_SLUG}"))
    shared = kg.dataset.graph(iri("graph/shared"))
    meeting = iri("id/event/tipcom-2021")
    assert (meeting, RDF.type, iri("ontology#Meeting")) in document_graph
    assert (meeting, RDF.type, iri("ontology#Meeting")) not in shared
    assert (iri("id/place/haiti"), RDF.type, iri("ontology#SovereignState")) in shared


def test_schema_org_is_materialised(kg: KnowledgeGraph) -> None:
    ds = kg.dataset
    tipcom = iri("id/event/tipcom-2021")
    oas = iri("id/event/oas-national-authorities-tip-2021")
    assert (tipcom, RDF.type, SCHEMA.Event) in ds
    assert (tipcom, SCHEMA.startDate, Literal("2021-05-06", datatype=XSD.date)) in ds
    assert (tipcom, SCHEMA.organizer, iri("id/org/bahamas-ministry-of-national-security")) in ds
    assert (tipcom, SCHEMA.organizer, iri("id/org/tipcom")) in ds
    assert (tipcom, SCHEMA.superEvent, iri("id/event/tipcom-annual-meeting")) in ds
    assert (tipcom, SCHEMA.attendee, iri("id/place/saint-lucia")) in ds
    assert (oas, SCHEMA.eventAttendanceMode, SCHEMA.OnlineEventAttendanceMode) in ds
    assert (oas, SCHEMA.organizer, iri("id/place/argentina")) in ds
    assert (iri("id/place/haiti"), RDF.type, SCHEMA.Country) in ds
    territory = iri("id/place/turks-and-caicos-islands")
    assert (territory, RDF.type, SCHEMA.AdministrativeArea) in ds
    assert (territory, RDF.type, SCHEMA.Country) not in ds
    assert (iri("id/org/tipcom"), SCHEMA.member, territory) in ds
    assert (territory, SCHEMA.memberOf, iri("id/org/tipcom")) in ds
    unit = iri("id/org/saint-lucia-department-of-external-affairs")
    assert (unit, SCHEMA.parentOrganization, iri("id/place/saint-lucia")) in ds
    assert (unit, RDF.type, SCHEMA.GovernmentOrganization) in ds


def test_every_name_is_tagged_english(kg: KnowledgeGraph) -> None:
    names = list(kg.dataset.objects(None, SCHEMA.name))
    assert names
    assert all(isinstance(n, Literal) and n.language == "en" for n in names)


def test_unresolved_member_stays_unresolved(kg: KnowledgeGraph) -> None:
    """'Antigua and Bermuda' names no real territory: kept as written, linked to nothing."""
    membership = iri("id/membership/tipcom-antigua-and-bermuda")
    assert kg.dataset.value(membership, ORG.member) is None
    assert len(set(kg.dataset.subjects(ORG.organization, iri("id/org/tipcom")))) == 6


def test_no_blank_nodes_anywhere(kg: KnowledgeGraph) -> None:
    assert not [
        t for t in kg.dataset.triples((None, None, None)) if any(isinstance(x, BNode) for x in t)
    ]


def test_base_iri_is_declared_once_and_configurable() -> None:
    other = "http://127.0.0.1:8080/"
    kg = assemble(load_project(PROJECT_ROOT), Settings.load({"base_iri": other}, environ={}))
    subjects = {str(s) for s in kg.dataset.subjects()}
    assert other + "id/event/tipcom-2021" in subjects
    assert not [s for s in subjects if s.startswith(BASE)]


def _expect_input_error(project: Path, message: str, where: str) -> None:
    with pytest.raises(InputError) as caught:
        assemble(load_project(project), Settings.load(environ={}))
    text = str(caught.value)
    assert message in text and where in text, text
    assert "\n" not in text


def test_malformed_turtle_names_file_and_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    facts = report_dir(project) / "facts.ttl"
    lines = facts.read_text(encoding="utf-8").splitlines()
    lines.insert(40, 'event:broken schema:name "unterminated ;')
    facts.write_text("\n".join(lines), encoding="utf-8")
    _expect_input_error(project, "Turtle syntax error", "facts.ttl:41")


def test_unknown_prefix_names_file_and_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    places = project / "data" / "shared" / "places.ttl"
    places.write_text(
        places.read_text(encoding="utf-8") + "\nnowhere:x a nowhere:Y .\n", encoding="utf-8"
    )
    line = len(places.read_text(encoding="utf-8").splitlines())
    _expect_input_error(project, "The prefix nowhere: has not been declared", f"places.ttl:{line}")


@pytest.mark.parametrize("required", ["source.txt", "document.ttl", "facts.ttl"])
def test_a_report_folder_without_a_required_file_is_a_located_error(
    tmp_path: Path, required: str
) -> None:
    project = copy_project(tmp_path)
    (report_dir(project) / required).unlink()
    with pytest.raises(InputError) as caught:
        load_project(project)
    assert str(caught.value).startswith(
        f"{report_dir(project) / required}: missing {required} for report '{REPORT_SLUG}' ("
    )


def test_a_report_copied_verbatim_under_a_new_slug_is_refused_where_it_cites_the_other(
    tmp_path: Path,
) -> None:
    """Its files still describe and cite the first report: a report names only its own text."""
    project = copy_project(tmp_path)
    copy = project / "data" / "reports" / "a-copy"
    shutil.copytree(report_dir(project), copy)
    document = (copy / "document.ttl").read_text(encoding="utf-8").splitlines()
    first = next(n for n, line in enumerate(document, start=1) if line.startswith("doc:"))
    with pytest.raises(InputError) as caught:
        assemble(load_project(project), Settings.load(environ={}))
    message = str(caught.value)
    assert message.startswith(f"{copy / 'document.ttl'}:{first}: names <")
    assert f"which belongs to report '{REPORT_SLUG}'" in message


def _add_report_file(tmp_path: Path, turtle: str) -> Path:
    """A copy of the project whose report gets one more Turtle file, ``zz-extra.ttl``."""
    project = copy_project(tmp_path)
    (report_dir(project) / "zz-extra.ttl").write_text(turtle, encoding="utf-8")
    return project


NIF_PREFIX = "@prefix nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#> .\n"


def test_offset_outside_the_text(tmp_path: Path) -> None:
    project = _add_report_file(
        tmp_path,
        NIF_PREFIX + f'<id/document/{REPORT_SLUG}#char=2300,2400> nif:anchorOf "beyond" .\n',
    )
    _expect_input_error(project, "offsets 2300,2400 lie outside the text", "zz-extra.ttl:2")


def test_anchor_that_does_not_match_the_text(tmp_path: Path) -> None:
    project = _add_report_file(
        tmp_path,
        NIF_PREFIX + f'\n<id/document/{REPORT_SLUG}#char=0,11> nif:anchorOf "Saint Kitts" .\n',
    )
    _expect_input_error(project, "differs from the text at 0,11: 'Saint Lucia'", "zz-extra.ttl:3")


def test_citing_a_sentence_that_does_not_exist(tmp_path: Path) -> None:
    project = _add_report_file(
        tmp_path,
        "@prefix prov: <http://www.w3.org/ns/prov#> .\n"
        f"@prefix s: <id/document/{REPORT_SLUG}/sentence/> .\n"
        "<id/event/tipcom-2021> prov:wasDerivedFrom s:12 .\n",
    )
    _expect_input_error(project, "cites sentence 12", "zz-extra.ttl:3")


def test_file_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    places = project / "data" / "shared" / "places.ttl"
    places.write_bytes(b"# one\n# two\n# caf\xe9\n")
    _expect_input_error(project, "not valid UTF-8", "places.ttl:3")
