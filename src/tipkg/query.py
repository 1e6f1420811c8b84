"""SPARQL over the knowledge graph: the project's named queries, two engines, one result shape.

The same query runs on rdflib (the reference, no extra moving parts) and on pyoxigraph (fast,
used to serve). Both answers are turned into one ``QueryResult`` holding rdflib terms, with
literals normalised the RDF 1.1 way (a plain string is ``xsd:string``, language tags are
lower-case), so tests can demand that the two engines agree term for term.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from tipkg.errors import InputError
from tipkg.formats import SPARQL_CSV, SPARQL_JSON, TURTLE
from tipkg.project import read_text
from tipkg.terms import from_oxigraph
from tipkg.vocab import INTEGER_DATATYPES, PrefixIndex

# The CLI's output formats: an aligned text table, or SPARQL CSV, SPARQL JSON or Turtle.
FORMATS = ("table", SPARQL_CSV.name, SPARQL_JSON.name, TURTLE.name)
MAX_ERROR_CHARS = 300

_HEADER_FIELD = re.compile(r"#\s*(title|question)\s*:\s*(.*)$", re.IGNORECASE)
_QUERY_TEXT_HINT = re.compile(r"[\s{}]")

ResultKind = typing.Literal["select", "ask", "graph"]
Term = Node | None
Row = tuple[Term, ...]


@dataclass(frozen=True)
class QueryFile:
    """A named query from ``queries/``: its header says what it asks, for the CLI and the web UI."""

    name: str
    path: Path
    title: str
    question: str
    text: str
    explanation: str = ""


@dataclass
class QueryResult:
    """One engine's answer in a shape both engines share: rdflib terms, ``None`` for unbound."""

    kind: ResultKind
    variables: tuple[str, ...] = ()
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: Graph | None = None


# ---------------------------------------------------------------- query files


def load_queries(paths: Iterable[Path]) -> list[QueryFile]:
    """Read the project's query files; each must open with ``# title:`` and ``# question:``."""
    return [read_query_file(path, require_header=True) for path in paths]


def read_query_file(path: Path, require_header: bool) -> QueryFile:
    """Read one ``.rq`` file and the comment lines that head it.

    Project queries need a title and a question (the web UI lists them); a file a user names
    on the command line need not, and is then titled by its file name.
    """
    text = read_text(path)
    header: dict[str, str] = {}
    explanation: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        match = _HEADER_FIELD.match(stripped)
        if match and match.group(1).lower() not in header:
            header[match.group(1).lower()] = match.group(2).strip()
        else:
            explanation.append(stripped.lstrip("#").strip())
    if require_header:
        for key in ("title", "question"):
            if not header.get(key):
                raise InputError(f"query file has no '# {key}: …' header line", path, 1)
    if not any(line.strip() and not line.strip().startswith("#") for line in text.splitlines()):
        raise InputError("query file holds no query", path)
    return QueryFile(
        name=path.stem,
        path=path,
        title=header.get("title") or path.stem,
        question=header.get("question", ""),
        text=text,
        explanation=" ".join(line for line in explanation if line),
    )


def resolve(spec: str, query_files: Sequence[QueryFile]) -> QueryFile | str:
    """Turn what a user typed into a query: a ``.rq`` path, a query name, or SPARQL text itself.

    An existing ``.rq`` file is read; other text with whitespace or braces is SPARQL (no query
    name has either); anything else must name a query in ``queries/`` (``.rq`` optional).
    """
    if not spec.strip():
        raise InputError("empty query: give SPARQL text, a query name or a .rq file")
    path = Path(spec)
    if path.suffix == ".rq" and path.is_file():
        for query_file in query_files:
            if query_file.path.resolve() == path.resolve():
                return query_file
        return read_query_file(path, require_header=False)
    if _QUERY_TEXT_HINT.search(spec.strip()):
        return spec
    name = path.name.removesuffix(".rq") if path.suffix == ".rq" else spec
    by_name = {query_file.name: query_file for query_file in query_files}
    if name in by_name:
        return by_name[name]
    close = difflib.get_close_matches(name, sorted(by_name), n=3, cutoff=0.5)
    if close:
        hint = "did you mean " + ", ".join(close) + "?"
    elif by_name:
        hint = "known queries: " + ", ".join(sorted(by_name))
    else:
        hint = "the project has no queries/*.rq files"
    raise InputError(f"no query file or named query '{spec}'; {hint}")


# ---------------------------------------------------------------- engines


def run_rdflib(
    dataset: Dataset, text: str, base: str | None, prefixes: Mapping[str, str] | None = None
) -> QueryResult:
    """Evaluate with rdflib over ``dataset``'s default graph (``KnowledgeGraph.query_dataset``:
    the merge of the data graphs)."""
    try:
        prepared = prepareQuery(text, initNs=dict(prefixes or {}), base=base)
    except Exception as error:  # pyparsing and rdflib raise several types; all mean "bad query"
        raise InputError(f"SPARQL syntax error: {_one_line(error)}") from None
    answer = dataset.query(prepared)
    if answer.type == "SELECT":
        variables = tuple(str(variable) for variable in answer.vars or ())
        rows = [tuple(_normalise(term) for term in row) for row in answer]
        return QueryResult("select", variables=variables, rows=rows)
    if answer.type == "ASK":
        return QueryResult("ask", boolean=bool(answer.askAnswer))
    triples = Graph()
    for subject, predicate, obj in answer.graph or Graph():
        triples.add((subject, predicate, _normalise(obj)))
    return QueryResult("graph", triples=triples)


