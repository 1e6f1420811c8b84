"""The app around the endpoint: the build's files, VoID, HTTP caching, CORS and gzip (driven
in-process), reloading a rebuilt dist/ (on the real server), and refusing a missing or
half-written build."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from conftest import SERVER_LIMITS, InProcessSite, running_server
from rdflib.namespace import DCAT, RDF, VOID

from tipkg.errors import InputError
from tipkg.server.published import load_published
from tipkg.settings import Settings

from support import add_quads_to_build, swap_in


def manifest_of(dist_dir: Path) -> dict:
    return json.loads((dist_dir / "manifest.json").read_text())


# ------------------------------------------------------------------ downloads


def test_every_file_of_the_build_downloads_byte_for_byte(site: InProcessSite) -> None:
    client = site.client
    for entry in manifest_of(site.dist_dir)["files"]:
        answer = client.get(f"/download/{entry['name']}")
        assert answer.status_code == 200, entry["name"]
        assert answer.headers["content-type"].split(";")[0] == entry["media_type"]
        assert hashlib.sha256(answer.content).hexdigest() == entry["sha256"]
        assert answer.headers["etag"] == f'W/"{entry["sha256"]}"'
    sums = client.get("/download/SHA256SUMS")
    assert sums.text == (site.dist_dir / "SHA256SUMS").read_text()
    assert client.get("/download/secret.txt").status_code == 404


def test_downloads_revalidate_with_304(site: InProcessSite) -> None:
    url = site.url + "download/tipkg.ttl"
    first = site.client.get(url)
    assert site.client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304
    since = site.client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert site.client.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_large_responses_are_gzipped_and_small_ones_are_not(site: InProcessSite) -> None:
    large = site.client.get(site.url + "download/tipkg.nt", headers={"Accept-Encoding": "gzip"})
    assert large.headers["content-encoding"] == "gzip"
    assert large.content == (site.dist_dir / "tipkg.nt").read_bytes()  # httpx unzipped it
    assert "accept-encoding" in large.headers["vary"].lower()
    small = site.client.get(
        site.sparql, params={"query": "ASK {}"}, headers={"Accept-Encoding": "gzip"}
    )
    assert int(small.headers["content-length"]) < site.settings.gzip_min_bytes
    assert "content-encoding" not in small.headers
    # A file that is gzip already is sent as it is, not compressed again.
    packed = site.client.get(site.url + "download/tipkg.nt.gz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in packed.headers
    assert gzip.decompress(packed.content) == (site.dist_dir / "tipkg.nt").read_bytes()


# ------------------------------------------------------------------ VoID


def test_well_known_void_sends_browsers_to_the_dataset_page(site: InProcessSite) -> None:
    answer = site.client.get(
        site.url + ".well-known/void", headers={"Accept": "text/html,*/*;q=0.8"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dataset"
    page = site.client.get(
        site.url + ".well-known/void", headers={"Accept": "text/html"}, follow_redirects=True
    )
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "tipkg: regional cooperation against trafficking in persons" in page.text


def test_well_known_void_describes_the_dataset_and_its_dumps(site: InProcessSite) -> None:
    answer = site.client.get(site.url + ".well-known/void", headers={"Accept": "text/turtle"})
    assert answer.status_code == 200
    assert "accept" in answer.headers["vary"].lower()
    void = rdflib.Graph().parse(data=answer.text, format="turtle")
    dataset = rdflib.URIRef(site.url + "dataset")
    assert (dataset, RDF.type, VOID.Dataset) in void
    assert (dataset, VOID.sparqlEndpoint, rdflib.URIRef(site.sparql)) in void
    downloads = sorted(str(url) for url in void.objects(None, DCAT.downloadURL))
    assert downloads and all(url.startswith(site.url + "download/") for url in downloads)
    for url in downloads:  # every distribution the description names can be fetched here
        assert site.client.head(url).status_code == 200, url

    as_jsonld = site.client.get(
        site.url + ".well-known/void", headers={"Accept": "application/ld+json"}
    )
    assert len(rdflib.Graph().parse(data=as_jsonld.text, format="json-ld")) == len(void)
    refused = site.client.get(site.url + ".well-known/void", headers={"Accept": "image/png"})
    assert refused.status_code == 406


# ------------------------------------------------------------------ CORS


def test_cors_preflight_allows_any_origin_to_post_queries(site: InProcessSite) -> None:
    answer = site.client.options(
        site.sparql,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "content-type" in answer.headers["access-control-allow-headers"].lower()
    simple = site.client.get(site.url + "download/SHA256SUMS", headers={"Origin": "https://x.org"})
    assert simple.headers["access-control-allow-origin"] == "*"


# ------------------------------------------------------------------ example queries


def test_every_example_query_runs_on_the_server(site: InProcessSite) -> None:
    """Each example gives the same number of rows served as on the build's store itself."""
    published = load_published(site.dist_dir, site.settings)
    assert len(published.queries) == len(manifest_of(site.dist_dir)["queries"]) > 0
    for name, example in published.queries.items():
        assert example.title and example.question, name
        result = published.store.query(
            example.text, base_iri=published.base_iri, prefixes=published.prefixes
        )
        answer = site.client.get(
            site.sparql,
            params={"query": example.text},
            headers={"Accept": "text/tab-separated-values, application/n-triples"},
        )
        assert answer.status_code == 200, (name, answer.text)
        if isinstance(result, ox.QueryBoolean):
            assert answer.text == str(bool(result)).lower(), name
            continue
        expected = len(list(result))
        lines = answer.text.splitlines()
        got = (
            len(lines) - 1 if answer.headers["content-type"].startswith("text/tab") else len(lines)
        )
        assert expected > 0, name
        assert got == min(expected, site.settings.max_rows), name


