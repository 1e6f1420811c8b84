"""The naive pipeline bench/build.py compares tipkg's build with: rdflib parses every file of a
project into its named graph, pyshacl validates the union once (no materialisation, which only
makes tipkg's side bigger), rdflib writes Turtle, N-Triples, N-Quads, TriG and JSON-LD.

    .venv/bin/python bench/naive.py PROJECT_DIR
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from pyshacl import validate
from rdflib import Dataset, Graph, URIRef

BASE = "https://w3id.org/tipkg/"


def main(project: Path) -> None:
    started = time.perf_counter()
    dataset = Dataset()
    groups = {
        "ontology": sorted((project / "ontology").glob("*.ttl")),
        "shared": sorted((project / "data" / "shared").glob("*.ttl")),
        "dataset": [project / "data" / "dataset.ttl"],
        **{f"linkset/{p.stem}": [p] for p in sorted((project / "data" / "linksets").glob("*.ttl"))},
        **{
            f"document/{r.name}": sorted(r.glob("*.ttl"))
            for r in sorted((project / "data" / "reports").iterdir())
        },
    }
    for name, paths in groups.items():
        graph = dataset.graph(URIRef(BASE + "graph/" + name))
        for path in paths:
            graph.parse(path, format="turtle", publicID=BASE)
    parsed = time.perf_counter()
    union = Graph()
    for triple in dataset.triples((None, None, None)):
        union.add(triple)
    shapes = Graph()
    for path in sorted((project / "shapes").glob("*.ttl")):
        shapes.parse(path, format="turtle", publicID=BASE)
    validate(union, shacl_graph=shapes, inference="none")
    validated = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        for fmt, suffix in (("turtle", "ttl"), ("nt", "nt"), ("json-ld", "jsonld")):
            union.serialize(Path(out) / f"tipkg.{suffix}", format=fmt)
        for fmt, suffix in (("nquads", "nq"), ("trig", "trig")):
            dataset.serialize(Path(out) / f"tipkg.{suffix}", format=fmt)
    written = time.perf_counter()
    print(
        f"parse {parsed - started:.1f} s, validate {validated - parsed:.1f} s, "
        f"write {written - validated:.1f} s, {len(union)} triples"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
