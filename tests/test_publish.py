"""The publish stage: every dump parses on two engines, agrees with the others, is checksummed,
described in VoID/DCAT, byte-identical across builds, and swapped in only when complete."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

from tipkg import publish
from tipkg.dist import SEARCH_INDEX_DIR, STORE_DIR, Manifest
from tipkg.errors import InputError
from tipkg.graph import KnowledgeGraph, assemble
from tipkg.project import load_project
from tipkg.search.engine import search
from tipkg.server.published import load_published
from tipkg.settings import Settings
from tipkg.terms import ToOxigraph
from tipkg.vocab import NIF, SCHEMA, SKOS, Iris

from support import PROJECT_ROOT, build_dist, copy_project

OXIGRAPH_FORMATS = {
    "tipkg.ttl": pyoxigraph.RdfFormat.TURTLE,
    "tipkg.jsonld": pyoxigraph.RdfFormat.JSON_LD,
    "tipkg.nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "tipkg.nq": pyoxigraph.RdfFormat.N_QUADS,
    "tipkg.trig": pyoxigraph.RdfFormat.TRIG,
}

# Every character str.splitlines() breaks a line at, which a writer that edits lines would break.
LINE_BOUNDARIES = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
HARD_LITERALS = (
    "a line\nbreak, and a CRLF\r\nend",
    "   three leading spaces",
    "a\ttab",
    'triple """ quotes and a "quoted" word',
    "a back\\slash and \\n written out",
    "non-BMP: \U0001f600 \U0001d11e",
    *(f"before{char}after" for char in LINE_BOUNDARIES),
)
HARD_SOURCE = (
    "A first sentence with a\ttab, a line separator\u2028inside it and a next-line\x85mark.\r\n"
    'A second one with   spaces, """ quotes, a back\\slash and \U0001f600 \U0001d11e.\n'
    "A third with vertical\x0btab, form\x0cfeed and \x1c\x1d\x1e separators\u2029here.\n"
    "The quoted Hard Phrase sits at the end.\n"
)
HARD_PHRASES = (
    "line separator\u2028inside",
    "next-line\x85mark",
    "vertical\x0btab, form\x0cfeed and \x1c\x1d\x1e separators\u2029here",
    "\U0001f600 \U0001d11e",
    "Hard Phrase",
)


@dataclass(frozen=True)
class HardBuild:
    kg: KnowledgeGraph
    dist: Path


def write_hard_report(project: Path, iris: Iris) -> None:
    """A report whose text and notes hold every hard character, its facts written by rdflib."""
    slug = "hard-literals"
    folder = project / "data" / "reports" / slug
    folder.mkdir(parents=True)
    (folder / "source.txt").write_bytes(HARD_SOURCE.encode("utf-8"))
    document = iris.document(slug)
    about = rdflib.Graph()
    about.add((document, RDF.type, SCHEMA.NewsArticle))
    about.add((document, DCTERMS.title, rdflib.Literal("Hard literals", lang="en")))
    for note in HARD_LITERALS:
        about.add((document, SKOS.editorialNote, rdflib.Literal(note, lang="en")))
    about.serialize(folder / "document.ttl", format="turtle", encoding="utf-8")
    facts = rdflib.Graph()
    for phrase in HARD_PHRASES:
        begin = HARD_SOURCE.index(phrase)
        node = rdflib.URIRef(f"{document}#char={begin},{begin + len(phrase)}")
        facts.add((node, RDF.type, NIF.Phrase))
        facts.add((node, NIF.anchorOf, rdflib.Literal(phrase)))
    facts.serialize(folder / "facts.ttl", format="turtle", encoding="utf-8")


@pytest.fixture(scope="module")
def hard_build(tmp_path_factory: pytest.TempPathFactory) -> HardBuild:
    """The real project plus a report of hard literals, built and published."""
    root = copy_project(tmp_path_factory.mktemp("hard") / "project")
    settings = Settings.load(environ={})
    write_hard_report(root, Iris(settings.base_iri))
    kg = assemble(load_project(root), settings)
    out = root / "dist"
    build_dist(root, out)
    return HardBuild(kg, out)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("publish") / "dist"
    return out, build_dist(PROJECT_ROOT, out)


def test_writes_every_dump_with_gzip_and_sums(dist: tuple[Path, Manifest]) -> None:
    out, manifest = dist
    names = {f.name for f in manifest.files}
    for dump in OXIGRAPH_FORMATS:
        assert dump in names and dump + ".gz" in names
        assert gzip.decompress((out / (dump + ".gz")).read_bytes()) == (out / dump).read_bytes()
    assert {"context.jsonld", "ontology.ttl", "void.ttl"} <= names
    sums = (out / "SHA256SUMS").read_text().splitlines()
    listed = [f["name"] for entry in manifest.listings for f in entry["files"]]
    assert len(sums) == len(manifest.files) + len(listed)
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert (
        json.loads((out / "manifest.json").read_text())["version"]
        == hashlib.sha256((out / "tipkg.nq").read_bytes()).hexdigest()
    )


