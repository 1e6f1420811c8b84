"""The query text as the engine will read it, and what that text asks for.

pyoxigraph ends a ``#`` comment at CR or LF and decodes ``\\u`` escapes only inside IRIs and
strings; rdflib ends a comment at LF only and decodes escapes everywhere before parsing (as
SPARQL 1.1 §19.2 says). A check that reads the query with rdflib therefore reads another query
than the one pyoxigraph runs: a comment ended by a lone CR hid a SERVICE call from it. So the
text is normalised once, here: every escape decoded (the standard's reading) and every line
ended by LF. The checks read that text with rdflib and pyoxigraph runs that same text, so the
two parsers see the same code points, with no comment or escape they could read differently.

The only meaning this changes is that a raw CR inside a long string literal (``\"\"\"…\"\"\"``)
becomes a LF. rdflib's parse runs only when the text holds a keyword worth checking
(``SERVICE``), so ordinary queries pay nothing for it.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from tipkg.server.errors import BadRequest

CODE_POINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# A word the engine could read as the SERVICE keyword (case-insensitive, like every keyword).
SERVICE_WORD = re.compile(r"service", re.IGNORECASE)


def normalise(query: str) -> str:
    """``query`` with its code point escapes decoded and its line endings made LF.

    An escape that names no code point, or escapes that decode into further escapes
    (``\\u005Cu0053``), are refused: no second reader may decode the text differently.
    """

    def decode(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise BadRequest(f"the escape {match.group(0)} names no Unicode code point")
        return chr(code)

    text = CODE_POINT_ESCAPE.sub(decode, query)
    if CODE_POINT_ESCAPE.search(text):
        raise BadRequest("the query's \\u escapes decode into further escapes")
    return text.replace("\r\n", "\n").replace("\r", "\n")


class QueryText:
    """One query as the engine reads it (:attr:`text`), with what rdflib's parse of that same
    text says about it, parsed at most once and only when asked."""

    def __init__(self, query: str, base_iri: str, prefixes: dict[str, str]) -> None:
        self.text = normalise(query)
        self.base_iri = base_iri
        self.prefixes = prefixes

    @property
    def may_call_service(self) -> bool:
        """Whether the engine could see a SERVICE keyword in the text (cheap: no parse)."""
        return SERVICE_WORD.search(self.text) is not None

    @cached_property
    def algebra(self) -> Any:
        """rdflib's algebra of the text; rdflib's parser raises several exception types."""
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.parser import parseQuery

        parsed = parseQuery(self.text)
        return translateQuery(parsed, base=self.base_iri, initNs=self.prefixes).algebra

    def service_endpoints(self) -> list[str | None]:
        """Every SERVICE endpoint IRI in the query (``None`` for a variable endpoint); raises
        whatever rdflib raises when it cannot parse the text."""
        from rdflib import URIRef
        from rdflib.plugins.sparql.algebra import traverse
        from rdflib.plugins.sparql.parserutils import CompValue

        endpoints: list[str | None] = []

        def visit(node: Any) -> None:
            if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
                endpoints.append(str(node.term) if isinstance(node.term, URIRef) else None)

        traverse(self.algebra, visitPre=visit)
        return endpoints
