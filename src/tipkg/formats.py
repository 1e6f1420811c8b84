"""Every serialisation tipkg writes or offers, in one table, and what each place offers.

A :class:`Format` is declared once: the ``?format=`` name, the other names and media types
clients use for it, its media type, its file suffix and the pyoxigraph format that writes it.
Media types, suffixes and W3C format IRIs come from pyoxigraph's ``RdfFormat`` and
``QueryResultsFormat``, so they cannot drift from the library that writes the bytes. A client
name for a format goes in ``names`` or ``media_types`` here and is then understood everywhere:
the names and types SPARQLWrapper 2.0 sends for each of its return formats (``format``,
``output`` and ``results`` all carrying ``json``, ``xml``, ``turtle``, ``n3``, ``rdf``,
``rdf+xml``, ``json-ld``, ``csv`` or ``tsv``, sometimes followed by a media type; Accept
headers with ``application/turtle``, ``text/rdf+n3``, ``application/n3``, ``text/n3``,
``application/x-json+ld``), Fuseki's short names (``sparql``, ``ttl``, ``nt``, ``n-quads``,
``json-ld``), Virtuoso's (``rdf``, ``n3``, ``ttl``) and its media types (``text/plain`` and
``text/ntriples`` for N-Triples, ``application/x-ld+json``), and Jena's and rdflib's Accept
headers (``application/x-turtle``, ``text/n3``). N3 is asked for as Turtle: N3 is a superset of
Turtle, so every Turtle document is an N3 document and an N3 reader reads it as it is.

A format named where an answer cannot take it (Turtle for a SELECT, CSV for a CONSTRUCT: a
client repeats its one return format for every query form) is read as its kin of the other
kind, :data:`ANSWER_KIN`, by :func:`hinted_format`.

Each place that offers formats takes a tuple from this module, in its own order of preference
(the first is its default): :data:`RESULTS_FORMATS`, :data:`GRAPH_FORMATS`,
:data:`DOCUMENT_FORMATS`; the dumps are chosen in :mod:`tipkg.dist`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    """One serialisation: how clients name it and which pyoxigraph format writes it."""

    name: str  # the ``?format=`` name
    label: str  # what people call it, for links
    media_type: str
    suffix: str  # of files and of linked-data document URLs
    names: tuple[str, ...] = ()  # other ``?format=`` names
    media_types: tuple[str, ...] = ()  # other media types that ask for it
    rdf: ox.RdfFormat | None = None
    results: ox.QueryResultsFormat | None = None

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` to send: textual types say they are UTF-8."""
        if self.media_type.startswith("text/"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type

    @property
    def iri(self) -> str | None:
        """The W3C format IRI (``http://www.w3.org/ns/formats/Turtle``), where there is one."""
        library_format = self.rdf or self.results
        return library_format.iri if library_format is not None else None

    def is_named(self, wanted: str) -> bool:
        """Whether a ``?format=`` value (a name or a media type, any case) asks for this format."""
        return wanted.strip().lower() in (
            self.name,
            self.media_type,
            *self.names,
            *self.media_types,
        )


def _from_library(
    library_format: ox.RdfFormat | ox.QueryResultsFormat,
    name: str,
    label: str,
    names: tuple[str, ...] = (),
    media_types: tuple[str, ...] = (),
) -> Format:
    """A format pyoxigraph writes, with its media type and suffix as pyoxigraph gives them."""
    is_rdf = isinstance(library_format, ox.RdfFormat)
    return Format(
        name=name,
        label=label,
        # pyoxigraph says "text/csv; charset=utf-8": negotiation wants the bare type.
        media_type=library_format.media_type.partition(";")[0],
        suffix=library_format.file_extension,
        names=names,
        media_types=media_types,
        rdf=library_format if is_rdf else None,
        results=None if is_rdf else library_format,
    )


TURTLE = _from_library(
    ox.RdfFormat.TURTLE,
    "ttl",
    "Turtle",
    ("turtle", "n3"),
    ("application/x-turtle", "application/turtle", "text/n3", "text/rdf+n3", "application/n3"),
)
N_TRIPLES = _from_library(
    ox.RdfFormat.N_TRIPLES,
    "nt",
    "N-Triples",
    ("ntriples", "n-triples"),
    ("text/plain", "text/ntriples"),
)
JSON_LD = _from_library(
    ox.RdfFormat.JSON_LD,
    "jsonld",
    "JSON-LD",
    ("json-ld", "json"),
    ("application/json", "application/x-json+ld", "application/x-ld+json"),
)
RDF_XML = _from_library(
    ox.RdfFormat.RDF_XML,
    "rdfxml",
    "RDF/XML",
    ("rdf", "xml", "rdf+xml"),
    ("application/xml", "text/xml"),
)
N_QUADS = _from_library(ox.RdfFormat.N_QUADS, "nq", "N-Quads", ("nquads", "n-quads"))
TRIG = _from_library(ox.RdfFormat.TRIG, "trig", "TriG")
SPARQL_JSON = _from_library(
    ox.QueryResultsFormat.JSON, "json", "SPARQL JSON", media_types=("application/json",)
)
SPARQL_XML = _from_library(
    ox.QueryResultsFormat.XML,
    "xml",
    "SPARQL XML",
    ("sparql",),
    ("application/xml", "text/xml"),
)
SPARQL_CSV = _from_library(ox.QueryResultsFormat.CSV, "csv", "CSV")
SPARQL_TSV = _from_library(ox.QueryResultsFormat.TSV, "tsv", "TSV")
# Pages for people, offered beside the RDF formats wherever a person may be asking.
HTML = Format("html", "HTML", "text/html", "html", media_types=("application/xhtml+xml",))
# Answers that are not RDF (search results), for programs.
JSON = Format("json", "JSON", "application/json", "json")

# SELECT and ASK answers.
RESULTS_FORMATS: tuple[Format, ...] = (SPARQL_JSON, SPARQL_XML, SPARQL_CSV, SPARQL_TSV)
# CONSTRUCT and DESCRIBE answers, the service description and the VoID description.
GRAPH_FORMATS: tuple[Format, ...] = (TURTLE, N_TRIPLES, JSON_LD, RDF_XML, N_QUADS)
# Every format a SPARQL answer can take, of either kind.
ANSWER_FORMATS: tuple[Format, ...] = (*RESULTS_FORMATS, *GRAPH_FORMATS)
# The documents of a minted IRI (``/id/event/x.ttl``), by suffix.
DOCUMENT_FORMATS: tuple[Format, ...] = (HTML, TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
# What a format named for a SPARQL answer that cannot take it is read as: its kin of the other
# kind, which the client that named it reads the same way. XML to XML and JSON to JSON
# (SPARQLWrapper's "xml" and "json" already mean either kind, and it parses both alike); a
# line-based text syntax to one too: SPARQL TSV writes each term in Turtle's syntax, and
# N-Triples is one statement a line with terms written as TSV writes them.
ANSWER_KIN: dict[Format, Format] = {
    SPARQL_JSON: JSON_LD,
    JSON_LD: SPARQL_JSON,
    SPARQL_XML: RDF_XML,
    RDF_XML: SPARQL_XML,
    SPARQL_CSV: N_TRIPLES,
    SPARQL_TSV: N_TRIPLES,
    TURTLE: SPARQL_TSV,
    N_TRIPLES: SPARQL_TSV,
    N_QUADS: SPARQL_TSV,
}
# The search page, for people and for programs.
SEARCH_FORMATS: tuple[Format, ...] = (HTML, JSON)
# Syntaxes that abbreviate IRIs with prefixes (the others ignore them).
PREFIXED_SYNTAXES = frozenset({ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML})


def format_named(wanted: str, offered: Iterable[Format]) -> Format | None:
    """The offered format a ``?format=`` value asks for: by its own name first, so ``json`` is
    SPARQL JSON where both it and JSON-LD are offered, then by any other name."""
    offered = tuple(offered)
    name = wanted.strip().lower()
    return next((f for f in offered if f.name == name), None) or next(
        (f for f in offered if f.is_named(name)), None
    )


def hinted_format(wanted: str, offered: Iterable[Format]) -> Format | None:
    """The offered format a ``format``/``output``/``results`` value asks for: the one it names,
    else the :data:`ANSWER_KIN` of the format it names elsewhere; ``None`` if neither is
    offered (or it names nothing)."""
    offered = tuple(offered)
    named = format_named(wanted, offered)
    if named is not None:
        return named
    elsewhere = format_named(wanted, ANSWER_FORMATS)
    kin = ANSWER_KIN.get(elsewhere) if elsewhere is not None else None
    return kin if kin in offered else None


def used_prefixes(triples: Iterable[ox.Triple], prefixes: Mapping[str, str]) -> dict[str, str]:
    """The prefixes whose namespace some IRI (or datatype) in ``triples`` sits directly in,
    so a serialisation declares only what it uses."""
    namespaces: set[str] = set()
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                iri = term.value
            elif isinstance(term, ox.Literal):
                iri = term.datatype.value
            else:
                continue
            namespaces.add(iri[: max(iri.rfind("#"), iri.rfind("/")) + 1])
    return {name: iri for name, iri in prefixes.items() if iri in namespaces}


def serialize_triples(
    triples: Iterable[ox.Triple], fmt: Format, prefixes: Mapping[str, str]
) -> bytes:
    """Triples in an RDF format, declaring those of ``prefixes`` the triples use."""
    if fmt.rdf is None:
        raise ValueError(f"{fmt.label} is not an RDF serialisation")
    triples = list(triples)
    used = used_prefixes(triples, prefixes) if fmt.rdf in PREFIXED_SYNTAXES else None
    return ox.serialize(triples, format=fmt.rdf, prefixes=used)
