"""Full-text search over what a build publishes: labels, names, descriptions, editorial notes and
every sentence of every report.

Three doors, one per step: :func:`unit_entries` (what one assembled unit contributes, computed
where the unit is assembled), :func:`write_index` / :func:`update_index` (the index file, from
nothing or by replacing only the units that changed) and :func:`search` (ranked hits, snippets
and facet counts, or a :class:`~tipkg.errors.SearchError` for a query it cannot read).
"""

from tipkg.search.engine import Facet, Hit, SearchIndex, SearchResult, SnippetPart, search
from tipkg.search.entries import (
    KINDS,
    Entry,
    SentenceRef,
    load_entries,
    save_entries,
    unit_entries,
)
from tipkg.search.index import update_index, write_index

__all__ = [
    "KINDS",
    "Entry",
    "Facet",
    "Hit",
    "SearchIndex",
    "SearchResult",
    "SentenceRef",
    "SnippetPart",
    "load_entries",
    "save_entries",
    "search",
    "unit_entries",
    "update_index",
    "write_index",
]
