"""Benchmark the SHACL engine (tipkg.shacl) against pyshacl on synthetic corpora.

Usage:
    .venv/bin/python bench/shacl.py [--sizes 100 1000 10000] [--pyshacl-up-to 1000]
                                    [--pyshacl-timeout 600] [--reports 20]

For each size a corpus is written with `tipkg synth` (its default seed) and assembled by the
graph stage; the union is cached as N-Quads in bench/results/shacl/ (assembling 10,000 reports
takes ~12 minutes, once). Each engine then runs in a process of its own, so that its peak RSS is
its own: it reads the N-Quads, builds what it validates (an rdflib graph, as tipkg.validate
does; or a DataGraph), validates the whole union, then validates reports one at a time: the
graphs that are not a report's loaded once, and each sampled report added to them, restricted
(for the engine) to the report's own subjects. pyshacl runs only up to --pyshacl-up-to documents
and is stopped after --pyshacl-timeout seconds. The table is printed as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "shacl"
BASE = "https://w3id.org/tipkg/"
SEED = 0  # tipkg synth's default
DOCUMENT_GRAPHS = BASE + "graph/document/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--pyshacl-up-to", type=int, default=1000)
    parser.add_argument("--pyshacl-timeout", type=float, default=600)
    parser.add_argument("--reports", type=int, default=20, help="reports validated one by one")
    parser.add_argument("--child", choices=["engine", "pyshacl"], help=argparse.SUPPRESS)
    parser.add_argument("--nquads", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.nquads, args.reports)))
        return
    rows = []
    for size in args.sizes:
        nquads = union_of_corpus(size)
        for engine in ("pyshacl", "engine"):
            if engine == "pyshacl" and size > args.pyshacl_up_to:
                continue
            timeout = args.pyshacl_timeout if engine == "pyshacl" else None
            rows.append(run_child(engine, nquads, size, args.reports, timeout))
    print_table(rows)


def union_of_corpus(size: int) -> Path:
    """The N-Quads of an assembled synthetic corpus of ``size`` reports, made once."""
    nquads = RESULTS / f"union-{size}.nq"
    if nquads.exists():
        return nquads
    from tipkg.graph import assemble
    from tipkg.project import load_project
    from tipkg.settings import Settings
    from tipkg.synth import write_corpus

    corpus = RESULTS / f"corpus-{size}"
    if not corpus.exists():
        write_corpus(corpus, size, SEED, ROOT, BASE)
    started = time.perf_counter()
    kg = assemble(load_project(corpus), Settings.load({"base_iri": BASE}, environ={}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    ox.serialize(kg.quads, output=str(nquads), format=ox.RdfFormat.N_QUADS)
    print(f"assembled {size} reports in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return nquads


def run_child(engine: str, nquads: Path, size: int, reports: int, timeout: float | None) -> dict:
    command = [sys.executable, __file__, "--child", engine, "--nquads", str(nquads)]
    command += ["--reports", str(reports)]
    print(f"{engine} on {size} reports …", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "documents": size, "timeout": timeout}
    except subprocess.CalledProcessError as error:
        sys.exit(f"{engine} on {size} reports failed:\n{error.stderr}")
    return {"engine": engine, "documents": size, **json.loads(done.stdout)}


def measure(engine: str, nquads: Path, reports: int) -> dict:
    """Run in the child process: load, validate the union, validate reports one by one."""
    quads = list(ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS))
    documents: dict[str, list[ox.Quad]] = {}
    context = []
    for quad in quads:
        name = quad.graph_name
        if isinstance(name, ox.NamedNode) and name.value.startswith(DOCUMENT_GRAPHS):
            documents.setdefault(name.value, []).append(quad)
        else:
            context.append(quad)
    sample = random.Random(SEED).sample(sorted(documents), min(reports, len(documents)))
    run = _engine if engine == "engine" else _pyshacl
    return run(quads, context, [documents[name] for name in sample])


def _shapes() -> Graph:
    """The project's shapes as tipkg.validate loads them (synth copies them into the corpus)."""
    from tipkg.graph import assemble
    from tipkg.project import load_project
    from tipkg.settings import Settings
    from tipkg.validate import load_shapes

    project = load_project(ROOT)
    return load_shapes(assemble(project, Settings.load(environ={})), project.shape_files)


