"""Benchmark the search index: tipkg's (Tantivy) against SQLite FTS5, in the same run.

    .venv/bin/python bench/search.py    # 10,000 reports: ~4 min the first time, ~1 min after

Both engines get the same entries (``unit_entries`` over every unit of a synthetic corpus, kept
in ``--work`` between runs) and answer the same thing per query, through the same query language:
the total, the first page of 20 hits by BM25 (ties in a fixed order) with a snippet each, and
counts by kind, by report (the top 25) and by year over every hit. FTS5 is the engine as tipkg
had it before this benchmark chose (``bench/search_fts5.py``). Measured: build time and size on
disk; median latency of one-word and of phrase queries, the index kept open as a server keeps
it; the update when one report changes (the previous index copied, that report's entries
replaced), and how the updated index's answers compare with a fresh build's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://w3id.org/tipkg/"
PAGE = 20
ONE_WORD = (
    "Haiti",
    "Anguilla",
    "Guyana",
    "Bahamas",
    "smuggling",
    "immigration",
    "legislation",
    "hosted",
    "meeting",
    "victims",
    "cooperation",
    "trafficking",
)
PHRASES = (
    '"Saint Lucia"',
    '"Eastern Caribbean"',
    '"immigration officers"',
    '"identify victims"',
    '"task force"',
    '"victim protection"',
    '"forced labour"',
    '"shared responsibility"',
    '"regional cooperation"',
    '"took part in"',
    '"COVID-19 pandemic"',
    '"trafficking in persons"',
)


# ------------------------------------------------------------------ the corpus and its entries


def corpus_entries(work: Path, documents: int, jobs: int) -> list[Any]:
    """Every unit's entries for a synthetic corpus of ``documents`` reports, computed once."""
    from tipkg.search.model import entries_json, read_entries
    from tipkg.synth import write_corpus

    corpus = work / f"corpus-{documents}"
    saved = work / f"entries-{documents}.jsonl"
    if saved.is_file():
        return list(read_entries(saved.read_bytes()))
    if not corpus.is_dir():
        print(write_corpus(corpus, documents, 0, ROOT, BASE).line(), flush=True)
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(
        jobs, initializer=_start_worker, initargs=(corpus,)
    ) as pool:
        entries = [
            e for unit in pool.imap(_unit_entries, range(_unit_count(corpus)), 16) for e in unit
        ]
    saved.write_bytes(entries_json(entries))
    print(f"entries of {corpus.name}: {len(entries):,} in {time.perf_counter() - started:.0f} s")
    return entries


_worker: tuple[Any, ...] = ()


def _unit_count(corpus: Path) -> int:
    from tipkg.project import load_project, units_of

    return len(units_of(load_project(corpus)))


def _start_worker(corpus: Path) -> None:
    global _worker
    from tipkg.graph import assemble_unit, load_rules
    from tipkg.project import load_project, units_of
    from tipkg.vocab import Iris

    project = load_project(corpus)
    units = units_of(project)
    iris = Iris(BASE)
    ontology = assemble_unit(units[0], iris, None)
    _worker = (units, iris, ontology.triples, load_rules(project.rule_files, BASE))


def _unit_entries(index: int) -> tuple[Any, ...]:
    from tipkg.graph import Materialiser, assemble_unit
    from tipkg.search.entries import unit_entries

    units, iris, ontology, rules = _worker
    unit = units[index]
    # A new materialiser per unit: pyoxigraph's in-memory store slows down with every graph
    # cleared from it, so one kept for thousands of units gets slower with each (~3 ms of CPU
    # per report fresh, ~13 ms after 300 reports).
    materialiser = Materialiser(ontology, rules, BASE)
    graph = assemble_unit(unit, iris, None if unit.kind == "ontology" else materialiser)
    return unit_entries(graph, BASE)


