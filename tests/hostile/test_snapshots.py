"""Why 6, "A half-swapped build": while dist/ is rebuilt under load, every answer comes whole
from one build (a download's body matches its ETag; /sparql answers from the build its ETag
names), and a build that fails to load changes nothing served. dist/ is replaced the way
``tipkg build`` replaces it (``publish._swap``: rename the old tree away, rename the new one in,
delete the old)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tipkg.dist import Manifest, open_store
from tipkg.errors import InputError
from tipkg.server.snapshots import PREFIX, Snapshots

from hostile.probes import ServerProcess, watched
from support import add_quads_to_build, swap_in

MARK = "SELECT ?b WHERE { <urn:tipkg:build> <urn:tipkg:is> ?b }"


@pytest.fixture(scope="module")
def builds(hostile_dist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two builds that differ in one statement (and so in tipkg.nq, their store and their
    version), and a third with b's manifest and a's store (its load fails)."""
    folder = tmp_path_factory.mktemp("builds")
    a, b, broken = folder / "a", folder / "b", folder / "broken"
    shutil.copytree(hostile_dist, a)
    shutil.copytree(hostile_dist, b)
    add_quads_to_build(b, '<urn:tipkg:build> <urn:tipkg:is> "B" .\n')
    shutil.copytree(b, broken)
    shutil.rmtree(broken / "store")
    shutil.copytree(a / "store", broken / "store")
    return {"a": a, "b": b, "broken": broken}


@pytest.fixture(scope="module")
def live(
    start_hostile: Callable[..., AbstractContextManager[ServerProcess]],
    builds: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    """A server over a dist/ that the tests replace as they go (it starts with build a)."""
    dist = tmp_path_factory.mktemp("live") / "dist"
    publish(builds["a"], dist)
    with start_hostile(dist) as server:
        yield server


def publish(build: Path, dist: Path) -> None:
    """Put ``build`` in place of ``dist`` as ``tipkg build`` does."""
    swap_in(build, dist)


def version_of(build: Path) -> str:
    return json.loads((build / "manifest.json").read_text())["version"]


def settle(client: httpx.Client, version: str) -> None:
    """Wait until the server answers from ``version``."""
    deadline = time.monotonic() + 20
    while json.loads(client.get("/download/manifest.json").text)["version"] != version:
        assert time.monotonic() < deadline, "the new build was not picked up"
        time.sleep(0.1)


def answer_of(client: httpx.Client, path: str, **params: str) -> tuple[str, bytes]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.headers["etag"], response.content


@pytest.mark.slow
def test_a_rebuild_under_load_never_pairs_an_etag_with_another_builds_body(
    live: ServerProcess, builds: dict[str, Path]
) -> None:
    server, dist = live, live.dist_dir
    with httpx.Client(base_url=server.url, timeout=30) as client:
        # What each build answers, learnt while it is the only one.
        expected: dict[str, set[tuple[str, bytes]]] = {"sparql": set(), "manifest": set()}
        for name in ("a", "b"):
            publish(builds[name], dist)
            settle(client, version_of(builds[name]))
            expected["sparql"].add(answer_of(client, "/sparql", query=MARK))
            expected["manifest"].add(answer_of(client, "/download/manifest.json"))
        assert len(expected["sparql"]) == len(expected["manifest"]) == 2

        stop = threading.Event()
        seen: list[str] = []

        def rebuild_again_and_again() -> None:
            while not stop.is_set():
                for name in ("a", "b"):
                    publish(builds[name], dist)
                    time.sleep(0.3)

        def download_again_and_again() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                while not stop.is_set():
                    etag, body = answer_of(own, "/download/tipkg.nq")
                    assert etag == f'W/"{hashlib.sha256(body).hexdigest()}"'
                    assert answer_of(own, "/sparql", query=MARK) in expected["sparql"]
                    assert answer_of(own, "/download/manifest.json") in expected["manifest"]
                    seen.append(etag)

        with watched(server) as watch, ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(rebuild_again_and_again)]
            futures += [pool.submit(download_again_and_again) for _ in range(3)]
            time.sleep(3)
            stop.set()
            for future in futures:
                future.result()
        watch.assert_contained(seconds=10)
        assert len(set(seen)) == 2, "both builds were served meanwhile"
        assert len(seen) > 30


def test_a_build_that_fails_to_load_changes_nothing_served(
    live: ServerProcess, builds: dict[str, Path]
) -> None:
    server, dist = live, live.dist_dir
    with httpx.Client(base_url=server.url, timeout=30) as client:
        publish(builds["a"], dist)
        settle(client, version_of(builds["a"]))
        before = answer_of(client, "/download/tipkg.nq")
        publish(builds["broken"], dist)
        deadline = time.monotonic() + 10
        while "keeping the previous build" not in server.log():
            assert time.monotonic() < deadline, server.log()
            client.get("/")  # a request is what makes the server look at dist/ again
            time.sleep(0.2)
        assert answer_of(client, "/download/tipkg.nq") == before
        assert json.loads(client.get("/download/manifest.json").text)["version"] == version_of(
            builds["a"]
        )


def test_a_snapshot_is_one_build_whatever_is_swapped_meanwhile(
    builds: dict[str, Path], tmp_path: Path
) -> None:
    """Taken over and over while dist/ flips between two builds, each snapshot's manifest
    names the tipkg.nq and the store next to it."""
    dist = tmp_path / "live" / "dist"
    dist.parent.mkdir()
    publish(builds["a"], dist)
    snapshots = Snapshots(dist)
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            for name in ("a", "b"):
                publish(builds[name], dist)

    flipper = threading.Thread(target=flip)
    flipper.start()
    taken = []
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                snapshot = snapshots.take()
            except InputError:  # dist/ kept changing: the server tries again a second later
                continue
            manifest = json.loads((snapshot.path / "manifest.json").read_text())
            quads = (snapshot.path / "tipkg.nq").read_bytes()
            assert manifest["version"] == hashlib.sha256(quads).hexdigest()
            open_store(snapshot.path, Manifest.from_json(json.dumps(manifest), snapshot.path))
            taken.append(manifest["version"])
    finally:
        stop.set()
        flipper.join()
        snapshots.close()
    assert len(set(taken)) == 2 and len(taken) > 20
    assert not list(dist.parent.glob(PREFIX + "*"))


def test_snapshots_of_a_killed_server_are_removed_by_the_next(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    abandoned = tmp_path / f"{PREFIX}999999999.x"  # no such process
    (abandoned / "1").mkdir(parents=True)
    Snapshots(dist).close()
    assert not abandoned.exists()
