"""Re-anchor a report's citations after its source text changed.

A correction to ``source.txt`` shifts every later offset and can renumber sentences, so phrase IRIs
(``#char=B,E``) and sentence IRIs (``…/sentence/N``) written against the old text no longer say
what they said. The old text is the one the last build published (``dist/``); the manifest's
SHA-256 per document says whether it changed. Each cited phrase is found again by its quoted text
(``nif:anchorOf``): where it occurs once, there; where more often, by the text around it in the
old version, as a W3C Web Annotation TextQuoteSelector's prefix and suffix would place it. Each old
sentence goes to the new sentence holding most of its characters once the two texts are aligned.
Only the IRI tokens of the report's Turtle files change (:mod:`tipkg.turtle_edit`); a file that
cites a phrase or sentence that can no longer be found is not written at all.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pyoxigraph as ox

from tipkg.dist import DocumentEntry, open_store, read_manifest
from tipkg.errors import InputError, display_path
from tipkg.graph import read_turtle
from tipkg.project import Project, ReportFolder
from tipkg.settings import Settings
from tipkg.sources import PHRASE_FRAGMENT, Sentence, SourceText, read_source, split_sentences
from tipkg.turtle_edit import (
    iri_tokens,
    line_of,
    rewrite_iris,
    string_literals,
    tokenize,
    write_atomically,
)
from tipkg.vocab import NIF, Iris

# How much text on each side of a quote tells two occurrences apart (TextQuoteSelector's
# prefix and suffix).
CONTEXT_CHARS = 32
# An old sentence survives if at least this share of its characters is still in the new text.
SURVIVING_SHARE = 0.5
_SENTENCE_MENTION = re.compile(r"\b[Ss]entences?\s+(\d+)")


@dataclass(frozen=True)
class Finding:
    """A line of the report: where in a file, and what."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = display_path(self.path) + (f":{self.line}" if self.line else "")
        return f"{where}: {self.message}"


@dataclass
class Reanchored:
    """What re-anchoring did to one report."""

    slug: str
    state: str  # "changed", "unchanged" or "not built"
    old_text: str = ""
    new_text: str = ""
    sentence_moves: list[tuple[int, int]] = field(default_factory=list)
    phrase_moves: list[tuple[str, str, str]] = field(default_factory=list)  # old, new, quote
    lost: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    written: list[tuple[Path, int]] = field(default_factory=list)
    refused: list[tuple[Path, int]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.lost)

    def lines(self) -> list[str]:
        if self.state == "unchanged":
            return [f"{self.slug}: source.txt unchanged since the last build; nothing to do"]
        if self.state == "not built":
            return [f"{self.slug}: not in the last build; nothing recorded to re-anchor against"]
        old_count = len(split_sentences(self.old_text))
        new_count = len(split_sentences(self.new_text))
        lines = [
            f"{self.slug}: source.txt changed since the last build ({len(self.old_text):,} → "
            f"{len(self.new_text):,} characters, {old_count} → {new_count} sentences)"
        ]
        lines += [f"  moved  s:{old} → s:{new}" for old, new in self.sentence_moves]
        lines += [
            f"  moved  {old} → {new}  {_shown(quote)}" for old, new, quote in self.phrase_moves
        ]
        lines += [f"  lost   {finding}" for finding in self.lost]
        lines += [f"  note   {finding}" for finding in self.notes]
        for path, count in self.written:
            lines.append(f"  wrote  {display_path(path)} ({count} IRIs re-anchored)")
        for path, count in self.refused:
            lines.append(
                f"  left   {display_path(path)} unchanged: {count} citation"
                f"{'' if count == 1 else 's'} can no longer be anchored"
            )
        if not (self.written or self.refused):
            lines.append("  no file needed a change")
        return lines


