"""The search page, driven in-process (see ``conftest.site``): hits for words, phrases and
prefixes with their matches marked, facet links with counts that keep the other filters,
pages, JSON, a friendly 400 for what cannot be searched, markup in the data kept inert, the
search box on every page, and a sentence hit opening its report with the sentence marked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import MARKUP, InProcessSite
from test_pages import Page, get_page

from tipkg.server.pages import search as search_module

from support import REPORT_SLUG

REPORT_PAGE = f"/id/document/{REPORT_SLUG}.html"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def http(site: InProcessSite) -> httpx.Client:
    return site.client


class SearchPage(Page):
    """A search page: also its hits (``data-kind`` and all) and each facet's values."""

    def __init__(self, html: str):
        self.hits: list[dict[str, str]] = []
        self.facets: dict[str, list[tuple[str, int, str]]] = {}
        self._facet: str | None = None
        self._item: list[str] | None = None  # [link text, href, count text]
        self._in_count = False
        super().__init__(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if tag == "li" and "hit" in classes:
            self.hits.append(attributes)
        elif tag == "ul" and "facet" in classes:
            self._facet = next(c.removeprefix("facet-") for c in classes if c.startswith("facet-"))
            self.facets[self._facet] = []
        elif tag == "li" and self._facet:
            self._item = ["", "", ""]
        elif tag == "a" and self._item is not None:
            self._item[1] = attributes["href"]
        elif tag == "span" and "count" in classes and self._item is not None:
            self._in_count = True

    def handle_endtag(self, tag: str) -> None:
        super().handle_endtag(tag)
        if tag == "ul":
            self._facet = None
        elif tag == "li" and self._item is not None and self._facet:
            text, href, count = self._item
            entry = (" ".join(text.split()), int(count.replace(",", "")), href)
            self.facets[self._facet].append(entry)
            self._item = None
        elif tag == "span":
            self._in_count = False

    def handle_data(self, data: str) -> None:
        super().handle_data(data)
        if self._item is not None:
            self._item[2 if self._in_count else 0] += data


def search(http: httpx.Client, status: int = 200, **params: object) -> SearchPage:
    response = http.get("/search", params=params, headers=HTML)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return SearchPage(response.text)


def search_json(http: httpx.Client, status: int = 200, **params: object) -> dict:
    response = http.get("/search", params=params, headers={"Accept": "application/json"})
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    return response.json()


def hit_links(page: Page) -> list[tuple[str, str]]:
    """(title, href) of each hit, in order."""
    titles = [link for link in page.links if link.get("class") == "hit-link"]
    return [(" ".join(link["text"].split()), link["href"]) for link in titles]


def facet(page: SearchPage, name: str) -> dict[str, tuple[int, str]]:
    """A facet's values: name → (count, href)."""
    return {title: (count, href) for title, count, href in page.facets.get(name, [])}


def texts_of_links_to(page: Page, href: str) -> list[str]:
    """The text of each link to exactly ``href``."""
    return [" ".join(link["text"].split()) for link in page.links if link.get("href") == href]


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


# ------------------------------------------------------------------ hits


def test_haiti_finds_the_state_the_membership_and_the_sentence(http: httpx.Client) -> None:
    page = search(http, q="Haiti")
    assert hit_links(page) == [
        ("Haiti", "/id/place/haiti.html"),
        ("Haiti", "/id/membership/tipcom-haiti.html"),
        (
            "Saint Lucia takes part in two high-level meetings on trafficking in persons, "
            "May 2021, sentence 6",
            f"{REPORT_PAGE}?sentence=6#sentence-6",
        ),
    ]
    assert page.marks == ["Haiti", "Haiti", "Haiti"]
    assert "1–3 of 3 hits for Haiti" in page.text
    assert page.link_texts_to(f"/id/document/{REPORT_SLUG}/sentence/6.html") == [
        "the sentence’s own page"
    ]
    assert facet(page, "kind") == {
        "States": (1, "/search?q=Haiti&kind=state"),
        "Sentences": (1, "/search?q=Haiti&kind=sentence"),
        "Other": (1, "/search?q=Haiti&kind=other"),
    }


def test_a_phrase_finds_the_words_together_only(http: httpx.Client) -> None:
    page = search(http, q='"victim protection"')
    assert [href for _, href in hit_links(page)] == [
        "/id/concept/victim-protection-and-recovery-services.html",
        f"{REPORT_PAGE}?sentence=5#sentence-5",
    ]
    assert page.marks == ["Victim", "protection", "victim", "protection"]
    assert hit_links(search(http, q='"protection victim"')) == []
    assert "No hits for" in search(http, q='"protection victim"').text


def test_a_prefix_finds_every_word_it_starts(http: httpx.Client) -> None:
    page = search(http, q="traffick*")
    assert {mark.lower() for mark in page.marks} == {"trafficking", "traffickers"}
    assert hit_links(page)[0] == (
        "Successful prosecution of human traffickers",
        "/id/concept/prosecution-of-human-traffickers.html",
    )


def test_a_kind_filter_narrows_the_hits_and_keeps_every_kinds_count(http: httpx.Client) -> None:
    everything = search(http, q="trafficking")
    kinds = facet(everything, "kind")
    count, href = kinds["Sentences"]
    assert query_of(href) == {"q": ["trafficking"], "kind": ["sentence"]}
    narrowed = search(http, **{key: values[0] for key, values in query_of(href).items()})
    assert len(narrowed.hits) == count == 9
    assert {hit["data-kind"] for hit in narrowed.hits} == {"sentence"}
    # counted under the other filters: the kind facet still shows every kind
    assert {name: c for name, (c, _) in facet(narrowed, "kind").items()} == {
        name: c for name, (c, _) in kinds.items()
    }
    selected = facet(narrowed, "kind")["Sentences"][1]
    assert query_of(selected) == {"q": ["trafficking"]}  # the selected kind's link removes it


def test_each_active_kind_filter_removes_only_its_own_kind(http: httpx.Client) -> None:
    page = search(http, q="trafficking", kind=["sentence", "concept"])
    chips = {
        " ".join(link["text"].split()): query_of(link["href"])
        for link in page.links
        if link.get("class") == "chip"
    }
    assert chips == {
        "Sentences ×": {"q": ["trafficking"], "kind": ["concept"]},
        "Concepts ×": {"q": ["trafficking"], "kind": ["sentence"]},
    }


def test_a_filter_link_keeps_the_other_filters(http: httpx.Client) -> None:
    page = search(http, q="trafficking", kind="sentence", year="2021")
    _, href = facet(page, "document")[
        "Saint Lucia takes part in two high-level meetings on trafficking in persons, May 2021"
    ]
    assert query_of(href) == {
        "q": ["trafficking"],
        "kind": ["sentence"],
        "document": [REPORT_SLUG],
        "year": ["2021"],
    }
    assert len(search(http, q="trafficking", kind="sentence", year="2020").hits) == 0


def test_hits_come_a_page_at_a_time(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    first = [href for _, href in hit_links(search(http, q="trafficking"))]
    monkeypatch.setattr(search_module, "PAGE_SIZE", 4)
    page = search(http, q="trafficking", page=2)
    assert [href for _, href in hit_links(page)] == first[4:8]
    assert texts_of_links_to(page, "/search?q=trafficking&page=3") == ["Next →"]
    assert texts_of_links_to(page, "/search?q=trafficking") == ["← Previous"]
    assert "5–8 of 33 hits" in page.text and "Page 2 of 9" in page.text
    last = search(http, q="trafficking", page=9)
    assert len(last.hits) == 1 and not last.link_texts_to("page=10")
    assert texts_of_links_to(last, "/search?q=trafficking&page=8") == ["← Previous"]
    assert "past the last hit" in search(http, q="trafficking", page=10).text


def test_an_empty_query_shows_the_form(http: httpx.Client) -> None:
    page = search(http)
    form = [attrs for tag, attrs in page.elements if tag == "form" and attrs.get("id")]
    assert [attrs["action"] for attrs in form] == ["/search"]
    assert page.hits == [] and "How to search" in page.text


# ------------------------------------------------------------------ what cannot be searched


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": '"victim protection'}, 'unbalanced quote: close the phrase with a second "'),
        ({"q": "Haiti AND"}, "AND needs a term after it: trafficking AND smuggling"),
        (
            {"q": "Haiti", "kind": "planet"},
            "no kind 'planet': choose from meeting, state, territory, statement, sentence, "
            "report, concept, organisation, other",
        ),
        ({"q": "Haiti", "page": "0"}, "page must be a whole number from 1, not '0'"),
        ({"q": "Haiti", "page": "x"}, "page must be a whole number from 1, not 'x'"),
        ({"q": "Haiti", "page": "²"}, "page must be a whole number from 1, not '²'"),
        ({"q": "Haiti", "year": "last"}, "year must be a year such as 2021, not 'last'"),
        ({"q": "Haiti", "year": "²"}, "year must be a year such as 2021, not '²'"),
        (
            {"q": "Haiti", "page": "100000"},
            "page 100000 is past the last page shown (501): add words or filters to narrow "
            "the search",
        ),
    ],
)
def test_what_cannot_be_searched_is_a_400_that_says_why(
    http: httpx.Client, params: dict, message: str
) -> None:
    page = search(http, 400, **params)
    (_alert,) = [
        text for text in page.text.split("The search could not run.")[1:] if message in text
    ]
    inputs = [attrs for tag, attrs in page.elements if tag == "input" and attrs["name"] == "q"]
    assert {attrs.get("value") for attrs in inputs} == {params["q"]}  # the form keeps the query
    answer = search_json(http, 400, **params)
    assert answer == {"query": params["q"], "error": message}