def _graph_key(name: object) -> str:
    return "" if isinstance(name, pyoxigraph.DefaultGraph) else str(name)


def _read(path: Path, engine: str) -> dict[str, set[object]]:
    """A dump as read by one engine: graph name ("" for a triple dump) → its triples, as
    pyoxigraph terms (rdflib's readings are converted exactly, term by term)."""
    fmt = path.suffix.lstrip(".")
    graphs: dict[str, set[object]] = {}
    if engine == "pyoxigraph":
        for quad in pyoxigraph.parse(path=path, format=OXIGRAPH_FORMATS[path.name]):
            graphs.setdefault(_graph_key(quad.graph_name), set()).add(quad.triple)
        return graphs
    converter = ToOxigraph()
    if fmt in ("nq", "trig"):
        dataset = rdflib.Dataset()
        dataset.parse(path, format={"nq": "nquads", "trig": "trig"}[fmt])
        for s, p, o, g in dataset.quads((None, None, None, None)):
            triple = pyoxigraph.Triple(converter.term(s), converter.term(p), converter.term(o))
            graphs.setdefault(_graph_key(converter.graph_name(g)), set()).add(triple)
        return graphs
    graph = rdflib.Graph().parse(path, format={"ttl": "turtle", "nt": "nt"}.get(fmt, "json-ld"))
    graphs[""] = {pyoxigraph.Triple(*(converter.term(t) for t in triple)) for triple in graph}
    return graphs


@pytest.mark.parametrize("engine", ["rdflib", "pyoxigraph"])
@pytest.mark.parametrize("name", sorted(OXIGRAPH_FORMATS))
def test_every_dump_holds_exactly_the_built_dataset(
    hard_build: HardBuild, name: str, engine: str
) -> None:
    """Term by term (lexical form, datatype, language tag), per named graph, with literals that
    hold every line-boundary character, tabs, quotes, backslashes and non-BMP characters."""
    expected: dict[str, set[object]] = {}
    if name in ("tipkg.nq", "tipkg.trig"):
        for unit in hard_build.kg.units:
            if unit.unit.kind != "dataset":  # the description is published apart (void.ttl)
                expected[_graph_key(unit.graph)] = set(unit.triples)
    else:
        expected[""] = set(hard_build.kg.default_triples)
    read = _read(hard_build.dist / name, engine)
    assert sorted(read) == sorted(expected)
    for graph, triples in expected.items():
        assert read[graph] == triples, graph


@pytest.mark.parametrize("engine", ["rdflib", "pyoxigraph"])
@pytest.mark.parametrize("name", sorted(OXIGRAPH_FORMATS))
def test_every_anchor_is_its_slice_of_the_text_in_the_same_dump(
    hard_build: HardBuild, name: str, engine: str
) -> None:
    triples = set().union(*_read(hard_build.dist / name, engine).values())
    values: dict[tuple[str, str], list[object]] = {}
    for triple in triples:
        values.setdefault((str(triple.subject), triple.predicate.value), []).append(triple.object)

    def one(subject: object, predicate: object) -> object:
        [value] = values[(str(subject), str(predicate))]
        return value

    anchors = [t for t in triples if t.predicate.value == str(NIF.anchorOf)]
    assert len(anchors) > 20
    hard_anchors = 0
    for anchor in anchors:
        node = anchor.subject
        context = one(node, NIF.referenceContext)
        text = one(context, NIF.isString).value
        begin = int(one(node, NIF.beginIndex).value)
        end = int(one(node, NIF.endIndex).value)
        assert text[begin:end] == anchor.object.value, node
        hard_anchors += any(char in anchor.object.value for char in LINE_BOUNDARIES)
    assert hard_anchors >= 3
    notes = {t.object.value for t in triples if t.predicate.value == str(SKOS.editorialNote)}
    assert set(HARD_LITERALS) <= notes


def test_the_server_loads_a_build_with_hard_literals(hard_build: HardBuild) -> None:
    published = load_published(hard_build.dist, Settings.load(environ={}))
    notes = {
        quad.object.value
        for quad in published.store.quads_for_pattern(
            None, pyoxigraph.NamedNode(str(SKOS.editorialNote)), None
        )
    }
    assert set(HARD_LITERALS) <= notes


def test_jsonld_uses_the_published_context(dist: tuple[Path, Manifest]) -> None:
    out, _ = dist
    context = json.loads((out / "context.jsonld").read_text())["@context"]
    document = json.loads((out / "tipkg.jsonld").read_text())
    assert document["@context"] == context
    assert context["startDate"] == {
        "@id": "schema:startDate",
        "@type": "xsd:date",
        "@container": "@set",
    }
    meeting = next(n for n in document["@graph"] if n["@id"] == "event:tipcom-2021")
    assert meeting["startDate"] == ["2021-05-06"]


