"""The landing page: what the dataset is, what it holds, its sources, example queries and
downloads, with a schema.org ``Dataset`` in JSON-LD for search engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from tipkg.server.pages.common import example_links, html_variant, script_json
from tipkg.server.pages.facts import build_facts, first_iri
from tipkg.server.pages.frame import render
from tipkg.server.pages.naming import DESCRIPTION_PREDICATES, Namer, readable_date
from tipkg.server.web import current_published, not_modified, site_url
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


def landing_page(request: Request) -> Response:
    """What the dataset is, what it holds, its sources, example queries and downloads."""
    published = current_published(request)
    site = site_url(request, published)
    variant = html_variant(f"landing {site}")
    if (
        unchanged := not_modified(request, published, published.cache_headers(variant))
    ) is not None:
        return unchanged
    namer = Namer(published)
    facts = build_facts(published)
    dataset = str(published.iris.dataset)
    description = namer.best_literal(dataset, DESCRIPTION_PREDICATES)
    creator = first_iri(published.store, dataset, str(DCTERMS.creator))
    keywords = sorted(lit.value for lit in namer.literal_values(dataset, str(DCAT.keyword)))
    modified = namer.best_literal(dataset, (str(DCTERMS.modified),))
    documents = [
        {
            "title": entry["title"],
            "href": namer.href(published.rebase(entry["iri"])),
            "sentences": entry["sentences"],
            "sha256": entry["sha256"],
        }
        for entry in published.manifest.documents
    ]
    downloads = [
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
    json_ld = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": dataset,
        "name": facts.dataset_title,
        "description": description.value if description is not None else "",
        "url": site,
        "keywords": keywords,
        "license": facts.license[0] if facts.license else None,
        "dateModified": modified.value if modified is not None else published.manifest.modified,
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
            for d in downloads
        ],
    }
    response = render(
        request,
        published,
        "landing.html",
        title=facts.dataset_title,
        description=description.value if description is not None else None,
        dataset_href=namer.href(dataset),
        creator=namer.value(ox.NamedNode(creator)) if creator else None,
        keywords=keywords,
        modified=readable_date(modified.value) if modified is not None else None,
        version=published.version,
        triples=published.manifest.triples,
        own_classes=facts.own_classes,
        other_classes=facts.other_classes,
        links=published.manifest.links,
        documents=documents,
        examples=example_links(published),
        downloads=downloads,
        ontology_href=namer.href(str(published.iris.ontology)),
        json_ld=script_json({k: v for k, v in json_ld.items() if v is not None}),
    )
    response.headers.update(published.cache_headers(variant))
    response.headers["Link"] = '</.well-known/void>; rel="describedby"; type="text/turtle"'
    return response
