"""The serve stage: one read-only HTTP process for the SPARQL endpoint, the pages and the dumps.

Its door is ``tipkg.server.app.create_app(settings, dist_dir)`` (``run`` serves it with uvicorn).
This package file imports nothing, so query worker processes load only what they use.
"""