def test_nquads_are_sorted_by_graph_then_line(dist: tuple[Path, Manifest]) -> None:
    """Each named graph's lines together, graphs in IRI order, lines sorted within a graph:
    the order a build keeps when it copies unchanged graphs from the last build."""
    out, _ = dist
    lines = (out / "tipkg.nq").read_text().splitlines()
    keyed = [(line.rsplit(" ", 2)[-2], line) for line in lines]
    assert keyed == sorted(keyed)
    assert len({graph for graph, _ in keyed}) == 6


def test_the_store_holds_every_graph_and_their_merge_once(dist: tuple[Path, Manifest]) -> None:
    out, manifest = dist
    store = pyoxigraph.Store.read_only(str(out / "store"))
    [row] = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(row["n"].value) == manifest.triples
    per_graph = {
        r["g"].value: int(r["n"].value)
        for r in store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        )
    }
    description = len(rdflib.Graph().parse(out / "void.ttl"))
    assert per_graph == {
        **{graph["iri"]: graph["triples"] for graph in manifest.graphs},
        manifest.base_iri + "graph/dataset": description,
    }


def test_void_and_dcat_describe_dataset_linksets_and_distributions(
    dist: tuple[Path, Manifest],
) -> None:
    out, manifest = dist
    void = rdflib.Graph().parse(out / "void.ttl")
    dataset = rdflib.URIRef(manifest.base_iri + "dataset")
    assert int(void.value(dataset, VOID.triples)) == manifest.triples
    linksets = set(void.subjects(RDF.type, VOID.Linkset))
    counts = {
        str(void.value(ls, VOID.objectsTarget)): int(void.value(ls, VOID.triples))
        for ls in linksets
    }
    assert counts["http://www.wikidata.org/"] == 9
    assert counts["https://sws.geonames.org/"] == 7
    sizes = {
        str(void.value(d, DCAT.downloadURL)).rsplit("/", 1)[-1]: int(void.value(d, DCAT.byteSize))
        for d in void.subjects(RDF.type, DCAT.Distribution)
    }
    for name in OXIGRAPH_FORMATS:
        assert sizes[name] == (out / name).stat().st_size


def _build_in_subprocess(project: Path, out: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, 'tests');"
        "from support import build_dist;"
        f"build_dist(Path({str(project)!r}), Path({str(out)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=PROJECT_ROOT)


def _store_content(store_dir: Path) -> set[str]:
    store = pyoxigraph.Store.read_only(str(store_dir))
    return {str(quad) for quad in store}


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    """Every file but the store's and the search index's, which hold the same statements and
    give the same answers (RocksDB's and Tantivy's files carry ids of their own; neither is a
    download, and neither is in SHA256SUMS)."""
    first, second = tmp_path / "a", tmp_path / "b"
    _build_in_subprocess(PROJECT_ROOT, first, "1")
    _build_in_subprocess(PROJECT_ROOT, second, "2")

    def files(root: Path) -> list[Path]:
        return sorted(
            p.relative_to(root)
            for p in root.rglob("*")
            if p.is_file() and not {STORE_DIR, SEARCH_INDEX_DIR} & set(p.relative_to(root).parts)
        )

    names = files(first)
    assert names == files(second) and len(names) > 15
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert _store_content(first / "store") == _store_content(second / "store")
    for text in ("Haiti", '"victim protection"', "traffick*"):
        answers = [search(root / SEARCH_INDEX_DIR, text, limit=100) for root in (first, second)]
        assert answers[0] == answers[1] and answers[0].total > 0


def test_a_failed_write_leaves_dist_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = copy_project(tmp_path / "project")
    out = tmp_path / "dist"
    build_dist(project_dir, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "describe_dataset", broken)
    query = sorted((project_dir / "queries").glob("*.rq"))[0]  # new inputs: a build is written
    query.write_text(query.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_dist(project_dir, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if ".new." in p.name or ".old." in p.name]


def test_staging_left_by_a_killed_build_is_removed_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    for leftover in (".dist.new.abc123", ".dist.old.def456"):
        (tmp_path / leftover / "store").mkdir(parents=True)
    build_dist(PROJECT_ROOT, out)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".dist.")) == [
        ".dist.lock"
    ]


def test_a_second_build_into_the_same_dist_waits_for_nothing_and_says_why(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    with (tmp_path / ".dist.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("pid 4242")
        lock.flush()
        with pytest.raises(InputError) as raised:
            build_dist(PROJECT_ROOT, out)
    assert "another tipkg build (pid 4242) is writing dist/" in str(raised.value)
    assert not out.exists()


def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the build's parent directory should be")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "tipkg"), "build", "--out", str(blocker / "dist")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TIPKG_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("tipkg: error: ") and "cannot write the build" in result.stderr
