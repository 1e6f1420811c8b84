"""A curator's start on a new report: its folder, and a skeleton that does the counting.

``add_report`` copies the text verbatim and writes ``document.ttl`` and ``facts.ttl`` holding
prefixes and comments only, so nothing is asserted that the curator has not confirmed and the
project builds at once. What a curator would otherwise do by hand is in the comments: each
sentence's number and exact offsets (code points, as NIF counts them), its text, the entities the
project already knows that it names (with a phrase IRI and anchor ready to cite), and capitalised
names no file knows yet, as candidates for ``data/shared/``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib.namespace import ORG, RDFS, SKOS

from tipkg.errors import InputError
from tipkg.graph import read_turtle
from tipkg.project import SOURCE_FILE_NAME, Project
from tipkg.sources import ABBREVIATIONS, Sentence, SourceText, read_source
from tipkg.vocab import SCHEMA, Iris, PrefixIndex

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 100
_WORD = re.compile(r"\w+")
# Lower-case words that may sit inside a name ("Ministry of Foreign Affairs").
NAME_CONNECTORS = frozenset("of and the for de del la on in".split())
# Capitalised only because they open a sentence, or names of no entity (dates).
NOT_NAMES = frozenset(
    (
        "the a an on in at as by for from with this that these those it its their our his her "
        "during after before while when meanwhile meantime going also however moreover "
        "monday tuesday wednesday thursday friday saturday sunday january february march april "
        "may june july august september october november december"
    ).split()
)
# Characters that end a line for someone (a Turtle parser, an editor, str.splitlines): inside a
# comment each would end it and turn the rest of the text into Turtle.
_LINE_BREAKING = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_TURTLE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
RULE = "# " + "-" * 64


@dataclass(frozen=True)
class Name:
    """One way the project names an entity: the words, and which property said it."""

    entity: str
    text: str
    predicate: str


@dataclass(frozen=True)
class Mention:
    """A span of the text, with the known entities it names (none for a candidate)."""

    begin: int
    end: int
    names: tuple[Name, ...]


class EntityIndex:
    """Every name the project's shared files, linksets and reports give an entity, by its words
    (case-folded, punctuation dropped), so a text can be matched longest name first."""

    def __init__(self, names: Iterable[Name]) -> None:
        self.by_words: dict[tuple[str, ...], list[Name]] = {}
        for name in names:
            key = words_of(name.text)
            if key and all(n.entity != name.entity for n in self.by_words.get(key, [])):
                self.by_words.setdefault(key, []).append(name)
        self.longest = max(map(len, self.by_words), default=0)

    def mentions(self, text: str, sentence: Sentence) -> Iterator[Mention]:
        """Known names in ``sentence``, longest first, never overlapping; then capitalised runs
        of words outside them (see :func:`candidates`)."""
        words = [(m.start(), m.end()) for m in _WORD.finditer(text, sentence.begin, sentence.end)]
        folded = [fold(text[b:e]) for b, e in words]
        taken = [False] * len(words)
        index = 0
        while index < len(words):
            for size in range(min(self.longest, len(words) - index), 0, -1):
                names = self.by_words.get(tuple(folded[index : index + size]))
                if names:
                    begin = words[index][0]
                    end = _close_brackets(text, begin, words[index + size - 1][1])
                    yield Mention(begin, end, tuple(names))
                    taken[index : index + size] = [True] * size
                    index += size
                    break
            else:
                index += 1
        yield from candidates(text, words, taken)


def fold(word: str) -> str:
    """A word as names are compared: case-folded, accents kept."""
    return unicodedata.normalize("NFC", word).casefold()


def words_of(text: str) -> tuple[str, ...]:
    return tuple(fold(word) for word in _WORD.findall(text))


def _close_brackets(text: str, begin: int, end: int) -> int:
    """Include the closing bracket of a bracket the span opens ("States (OAS" → "States (OAS)")."""
    for opening, closing in ("()", "[]"):
        unclosed = text.count(opening, begin, end) > text.count(closing, begin, end)
        if unclosed and text[end : end + 1] == closing:
            end += 1
    return end


def candidates(text: str, words: list[tuple[int, int]], taken: list[bool]) -> Iterator[Mention]:
    """Runs of capitalised words (connectors and hyphenated parts allowed inside) that no known name
    covered: what may be a state, an organisation or a meeting the project lacks. Days, months
    and words capitalised because they open the sentence are left out."""
    run: list[int] = []
    for index, (begin, end) in enumerate(words):
        word = text[begin:end]
        if run and (taken[index] or not _joins(text, words[run[-1]], begin)):
            yield from _candidate(text, words, run)
            run = []
        if taken[index]:
            continue
        inside = fold(word) in NAME_CONNECTORS or text[begin - 1] == "-"  # "Port-au-Prince"
        if word[0].isupper() or (run and inside):
            run.append(index)
        elif run:
            yield from _candidate(text, words, run)
            run = []
    yield from _candidate(text, words, run)


def _candidate(text: str, words: list[tuple[int, int]], run: list[int]) -> Iterator[Mention]:
    def folded(index: int) -> str:
        return fold(text[words[index][0] : words[index][1]])

    while run and text[words[run[-1]][0]].islower():
        run = run[:-1]
    while run and (folded(run[0]) in NOT_NAMES or folded(run[0]) in NAME_CONNECTORS):
        run = run[1:]
    opens_sentence = run[:1] == [0] and len(run) == 1
    if run and not (opens_sentence and not text[words[0][0] : words[0][1]].isupper()):
        yield Mention(words[run[0]][0], words[run[-1]][1], ())


def _joins(text: str, previous: tuple[int, int], begin: int) -> bool:
    """Whether two words belong to one name: a space or a hyphen between them, or the full stop
    of an abbreviation ("St. Kitts")."""
    gap = text[previous[1] : begin]
    if gap in (" ", "-"):
        return True
    return gap == ". " and text[previous[0] : previous[1]].lower() in ABBREVIATIONS


# ------------------------------------------------------------------ what the project knows

NAME_PREDICATES = {
    str(SCHEMA.name): "schema:name",
    str(RDFS.label): "rdfs:label",
    str(SKOS.prefLabel): "skos:prefLabel",
    str(SCHEMA.alternateName): "schema:alternateName",
    str(SKOS.altLabel): "skos:altLabel",
}


def known_names(project: Project, iris: Iris) -> list[Name]:
    """Every name, alternate name and name as stated in ``data/shared/``, the linksets and the
    reports. A name as stated names the membership's member (``org:member``) where there is
    one; a membership without a member names no known entity."""
    names: list[Name] = []
    stated = str(iris.tip.nameAsStated)
    files = [*project.shared_files, *project.linkset_files]
    files += [path for report in project.reports for path in report.turtle_files]
    for path in files:
        label = f"curate/{path.relative_to(project.root).as_posix()}"
        triples = read_turtle(path, iris.base, label).triples
        members = {t.subject: t.object for t in triples if t.predicate.value == str(ORG.member)}
        organisations = {t.subject for t in triples if t.predicate.value == str(ORG.organization)}
        for triple in triples:
            subject, predicate, obj = triple
            if not isinstance(obj, ox.Literal) or not isinstance(subject, ox.NamedNode):
                continue
            if predicate.value in NAME_PREDICATES:
                names.append(Name(subject.value, obj.value, NAME_PREDICATES[predicate.value]))
            elif predicate.value == stated:
                entity = members.get(subject)
                if entity is None and subject in organisations:
                    continue
                names.append(Name((entity or subject).value, obj.value, "tip:nameAsStated"))
    order = [*NAME_PREDICATES.values(), "tip:nameAsStated"]
    return sorted(names, key=lambda n: (order.index(n.predicate), n.entity, n.text))


# ------------------------------------------------------------------ the skeleton


def check_slug(slug: str) -> None:
    if not SLUG.match(slug) or len(slug) > MAX_SLUG_LENGTH:
        raise InputError(
            f"bad slug {slug!r}: lower-case letters, digits and single hyphens "
            f"(e.g. haiti-tip-meeting-2022), at most {MAX_SLUG_LENGTH} characters"
        )


@dataclass(frozen=True)
class NewReport:
    """What ``add_report`` wrote, for the CLI's summary."""

    folder: Path
    source: SourceText
    known: int
    candidates: int


