"""Why 4, "500s with tracebacks": whatever a client sends is answered with a 4xx and one
line, never a 500 and never a traceback in the log."""

from __future__ import annotations

import httpx
import pytest

from probes import ServerProcess, watched

# Paths that are not IRIs once decoded: pyoxigraph refuses to make a NamedNode of them.
NOT_IRIS = ["/id/%3Cx%3E", "/id/a%20b", "/id/%22q%22", "/id/%7Bx%7D", "/id/%5C", "/id/%60x"]


@pytest.mark.parametrize("path", NOT_IRIS)
def test_a_path_that_is_no_iri_is_404_in_one_line(hostile: ServerProcess, path: str) -> None:
    with watched(hostile) as watch:
        as_text = httpx.get(hostile.url.rstrip("/") + path)
        as_page = httpx.get(hostile.url.rstrip("/") + path, headers={"Accept": "text/html"})
    watch.assert_contained(seconds=3)
    assert as_text.status_code == 404
    assert as_text.text.startswith("nothing is known about <") and as_text.text.count("\n") == 1
    assert as_page.status_code == 404 and "<html" in as_page.text
    assert "Traceback" not in hostile.log()