def reanchor(
    project: Project, settings: Settings, dist_dir: Path, slug: str | None = None
) -> list[Reanchored]:
    """Re-anchor every report whose text changed since the build in ``dist_dir`` (or only
    ``slug``). Files are written where every citation they hold could be re-anchored."""
    reports = project.reports
    if slug is not None:
        reports = tuple(r for r in reports if r.slug == slug)
        if not reports:
            raise InputError(f"no report '{slug}' in data/reports/", project.root / "data")
    manifest = read_manifest(dist_dir)
    built = {entry["slug"]: entry for entry in manifest.documents}
    if slug is not None and slug not in built:
        raise InputError(
            f"report '{slug}' is not in the last build: nothing to re-anchor against", dist_dir
        )
    iris = Iris(settings.base_iri)
    results: list[Reanchored] = []
    changed: list[tuple[ReportFolder, SourceText, DocumentEntry]] = []
    for report in reports:
        source = read_source(report.slug, report.source_path)
        entry = built.get(report.slug)
        if entry is None:
            results.append(Reanchored(report.slug, "not built"))
        elif entry["sha256"] == source.sha256:
            results.append(Reanchored(report.slug, "unchanged"))
        else:
            changed.append((report, source, entry))
    if changed:
        store = open_store(dist_dir, manifest)
        for report, source, entry in changed:
            previous = _Previous(store, entry, manifest.base_iri, report)
            results.append(_reanchor_report(report, source, previous, iris))
    order = {report.slug: i for i, report in enumerate(reports)}
    return sorted(results, key=lambda r: order[r.slug])


class _Previous:
    """The last build's record of one report: its text, and the citations it published."""

    def __init__(
        self, store: ox.Store, entry: DocumentEntry, base: str, report: ReportFolder
    ) -> None:
        self.base = base
        document = ox.NamedNode(entry["iri"])
        graph = ox.NamedNode(entry["graph"])
        is_string = ox.NamedNode(str(NIF.isString))
        texts = [q.object.value for q in store.quads_for_pattern(document, is_string, None, graph)]
        if len(texts) != 1:
            raise InputError(
                f"the last build holds no text for '{report.slug}': rebuild", report.source_path
            )
        self.text = texts[0]
        self.document = entry["iri"]
        self.graph = graph
        self.store = store

    def check_unchanged_citations(self, report: ReportFolder) -> None:
        """Refuse files whose citations the last build did not publish: they were written (or
        re-anchored already) against another text than the one re-anchoring starts from."""
        published = {
            quad.triple
            for quad in self.store.quads_for_pattern(None, None, None, self.graph)
            if _is_citation(quad.triple, self.document)
        }
        for path in report.turtle_files:
            label = f"document/{report.slug}/{path.name}"
            for triple in read_turtle(path, self.base, label).triples:
                if _is_citation(triple, self.document) and triple not in published:
                    text = path.read_text(encoding="utf-8")
                    tokens = tokenize(text)
                    line = next(
                        (
                            line_of(text, tokens[found.index].start)
                            for found in iri_tokens(tokens, self.base)
                            if found.iri == triple.object.value
                        ),
                        None,
                    )
                    raise InputError(
                        f"cites <…{triple.object.value[len(self.document) :]}>, which the last "
                        "build did not publish: the file changed since then (re-anchored "
                        "already?); run `tipkg build` first",
                        path,
                        line,
                    )


def _is_citation(triple: ox.Triple, document: str) -> bool:
    obj = triple.object
    return (
        isinstance(triple.subject, ox.NamedNode)
        and isinstance(obj, ox.NamedNode)
        and (obj.value.startswith(document + "#") or obj.value.startswith(document + "/sentence/"))
    )


def _reanchor_report(
    report: ReportFolder, source: SourceText, previous: _Previous, iris: Iris
) -> Reanchored:
    previous.check_unchanged_citations(report)
    result = Reanchored(report.slug, "changed", previous.text, source.text)
    document = str(iris.document(report.slug))
    files = {path: path.read_bytes().decode("utf-8") for path in report.turtle_files}
    used: dict[str, tuple[Path, int]] = {}  # each cited IRI of this report, where first written
    for path, text in files.items():
        tokens = tokenize(text)
        for found in iri_tokens(tokens, iris.base):
            if found.iri.startswith((document + "#", document + "/sentence/")):
                used.setdefault(found.iri, (path, line_of(text, tokens[found.index].start)))
    mapping, failures = _plan(result, document, sorted(used), _anchors(report, iris))
    _check_no_merge(mapping, used)
    for path, text in files.items():
        _rewrite_file(path, text, iris.base, mapping, failures, result)
    return result


