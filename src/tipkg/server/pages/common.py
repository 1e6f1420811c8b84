"""What every page module shares before anything is named: where the templates and static files
are, the version of the pages, the template environment, page queries, editor links and JSON that
is safe inside ``<script>``.

Templates autoescape everything; the only markup Jinja does not escape is the embedded JSON-LD
and editor configuration, which :func:`script_json` makes safe. No IRI from the data becomes a
link unless :func:`clickable` says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from tipkg.server.published import Published

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


def _fingerprint(folders: Iterable[Path]) -> str:
    """A digest of the templates and our own static files: part of every page's ETag, so a new
    release of the pages is never answered with a 304 for a page rendered by the old one."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.glob("*") if p.is_file()):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


PAGES_VERSION = _fingerprint((TEMPLATES_DIR, STATIC_DIR))
CLICKABLE_SCHEMES = frozenset({"http", "https", "mailto"})
# Items per page of a list that grows with the corpus (documents, a class's instances).
LIST_PAGE_SIZE = 50


def page_total(count: int, size: int) -> int:
    """How many pages of ``size`` ``count`` items fill (one, when there are none)."""
    return max(1, -(-count // size))


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)


def html_variant(name: str) -> str:
    """The ETag variant of an HTML page: its name and the version of the pages code."""
    return f"html {PAGES_VERSION} {name}"


def select(published: Published, query: str, **terms: Any) -> ox.QuerySolutions:
    """A SELECT over the build's default graph (the merge: each triple once) with the project's
    prefixes; ``$name`` in the text is replaced by ``terms[name]`` written as N-Triples. Page
    queries are ours and run in-process, so each must be bounded by what its page shows."""
    text = Template(query).substitute({name: str(term) for name, term in terms.items()})
    return published.store.query(text, prefixes=published.prefixes)


def clickable(iri: str) -> bool:
    """Whether a link to ``iri`` may be followed from a page: an http(s) or mailto IRI, or a
    path on this server. Any other scheme (``javascript:``, ``data:``, ``vbscript:``, …) could
    run code in the page's origin when clicked, and data can hold any IRI."""
    if iri.startswith("/") and not iri.startswith("//"):
        return True
    return urlsplit(iri).scheme.lower() in CLICKABLE_SCHEMES


@dataclass(frozen=True)
class PageLinks:
    """Where a paginated list's neighbouring pages are (``None`` where there is none)."""

    page: int
    previous: str | None
    next: str | None


def page_links(page: int, more: bool, anchor: str, **params: str) -> PageLinks:
    """``?page=`` links (with ``params``, to ``#anchor``) around page ``page`` of a list;
    ``more`` says whether a later page holds anything."""

    def href(number: int) -> str:
        return "?" + urlencode({**params, "page": str(number)}) + f"#{anchor}"

    return PageLinks(
        page=page,
        previous=href(page - 1) if page > 1 else None,
        next=href(page + 1) if more else None,
    )


def sparql_href(query: str, **extra: str) -> str:
    """A link that opens ``query`` in the editor (and runs it)."""
    return "/sparql?" + urlencode({"query": query, **extra})


def example_links(published: Published) -> list[dict[str, str]]:
    """The example queries as the landing page and the editor list them, each runnable by link."""
    return [
        {
            "name": example.name,
            "title": example.title,
            "question": example.question,
            "text": example.text,
            "href": sparql_href(example.text),
        }
        for example in published.queries.values()
    ]


def script_json(document: Any) -> Markup:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` survives unescaped,
    so no literal can close the script element or open a comment."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