def test_json_without_a_query_is_a_400_and_an_unknown_format_a_406(http: httpx.Client) -> None:
    assert search_json(http, 400) == {
        "query": "",
        "error": "no query: give the words to search for as ?q=",
    }
    assert http.get("/search", params={"q": "Haiti", "format": "xml"}).status_code == 406


# ------------------------------------------------------------------ JSON


def test_json_by_accept_and_by_format_parameter(http: httpx.Client, site: InProcessSite) -> None:
    by_accept = search_json(http, q="Haiti")
    by_format = http.get("/search", params={"q": "Haiti", "format": "json"}, headers=HTML)
    assert by_format.headers["content-type"] == "application/json"
    assert by_format.json() == by_accept
    assert set(by_accept) == set(
        "query total limit offset hits facets filters page pages previous next".split()
    )
    assert (by_accept["total"], by_accept["page"], by_accept["pages"]) == (3, 1, 1)
    assert by_accept["filters"] == {"kind": [], "document": None, "year": None}
    sentence = by_accept["hits"][2]
    assert sentence["iri"] == f"{site.url}id/document/{REPORT_SLUG}/sentence/6"
    assert sentence["href"] == f"/id/document/{REPORT_SLUG}/sentence/6.html"
    assert sentence["in_document"] == f"{REPORT_PAGE}?sentence=6#sentence-6"
    assert sentence["sentence"] == {"number": 6, "begin": 1093, "end": 1295}
    assert sentence["kind"] == "sentence" and sentence["year"] == 2021
    assert [part["match"] for part in sentence["snippet"]] == [False, True, False]
    assert by_accept["hits"][0]["iri"] == f"{site.url}id/place/haiti"
    assert by_accept["facets"]["kind"] == {
        "counts": [
            {"value": "other", "count": 1},
            {"value": "sentence", "count": 1},
            {"value": "state", "count": 1},
        ],
        "others": 0,
    }


