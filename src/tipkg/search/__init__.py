"""Full-text search over what a build publishes: labels, names, descriptions, editorial notes and
every sentence of every report.

One door per step, each in its own module: :func:`tipkg.search.entries.unit_entries` (what one
assembled unit contributes, computed where the unit is assembled; :mod:`tipkg.search.model`
keeps entries in the build's cache), :func:`tipkg.search.index.write_index` and
:func:`~tipkg.search.index.update_index` (the index file, from nothing or by replacing only the
units that changed), and :func:`tipkg.search.engine.search` (ranked hits, snippets and facet
counts, or a :class:`~tipkg.errors.SearchError` for a query it cannot read). Reading the index
(``engine``) does not load the RDF stack.
"""
