"""The validate stage: the real data conforms, and every constraint is shown failing by a fixture.

Each file in ``tests/fixtures/invalid/`` is dropped into a copy of the real project's report folder
(so it lands in the document graph beside the real facts). A fixture opening with ``# expect:``
lines must yield exactly those shape messages (the one it is about, and any a materialisation rule
carries over); one opening with ``# expect-error: LINE: MESSAGE`` must stop the build with that
one input error at that line of the fixture. Every fixture also goes through the ``tipkg build``
command (in-process; one fixture of each kind in a real subprocess too): exit status 1 or 2, one
line on stderr naming the fixture's file, and never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pytest
from click.testing import CliRunner
from rdflib.namespace import RDF, SH

from tipkg.cli import main
from tipkg.errors import InputError, ValidationFailed
from tipkg.graph import assemble
from tipkg.pipeline import check_project
from tipkg.project import load_project
from tipkg.settings import Settings
from tipkg.validate import Finding, Report, check, load_shapes, raise_for

from support import PROJECT_ROOT, REPORT_SLUG, copy_project, report_dir

BASE = "https://w3id.org/tipkg/"
TIPKG = str(Path(sys.executable).parent / "tipkg")
INVALID_DIR = Path(__file__).parent / "fixtures" / "invalid"
INVALID_FIXTURES = sorted(INVALID_DIR.glob("*.ttl"))
EXPECT = "# expect: "
EXPECT_ERROR = "# expect-error: "
# The environment the command runs in: no TIPKG_* setting of the caller's leaks in.
CLEAN_ENV = {name: value for name, value in os.environ.items() if not name.startswith("TIPKG_")}


@dataclass(frozen=True)
class Expectation:
    """What a fixture must produce: shape messages (exit 1) or one input error (exit 2)."""

    messages: frozenset[str]
    error_line: int | None = None
    error: str | None = None


def expectation(fixture: Path) -> Expectation:
    messages: set[str] = set()
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if line.startswith(EXPECT_ERROR):
            number, _, message = line[len(EXPECT_ERROR) :].partition(": ")
            return Expectation(frozenset(), int(number), message.strip())
        if not line.startswith(EXPECT):
            break
        messages.add(line[len(EXPECT) :].strip())
    return Expectation(frozenset(messages))


def expected_messages(fixture: Path) -> set[str]:
    """The shape messages named by the ``# expect:`` lines that open a fixture."""
    return set(expectation(fixture).messages)


def validate_project(root: Path, base: str = BASE) -> Report:
    project = load_project(root)
    settings = Settings.load({"base_iri": base}, environ={})
    return check(assemble(project, settings), project.shape_files)


def validate_with(fixture: Path, tmp_path: Path, base: str = BASE) -> Report:
    project = copy_project(tmp_path / "project")
    shutil.copy(fixture, report_dir(project) / fixture.name)
    return validate_project(project, base)


def shape_messages() -> set[str]:
    shapes = load_shapes(BASE, load_project(PROJECT_ROOT).shape_files)
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


@pytest.fixture(scope="module")
def fixture_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for every fixture's project: each assembles only the report it changes."""
    return tmp_path_factory.mktemp("fixture-cache")


