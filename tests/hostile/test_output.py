"""Why 3, "javascript: links": no IRI from the data or from a query's answer becomes a link
that runs code, and every response carries a Content-Security-Policy, ``nosniff`` and frame
protection. The hostile build (see ``probes.HOSTILE_QUADS``) links the first meeting to
``javascript:``, ``vbscript:`` and ``data:`` IRIs, as a value, a property, a class and an
incoming link. Checked in the HTML the server sends and in a real browser with YASGUI running.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, expect

from hostile.probes import JAVASCRIPT_QUERY, MEETING, ServerProcess

HTML = {"Accept": "text/html"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class Links(HTMLParser):
    """Every URL an element of the page would follow or load."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.urls.append(value)


def unsafe_urls(html: str) -> list[str]:
    return [url for url in Links(html).urls if urlsplit(url.strip()).scheme not in SAFE_SCHEMES]


def test_no_iri_in_the_data_or_an_answer_becomes_an_unsafe_link(hostile: ServerProcess) -> None:
    with httpx.Client(base_url=hostile.url, headers=HTML) as client:
        pages = {
            "resource page": client.get(f"/{MEETING}.html"),
            "results table": client.get("/sparql", params={"query": JAVASCRIPT_QUERY}),
            "landing page": client.get("/"),
            "ontology page": client.get("/ontology.html"),
        }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert unsafe_urls(page.text) == [], name
    # The IRIs are still shown, as text.
    assert "javascript:alert(document.domain)" in pages["resource page"].text
    assert "javascript:alert(document.domain)" in pages["results table"].text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", HTML),
        ("/sparql", HTML),
        ("/sparql?query=ASK%7B%7D", {}),
        (f"/{MEETING}.html", {}),
        (f"/{MEETING}.ttl", {}),
        ("/download/tipkg.nq", {}),
        ("/static/tipkg.css", {}),
        ("/nowhere", HTML),
        ("/sparql?query=ASK%7B%7D", {"Accept": "a/b," * 60}),
    ],
)
def test_every_response_carries_the_security_headers(
    hostile: ServerProcess, path: str, headers: dict[str, str]
) -> None:
    answer = httpx.get(hostile.url.rstrip("/") + path, headers=headers)
    # Written out here, not imported: a policy loosened in the server must fail this test.
    assert answer.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"


@pytest.mark.browser
def test_no_javascript_url_is_clickable_in_a_browser(
    browser: Browser, hostile: ServerProcess
) -> None:
    """On the resource page, in YASGUI's results and in the no-JavaScript results table: no
    element links to an unsafe scheme, clicking the IRI's text opens no dialog, and nothing
    trips the Content-Security-Policy."""
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    problems: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    unsafe = """() => Array.from(document.querySelectorAll('[href],[src]'))
        .map(e => e.href || e.src)
        .filter(u => !['http:', 'https:', 'mailto:'].includes(new URL(u, location.href).protocol))
    """

    page.goto(f"{hostile.url}{MEETING}.html")
    expect(page.get_by_text("javascript:alert(document.domain)").first).to_be_visible()
    page.get_by_text("javascript:alert(document.domain)").first.click()
    assert page.evaluate(unsafe) == []

    page.goto(hostile.url + "sparql?" + urlencode({"query": JAVASCRIPT_QUERY}))
    cell = page.locator(".yasr table tbody td", has_text="javascript:")
    expect(cell.first).to_be_visible(timeout=15_000)
    cell.first.click()
    assert page.evaluate(unsafe) == []

    plain = browser.new_context(java_script_enabled=False).new_page()
    plain.goto(hostile.url + "sparql?" + urlencode({"query": JAVASCRIPT_QUERY}))
    expect(plain.locator("table.result-table")).to_contain_text("javascript:alert")
    plain.get_by_text("javascript:alert(document.domain)").first.click()
    assert all(
        urlsplit(href or "").scheme in SAFE_SCHEMES
        for href in plain.locator("[href]").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
    )
    page.wait_for_timeout(300)
    plain.context.close()
    context.close()
    assert dialogs == []
    assert problems == []
