"""JSON-LD a JavaScript developer can read without an RDF library.

The ``@context`` is derived from the shapes, not from the data: every predicate the shapes give
a value shape (``sh:targetSubjectsOf``, which the coverage test demands for every published
predicate) gets one key, with its values' kind (IRI, datatype, English text) and ``@set``, so a
key has the same shape on every node and in every build; every class a shape targets gets a
short name for ``@type``. A local name two vocabularies share goes to the earlier vocabulary of
``VOCABULARY_ORDER``; the other keeps its prefixed name (still with its own term definition).

Node objects are written by :func:`node_objects` straight from triples (no compaction
algorithm): ``@id`` and ``@type`` compacted, every value in an array, booleans and integers as
native JSON where the lexical form is canonical, and an explicit value object wherever a value
does not fit its key's definition, so nothing is lost. A subject several graphs describe gets a
node object in each; JSON-LD processors merge them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SH, XSD

from tipkg.terms import OxTerm
from tipkg.vocab import INTEGER_DATATYPES, PrefixIndex

# Which vocabulary gets a local name two vocabularies share, earliest first.
VOCABULARY_ORDER = (
    "tip schema rdfs skos dct prov org nif foaf dcat void spdx owl vann sd wdt time".split()
)
# Keys for predicates whose local names say nothing to a reader.
FRIENDLY_NAMES = {
    "http://www.wikidata.org/prop/direct/P297": "isoAlpha2Code",
    "http://www.wikidata.org/prop/direct/P298": "isoAlpha3Code",
}
RDF_TYPE = str(RDF.type)
XSD_STRING = str(XSD.string)
RDF_LANG_STRING = str(RDF.langString)
XSD_BOOLEAN = str(XSD.boolean)
_NAME = re.compile(r"^[a-z][A-Za-z0-9]*$")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def context_from_shapes(shapes: Graph, prefixes: Mapping[str, str]) -> dict[str, Any]:
    """The ``@context``: the prefixes, a term for each predicate with a value shape, a short
    name for each class a shape targets."""
    kinds: dict[str, dict[str, Any]] = {}
    for node_shape, predicate in shapes.subject_objects(SH.targetSubjectsOf):
        for property_shape in shapes.objects(node_shape, SH.property):
            if shapes.value(property_shape, SH.path) != predicate or str(predicate) == RDF_TYPE:
                continue
            kind = _value_kind(shapes, property_shape)
            if kind is not None:
                kinds.setdefault(str(predicate), kind)
    classes = {str(cls) for cls in shapes.objects(None, SH.targetClass)}
    context: dict[str, Any] = dict(prefixes)
    for key, (iri, definition) in sorted(_named(kinds, prefixes, _NAME).items()):
        context[key] = {"@id": _compact(iri, prefixes), **definition, "@container": "@set"}
    class_kinds: dict[str, dict[str, Any]] = {cls: {} for cls in classes}
    for key, (iri, _) in sorted(_named(class_kinds, prefixes, _CLASS_NAME).items()):
        if key not in context:
            context[key] = _compact(iri, prefixes)
    return context


def _value_kind(shapes: Graph, property_shape: object) -> dict[str, Any] | None:
    """What a value shape says the values are, as a term definition's coercion."""
    if _resource_valued(shapes, property_shape):
        return {"@type": "@id"}
    datatype = shapes.value(property_shape, SH.datatype)
    if datatype is None:
        return None
    if str(datatype) == RDF_LANG_STRING:
        languages = [str(v) for v in shapes.items(shapes.value(property_shape, SH.languageIn))]
        return {"@language": languages[0]} if len(languages) == 1 else {}
    if str(datatype) == XSD_STRING:
        return {}
    return {"@type": str(datatype)}


def _resource_valued(shapes: Graph, shape: object) -> bool:
    """Whether a shape only lets IRIs or blank nodes through: a node kind, a class, a list of
    allowed IRIs, or alternatives that each do one of these."""
    if shapes.value(shape, SH.nodeKind) in (SH.IRI, SH.BlankNodeOrIRI):
        return True
    if (shape, SH["class"], None) in shapes:
        return True
    allowed = shapes.value(shape, SH["in"])
    if allowed is not None:
        return all(not isinstance(v, Literal) for v in shapes.items(allowed))
    for combinator in (SH["or"], SH.xone):
        alternatives = shapes.value(shape, combinator)
        if alternatives is not None:
            return all(_resource_valued(shapes, a) for a in shapes.items(alternatives))
    return False


