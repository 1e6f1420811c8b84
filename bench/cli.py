"""Benchmark the CLI's start-up and build, each against a named peer measured in the same run.

    .venv/bin/python bench/cli.py [--runs 7]

Peers: `python -c pass` (the floor for any Python CLI) and `python -c "import rdflib"` (what
`tipkg --help` would cost if it imported the RDF stack eagerly). `tipkg build` is compared with
plain rdflib parsing of the same inputs, i.e. the cost of reading them at all.
Figures are min / median wall seconds over the runs; ratios are medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PARSE_ONLY = (
    "import rdflib, pathlib;"
    "g = rdflib.Graph();"
    "[g.parse(p, format='turtle', publicID='https://w3id.org/tipkg/')"
    " for p in sorted(pathlib.Path('{root}').glob('**/*.ttl')) if 'tests' not in p.parts]"
)


FLOOR = "python -c pass"
EAGER = 'python -c "import rdflib"'
HELP = "tipkg --help"
PARSE = "parse inputs with rdflib"
BUILD = "tipkg build"


def timed(command: list[str], runs: int, cwd: Path) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return min(samples), statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch)
        for part in ("ontology", "shapes", "data", "queries"):
            shutil.copytree(ROOT / part, project / part)
        rows = {
            FLOOR: [sys.executable, "-c", "pass"],
            EAGER: [sys.executable, "-c", "import rdflib"],
            HELP: [str(BIN / "tipkg"), "--help"],
            PARSE: [sys.executable, "-c", PARSE_ONLY.format(root=project)],
            BUILD: [str(BIN / "tipkg"), "build"],
        }
        results = {name: timed(command, runs, project) for name, command in rows.items()}
    print(f"| command | min s | median s |  ({runs} runs)")
    print("|---|---|---|")
    for name, (low, mid) in results.items():
        print(f"| `{name}` | {low:.3f} | {mid:.3f} |")
    print()
    for name, peer in ((HELP, FLOOR), (HELP, EAGER), (BUILD, PARSE)):
        print(f"`{name}` / `{peer}`: {results[name][1] / results[peer][1]:.2f}x")


if __name__ == "__main__":
    main()
