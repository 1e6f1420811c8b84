"""The JSON-LD dump read by a JavaScript program with jsonld.js (``node --test``), offline."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import PROJECT_ROOT

NODE_TEST = Path(__file__).parent / "js" / "jsonld.test.mjs"


def test_a_javascript_program_reads_the_jsonld_dump(dist_dir: Path) -> None:
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs it (Debian's nodejs)"
    assert (PROJECT_ROOT / "node_modules" / "jsonld").is_dir(), "run `make assets` (npm ci)"
    result = subprocess.run(
        [node, "--test", str(NODE_TEST)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TIPKG_DIST": str(dist_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 4" in result.stdout
