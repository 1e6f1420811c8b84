"""The JSON-LD dump and the server's resource documents read by a JavaScript program with
jsonld.js (``node --test``), offline but for the test server on 127.0.0.1; what jsonld.js reads
from a resource document is then compared, term by term, with the server's Turtle for it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pyoxigraph as ox
from conftest import RunningServer

from support import PROJECT_ROOT

NODE_TEST = Path(__file__).parent / "js" / "jsonld.test.mjs"
# The resource documents the Node test writes N-Quads of, by file name (as in jsonld.test.mjs).
RESOURCES = {"tipcom-2021": "id/event/tipcom-2021", "tipcom": "id/org/tipcom"}


def test_a_javascript_program_reads_the_jsonld_dump_and_resource_documents(
    dist_dir: Path, server: RunningServer, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs it (Debian's nodejs)"
    assert (PROJECT_ROOT / "node_modules" / "jsonld").is_dir(), "run `make assets` (npm ci)"
    result = subprocess.run(
        [node, "--test", str(NODE_TEST)],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "TIPKG_DIST": str(dist_dir),
            "TIPKG_SERVER": server.url,
            "TIPKG_OUT": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 6" in result.stdout

    for name, path in RESOURCES.items():
        read_by_javascript = ox.parse(
            (tmp_path / f"{name}.nq").read_bytes(), format=ox.RdfFormat.N_QUADS
        )
        turtle = httpx.get(f"{server.url}{path}.ttl", timeout=30)
        served = ox.parse(turtle.content, format=ox.RdfFormat.TURTLE)
        # The two documents differ in one IRI only, each naming itself (foaf:primaryTopic).
        itself = {
            ox.NamedNode(f"{server.url}{path}.jsonld"): ox.NamedNode(f"{server.url}{path}.ttl")
        }
        got = {
            ox.Triple(itself.get(q.subject, q.subject), q.predicate, q.object)
            for q in read_by_javascript
        }
        expected = {quad.triple for quad in served}
        assert not any(isinstance(t.subject, ox.BlankNode) for t in expected), name
        assert len(expected) > 20, name
        assert got == expected, name
