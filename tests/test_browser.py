"""A newcomer's tour in a real browser (Debian's chromium through Playwright), offline.

Open the landing page, run an example query in the editor and see the result table, open a
resource page and follow a link; also the same query with JavaScript off. Any request to a
host other than the test server fails the test (the pages must work with no internet), and so
does anything the server's Content-Security-Policy blocks.
Screenshots go to ``tests/artifacts/`` for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RunningServer
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tipkg.server.pages.editor import VENDOR_DIR, yasgui_available

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 900}


class Offline:
    """Refuses and records every request that does not go to the server under test."""

    def __init__(self, context: BrowserContext, server_url: str):
        self.server_url = server_url
        self.refused: list[str] = []
        context.route("**/*", self.route)

    def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.server_url) or url.startswith("data:"):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


@pytest.fixture
def tour(browser: Browser, server: RunningServer) -> Iterator[tuple[Page, Offline]]:
    context = browser.new_context(viewport=VIEWPORT)
    offline = Offline(context, server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The pages, YASGUI included, work under the server's Content-Security-Policy: anything it
    # blocks is logged by chromium as a console error, and fails the tour.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page, offline
    context.close()
    assert not errors, errors
    assert not offline.refused, f"the pages asked for outside resources: {offline.refused}"


def shot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=full_page)


def test_vendored_editor_is_installed() -> None:
    assert yasgui_available(), (
        f"YASGUI is not in {VENDOR_DIR}: run `npm ci --ignore-scripts && scripts/vendor-assets.sh`"
    )


def test_run_an_example_query_then_open_and_follow_a_resource(
    tour: tuple[Page, Offline], server: RunningServer
) -> None:
    page, _ = tour
    page.goto(server.url)
    expect(page.locator("h1")).to_contain_text("trafficking in persons")
    shot(page, "landing.png")

    first_example = page.locator("#questions .example").first
    question = first_example.locator(".question").inner_text()
    first_example.get_by_role("link", name="Run this query").click()
    page.wait_for_url("**/sparql?query=*")
    expect(page.locator("#yasgui")).to_be_visible()
    rows = page.locator(".yasr table tbody tr")
    expect(rows.first).to_be_visible(timeout=15_000)
    assert rows.count() > 0, question
    expect(page.locator(".yasr")).not_to_contain_text("Error")
    shot(page, "sparql-example-results.png")

    page.goto(server.url)
    meetings = page.locator(".class-card").filter(
        has=page.locator(".class-name", has_text=re.compile(r"^Meeting$"))
    )
    meetings.locator("summary").click()
    meetings.get_by_role(
        "link", name="First annual regional Trafficking In Persons Committee"
    ).click()
    page.wait_for_url("**/id/event/tipcom-2021.html")
    expect(page.locator("h1")).to_have_text(
        "First annual regional Trafficking In Persons Committee Meeting (TIPCOM)"
    )
    expect(page.locator("aside.notes")).to_be_visible()
    expect(page.locator("mark.sentence").first).to_be_visible()
    shot(page, "resource-meeting.png")

    page.locator(".facts dd a", has_text="National Security Ministry of The Bahamas").first.click()
    page.wait_for_url("**/id/org/bahamas-ministry-of-national-security.html")
    expect(page.locator("h1")).to_have_text("National Security Ministry of The Bahamas")
    expect(page.locator("mark.phrase")).to_have_text(
        "Commonwealth of the Bahamas National Security Ministry"
    )
    shot(page, "resource-followed-link.png")


def test_query_results_without_javascript(browser: Browser, server: RunningServer) -> None:
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    offline = Offline(context, server.url)
    page = context.new_page()
    page.goto(server.url + "sparql")
    expect(page.locator("#yasgui")).to_be_hidden()
    page.locator("#query-text").fill(
        "SELECT ?member ?name WHERE { ?membership org:organization tiporg:tipcom ;"
        " tip:nameAsStated ?name . OPTIONAL { ?membership org:member ?member } } ORDER BY ?name"
    )
    page.get_by_role("button", name="Run query").click()
    page.wait_for_url("**/sparql?query=*")
    table = page.locator("table.result-table")
    expect(table.locator("tbody tr")).to_have_count(6)
    expect(table).to_contain_text("Antigua and Bermuda")
    expect(page.locator(".downloads-line").get_by_role("link", name="CSV")).to_be_visible()
    shot(page, "sparql-no-javascript.png")
    table.get_by_role("link", name="Haiti").click()
    page.wait_for_url("**/id/place/haiti.html")
    expect(page.locator("h1")).to_have_text("Haiti")
    context.close()
    assert not offline.refused


def test_hash_iris_land_on_their_anchor(tour: tuple[Page, Offline], server: RunningServer) -> None:
    page, _ = tour
    page.goto(server.url + "ontology#Meeting")
    page.wait_for_url("**/ontology.html#Meeting")
    term = page.locator("#Meeting")
    expect(term).to_be_in_viewport()
    expect(term).to_contain_text("A gathering of representatives")
    shot(page, "ontology-meeting.png", full_page=False)

    page.goto(server.url + "id/document/saint-lucia-tip-meetings-2021#char=1192,1211")
    phrase = page.locator('[id="char=1192,1211"]')
    expect(phrase).to_have_text("Antigua and Bermuda")
    expect(phrase).to_be_in_viewport()
    shot(page, "document-phrase.png", full_page=False)


def test_search_from_the_landing_page_filter_by_kind_and_open_a_sentence(
    tour: tuple[Page, Offline], server: RunningServer
) -> None:
    page, _ = tour
    page.goto(server.url)
    page.locator("#site-search-text").fill("trafficking")
    page.locator("#site-search-text").press("Enter")
    page.wait_for_url("**/search?q=trafficking")
    hits = page.locator(".hit")
    expect(hits).to_have_count(20)
    expect(page.locator(".search-summary")).to_contain_text("1–20 of 33 hits")
    expect(hits.first.locator("mark").first).to_have_text(re.compile("trafficking", re.I))
    shot(page, "search.png")

    sentences = page.locator(".facet-kind li", has_text="Sentences")
    expect(sentences.locator(".count")).to_have_text("9")
    sentences.get_by_role("link").click()
    page.wait_for_url("**/search?q=trafficking&kind=sentence")
    expect(hits).to_have_count(9)
    assert set(hits.evaluate_all("items => items.map(item => item.dataset.kind)")) == {"sentence"}
    expect(page.locator(".facet-kind a.selected")).to_have_text("Sentences")
    concepts = page.locator(".facet-kind li", has_text="Concepts")
    expect(concepts.locator(".count")).to_have_text("11")  # the other kinds keep their counts
    shot(page, "search-filtered.png")

    first = hits.first.locator("a.hit-link")
    number = hits.first.locator(".hit-meta").inner_text().split(",")[0].split()[-1]
    first.click()
    page.wait_for_url(f"**/id/document/*.html?sentence={number}#sentence-{number}")
    sentence = page.locator(f"#sentence-{number}")
    expect(sentence).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(sentence.locator("mark.sentence-hit")).to_be_in_viewport()
    expect(page.locator(".sentence-focus")).to_contain_text(f"Sentence {number}")
    assert page.locator("mark.sentence-hit").count() == 1
    shot(page, "search-sentence-highlighted.png", full_page=False)


def test_a_search_the_index_cannot_read_says_why_on_the_page(
    tour: tuple[Page, Offline], server: RunningServer
) -> None:
    page, _ = tour
    page.goto(server.url + "search")
    page.locator("#search-text").fill('"victim protection')
    page.get_by_role("button", name="Search", exact=True).last.click()
    expect(page.locator(".search-error")).to_contain_text("unbalanced quote")
    expect(page.locator("#search-text")).to_have_value('"victim protection')


def test_browse_a_kind_by_date_and_the_timeline(
    tour: tuple[Page, Offline], server: RunningServer
) -> None:
    page, _ = tour
    page.goto(server.url)
    page.locator("#browse").get_by_role("link", name="Events").click()
    page.wait_for_url("**/id/event/")
    expect(page.locator("table.members tbody tr")).to_have_count(5)
    page.locator(".listing-summary").get_by_role("link", name="date").click()
    page.wait_for_url("**/id/event/?sort=date")
    expect(page.locator("table.members tbody tr").first).to_contain_text("6 May 2021")
    shot(page, "browse-events.png")

    page.locator(".site-header nav").get_by_role("link", name="Timeline").click()
    page.wait_for_url("**/timeline")
    expect(page.locator(".meeting")).to_have_count(2)
    expect(page.locator(".meeting").first).to_contain_text(
        "National Security Ministry of The Bahamas"
    )
    shot(page, "timeline.png")
    page.locator(".meeting").first.get_by_role("link", name="First annual regional").click()
    page.wait_for_url("**/id/event/tipcom-2021.html")
