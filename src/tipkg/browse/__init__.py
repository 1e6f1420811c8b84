"""Browsing what a build publishes: the members of each kind of resource (``/id/event/``, …) and a
timeline of meetings, listed once at build time so that a page of a listing costs a page, not
the corpus.

:func:`tipkg.browse.rows.listing_rows` reads the rows from the build's store (in publish);
:mod:`tipkg.browse.listing` writes them to dist/ and reads one page back (in the server), and
imports nothing of the RDF stack.
"""