def add_report(project: Project, iris: Iris, source_path: Path, slug: str) -> NewReport:
    """Create ``data/reports/<slug>/`` from the text at ``source_path``: the bytes copied, and
    skeletons that assert nothing. The folder appears complete or not at all."""
    check_slug(slug)
    reports_dir = project.root / "data" / "reports"
    folder = reports_dir / slug
    if folder.exists():
        raise InputError(f"report '{slug}' exists already: choose another slug", folder)
    source = read_source(slug, source_path)
    index = EntityIndex(known_names(project, iris))
    mentions = {s.number: list(index.mentions(source.text, s)) for s in source.sentences}
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".add-report-{slug}.", dir=project.root / "data"))
    try:
        shutil.copyfile(source_path, staging / SOURCE_FILE_NAME)
        (staging / "document.ttl").write_text(document_skeleton(slug), encoding="utf-8")
        facts = facts_skeleton(source, mentions, iris)
        (staging / "facts.ttl").write_text(facts, encoding="utf-8")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    every = [m for found in mentions.values() for m in found]
    known = sum(1 for m in every if m.names)
    return NewReport(folder, source, known, len(every) - known)


def document_skeleton(slug: str) -> str:
    return f"""\
# What the curator knows of the report itself: its title and language. Uncomment and complete the
# description below; the pipeline adds the rest from source.txt (the full text, its SHA-256, its
# length, and one nif:Sentence per sentence with exact offsets).

@prefix doc:    <id/document/> .
@prefix schema: <https://schema.org/> .
@prefix dct:    <http://purl.org/dc/terms/> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .

# doc:{slug} a schema:NewsArticle ;
#     dct:title "…"@en ;
#     dct:language <http://id.loc.gov/vocabulary/iso639-1/en> ;
#     schema:inLanguage "en" ;
#     dct:subject <id/concept/trafficking-in-persons> .
"""


