"""The publish stage: every dump parses on two engines, agrees with the others, is checksummed,
described in VoID/DCAT, byte-identical across builds, and swapped in only when complete."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, RDF, VOID

from tipkg import publish
from tipkg.graph import assemble
from tipkg.project import load_project
from tipkg.publish import Manifest
from tipkg.settings import Settings

from support import PROJECT_ROOT, copy_project

OXIGRAPH_FORMATS = {
    "tipkg.ttl": pyoxigraph.RdfFormat.TURTLE,
    "tipkg.jsonld": pyoxigraph.RdfFormat.JSON_LD,
    "tipkg.nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "tipkg.nq": pyoxigraph.RdfFormat.N_QUADS,
    "tipkg.trig": pyoxigraph.RdfFormat.TRIG,
}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("publish") / "dist"
    project = load_project(PROJECT_ROOT)
    manifest = publish.write(assemble(project, Settings.load(environ={})), project, out)
    return out, manifest


def test_writes_every_dump_with_gzip_and_sums(dist: tuple[Path, Manifest]) -> None:
    out, manifest = dist
    names = {f.name for f in manifest.files}
    for dump in OXIGRAPH_FORMATS:
        assert dump in names and dump + ".gz" in names
        assert gzip.decompress((out / (dump + ".gz")).read_bytes()) == (out / dump).read_bytes()
    assert {"context.jsonld", "ontology.ttl", "void.ttl"} <= names
    sums = (out / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(manifest.files)
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert (
        json.loads((out / "manifest.json").read_text())["version"]
        == hashlib.sha256((out / "tipkg.nq").read_bytes()).hexdigest()
    )


@pytest.mark.parametrize("name", sorted(OXIGRAPH_FORMATS))
def test_dump_parses_with_pyoxigraph(dist: tuple[Path, Manifest], name: str) -> None:
    out, manifest = dist
    quads = list(pyoxigraph.parse(path=str(out / name), format=OXIGRAPH_FORMATS[name]))
    assert len(quads) == manifest.triples


def test_dumps_agree_on_rdflib(dist: tuple[Path, Manifest]) -> None:
    out, manifest = dist
    turtle = rdflib.Graph().parse(out / "tipkg.ttl", format="turtle")
    jsonld = rdflib.Graph().parse(out / "tipkg.jsonld", format="json-ld")
    ntriples = rdflib.Graph().parse(out / "tipkg.nt", format="nt")
    assert len(turtle) == manifest.triples
    assert isomorphic(turtle, jsonld)
    assert isomorphic(turtle, ntriples)
    quads = rdflib.Dataset()
    quads.parse(out / "tipkg.nq", format="nquads")
    trig = rdflib.Dataset()
    trig.parse(out / "tipkg.trig", format="trig")
    for dataset in (quads, trig):
        graphs = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
        assert graphs == {g["iri"]: g["triples"] for g in manifest.graphs}


def test_jsonld_uses_the_published_context(dist: tuple[Path, Manifest]) -> None:
    out, _ = dist
    context = json.loads((out / "context.jsonld").read_text())["@context"]
    document = json.loads((out / "tipkg.jsonld").read_text())
    assert document["@context"] == context
    assert context["startDate"] == {"@id": "schema:startDate", "@type": "xsd:date"}
    meeting = next(n for n in document["@graph"] if n["@id"] == "event:tipcom-2021")
    assert meeting["startDate"] == "2021-05-06"


def test_ntriples_and_nquads_are_sorted(dist: tuple[Path, Manifest]) -> None:
    out, _ = dist
    for name in ("tipkg.nt", "tipkg.nq"):
        lines = (out / name).read_text().splitlines()
        assert lines == sorted(lines)


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
        "from pathlib import Path; from tipkg import publish; from tipkg.graph import assemble;"
        "from tipkg.project import load_project; from tipkg.settings import Settings;"
        f"p = load_project(Path({str(project)!r}));"
        f"publish.write(assemble(p, Settings.load(environ={{}})), p, Path({str(out)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _build_in_subprocess(PROJECT_ROOT, first, "1")
    _build_in_subprocess(PROJECT_ROOT, second, "2")
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_failed_write_leaves_dist_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir = copy_project(tmp_path / "project")
    project = load_project(project_dir)
    kg = assemble(project, Settings.load(environ={}))
    out = tmp_path / "dist"
    publish.write(kg, project, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*_: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish, "to_trig", broken)
    with pytest.raises(RuntimeError):
        publish.write(kg, project, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist", "project"]
