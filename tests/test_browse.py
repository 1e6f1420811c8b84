"""Browsing: the listings the build writes (the file format read a page at a time in every
order; the members, labels, dates and timeline rows of the real project's build) and the pages
that show them, driven in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import InProcessSite
from test_pages import Page

from tipkg.browse.listing import Listing, listing_paths, write_listing
from tipkg.browse.rows import sort_key
from tipkg.dist import BROWSE_DIR, BROWSE_KINDS, TIMELINE_LISTING, read_manifest
from tipkg.server.pages import browse as browse_pages

from support import REPORT_SLUG

BASE = "https://w3id.org/tipkg/"


def open_listing(dist_dir: Path, name: str) -> Listing:
    entry = read_manifest(dist_dir).listing(name)
    assert entry is not None, name
    return Listing(dist_dir / BROWSE_DIR, name, entry["rows"], len(entry["orders"]))


# ------------------------------------------------------------------ the file format


@pytest.fixture
def letters(tmp_path: Path) -> Listing:
    """Ten rows by label, and a second order that reverses them."""
    rows = [{"iri": f"x:{n}", "label": f"Row {n}", "note": "ü\u2028<&>"} for n in range(10)]
    write_listing(tmp_path, "letters", rows, [list(range(9, -1, -1))])
    return Listing(tmp_path, "letters", 10, 2)


def test_a_page_is_read_in_the_first_order(letters: Listing) -> None:
    assert [row["iri"] for row in letters.page(3, 4)] == ["x:3", "x:4", "x:5", "x:6"]
    assert letters.page(0, 1)[0] == {"iri": "x:0", "label": "Row 0", "note": "ü\u2028<&>"}
    assert [row["iri"] for row in letters.page(8, 5)] == ["x:8", "x:9"]
    assert letters.page(10, 5) == [] and letters.page(50, 5) == []


def test_a_page_is_read_in_another_order(letters: Listing) -> None:
    assert [row["iri"] for row in letters.page(0, 3, order=1)] == ["x:9", "x:8", "x:7"]
    assert [row["iri"] for row in letters.page(9, 3, order=1)] == ["x:0"]
    with pytest.raises(ValueError, match="no order 2"):
        letters.page(0, 3, order=2)


def test_an_index_that_does_not_fit_the_manifest_is_refused(tmp_path: Path) -> None:
    write_listing(tmp_path, "short", [{"iri": "x:1"}])
    with pytest.raises(ValueError, match="does not index 2 rows"):
        Listing(tmp_path, "short", 2)


def test_an_order_must_hold_every_row_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a permutation"):
        write_listing(tmp_path, "bad", [{"iri": "a"}, {"iri": "b"}], [[0, 0]])


def test_an_empty_listing_reads_as_empty(tmp_path: Path) -> None:
    written = write_listing(tmp_path, "none", [], [[]])
    assert [(f.name, f.bytes) for f in written] == [
        (f"{tmp_path.name}/none.jsonl", 0),
        (f"{tmp_path.name}/none.index", 8),
    ]
    assert Listing(tmp_path, "none", 0, 2).page(0, 10, order=1) == []


def test_labels_sort_by_words_and_numbers_not_case_or_accents() -> None:
    labels = ["meeting 10", "Meeting 2", "Émile", "emile b", "Zed"]
    assert sorted(labels, key=sort_key) == ["Émile", "emile b", "Meeting 2", "meeting 10", "Zed"]


# ------------------------------------------------------------------ the real project's build


def test_every_kind_and_the_timeline_are_listed_in_the_manifest_and_the_sums(
    dist_dir: Path,
) -> None:
    manifest = read_manifest(dist_dir)
    assert [entry["name"] for entry in manifest.listings] == [*BROWSE_KINDS, TIMELINE_LISTING]
    sums = dict(
        reversed(line.split("  ")) for line in (dist_dir / "SHA256SUMS").read_text().splitlines()
    )
    for entry in manifest.listings:
        rows_path, index_path = listing_paths(dist_dir / BROWSE_DIR, entry["name"])
        names = [f"{BROWSE_DIR}/{rows_path.name}", f"{BROWSE_DIR}/{index_path.name}"]
        assert [f["name"] for f in entry["files"]] == names
        assert all(name in sums for name in names)
        assert len(rows_path.read_text(encoding="utf-8").splitlines()) == entry["rows"]


def test_events_are_listed_by_label_and_by_date(dist_dir: Path) -> None:
    events = open_listing(dist_dir, "event")
    by_label = [(row["label"], row.get("date")) for row in events.page(0, 100)]
    assert by_label == [
        ("Annual regional Trafficking In Persons Committee Meeting", None),
        ("COVID-19 pandemic", None),
        ("First annual regional Trafficking In Persons Committee Meeting (TIPCOM)", "2021-05-06"),
        ("Meeting of National Authorities on Trafficking in Persons", None),
        (
            "Organization of American States (OAS) Sixth Meeting of National Authorities on "
            "Trafficking in Persons",
            "2021-05-13",
        ),
    ]
    by_date = [row["iri"].removeprefix(BASE) for row in events.page(0, 100, order=1)]
    assert by_date == [
        "id/event/tipcom-2021",
        "id/event/oas-national-authorities-tip-2021",
        "id/event/tipcom-annual-meeting",
        "id/event/covid-19-pandemic",
        "id/event/oas-meeting-of-national-authorities-on-trafficking-in-persons",
    ]
    assert read_manifest(dist_dir).listing("event")["dated"] == 2  # type: ignore[index]


def test_members_are_one_segment_under_their_path(dist_dir: Path) -> None:
    documents = open_listing(dist_dir, "document").page(0, 100)
    assert documents == [
        {
            "iri": f"{BASE}id/document/saint-lucia-tip-meetings-2021",
            "label": "Saint Lucia takes part in two high-level meetings on trafficking in persons, "
            "May 2021",
        }
    ]
    places = [row["label"] for row in open_listing(dist_dir, "place").page(0, 100)]
    assert "Saint Lucia" in places and "Argentina" in places
    assert places == sorted(places, key=sort_key)


def test_the_timeline_has_each_meeting_with_host_series_and_reports(dist_dir: Path) -> None:
    rows = open_listing(dist_dir, TIMELINE_LISTING).page(0, 100)
    assert [row["iri"].removeprefix(BASE) for row in rows] == [
        "id/event/tipcom-2021",
        "id/event/oas-national-authorities-tip-2021",
    ]
    first = rows[0]
    assert (first["date"], first["end"]) == ("2021-05-06", "2021-05-06")
    assert first["hosts"] == [
        {
            "iri": f"{BASE}id/org/bahamas-ministry-of-national-security",
            "label": "National Security Ministry of The Bahamas",
        }
    ]
    assert [s["label"] for s in first["series"]] == [
        "Annual regional Trafficking In Persons Committee Meeting"
    ]
    assert [r["iri"] for r in first["reports"]] == [
        f"{BASE}id/document/saint-lucia-tip-meetings-2021"
    ]
    assert [h["label"] for h in rows[1]["hosts"]] == ["Argentina"]
    assert json.loads(json.dumps(rows)) == rows


# ------------------------------------------------------------------ the pages


def member_links(page: Page) -> list[tuple[str, str]]:
    """(name, href) of each row of a listing's table."""
    return [
        (" ".join(link["text"].split()), link["href"])
        for link in page.links
        if link.get("href", "").endswith(".html") and link["href"].startswith("/id/")
    ]