def facts_skeleton(source: SourceText, mentions: dict[int, list[Mention]], iris: Iris) -> str:
    """Prefixes (constant text but the report's own ``s:``), then a comment block per sentence."""
    slug = source.slug
    lines = [
        "# Facts stated by the report in source.txt, and nothing else. Written by add-report:",
        "# below the prefixes every line is a comment. Write each fact under its sentence and",
        "# cite the sentence (prov:wasDerivedFrom s:N) or an exact phrase (the IRI given, with",
        "# its nif:anchorOf line uncommented). Offsets count code points; the build checks them.",
        "",
        *(f"@prefix {name + ':':<15}<{namespace}> ." for name, namespace in _prefixes(slug)),
        "",
    ]
    compact = PrefixIndex({name: _absolute(ns, iris) for name, ns in _prefixes(slug)})
    for sentence in source.sentences:
        found = mentions[sentence.number]
        lines += [
            RULE + f" sentence {sentence.number}",
            f"# s:{sentence.number}  char={sentence.begin},{sentence.end}",
            f"# {turtle_string(sentence.text)}",
        ]
        known = [m for m in found if m.names]
        lines.append("# known entities:" + ("" if known else " none"))
        for mention in known:
            entities = ", ".join(
                f"{_named(n.entity, compact, iris)} ({n.predicate} {turtle_string(n.text)})"
                for n in mention.names
            )
            lines += [f"#   {entities}", f"#       {_phrase(source, mention)}"]
        unknown = [m for m in found if not m.names]
        if unknown:
            lines.append("# candidates for data/shared/ (capitalised names no file knows):")
            lines += [f"#   {_phrase(source, mention)}" for mention in unknown]
        lines.append("")
    return "\n".join(lines)


def _prefixes(slug: str) -> list[tuple[str, str]]:
    return [
        ("tip", "ontology#"),
        ("event", "id/event/"),
        ("tiporg", "id/org/"),
        ("place", "id/place/"),
        ("concept", "id/concept/"),
        ("scheme", "id/scheme/"),
        ("participation", "id/participation/"),
        ("membership", "id/membership/"),
        ("statement", "id/statement/"),
        ("s", f"id/document/{slug}/sentence/"),
        ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
        ("xsd", "http://www.w3.org/2001/XMLSchema#"),
        ("skos", "http://www.w3.org/2004/02/skos/core#"),
        ("prov", "http://www.w3.org/ns/prov#"),
        ("org", "http://www.w3.org/ns/org#"),
        ("nif", "http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#"),
        ("schema", "https://schema.org/"),
    ]


def _absolute(namespace: str, iris: Iris) -> str:
    return namespace if "://" in namespace else iris.base + namespace


def _named(entity: str, compact: PrefixIndex, iris: Iris) -> str:
    """An entity as the facts file would write it: a prefixed name, else relative to the base."""
    name = compact.compact(entity)
    if name and re.fullmatch(r"[\w-]+:[\w-]+", name):
        return name
    return f"<{entity.removeprefix(iris.base)}>"


def _phrase(source: SourceText, mention: Mention) -> str:
    anchor = turtle_string(source.text[mention.begin : mention.end])
    return f"<id/document/{source.slug}#char={mention.begin},{mention.end}> nif:anchorOf {anchor} ."


def turtle_string(text: str) -> str:
    """``text`` as a Turtle string literal that holds no line break of any kind: one that stays
    a comment's last word, and reads back as ``text`` once the comment mark is removed."""
    escaped = []
    for char in text:
        if char in _TURTLE_ESCAPES:
            escaped.append(_TURTLE_ESCAPES[char])
        elif char in _LINE_BREAKING or unicodedata.category(char) == "Cc":
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
