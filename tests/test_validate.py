"""The validate stage: the real data conforms, and every constraint is shown failing by a fixture.

Each file in ``tests/fixtures/invalid/`` is dropped into a copy of the real project's report folder
(so it lands in the document graph beside the real facts) and must yield exactly the messages its
``# expect:`` lines name: the one it is about, and any a materialisation rule carries over.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import RDF, SH

from tipkg.errors import InputError, ValidationFailed
from tipkg.graph import assemble, parse_turtle
from tipkg.project import load_project
from tipkg.settings import Settings
from tipkg.validate import Report, check, raise_for

from support import PROJECT_ROOT, copy_project, report_dir

BASE = "https://w3id.org/tipkg/"
INVALID_DIR = Path(__file__).parent / "fixtures" / "invalid"
INVALID_FIXTURES = sorted(INVALID_DIR.glob("*.ttl"))
EXPECT = "# expect: "


def expected_messages(fixture: Path) -> set[str]:
    """The messages named by the ``# expect:`` lines that open a fixture."""
    messages = set()
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if not line.startswith(EXPECT):
            break
        messages.add(line[len(EXPECT) :].strip())
    return messages


def validate_project(root: Path, base: str = BASE) -> Report:
    project = load_project(root)
    settings = Settings.load({"base_iri": base}, environ={})
    return check(assemble(project, settings), project.shape_files)


def validate_with(fixture: Path, tmp_path: Path, base: str = BASE) -> Report:
    project = copy_project(tmp_path / "project")
    shutil.copy(fixture, report_dir(project) / fixture.name)
    return validate_project(project, base)


def shape_messages() -> set[str]:
    shapes = Graph()
    for path in load_project(PROJECT_ROOT).shape_files:
        parse_turtle(path, BASE, into=shapes)
    return {str(message) for message in shapes.objects(None, SH.message)}


@pytest.fixture(scope="module")
def real_report() -> Report:
    return validate_project(PROJECT_ROOT)


def test_the_real_data_conforms(real_report: Report) -> None:
    assert real_report.conforms, real_report.format_text()
    assert real_report.results == []
    raise_for(real_report)


def test_shapes_follow_another_base_iri(tmp_path: Path) -> None:
    """Shapes, and the tip: prefix of their SPARQL constraints, resolve against the base in use."""
    other_base = "http://127.0.0.1:8080/"
    assert validate_project(PROJECT_ROOT, other_base).results == []
    report = validate_with(INVALID_DIR / "class-not-aligned.ttl", tmp_path, other_base)
    assert [(finding.focus, finding.source_shape) for finding in report.results] == [
        (other_base + "ontology#FixtureClass", "tipsh:ClassAlignmentShape")
    ]


@pytest.mark.parametrize("fixture", INVALID_FIXTURES, ids=[f.stem for f in INVALID_FIXTURES])
def test_invalid_fixture_yields_exactly_the_messages_it_expects(
    fixture: Path, tmp_path: Path
) -> None:
    expected = expected_messages(fixture)
    assert fixture.read_text(encoding="utf-8").startswith(EXPECT), "first line must be '# expect:'"
    report = validate_with(fixture, tmp_path)
    assert not report.conforms
    found = {finding.message for finding in report.results}
    assert found == expected, report.format_text()


def test_every_shape_message_is_produced_by_some_fixture() -> None:
    """With the test above, every constraint is shown to fire; a mistyped expectation shows too."""
    claimed = set().union(*(expected_messages(fixture) for fixture in INVALID_FIXTURES))
    messages = shape_messages()
    assert sorted(messages - claimed) == [], "messages no fixture produces"
    assert sorted(claimed - messages) == [], "fixtures expect messages no shape has"


def test_every_class_the_data_asserts_is_a_shape_target() -> None:
    project = load_project(PROJECT_ROOT)
    settings = Settings.load(environ={})
    # Without the rules, only what the files and the source texts state is in the graphs.
    kg = assemble(dataclasses.replace(project, rule_files=()), settings)
    ontology_graph = kg.iris.graph("ontology")
    asserted = {
        obj
        for _subject, _predicate, obj, graph in kg.dataset.quads((None, RDF.type, None, None))
        if graph != ontology_graph
    }
    shapes = Graph()
    for path in project.shape_files:
        parse_turtle(path, kg.iris.base, into=shapes)
    targeted = set(shapes.objects(None, SH.targetClass))
    assert len(asserted) > 15
    assert sorted(asserted - targeted) == []


@pytest.fixture(scope="module")
def end_before_start(tmp_path_factory: pytest.TempPathFactory) -> Report:
    fixture = INVALID_DIR / "meeting-end-before-start.ttl"
    return validate_with(fixture, tmp_path_factory.mktemp("end-before-start"))


def test_text_report_names_the_focus_by_label_and_path_by_prefixed_name(
    end_before_start: Report,
) -> None:
    assert end_before_start.format_text().splitlines() == [
        f"Violation  Fixture meeting ({BASE}id/event/fixture-meeting)  schema:startDate: "
        "A meeting or event cannot end (schema:endDate) before it starts (schema:startDate)."
    ]


def test_finding_carries_value_severity_and_source_shape(end_before_start: Report) -> None:
    [finding] = end_before_start.results
    assert finding.focus == BASE + "id/event/fixture-meeting"
    assert finding.focus_label == "Fixture meeting"
    assert finding.value == '"2021-06-01"^^xsd:date'
    assert finding.severity == "Violation"
    assert finding.source_shape == "tipsh:EventShape"


def test_json_report_round_trips(end_before_start: Report) -> None:
    document = json.loads(end_before_start.to_json())
    assert document["conforms"] is False
    assert document["results"] == [dataclasses.asdict(end_before_start.results[0])]


def test_focus_without_label_is_shown_by_iri_once(tmp_path: Path) -> None:
    report = validate_with(INVALID_DIR / "membership-with-two-members.ttl", tmp_path)
    focus = f"{BASE}id/membership/tipcom-haiti"
    assert report.format_text() == (
        f"Violation  {focus}  org:member: "
        "A membership has at most one member (org:member): a state, a territory or an organisation."
    )


def test_results_are_sorted_and_summarised_in_one_line(tmp_path: Path) -> None:
    report = validate_with(INVALID_DIR / "participation-repeated.ttl", tmp_path)
    focuses = [finding.focus for finding in report.results]
    assert focuses == sorted(focuses) and len(focuses) == 2
    with pytest.raises(ValidationFailed) as raised:
        raise_for(report)
    assert raised.value.exit_code == 1
    assert str(raised.value) == f"2 violations; first: {report.results[0].format_line()}"
    assert "\n" not in str(raised.value)


def test_shape_file_with_a_syntax_error_is_an_input_error(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    broken = project / "shapes" / "broken.ttl"
    broken.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n\n<a> sh:path .\n")
    loaded = load_project(project)
    kg = assemble(loaded, Settings.load(environ={}))
    with pytest.raises(InputError) as raised:
        check(kg, loaded.shape_files)
    assert str(raised.value).startswith(f"{broken}:3: Turtle syntax error")