def get(site: InProcessSite, path: str, status: int = 200) -> Page:
    response = site.client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, (path, response.text[:300])
    return Page(response.text)


def test_a_kind_lists_its_members_by_name_with_links(site: InProcessSite) -> None:
    page = get(site, "/id/event/")
    assert member_links(page) == [
        (
            "Annual regional Trafficking In Persons Committee Meeting",
            "/id/event/tipcom-annual-meeting.html",
        ),
        ("COVID-19 pandemic", "/id/event/covid-19-pandemic.html"),
        (
            "First annual regional Trafficking In Persons Committee Meeting (TIPCOM)",
            "/id/event/tipcom-2021.html",
        ),
        (
            "Meeting of National Authorities on Trafficking in Persons",
            "/id/event/oas-meeting-of-national-authorities-on-trafficking-in-persons.html",
        ),
        (
            "Organization of American States (OAS) Sixth Meeting of National Authorities on "
            "Trafficking in Persons",
            "/id/event/oas-national-authorities-tip-2021.html",
        ),
    ]
    assert "5 in all" in page.text and "6 May 2021" in page.text
    assert page.link_texts_to("/id/event/?sort=date") == ["date"]


def test_a_kind_sorts_by_date_dated_first(site: InProcessSite) -> None:
    page = get(site, "/id/event/?sort=date")
    assert [href for _, href in member_links(page)][:2] == [
        "/id/event/tipcom-2021.html",
        "/id/event/oas-national-authorities-tip-2021.html",
    ]
    times = [attrs["datetime"] for tag, attrs in page.elements if tag == "time"]
    assert times == ["2021-05-06", "2021-05-13"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("place", {("Haiti", "/id/place/haiti.html"), ("Argentina", "/id/place/argentina.html")}),
        (
            "org",
            {
                ("Regional Trafficking In Persons Committee", "/id/org/tipcom.html"),
                (
                    "National Security Ministry of The Bahamas",
                    "/id/org/bahamas-ministry-of-national-security.html",
                ),
            },
        ),
        (
            "concept",
            {
                (
                    "Victim protection and recovery services",
                    "/id/concept/victim-protection-and-recovery-services.html",
                )
            },
        ),
        (
            "document",
            {
                (
                    "Saint Lucia takes part in two high-level meetings on trafficking in "
                    "persons, May 2021",
                    f"/id/document/{REPORT_SLUG}.html",
                )
            },
        ),
    ],
)
def test_every_kind_is_listed_with_labels_and_working_links(
    site: InProcessSite, kind: str, expected: set[tuple[str, str]]
) -> None:
    page = get(site, f"/id/{kind}/")
    members = member_links(page)
    entry = read_manifest(site.dist_dir).listing(kind)
    assert entry is not None and len(members) == entry["rows"]
    assert expected <= set(members)
    assert [name for name, _ in members] == sorted((name for name, _ in members), key=sort_key)
    for _, href in members:
        assert site.client.get(href).status_code == 200, href
    if not entry["dated"]:
        assert not page.link_texts_to("sort=date")