@pytest.mark.parametrize("fixture", INVALID_FIXTURES, ids=[f.stem for f in INVALID_FIXTURES])
def test_invalid_fixture_yields_exactly_what_it_expects(
    fixture: Path, tmp_path: Path, fixture_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tipkg build`` (the click command in-process, run from the project's folder as a user
    would) answers with one located line (see :func:`cli_problems`); the validate stage on the
    same project finds exactly the fixture's expected messages, each finding located."""
    expected = expectation(fixture)
    assert expected.messages or expected.error, (
        "first line must be '# expect:' or '# expect-error:'"
    )
    project = fixture_project(fixture, tmp_path)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(
        main, ["build"], env={**CLEAN_ENV, "TIPKG_CACHE_DIR": str(fixture_cache)}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert cli_problems(fixture, result.exit_code, result.stdout, result.stderr) == []
    if expected.error is not None:
        return
    settings = Settings.load({"base_iri": BASE, "cache_dir": str(fixture_cache)}, environ={})
    report = check_project(load_project(project), settings).report  # read back from the cache
    assert not report.conforms
    found = {finding.message for finding in report.results}
    assert found == expected.messages, report.format_text()
    # Every finding says where to edit, and the fixture's own statements are found in it.
    assert all(finding.locations for finding in report.results), report.format_text()
    assert any(fixture.name in " ".join(f.locations) for f in report.results), report.format_text()


def cli_problems(fixture: Path, exit_code: int, stdout: str, stderr: str) -> list[str]:
    """What is wrong with ``tipkg build``'s answer to a project holding ``fixture``: it must
    exit 1 (shapes) or 2 (input) with exactly one line on stderr naming the fixture's file
    (and, for an input error, its line and message), and no traceback anywhere."""
    expected = expectation(fixture)
    lines = stderr.splitlines()
    placed = f"data/reports/{REPORT_SLUG}/{fixture.name}"
    problems = []
    if exit_code != (2 if expected.error else 1):
        problems.append(f"exit {exit_code}")
    if "Traceback" in stderr + stdout:
        problems.append("a traceback")
    if len(lines) != 1 or not lines[0].startswith("tipkg: error: "):
        problems.append(f"{len(lines)} lines on stderr")
    elif expected.error and lines[0] != (
        f"tipkg: error: {placed}:{expected.error_line}: {expected.error}"
    ):
        problems.append("another message")
    elif not expected.error and placed not in lines[0]:
        problems.append("no mention of the fixture's file")
    return [f"{fixture.name}: {', '.join(problems)}: {stderr.strip()[:500]}"] if problems else []


def fixture_project(fixture: Path, root: Path) -> Path:
    project = copy_project(root / fixture.stem)
    shutil.copy(fixture, report_dir(project) / fixture.name)
    return project


def one_fixture_per_kind() -> list[Path]:
    """A shape fixture, and an input-error fixture per kind of cause (its message's first word:
    ``ill-typed``, ``Turtle``, ``names``)."""
    kinds: dict[str, Path] = {}
    for fixture in INVALID_FIXTURES:
        kinds.setdefault((expectation(fixture).error or "shapes").split()[0], fixture)
    return list(kinds.values())


@pytest.mark.parametrize("fixture", one_fixture_per_kind(), ids=lambda fixture: fixture.stem)
def test_an_invalid_fixture_through_the_real_process(fixture: Path, tmp_path: Path) -> None:
    """The installed ``tipkg`` in a subprocess, for one shape fixture and one input-error
    fixture of each kind of cause: the real process's streams and exit status."""
    project = fixture_project(fixture, tmp_path)
    result = subprocess.run(
        [TIPKG, "build"], cwd=project, capture_output=True, text=True, timeout=120, env=CLEAN_ENV
    )
    assert cli_problems(fixture, result.returncode, result.stdout, result.stderr) == []


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
    shapes = load_shapes(kg.iris.base, project.shape_files)
    targeted = set(shapes.objects(None, SH.targetClass))
    assert len(asserted) > 15
    assert sorted(asserted - targeted) == []


# What makes a property shape say something about the values, not only how many there are.
VALUE_PARAMETERS = (SH.nodeKind, SH["class"], SH.datatype, SH["in"], SH.hasValue, SH["or"], SH.xone)


def published_terms(dist: Path) -> tuple[dict[str, bool], set[str]]:
    """Every predicate in the dumps and the dataset description (with whether some value of it
    is language-tagged text), and every class."""
    predicates: dict[str, bool] = {}
    classes: set[str] = set()
    quads = [
        *pyoxigraph.parse(path=dist / "tipkg.nq", format=pyoxigraph.RdfFormat.N_QUADS),
        *pyoxigraph.parse(path=dist / "void.ttl", format=pyoxigraph.RdfFormat.TURTLE),
    ]
    for quad in quads:
        tagged = isinstance(quad.object, pyoxigraph.Literal) and quad.object.language is not None
        predicates[quad.predicate.value] = predicates.get(quad.predicate.value, False) or tagged
        if quad.predicate.value == str(RDF.type):
            classes.add(quad.object.value)
    return predicates, classes


def test_every_predicate_and_class_the_build_publishes_is_covered_by_a_shape(
    dist_dir: Path,
) -> None:
    """Each predicate in dist/ has a shape aimed at every subject that uses it
    (sh:targetSubjectsOf) which constrains its values (node kind, class, datatype, allowed
    values), with an @en rule where people read the values; each class is a shape's target."""
    shapes = load_shapes(BASE, load_project(PROJECT_ROOT).shape_files)
    value_shapes: dict[str, list[object]] = {}
    for node_shape, predicate in shapes.subject_objects(SH.targetSubjectsOf):
        for property_shape in shapes.objects(node_shape, SH.property):
            if shapes.value(property_shape, SH.path) == predicate and any(
                (property_shape, parameter, None) in shapes for parameter in VALUE_PARAMETERS
            ):
                value_shapes.setdefault(str(predicate), []).append(property_shape)
    predicates, classes = published_terms(dist_dir)
    assert len(predicates) > 100 and len(classes) > 40
    assert sorted(set(predicates) - set(value_shapes)) == [], "predicates no shape constrains"
    untagged_text = [
        predicate
        for predicate, tagged in predicates.items()
        if tagged
        and not any((shape, SH.languageIn, None) in shapes for shape in value_shapes[predicate])
    ]
    assert sorted(untagged_text) == [], "text people read with no @en rule"
    targeted = {str(cls) for cls in shapes.objects(None, SH.targetClass)}
    assert sorted(classes - targeted) == [], "classes no shape targets"


@pytest.fixture(scope="module")
def end_before_start_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("end-before-start")


@pytest.fixture(scope="module")
def end_before_start(end_before_start_dir: Path) -> Report:
    fixture = INVALID_DIR / "meeting-end-before-start.ttl"
    return validate_with(fixture, end_before_start_dir)


def test_text_report_names_the_file_and_line_the_focus_by_label_and_path_by_prefixed_name(
    end_before_start: Report, end_before_start_dir: Path
) -> None:
    """The line of the statement that is wrong (the end date, line 13 of the fixture) comes
    first, as a compiler's message would give it."""
    fixture = report_dir(end_before_start_dir / "project") / "meeting-end-before-start.ttl"
    assert end_before_start.format_text().splitlines() == [
        f"{fixture}:13: Violation  Fixture meeting ({BASE}id/event/fixture-meeting)  "
        "schema:startDate: "
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
    read_back = [
        Finding(**{**result, "locations": tuple(result["locations"])})
        for result in document["results"]
    ]
    assert read_back == end_before_start.results
    assert document["results"][0]["locations"][0].endswith("meeting-end-before-start.ttl:13")


def test_focus_without_label_is_shown_by_iri_once_with_every_file_that_gives_a_value(
    tmp_path: Path,
) -> None:
    report = validate_with(INVALID_DIR / "membership-with-two-members.ttl", tmp_path)
    focus = f"{BASE}id/membership/tipcom-haiti"
    folder = report_dir(tmp_path / "project")
    facts_line = 1 + (folder / "facts.ttl").read_text().splitlines().index(
        "    org:member place:haiti ;"
    )
    assert report.format_text() == (
        f"{folder}/facts.ttl:{facts_line}: Violation  {focus}  org:member: "
        "A membership has at most one member (org:member): a state, a territory or an organisation."
        f" (also {folder}/membership-with-two-members.ttl:8)"
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
