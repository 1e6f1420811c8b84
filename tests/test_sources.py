"""The source stage: verbatim text, sentences with exact offsets, NIF spans that match the text."""

from __future__ import annotations

import hashlib

import pytest
from rdflib import URIRef
from rdflib.namespace import PROV, RDF

from tipkg.graph import KnowledgeGraph, assemble
from tipkg.project import load_project
from tipkg.settings import Settings
from tipkg.sources import split_sentences
from tipkg.vocab import NIF

from support import PROJECT_ROOT, REPORT_SLUG, report_dir

SHARED_SOURCE = PROJECT_ROOT.parent / "shared" / "source" / f"{REPORT_SLUG}.txt"


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return assemble(load_project(PROJECT_ROOT), Settings.load(environ={}))


# SHA-256 of ../shared/source/saint-lucia-tip-meetings-2021.txt as it was handed to the project.
ORIGINAL_SHA256 = "4dc18c1277eb70d19d5141a7d29ce6f0c34078b5555b1d06e08eb4eda6e38d7f"


def test_source_is_a_verbatim_copy() -> None:
    copy = (report_dir(PROJECT_ROOT) / "source.txt").read_bytes()
    assert hashlib.sha256(copy).hexdigest() == ORIGINAL_SHA256
    if SHARED_SOURCE.exists():
        assert copy == SHARED_SOURCE.read_bytes()


def test_report_splits_into_its_eleven_sentences(kg: KnowledgeGraph) -> None:
    sentences = kg.sources[REPORT_SLUG].sentences
    assert len(sentences) == 11
    assert sentences[0].text.startswith("Saint Lucia has recently participated")
    assert sentences[5].text.startswith("The Turks and Caicos")
    assert "St. Vincent and the Grenadines" in sentences[5].text  # "St." ends no sentence
    assert sentences[7].text == "The virtual meeting was hosted by Argentina."
    assert sentences[-1].text.endswith("crime of Trafficking In Persons.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two.", ["One.", "Two."]),
        ("Dr. Who met St. Kitts. Then left!", ["Dr. Who met St. Kitts.", "Then left!"]),
        ("A line\nAnother line.", ["A line", "Another line."]),
        ("He said “Stop.” Then he went.", ["He said “Stop.”", "Then he went."]),
        ("  padded.  \n\n", ["padded."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == expected
    assert all(text[s.begin : s.end] == s.text for s in sentences)


def test_every_quoted_span_equals_the_source_text_at_its_offsets(kg: KnowledgeGraph) -> None:
    """Sentences and phrases alike: nif:anchorOf == text[beginIndex:endIndex]."""
    ds = kg.dataset
    text = kg.sources[REPORT_SLUG].text
    spans = [s for cls in (NIF.Sentence, NIF.Phrase) for s in ds.subjects(RDF.type, cls)]
    assert len(spans) >= 11 + 6
    for span in spans:
        begin = ds.value(span, NIF.beginIndex).toPython()
        end = ds.value(span, NIF.endIndex).toPython()
        assert str(ds.value(span, NIF.anchorOf)) == text[begin:end], span


def test_document_carries_full_text_and_checksum(kg: KnowledgeGraph) -> None:
    ds = kg.dataset
    document = kg.iris.document(REPORT_SLUG)
    assert str(ds.value(document, NIF.isString)) == kg.sources[REPORT_SLUG].text
    checksum = ds.value(document, URIRef("http://spdx.org/rdf/terms#checksum"))
    value = ds.value(checksum, URIRef("http://spdx.org/rdf/terms#checksumValue"))
    raw = (report_dir(PROJECT_ROOT) / "source.txt").read_bytes()
    assert str(value) == hashlib.sha256(raw).hexdigest()


def test_every_sentence_is_cited_by_at_least_one_fact(kg: KnowledgeGraph) -> None:
    """The coverage table: each sentence and the fact nodes that cite it; none is empty."""
    ds = kg.dataset
    coverage = {}
    for sentence in kg.sources[REPORT_SLUG].sentences:
        node = kg.iris.sentence(REPORT_SLUG, sentence.number)
        phrases = set(ds.subjects(NIF.superString, node))
        citing = {
            s for target in {node, *phrases} for s in ds.subjects(PROV.wasDerivedFrom, target)
        }
        coverage[sentence.number] = sorted(str(s).rsplit("/", 1)[-1] for s in citing)
    print("\n".join(f"sentence {n}: {', '.join(facts)}" for n, facts in coverage.items()))
    assert all(coverage.values()), {n: f for n, f in coverage.items() if not f}
    assert "tipcom-2021" in coverage[2] and "oas-national-authorities-tip-2021" in coverage[8]