def test_json_pages_link_to_each_other(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "PAGE_SIZE", 10)
    answer = search_json(http, q="trafficking", page=2)
    assert answer["previous"] == "/search?q=trafficking&format=json"
    assert answer["next"] == "/search?q=trafficking&page=3&format=json"
    assert (answer["offset"], answer["limit"], len(answer["hits"])) == (10, 10, 10)


def test_search_answers_revalidate(http: httpx.Client) -> None:
    first = http.get("/search", params={"q": "Haiti"}, headers=HTML)
    etag = first.headers["etag"]
    again = http.get("/search", params={"q": "Haiti"}, headers={**HTML, "If-None-Match": etag})
    assert again.status_code == 304
    other = http.get("/search", params={"q": "Haiti", "kind": "state"}, headers=HTML)
    assert other.headers["etag"] != etag
    as_json = http.get("/search", params={"q": "Haiti"}, headers={"Accept": "application/json"})
    assert as_json.headers["etag"] != etag


# ------------------------------------------------------------------ the search box, a sentence


@pytest.mark.parametrize("path", ["/", "/id/event/tipcom-2021.html", "/sparql", "/id/event/"])
def test_every_page_has_the_search_box(http: httpx.Client, path: str) -> None:
    page = get_page(http, path)
    forms = [attrs for tag, attrs in page.elements if tag == "form" and attrs.get("role")]
    assert {"class": "site-search", "role": "search", "method": "get", "action": "/search"} in forms
    inputs = [attrs for tag, attrs in page.elements if tag == "input"]
    assert {"id": "site-search-text", "name": "q"}.items() <= inputs[0].items()