def test_a_listing_comes_a_page_at_a_time(
    site: InProcessSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = [href for _, href in member_links(get(site, "/id/event/?sort=date"))]
    monkeypatch.setattr(browse_pages, "PAGE_SIZE", 2)
    first = get(site, "/id/event/?sort=date")
    assert [href for _, href in member_links(first)] == everything[:2]
    assert first.link_texts_to("/id/event/?sort=date&page=2") == ["Next →"]
    assert first.link_texts_to("/id/event/?sort=date&page=3") == ["Last »"]
    second = get(site, "/id/event/?sort=date&page=2")
    assert [href for _, href in member_links(second)] == everything[2:4]
    assert "5 in all, 3–4 shown, by date" in second.text and "Page 2 of 3" in second.text
    last = get(site, "/id/event/?sort=date&page=3")
    assert [href for _, href in member_links(last)] == everything[4:]
    get(site, "/id/event/?page=4", 404)
    get(site, "/id/event/?page=zero", 400)
    get(site, "/id/event/?page=²", 400)  # a digit to str.isdigit, not to int
    get(site, "/timeline?page=²", 400)
    get(site, "/id/event/?sort=colour", 400)


def test_a_listing_page_revalidates(site: InProcessSite) -> None:
    first = site.client.get("/id/place/")
    again = site.client.get("/id/place/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert site.client.get("/id/place/?page=1").headers["etag"] == first.headers["etag"]


def test_the_timeline_shows_meetings_by_date_with_host_series_and_reports(
    site: InProcessSite,
) -> None:
    page = get(site, "/timeline")
    meetings = [
        " ".join(link["text"].split())
        for link in page.links
        if link.get("href")
        in ("/id/event/tipcom-2021.html", "/id/event/oas-national-authorities-tip-2021.html")
    ]
    assert meetings == [
        "First annual regional Trafficking In Persons Committee Meeting (TIPCOM)",
        "Organization of American States (OAS) Sixth Meeting of National Authorities on "
        "Trafficking in Persons",
    ]
    assert page.link_texts_to("/id/org/bahamas-ministry-of-national-security.html") == [
        "National Security Ministry of The Bahamas"
    ]
    assert page.link_texts_to("/id/place/argentina.html") == ["Argentina"]
    assert page.link_texts_to("/id/event/tipcom-annual-meeting.html") == [
        "Annual regional Trafficking In Persons Committee Meeting"
    ]
    assert len(page.link_texts_to(f"/id/document/{REPORT_SLUG}.html")) == 2
    assert "13 May 2021 to 14 May 2021" in page.text
    assert "year-2021" in page.ids and page.link_texts_to("/timeline#year-2021") == ["2021"]


def test_the_landing_page_and_the_frame_lead_to_the_listings(site: InProcessSite) -> None:
    page = get(site, "/")
    for path, title in [
        ("/id/event/", "Events"),
        ("/id/place/", "Places"),
        ("/id/org/", "Organisations"),
        ("/id/concept/", "Concepts"),
        ("/id/document/", "Documents"),
        ("/timeline", "Timeline of meetings"),
    ]:
        assert title in page.link_texts_to(path), path
    assert "Browse" in page.link_texts_to("/id/event/")
    assert "Timeline" in page.link_texts_to("/timeline")
