"""A fast SHACL validator for tipkg's shapes, on pyoxigraph, giving pyshacl's results.

pyshacl evaluates constraints node by node in Python (a SHACL-SPARQL constraint runs once per
focus node); at 10,000 reports that takes hours. Here the shapes are compiled once, and each
constraint becomes one SPARQL query over all focus nodes that finds the candidates (a superset
of the violators); Python then decides only those, on the literals as given, with pyshacl's
semantics. pyshacl stays the reference (tests/test_shacl_engine.py compares the two).

Use::

    validator = compile_shapes(validate.load_shapes(kg, shape_files))  # InputError if unsupported
    data = DataGraph(quads)              # pyoxigraph Quads or Triples: the RDF merge of them all
    results = validator.validate(data)                   # every result, sorted
    results = validator.validate(data, focus=nodes)      # only results about these focus nodes
    conforms = not results

Give the quads as parsed (``KnowledgeGraph.quads``, ``pyoxigraph.parse``), not read back from a
``pyoxigraph.Store``: a store rewrites literals as it loads them (``"3"^^xsd:positiveInteger``
becomes ``"3"^^xsd:integer``), and ``DataGraph`` can only judge them as given if it sees them so.

Each ``Result`` carries ``focus``, ``path`` (a ``NamedNode``, or ``InversePath``), ``value``
(``None`` for counts and ``sh:hasValue``), ``messages`` (the shape's ``sh:message``s; for an
``sh:sparql`` constraint pyshacl's: the shape's then the constraint's), ``severity``,
``source_shape`` (the property shape's blank node, or the node shape), ``component`` (the
``sh:…ConstraintComponent``) and, for SPARQL constraints, ``source_constraint``. Terms are
pyoxigraph's; blank nodes keep the ids they were given with. Identical results are reported once.

To check one report: ``data = DataGraph(shared_quads)`` once, then per report
``with data.including(report_quads): validator.validate(data, focus=report_subjects)``. The
shared quads must include the ontology: ``sh:class`` and class targets follow
``rdfs:subClassOf`` in the data, as SHACL says. A ``DataGraph`` is not for concurrent use.

Locality: ``validator.local_constraints`` are those whose result for a focus node depends only
on the node's own triples (its values on a predicate path, its ``rdf:type``) and on the
``rdf:type`` of its values (and ``rdfs:subClassOf`` in the ontology): node kind, class,
datatype, in, hasValue, languageIn, pattern, minInclusive, counts, lessThan(OrEquals), or/xone/and
and qualified shapes that test the value itself. ``validator.global_constraints`` read
further: inverse paths, shapes that read the values' own properties, and every SPARQL
constraint (they join across nodes). ``Constraint.describe()`` names one.

What the engine reads is listed in ``model``; anything else in the SHACL namespace is an
``InputError`` naming the shape, never silently ignored.
"""

from tipkg.shacl.checks import InversePath
from tipkg.shacl.constraints import Constraint
from tipkg.shacl.data import DataGraph
from tipkg.shacl.engine import Validator, compile_shapes
from tipkg.shacl.run import Result

__all__ = ["Constraint", "DataGraph", "InversePath", "Result", "Validator", "compile_shapes"]
