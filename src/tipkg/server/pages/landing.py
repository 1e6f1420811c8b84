"""The landing page: what the dataset is, what it holds, its sources, example queries and
downloads, with a schema.org ``Dataset`` in JSON-LD for search engines.

Its lists grow with the corpus, so each is paginated: ``?page=N`` pages the source documents
(from the manifest), ``?class=tip:Meeting&page=N`` one class's instances (opened in place).
Everything else comes from the manifest and the figures computed once per build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.server.errors import NotFound
from tipkg.server.pages.browse import browse_links
from tipkg.server.pages.common import (
    LIST_PAGE_SIZE,
    PageLinks,
    example_links,
    html_variant,
    page_links,
    script_json,
)
from tipkg.server.pages.facts import BuildFacts, ClassSummary, build_facts, class_members, first_iri
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import DESCRIPTION_PREDICATES, Namer, readable_date
from tipkg.server.published import Published
from tipkg.server.web import current_published, not_modified, page_number, site_url
from tipkg.vocab import DCAT, DCTERMS


@dataclass(frozen=True)
class Download:
    """A file of the build as the downloads table lists it."""

    name: str
    href: str
    media_type: str
    size: str
    bytes: int
    sha256: str
    triples: int | None


def human_size(size: int) -> str:
    """``1234567`` → ``1.2 MB`` (decimal units, as download sizes are usually given)."""
    if size < 1000:
        return f"{size} bytes"
    for power, unit in enumerate(("kB", "MB"), start=1):
        if size / 1000**power < 1000:
            return f"{size / 1000**power:.1f} {unit}"
    return f"{size / 1000**3:.1f} GB"


@dataclass(frozen=True)
class DatasetSummary:
    """What the dataset's own description says, as the landing page shows it."""

    iri: str
    description: str | None
    creator: str | None
    keywords: list[str]
    modified: str | None


def dataset_summary(namer: Namer) -> DatasetSummary:
    dataset = str(namer.published.iris.dataset)
    description = namer.best_literal(dataset, DESCRIPTION_PREDICATES)
    modified = namer.best_literal(dataset, (str(DCTERMS.modified),))
    return DatasetSummary(
        iri=dataset,
        description=description.value if description is not None else None,
        creator=first_iri(namer.published, dataset, str(DCTERMS.creator)),
        keywords=sorted(lit.value for lit in namer.literal_values(dataset, str(DCAT.keyword))),
        modified=modified.value if modified is not None else None,
    )


@dataclass(frozen=True)
class ClassCard:
    """One class of the "What is in it" grid, with one page of its instances."""

    summary: ClassSummary
    anchor: str
    members: tuple[tuple[str, str], ...]
    pages: PageLinks
    opened: bool


def landing_page(request: Request) -> Response:
    """What the dataset is, what it holds, its sources, example queries and downloads."""
    published = current_published(request)
    site = site_url(request, published)
    page = page_number(request)
    chosen = request.query_params.get("class")
    variant = f"landing {site} class={chosen} page={page}"
    headers = published.cache_headers(html_variant(variant))
    if (unchanged := not_modified(request, published, headers)) is not None:
        return unchanged
    namer = Namer(published)
    facts = build_facts(published)
    summary = dataset_summary(namer)
    files = downloads(published)
    documents, more_documents = source_documents(namer, page if chosen is None else 1)
    response = render(
        request,
        published,
        "landing.html",
        title=facts.dataset_title,
        description=summary.description,
        dataset_href=namer.href(summary.iri),
        creator=namer.value(ox.NamedNode(summary.creator)) if summary.creator else None,
        keywords=summary.keywords,
        modified=readable_date(summary.modified) if summary.modified else None,
        version=published.version,
        triples=published.manifest.triples,
        own_classes=class_cards(namer, facts, chosen, page),
        other_classes=facts.other_classes,
        links=published.manifest.links,
        documents=documents,
        document_count=len(published.manifest.documents),
        document_pages=page_links(page if chosen is None else 1, more_documents, "documents"),
        browse=browse_links(published),
        examples=example_links(published),
        downloads=files,
        ontology_href=namer.href(str(published.iris.ontology)),
        json_ld=script_json(schema_org_dataset(namer, summary, site, files)),
    )
    response.headers.update(headers)
    response.headers["Link"] = '</.well-known/void>; rel="describedby"; type="text/turtle"'
    return response


def class_cards(namer: Namer, facts: BuildFacts, chosen: str | None, page: int) -> list[ClassCard]:
    """The class grid: each card with the first page of its instances, except the ``chosen``
    class (its prefixed name), which shows page ``page`` and is open."""
    if chosen is not None and chosen not in {c.prefixed for c in facts.own_classes}:
        raise NotFound(f"no class {chosen!r} is listed in this dataset")
    cards = []
    for summary in facts.own_classes:
        anchor = "class-" + summary.prefixed.replace(":", "-")
        members, more = summary.members, summary.more_members
        opened = summary.prefixed == chosen
        if opened and page > 1:
            members, more = class_members(namer.published, namer, summary.iri, page)
        current = page if opened else 1
        links = page_links(current, more, anchor, **{"class": summary.prefixed})
        cards.append(ClassCard(summary, anchor, members, links, opened))
    return cards


def source_documents(namer: Namer, page: int) -> tuple[list[dict[str, Any]], bool]:
    """One page of the reports the build was made from, each linked to its page, and whether
    a later page has more."""
    entries = namer.published.manifest.documents
    start = (page - 1) * LIST_PAGE_SIZE
    shown = [
        {
            "title": entry["title"],
            "href": namer.href(entry["iri"]),
            "sentences": entry["sentences"],
            "sha256": entry["sha256"],
        }
        for entry in entries[start : start + LIST_PAGE_SIZE]
    ]
    return shown, len(entries) > start + LIST_PAGE_SIZE


def downloads(published: Published) -> list[Download]:
    return [
        Download(
            name=entry.name,
            href=f"/download/{quote(entry.name)}",
            media_type=entry.media_type,
            size=human_size(entry.bytes),
            bytes=entry.bytes,
            sha256=entry.sha256,
            triples=entry.triples,
        )
        for entry in published.manifest.files
    ]


def schema_org_dataset(
    namer: Namer, summary: DatasetSummary, site: str, files: list[Download]
) -> dict[str, Any]:
    """A schema.org ``Dataset`` for search engines, its downloads as ``DataDownload``s."""
    facts = build_facts(namer.published)
    creator = summary.creator
    json_ld = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": summary.iri,
        "name": facts.dataset_title,
        "description": summary.description or "",
        "url": site,
        "keywords": summary.keywords,
        "license": (facts.license[0] or None) if facts.license else None,
        "dateModified": summary.modified or namer.published.manifest.modified,
        "creator": {"@type": "Organization", "@id": creator, "name": namer.display_name(creator)}
        if creator
        else None,
        "isAccessibleForFree": True,
        "distribution": [
            {
                "@type": "DataDownload",
                "name": d.name,
                "contentUrl": site + d.href.lstrip("/"),
                "encodingFormat": d.media_type,
                "contentSize": f"{d.bytes} B",
                "sha256": d.sha256,
            }
            for d in files
        ],
    }
    return {key: value for key, value in json_ld.items() if value is not None}
