"""Literal values as pyshacl reads them: through rdflib's mapping from lexical forms to values.

pyshacl decides ``sh:datatype``, ``sh:minInclusive``, ``sh:lessThan`` and ``sh:lessThanOrEquals``
on rdflib's Python values, not on the XSD value spaces Oxigraph implements, and the graph stage
rejects exactly the literals rdflib calls ill-typed. Reading values the same way keeps one notion
of a valid literal in the project and gives pyshacl's answers on the edges (a date with a time
zone, an ``xsd:date`` compared with an ``xsd:dateTime``, a number compared with a string).
Only the few literals SPARQL cannot settle come here, so the cost of rdflib stays small.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache

import pyoxigraph as ox
from rdflib import Literal
from rdflib.namespace import XSD

from tipkg.terms import OxTerm, exact_literals, from_oxigraph

# The Python type pyshacl also demands of a literal's value before it counts as of a datatype.
VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    str(XSD.integer): int,
    str(XSD.float): float,
    str(XSD.decimal): Decimal,
    str(XSD.boolean): bool,
    str(XSD.date): date,
    str(XSD.time): time,
    str(XSD.dateTime): datetime,
}


@lru_cache(maxsize=65536)
def as_rdflib(literal: ox.Literal) -> Literal:
    """The rdflib literal with the same lexical form, datatype and language."""
    with exact_literals():
        converted = from_oxigraph(literal)
    assert isinstance(converted, Literal)
    return converted


def well_typed(literal: ox.Literal) -> bool:
    """rdflib reads the lexical form as a value of the literal's datatype (of the right type)."""
    value = as_rdflib(literal)
    if value.ill_typed is True:
        return False
    expected = VALUE_TYPES.get(literal.datatype.value)
    return expected is None or isinstance(value.value, expected)


def at_least(value: ox.Literal, minimum: ox.Literal) -> bool:
    """``value >= minimum`` for ``sh:minInclusive``: a string and a non-string never compare, and
    what rdflib cannot order fails."""
    this, bound = as_rdflib(value), as_rdflib(minimum)
    if isinstance(this.value, str) != isinstance(bound.value, str):
        return False
    try:
        if this.eq(bound):
            return True
        if type(this.value) in (datetime, time):
            return bool(this.value > bound.value)
        return bool(this > bound)
    except (TypeError, NotImplementedError):
        return False


def less(value: OxTerm, other: OxTerm, or_equal: bool) -> bool:
    """``value < other`` (or ``<=``) for ``sh:lessThan``/``sh:lessThanOrEquals``: IRIs and
    string-valued literals compare as strings, other literals by rdflib's order, and a string
    never compares with a non-string. A blank node fails (pyshacl stops with an error instead)."""
    left, right = _comparable(value), _comparable(other)
    if left is None or right is None or left[0] != right[0]:
        return False
    try:
        return bool(left[1] <= right[1] if or_equal else left[1] < right[1])
    except TypeError:
        return False


def _comparable(term: OxTerm) -> tuple[bool, str | Literal] | None:
    """Whether the term compares as a string, and what to compare (rdflib literals are ``str``
    subclasses, hence the flag)."""
    if isinstance(term, ox.NamedNode):
        return True, term.value
    if isinstance(term, ox.BlankNode):
        return None
    converted = as_rdflib(term)
    if isinstance(converted.value, str):
        return True, converted.value
    return False, converted
