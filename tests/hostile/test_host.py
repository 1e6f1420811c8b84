"""Why 7, "The Host header is trusted": the URLs on pages and in the service description come
from ``public_url`` or the base IRI, never from a request's ``Host`` unless ``trusted_hosts``
names it (one poisoned answer would otherwise be kept by any shared cache in front)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from conftest import in_process

from hostile.probes import ServerProcess, watched

# The pages that put URLs of the server on show.
PAGES = [
    ("/", {"Accept": "text/html"}),  # in its schema.org Dataset
    ("/sparql", {"Accept": "text/turtle"}),  # the service description
]


@pytest.fixture(scope="module")
def aliased(
    start_hostile: Callable[..., AbstractContextManager[ServerProcess]],
) -> Iterator[ServerProcess]:
    with start_hostile(trusted_hosts="alias.example,alias.example:8443") as server:
        yield server


@pytest.mark.parametrize(("path", "headers"), [*PAGES, ("/sparql", {"Accept": "text/html"})])
def test_an_untrusted_host_never_reaches_a_page(
    aliased: ServerProcess, path: str, headers: dict[str, str]
) -> None:
    with watched(aliased) as watch:
        answer = httpx.get(
            aliased.url.rstrip("/") + path, headers={**headers, "Host": "evil.example"}
        )
    watch.assert_contained(seconds=3)
    assert answer.status_code == 200
    assert "evil.example" not in answer.text
    assert aliased.base in answer.text  # the base IRI, where the server answers


@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_a_trusted_host_is_used_as_sent(
    aliased: ServerProcess, path: str, headers: dict[str, str]
) -> None:
    answer = httpx.get(
        aliased.url.rstrip("/") + path, headers={**headers, "Host": "alias.example:8443"}
    )
    assert answer.status_code == 200
    assert "http://alias.example:8443/" in answer.text


def test_public_url_wins_over_every_host(site_dist: Path) -> None:
    with in_process(site_dist, public_url="https://data.example.org/tip/") as site:
        for path, headers in PAGES:
            answer = site.client.get(path, headers={**headers, "Host": "evil.example"})
            assert answer.status_code == 200, path
            assert "https://data.example.org/tip/" in answer.text
            assert "evil.example" not in answer.text