def _plan(
    result: Reanchored, document: str, cited: list[str], anchors: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Where each cited sentence and phrase goes (``mapping``), or why it cannot
    (``failures``); the moves are noted in ``result``."""
    old_text, new_text = result.old_text, result.new_text
    sentence_prefix = document + "/sentence/"
    blocks = _aligned_blocks(old_text, new_text)
    old_sentences = split_sentences(old_text)
    sentence_map = map_sentences(old_sentences, split_sentences(new_text), blocks)
    mapping: dict[str, str] = {}
    failures: dict[str, str] = {}
    for iri in sorted(cited, key=lambda iri: _citation_order(iri, document)):
        if iri.startswith(sentence_prefix):
            number = iri[len(sentence_prefix) :]
            if not number.isdigit() or not 1 <= int(number) <= len(old_sentences):
                continue  # not a sentence of the old text either: the build will say so
            target = sentence_map[int(number)]
            if target is None:
                failures[iri] = f"cites s:{number}, which is no longer in the text"
            elif target != int(number):
                mapping[iri] = sentence_prefix + str(target)
                result.sentence_moves.append((int(number), target))
            continue
        match = PHRASE_FRAGMENT.search(iri[len(document) :])
        if match is None:
            continue  # not a phrase IRI: the build will say so
        begin, end = int(match.group(1)), int(match.group(2))
        quote = anchors.get(iri, "")
        placed = _place(quote, begin, end, old_text, new_text, blocks)
        old_fragment = f"#char={begin},{end}"
        if isinstance(placed, str):
            failures[iri] = f"phrase {old_fragment} {_shown(quote)}: {placed}"
        elif placed != (begin, end):
            new_fragment = f"#char={placed[0]},{placed[1]}"
            mapping[iri] = document + new_fragment
            result.phrase_moves.append((old_fragment, new_fragment, quote))
    return mapping, failures


def _citation_order(iri: str, document: str) -> tuple[int, ...]:
    """Sentences by number, then phrases by offsets (as text, s:10 would sort before s:2)."""
    numbers = tuple(int(n) for n in re.findall(r"\d+", iri[len(document) :]))
    return (iri.startswith(document + "#"), *numbers)


def _check_no_merge(mapping: dict[str, str], used: dict[str, tuple[Path, int]]) -> None:
    """Two citations must not become one: re-anchoring never merges nodes the curator kept apart."""
    targets: dict[str, str] = {}
    for old in used:
        new = mapping.get(old, old)
        if new in targets and "#char=" in new:  # sentences may merge; phrases may not
            path, line = used[old]
            fragment = new.rsplit("#", 1)[-1]
            raise InputError(
                f"two phrases would both move to #{fragment}: re-anchor them by hand", path, line
            )
        targets[new] = old


def _rewrite_file(
    path: Path,
    text: str,
    base: str,
    mapping: dict[str, str],
    failures: dict[str, str],
    result: Reanchored,
) -> None:
    tokens = tokenize(text)
    lost: dict[str, int] = {}
    needs_change = False
    for found in iri_tokens(tokens, base):
        if found.iri in failures:
            lost.setdefault(found.iri, line_of(text, tokens[found.index].start))
        needs_change = needs_change or found.iri in mapping
    moved = dict(result.sentence_moves)
    for token in string_literals(text):
        mentions = [int(m.group(1)) for m in _SENTENCE_MENTION.finditer(token.text)]
        stale = [f"sentence {n} (now s:{moved[n]})" for n in dict.fromkeys(mentions) if n in moved]
        if stale:
            message = f"a literal mentions {', '.join(stale)}: check its wording"
            result.notes.append(Finding(path, line_of(text, token.start), message))
    if lost:
        result.lost += [Finding(path, line, failures[iri]) for iri, line in lost.items()]
        result.refused.append((path, len(lost)))
        return
    if not needs_change:
        return
    rewritten = rewrite_iris(path, text, base, mapping)
    write_atomically(path, rewritten.text)
    result.written.append((path, rewritten.changed))


def _anchors(report: ReportFolder, iris: Iris) -> dict[str, str]:
    """Each phrase's quoted text (``nif:anchorOf``), from any of the report's files."""
    anchors: dict[str, str] = {}
    for path in report.turtle_files:
        for triple in read_turtle(path, iris.base, f"document/{report.slug}/{path.name}").triples:
            if triple.predicate.value == str(NIF.anchorOf) and isinstance(
                triple.object, ox.Literal
            ):
                phrase, anchor = triple.subject.value, triple.object.value
                anchors[phrase] = min(anchors.get(phrase, anchor), anchor)
    return anchors


# ------------------------------------------------------------------ aligning the two texts


def _aligned_blocks(old: str, new: str) -> list[tuple[int, int, int]]:
    """Runs of characters the two texts share, in order: ``(old_start, new_start, length)``."""
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [(a, b, size) for a, b, size in matcher.get_matching_blocks() if size]


def map_sentences(
    old: Iterable[Sentence], new: Sequence[Sentence], blocks: list[tuple[int, int, int]]
) -> dict[int, int | None]:
    """Each old sentence's number → the new sentence holding most of its aligned characters, or
    ``None`` when less than ``SURVIVING_SHARE`` of it is left anywhere."""
    new_begins = [sentence.begin for sentence in new]
    mapped: dict[int, int | None] = {}
    for sentence in old:
        held: dict[int, int] = {}
        for a, b, size in blocks:
            low, high = max(a, sentence.begin), min(a + size, sentence.end)
            if low >= high:
                continue
            new_low, new_high = b + low - a, b + high - a
            index = max(bisect.bisect_right(new_begins, new_low) - 1, 0)
            while index < len(new) and new[index].begin < new_high:
                overlap = min(new_high, new[index].end) - max(new_low, new[index].begin)
                if overlap > 0:
                    held[new[index].number] = held.get(new[index].number, 0) + overlap
                index += 1
        survived = sum(held.values()) >= SURVIVING_SHARE * (sentence.end - sentence.begin)
        mapped[sentence.number] = max(held, key=lambda n: (held[n], -n)) if survived else None
    return mapped


def _mapped_offset(offset: int, blocks: list[tuple[int, int, int]]) -> int:
    """Where ``offset`` of the old text lies in the new one, by the last aligned run before it."""
    shift = 0
    for a, b, _size in blocks:
        if a > offset:
            break
        shift = b - a
    return offset + shift


def _place(
    quote: str,
    begin: int,
    end: int,
    old: str,
    new: str,
    blocks: list[tuple[int, int, int]],
) -> tuple[int, int] | str:
    """The quote cited at ``begin,end`` of the old text placed in the new one, or why not."""
    if not quote:
        return "has no nif:anchorOf to find it by"
    if old[begin:end] != quote:
        return "its anchor is not the last build's text at these offsets"
    starts = [m.start() for m in re.finditer(f"(?={re.escape(quote)})", new)]
    if not starts:
        return "no longer in the text"
    if len(starts) == 1:
        return starts[0], starts[0] + len(quote)
    prefix, suffix = old[max(0, begin - CONTEXT_CHARS) : begin], old[end : end + CONTEXT_CHARS]
    expected = _mapped_offset(begin, blocks)

    def rank(start: int) -> tuple[int, int]:
        before = new[max(0, start - CONTEXT_CHARS) : start]
        after = new[start + len(quote) : start + len(quote) + CONTEXT_CHARS]
        context = _common_suffix(prefix, before) + _common_prefix(suffix, after)
        return -context, abs(start - expected)

    ranked = sorted(starts, key=rank)
    if rank(ranked[0]) == rank(ranked[1]):
        return f"occurs {len(starts)} times and nothing around it tells which"
    return ranked[0], ranked[0] + len(quote)


def _common_prefix(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def _common_suffix(a: str, b: str) -> int:
    return _common_prefix(a[::-1], b[::-1])


def _shown(quote: str, width: int = 48) -> str:
    """A quote on one line, shortened for a report."""
    flat = " ".join(quote.split())
    return '"' + (flat if len(flat) <= width else flat[: width - 1] + "…") + '"'