def changed_report(entries: list[Any]) -> tuple[str, list[Any]]:
    """One report's unit and its entries with one sentence edited, as after a curator's fix."""
    units = sorted({e.unit for e in entries if e.document})
    unit = units[len(units) // 2]
    mine = [e for e in entries if e.unit == unit]
    edited = [
        replace(e, text=(e.text[0] + " The figures were corrected later.",))
        if e.kind == "sentence" and e.sentence.number == 1
        else e
        for e in mine
    ]
    return unit, edited


# ------------------------------------------------------------------ measuring


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def latencies(run: Callable[[str], int], queries: Iterable[str], repeats: int) -> dict[str, Any]:
    """Median and worst per-query median (ms) and the hits per query."""
    per_query = {}
    for query in queries:
        total = run(query)  # warm: the first touches the file's pages
        samples = [timed(lambda q=query: run(q))[0] * 1000 for _ in range(repeats)]
        per_query[query] = {"ms": statistics.median(samples), "total": total}
    medians = [row["ms"] for row in per_query.values()]
    return {
        "median_ms": statistics.median(medians),
        "max_ms": max(medians),
        "queries": per_query,
    }


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_queries(
    search: Callable[[str], Any], repeats: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latencies of the one-word and the phrase queries through ``search``."""

    def run(query: str) -> int:
        result = search(query)
        assert result.hits or not result.total
        return int(result.total)

    return latencies(run, ONE_WORD, repeats), latencies(run, PHRASES, repeats)


def compare_updated(updated: Any, fresh: Any) -> dict[str, Any]:
    """How the first pages of the updated index compare with a fresh build's."""
    same, same_hits, drift = 0, 0, 0.0
    for query in ONE_WORD + PHRASES:
        ours, theirs = updated.search(query, limit=PAGE), fresh.search(query, limit=PAGE)
        same += ours == theirs
        same_hits += [h.iri for h in ours.hits] == [h.iri for h in theirs.hits] and (
            ours.total,
            ours.facets,
        ) == (theirs.total, theirs.facets)
        for a, b in zip(ours.hits, theirs.hits, strict=True):
            drift = max(drift, abs(a.score - b.score) / b.score)
    return {"same": same, "same_hits": same_hits, "score_drift": drift}


def bench_engine(
    name: str, engine: Any, entries: list[Any], work: Path, repeats: int
) -> dict[str, Any]:
    """Build, update and query one engine: ``engine`` has ``write_index``, ``update_index``
    and ``open`` (an index with ``search(text, limit=…)``)."""
    path, updated, fresh = (work / f"{name}{suffix}" for suffix in ("", "-updated", "-fresh"))
    build_s, _ = timed(lambda: engine.write_index(entries, path))
    unit, edited = changed_report(entries)
    update_s, _ = timed(lambda: engine.update_index(path, updated, [unit], edited))
    engine.write_index([e for e in entries if e.unit != unit] + edited, fresh)
    index = engine.open(path)
    words, phrases = run_queries(lambda query: index.search(query, limit=PAGE), repeats)
    return {
        "build_s": build_s,
        "bytes": size_of(path),
        "update_s": update_s,
        "updated": compare_updated(engine.open(updated), engine.open(fresh)),
        "one_word": words,
        "phrase": phrases,
    }


class Fts5:
    """The SQLite FTS5 index (``bench/search_fts5.py``)."""

    def __init__(self) -> None:
        import search_fts5

        self.write_index = search_fts5.write_index
        self.update_index = search_fts5.update_index
        self.open = search_fts5.FtsIndex


class Tantivy:
    """tipkg's index (``tipkg.search``)."""

    def __init__(self) -> None:
        from tipkg.search.engine import SearchIndex
        from tipkg.search.index import update_index, write_index

        self.write_index = write_index
        self.update_index = update_index
        self.open = SearchIndex


# ------------------------------------------------------------------ report


def report(results: dict[str, Any], documents: int, entries: int) -> Iterator[str]:
    fts5, tv = results["fts5"], results["tantivy"]
    yield f"{documents:,} reports, {entries:,} entries; medians over the queries"
    yield ""
    yield "| | SQLite FTS5 | Tantivy | FTS5 / Tantivy |"
    yield "|---|---:|---:|---:|"
    rows = (
        ("index build, s", fts5["build_s"], tv["build_s"], "{:.1f}"),
        ("size, MB", fts5["bytes"] / 1e6, tv["bytes"] / 1e6, "{:.1f}"),
        (
            "one-word query, median ms",
            fts5["one_word"]["median_ms"],
            tv["one_word"]["median_ms"],
            "{:.1f}",
        ),
        (
            "one-word query, slowest ms",
            fts5["one_word"]["max_ms"],
            tv["one_word"]["max_ms"],
            "{:.1f}",
        ),
        (
            "phrase query, median ms",
            fts5["phrase"]["median_ms"],
            tv["phrase"]["median_ms"],
            "{:.1f}",
        ),
        ("phrase query, slowest ms", fts5["phrase"]["max_ms"], tv["phrase"]["max_ms"], "{:.1f}"),
        ("one report changed, s", fts5["update_s"], tv["update_s"], "{:.2f}"),
    )
    for name, mine, theirs, form in rows:
        yield f"| {name} | {form.format(mine)} | {form.format(theirs)} | {mine / theirs:.2f}× |"
    queries = len(ONE_WORD) + len(PHRASES)
    yield ""
    for name, figures in (("FTS5", fts5), ("Tantivy", tv)):
        updated = figures["updated"]
        yield (
            f"- {name}, updated index against a fresh build, first pages of the "
            f"{queries} queries: identical {updated['same']}, same hits in the same order with "
            f"the same totals and facets {updated['same_hits']}, scores apart by up to "
            f"{updated['score_drift']:.1e} (relative)"
        )
    yield ""
    yield "| query | hits | FTS5 ms | Tantivy ms |"
    yield "|---|---:|---:|---:|"
    for kind in ("one_word", "phrase"):
        for query, row in fts5[kind]["queries"].items():
            theirs = tv[kind]["queries"][query]
            yield f"| `{query}` | {row['total']:,} | {row['ms']:.1f} | {theirs['ms']:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "search")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each query")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    entries = corpus_entries(args.work, args.documents, args.jobs)
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    results = {
        "fts5": bench_engine("fts5.sqlite", Fts5(), entries, args.work, args.repeats),
        "tantivy": bench_engine("tantivy", Tantivy(), entries, args.work, args.repeats),
    }
    (args.work / f"results-{args.documents}.json").write_text(json.dumps(results, indent=1))
    for line in report(results, args.documents, len(entries)):
        print(line)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