def test_a_sentence_hit_opens_its_report_with_the_sentence_marked(http: httpx.Client) -> None:
    page = get_page(http, f"{REPORT_PAGE}?sentence=6")
    assert page.marks == [
        "The Turks and Caicos, Antigua and Barbuda, Saint Lucia; St. Vincent and the "
        "Grenadines, Haiti, and Antigua and Bermuda are among the territories that form the "
        "new trafficking in persons regional entity."
    ]
    highlighted = [a for tag, a in page.elements if "highlighted" in a.get("class", "")]
    assert [a["id"] for a in highlighted] == ["sentence-6"]
    # the facts drawn from the sentence, or from a phrase quoted in it
    assert page.link_texts_to("/id/place/haiti.html") == ["Haiti"]
    assert page.link_texts_to("/id/membership/tipcom-antigua-and-bermuda.html")
    assert "Sentence 6 is highlighted below" in page.text
    marked = http.get(f"{REPORT_PAGE}?sentence=6", headers=HTML)
    unmarked = http.get(REPORT_PAGE, headers=HTML)
    assert marked.headers["content-location"] == f"{REPORT_PAGE}?sentence=6"
    assert marked.headers["etag"] != unmarked.headers["etag"]  # a cache keeps both apart
    plain = get_page(http, REPORT_PAGE)
    assert plain.marks == [] and "highlighted below" not in plain.text
    unknown = get_page(http, f"{REPORT_PAGE}?sentence=99")
    assert unknown.marks == [] and "highlighted below" not in unknown.text


# ------------------------------------------------------------------ markup in the data


def test_markup_in_the_data_is_shown_as_text_in_hits(edited_site: InProcessSite) -> None:
    response = edited_site.client.get("/search", params={"q": "alert"}, headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert "<script>alert" not in html and "<img src=x" not in html and "<!--&" not in html
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in html
    page = Page(html)
    assert MARKUP in page.text
    assert [tag for tag, _ in page.elements if tag in ("script", "img")] == []
    answer = edited_site.client.get("/search", params={"q": "alert", "format": "json"}).json()
    (hit,) = [hit for hit in answer["hits"] if hit["kind"] == "meeting"]
    assert "".join(part["text"] for part in hit["snippet"]) == MARKUP
    assert "&lt;script&gt;" in "".join(part["html"] for part in hit["snippet"])