# ------------------------------------------------------------------ the build, loaded and reloaded


def rebuild_with(dist_dir: Path, nquads: str) -> None:
    """Replace ``dist_dir`` the way ``tipkg build`` does, by a build that also states ``nquads``."""
    swap_in(dist_dir, dist_dir, nquads)


def test_a_rebuilt_dist_is_served_without_a_restart(dist_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(dist_dir, copy)
    base = manifest_of(copy)["base_iri"]
    ask = "ASK { <urn:tipkg:test> <urn:tipkg:added> ?o }"
    with running_server(copy, base_iri=base, **SERVER_LIMITS) as running:
        first = httpx.get(running.sparql, params={"query": ask})
        assert first.json()["boolean"] is False
        rebuild_with(copy, f'<urn:tipkg:test> <urn:tipkg:added> "x" <{base}graph/shared> .\n')
        deadline = time.monotonic() + 10
        while not httpx.get(running.sparql, params={"query": ask}).json()["boolean"]:
            assert time.monotonic() < deadline, "the rebuilt dist/ was not picked up"
            time.sleep(0.2)
        stale = httpx.get(
            running.sparql, params={"query": ask}, headers={"If-None-Match": first.headers["etag"]}
        )
        assert stale.status_code == 200  # a new build is a new version: old ETags are stale

        # A rebuild caught half-way (manifest promising bytes that are not there) is not
        # loaded: the previous build keeps being served.
        manifest = manifest_of(copy)
        next(f for f in manifest["files"] if f["name"] == "tipkg.ttl")["bytes"] += 1
        (copy / "manifest.json").write_text(json.dumps(manifest))
        time.sleep(1.5)
        assert httpx.get(running.sparql, params={"query": ask}).json()["boolean"] is True


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "no build here: run `tipkg build` first"),
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json: the build is missing"),
        (lambda d: (d / "manifest.json").write_text("{"), "unreadable manifest"),
        (lambda d: (d / "tipkg.nq").unlink(), "missing tipkg.nq: the build is unfinished"),
        (lambda d: shutil.rmtree(d / "store"), "missing store/: rebuild with `tipkg build`"),
        (lambda d: (d / "store" / "CURRENT").write_text("x"), "unreadable store"),
        (
            lambda d: (d / "tipkg.ttl").write_text("@prefix"),
            "tipkg.ttl: 7 bytes, manifest.json says",
        ),
        (
            lambda d: (d / "manifest.json").write_text('{"base_iri": "x"}'),
            "manifest lacks version, modified, triples, graphs, files",
        ),
        (
            lambda d: (d / "manifest.json").write_text(
                (d / "manifest.json").read_text().replace('"triples": ', '"triples": "x", "_": ', 1)
            ),
            'manifest.triples is "x", not int',
        ),
    ],
)
def test_missing_or_half_written_build_is_one_line_input_error(
    dist_dir: Path, tmp_path: Path, damage: object, message: str
) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(dist_dir, copy)
    damage(copy)  # type: ignore[operator]
    with pytest.raises(InputError) as raised:
        load_published(copy, Settings.load(environ={}))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert str(copy) in str(raised.value)


def test_a_store_from_another_build_is_refused(dist_dir: Path, tmp_path: Path) -> None:
    """The store must be the one the manifest describes: a manifest of a later build beside
    the previous build's store (a swap gone wrong) is a one-line error, not a mixed answer."""
    copy = tmp_path / "dist"
    shutil.copytree(dist_dir, copy)
    add_quads_to_build(copy, "<urn:tipkg:x> <urn:tipkg:y> <urn:tipkg:z> .\n")
    shutil.rmtree(copy / "store")
    shutil.copytree(dist_dir / "store", copy / "store")
    with pytest.raises(InputError) as raised:
        load_published(copy, Settings.load(environ={}))
    assert "the store is not the build manifest.json describes" in str(raised.value)


def test_base_iri_rule(dist_dir: Path) -> None:
    """The served base is the build's; one asked for explicitly must be that one."""
    built = manifest_of(dist_dir)["base_iri"]
    assert load_published(dist_dir, Settings.load(environ={})).base_iri == built
    same = load_published(dist_dir, Settings.load({"base_iri": built}, environ={}))
    assert same.base_iri == built
    assert same.path_for_iri(built + "id/event/x") == "/id/event/x"
    assert same.iri_for_path("/id/event/x") == built + "id/event/x"
    assert same.path_for_iri("http://127.0.0.1:9000/id/event/x") is None
    with pytest.raises(InputError) as raised:
        load_published(dist_dir, Settings.load({"base_iri": "http://127.0.0.1:9000/"}, environ={}))
    message = str(raised.value)
    assert "\n" not in message
    assert built in message and "http://127.0.0.1:9000/" in message
    assert "`tipkg --base-iri http://127.0.0.1:9000/ build`" in message
    from_environment = Settings.load(environ={"TIPKG_BASE_IRI": "http://127.0.0.1:9000/"})
    with pytest.raises(InputError):
        load_published(dist_dir, from_environment)
