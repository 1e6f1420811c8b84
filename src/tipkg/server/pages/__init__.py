"""The HTML side of the server: landing page, resource pages, ontology docs and the query editor.

Every page is readable with no JavaScript. One module per page kind (:mod:`.landing`,
:mod:`.resource`, :mod:`.ontology`, :mod:`.editor`, :mod:`.errorpage`) over the shared parts:
:mod:`.common` (templates, version, links, safe JSON), :mod:`.frame` (the frame every page is
rendered in), :mod:`.naming` (labels and how terms read), :mod:`.facts` (what is fixed per
build) and :mod:`.document` (the source text of a report). The routes that lead to them are
all in :func:`tipkg.server.app.routes`.

Page data comes from the running build (:class:`~tipkg.server.published.Published`): labels,
types and text from its store, counts and files from its manifest.
"""