def _named(
    iris: Mapping[str, dict[str, Any]], prefixes: Mapping[str, str], pattern: re.Pattern[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Key → (IRI, definition): the short name where it is free and reads well, else the
    prefixed name."""
    named: dict[str, tuple[str, dict[str, Any]]] = {}

    def rank(iri: str) -> tuple[int, str]:
        prefix = _prefix_of(iri, prefixes)
        order = VOCABULARY_ORDER.index(prefix) if prefix in VOCABULARY_ORDER else 99
        return (order, iri)

    for iri in sorted(iris, key=rank):
        definition = iris[iri]
        short = FRIENDLY_NAMES.get(iri) or re.split(r"[#/]", iri)[-1]
        if pattern.match(short) and short not in named and short not in prefixes:
            named[short] = (iri, _coerced(definition, prefixes))
        else:
            named[_compact(iri, prefixes)] = (iri, _coerced(definition, prefixes))
    return named


def _coerced(definition: dict[str, Any], prefixes: Mapping[str, str]) -> dict[str, Any]:
    kind = definition.get("@type")
    if kind is not None and kind != "@id":
        return {**definition, "@type": _compact(kind, prefixes)}
    return definition


def _prefix_of(iri: str, prefixes: Mapping[str, str]) -> str | None:
    found = PrefixIndex(prefixes).longest(iri)
    return found[0] if found else None


def _compact(iri: str, prefixes: Mapping[str, str]) -> str:
    return PrefixIndex(prefixes).compact(iri) or iri


class NodeWriter:
    """Writes node objects for triples under one context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = dict(context)
        self.prefixes = {k: v for k, v in context.items() if isinstance(v, str) and ":" in v}
        self.prefixes = {k: v for k, v in self.prefixes.items() if v.endswith(("/", "#"))}
        self.index = PrefixIndex(self.prefixes)
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self.class_names: dict[str, str] = {}
        for key, definition in context.items():
            if isinstance(definition, dict):
                self.keys[self._expand(definition["@id"])] = (key, definition)
            elif key not in self.prefixes:
                self.class_names[self._expand(definition)] = key

    def datatype_of(self, predicate: str) -> str | None:
        """The datatype the context gives ``predicate``'s values (its shapes' ``sh:datatype``),
        if it gives one."""
        coerce = self.keys.get(predicate, ("", {}))[1].get("@type")
        return self._expand(coerce) if coerce is not None and coerce != "@id" else None

    def _expand(self, compact: str) -> str:
        prefix, _, local = compact.partition(":")
        return self.prefixes[prefix] + local if prefix in self.prefixes else compact

    def node_objects(self, triples: Iterable[ox.Triple]) -> list[dict[str, Any]]:
        """One node object per subject, subjects and keys in a fixed order."""
        by_subject: dict[str, list[ox.Triple]] = {}
        for triple in triples:
            by_subject.setdefault(_node_id(triple.subject), []).append(triple)
        nodes = []
        for subject in sorted(by_subject):
            nodes.append(self._node(subject, by_subject[subject]))
        return nodes

    def _node(self, subject: str, triples: list[ox.Triple]) -> dict[str, Any]:
        node: dict[str, Any] = {"@id": self._id(subject)}
        types = sorted(
            self.class_names.get(t.object.value) or self._id(_node_id(t.object))
            for t in triples
            if t.predicate.value == RDF_TYPE and not isinstance(t.object, ox.Literal)
        )
        if types:
            node["@type"] = types
        values: dict[str, list[Any]] = {}
        for triple in triples:
            predicate = triple.predicate.value
            if predicate == RDF_TYPE and not isinstance(triple.object, ox.Literal):
                continue
            key, definition = self.keys.get(predicate, (self._id(predicate), {}))
            values.setdefault(key, []).append(self._value(triple.object, definition))
        for key in sorted(values):
            node[key] = sorted(values[key], key=lambda v: json.dumps(v, sort_keys=True))
        return node

    def _id(self, iri: str) -> str:
        if iri.startswith("_:"):
            return iri
        return self.index.compact(iri) or iri

    def _value(self, term: OxTerm, definition: dict[str, Any]) -> Any:
        coerce = definition.get("@type")
        if not isinstance(term, ox.Literal):
            node_id = self._id(_node_id(term))
            return node_id if coerce == "@id" else {"@id": node_id}
        datatype = term.datatype.value
        if term.language is not None:
            if definition.get("@language") == term.language:
                return term.value
            return {"@value": term.value, "@language": term.language}
        if coerce is not None and coerce != "@id" and self._expand(coerce) == datatype:
            return _native(term.value, datatype)
        if datatype == XSD_STRING and coerce is None and "@language" not in definition:
            return term.value
        return {"@value": term.value, "@type": self._id(datatype)}


def _node_id(term: OxTerm) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def _native(lexical: str, datatype: str) -> Any:
    """A JSON number or boolean where it reads back as exactly this lexical form, else the
    string (the key's datatype still applies)."""
    if datatype == XSD_BOOLEAN and lexical in ("true", "false"):
        return lexical == "true"
    if datatype in INTEGER_DATATYPES and re.fullmatch(r"0|-?[1-9][0-9]{0,15}", lexical):
        return int(lexical)
    return lexical