def run_oxigraph(
    store: ox.Store, text: str, base: str | None, prefixes: Mapping[str, str] | None = None
) -> QueryResult:
    """Evaluate with Oxigraph over the store's default graph (``KnowledgeGraph.store()``: the
    merge of the data graphs, each triple once; pyoxigraph's union of named graphs would count a
    triple once per graph that holds it)."""
    try:
        answer = store.query(
            text,
            base_iri=base,
            prefixes={name: str(iri) for name, iri in (prefixes or {}).items()},
        )
    except SyntaxError as error:
        raise InputError(f"SPARQL syntax error: {_one_line(error)}") from None
    if isinstance(answer, ox.QuerySolutions):
        variables = tuple(variable.value for variable in answer.variables)
        rows = [
            tuple(from_oxigraph(solution[index]) for index in range(len(variables)))
            for solution in answer
        ]
        return QueryResult("select", variables=variables, rows=rows)
    if isinstance(answer, ox.QueryBoolean):
        return QueryResult("ask", boolean=bool(answer))
    triples = Graph()
    for triple in answer:
        triples.add(
            (
                from_oxigraph(triple.subject),
                from_oxigraph(triple.predicate),
                from_oxigraph(triple.object),
            )
        )
    return QueryResult("graph", triples=triples)


def _normalise(term: Term) -> Term:
    """Give an rdflib term the form Oxigraph gives it.

    ``xsd:string`` is left implicit and language tags are lower-case; and since Oxigraph stores
    every integer-derived datatype (``xsd:positiveInteger``, ``xsd:int``, …) as ``xsd:integer``
    (oxigraph/oxigraph#526), rdflib's answers are mapped the same way.
    """
    if isinstance(term, Literal):
        if term.language:
            return Literal(str(term), lang=term.language.lower())
        if term.datatype == XSD.string:
            return Literal(str(term))
        if str(term.datatype) in INTEGER_DATATYPES:
            return Literal(str(term), datatype=XSD.integer)
    return term


def _one_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return message if len(message) <= MAX_ERROR_CHARS else message[: MAX_ERROR_CHARS - 1] + "…"


# ---------------------------------------------------------------- output


def format_result(result: QueryResult, fmt: str, prefixes: Mapping[str, str]) -> str:
    """Write a result as an aligned text table, SPARQL CSV, SPARQL JSON or Turtle."""
    if fmt == "table":
        return _table(result, prefixes)
    if fmt == SPARQL_CSV.name:
        return _csv(result)
    if fmt == SPARQL_JSON.name:
        if result.kind == "graph":
            raise InputError("json output needs a SELECT or ASK query; use ttl for CONSTRUCT")
        return json.dumps(_sparql_json(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == TURTLE.name:
        if result.triples is None:
            raise InputError(
                f"ttl output needs a CONSTRUCT or DESCRIBE query; this is an {result.kind.upper()} "
                "query (use table, csv or json)"
            )
        graph = Graph(bind_namespaces="none")
        for prefix, namespace in prefixes.items():
            graph.bind(prefix, str(namespace), override=True, replace=True)
        graph += result.triples
        return graph.serialize(format="turtle")
    raise InputError(f"unknown output format '{fmt}': choose one of {', '.join(FORMATS)}")


def _cell(term: Term, prefixes: PrefixIndex) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return prefixes.compact(str(term)) or f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term).replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")


def _table(result: QueryResult, prefixes: Mapping[str, str]) -> str:
    if result.kind == "ask":
        return ("true" if result.boolean else "false") + "\n"
    header, rows = _tabular(result)
    index = PrefixIndex(prefixes)  # once: a table may have thousands of IRIs
    cells = [[_cell(term, index) for term in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(header)]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(header), ["-" * width for width in widths], *cells]
    ]
    noun = "triple" if result.kind == "graph" else "row"
    lines.append(f"({len(rows)} {noun}{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines) + "\n"


def _tabular(result: QueryResult) -> tuple[tuple[str, ...], list[Row]]:
    """Header and rows; a graph becomes sorted subject/predicate/object rows."""
    if result.kind == "graph":
        triples = sorted(result.triples or Graph())
        return ("subject", "predicate", "object"), [tuple(triple) for triple in triples]
    return result.variables, result.rows


def _csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if result.kind == "ask":
        writer.writerows([["boolean"], ["true" if result.boolean else "false"]])
        return buffer.getvalue()
    header, rows = _tabular(result)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [
                "" if term is None else f"_:{term}" if isinstance(term, BNode) else str(term)
                for term in row
            ]
        )
    return buffer.getvalue()


def _sparql_json(result: QueryResult) -> dict[str, object]:
    if result.kind == "ask":
        return {"head": {}, "boolean": bool(result.boolean)}
    bindings = [
        {
            name: _json_term(term)
            for name, term in zip(result.variables, row, strict=True)
            if term is not None
        }
        for row in result.rows
    ]
    return {"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}}


def _json_term(term: Node) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    if isinstance(term, Literal):
        if term.language:
            return {"type": "literal", "value": str(term), "xml:lang": term.language}
        if term.datatype is not None and term.datatype != XSD.string:
            return {"type": "literal", "value": str(term), "datatype": str(term.datatype)}
        return {"type": "literal", "value": str(term)}
    raise TypeError(f"not an RDF term: {term!r}")
