"""The frame every page is rendered in: the site's title and navigation, and the licence in
the footer (both facts of the build)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from tipkg.server.pages.common import templates
from tipkg.server.pages.facts import build_facts
from tipkg.server.published import Published


def render(
    request: Request,
    published: Published,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page from ``template`` with what every page needs (site title, navigation)."""
    facts = build_facts(published)
    body = templates.get_template(template).render(
        request_path=request.url.path,
        site_title=facts.dataset_title,
        license=facts.license,
        **context,
    )
    return HTMLResponse(body, status_code=status_code)