def _engine(quads: list[ox.Quad], context: list[ox.Quad], reports: list[list[ox.Quad]]) -> dict:
    from tipkg.shacl import DataGraph, compile_shapes

    validator = compile_shapes(_shapes())
    started = time.perf_counter()
    data = DataGraph(quads)
    loaded = time.perf_counter()
    results = validator.validate(data)
    validated = time.perf_counter()
    peak = _peak_rss_mb()
    del data
    shared = DataGraph(context)
    per_report = []
    for report in reports:
        start = time.perf_counter()
        with shared.including(report):
            validator.validate(shared, focus={q.subject for q in report})
        per_report.append(time.perf_counter() - start)
    return _row(quads, started, loaded, validated, len(results), peak, per_report)


def _pyshacl(quads: list[ox.Quad], context: list[ox.Quad], reports: list[list[ox.Quad]]) -> dict:
    from pyshacl import validate
    from rdflib.namespace import RDF, SH

    from tipkg.terms import exact_literals, from_oxigraph
    from tipkg.validate import _PreparedQueryGraph  # the graph tipkg.validate hands pyshacl

    shapes = _shapes()

    def graph_of(statements: Iterable[ox.Quad]) -> _PreparedQueryGraph:
        graph = _PreparedQueryGraph()
        with exact_literals():
            for q in statements:
                graph.add(
                    (from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
                )
        return graph

    def run(graph: _PreparedQueryGraph) -> int:
        _conforms, results, _text = validate(
            graph, shacl_graph=shapes, inference="none", inplace=True, allow_warnings=False
        )
        return len(set(results.subjects(RDF.type, SH.ValidationResult)))

    started = time.perf_counter()
    data = graph_of(quads)
    loaded = time.perf_counter()
    results = run(data)
    validated = time.perf_counter()
    peak = _peak_rss_mb()
    del data
    per_report = []
    for report in reports:
        graph = graph_of([*context, *report])
        start = time.perf_counter()
        run(graph)
        per_report.append(time.perf_counter() - start)
    return _row(quads, started, loaded, validated, results, peak, per_report)


def _row(
    quads: list[ox.Quad],
    started: float,
    loaded: float,
    validated: float,
    results: int,
    peak: float,
    per_report: list[float],
) -> dict:
    return {
        "triples": len({q.triple for q in quads}),
        "load_s": loaded - started,
        "validate_s": validated - loaded,
        "results": results,
        "peak_rss_mb": peak,
        "per_report_ms": 1000 * statistics.median(per_report) if per_report else None,
        "load_average": os.getloadavg()[0],
    }


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[dict]) -> None:
    """Markdown, with pyshacl's time over the engine's for the same size."""
    pyshacl = {row["documents"]: row for row in rows if row["engine"] == "pyshacl"}
    print(
        "| reports | triples | engine | load s | validate s | × faster | peak RSS MB "
        "| one report ms | × faster | load avg |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if "timeout" in row:
            print(
                f"| {row['documents']:,} | | {row['engine']} | | > {row['timeout']:.0f} | | | | | |"
            )
            continue
        reference = pyshacl.get(row["documents"])
        faster = report_faster = ""
        if row["engine"] == "engine" and reference and "timeout" not in reference:
            faster = f"{reference['validate_s'] / row['validate_s']:.0f}×"
            report_faster = f"{reference['per_report_ms'] / row['per_report_ms']:.0f}×"
        elif row["engine"] == "engine" and reference:
            faster = f"> {reference['timeout'] / row['validate_s']:.0f}×"
        print(
            f"| {row['documents']:,} | {row['triples']:,} | {row['engine']} "
            f"| {row['load_s']:.1f} | {row['validate_s']:.2f} | {faster} "
            f"| {row['peak_rss_mb']:,.0f} | {row['per_report_ms']:.0f} | {report_faster} "
            f"| {row['load_average']:.1f} |"
        )


if __name__ == "__main__":
    main()
