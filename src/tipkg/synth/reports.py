"""Reports composed from sentence templates, each sentence with the facts it states.

A fact cites the sentences (and exact phrases) that state it and claims nothing they do not:
``tip:statedAt`` only where the sentence names the meeting, ``tip:statedBy`` only for the parties it
names, ``tip:partiesListedExhaustively false`` where it says "including". Where a sentence leaves
something to the reader (a theme or a delegation that does not name its meeting), the fact carries a
``skos:editorialNote`` saying so, as the seed report's facts do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import pyoxigraph as ox

from tipkg.errors import InputError
from tipkg.sources import split_sentences
from tipkg.synth.world import (
    COMMITS,
    CONVENERS,
    EMPHASES,
    FIRST_DATE,
    LAST_DATE,
    MODES,
    MONTH_NAMES,
    OUTCOMES,
    PANDEMIC,
    POLITIES,
    SERIES_KINDS,
    SUCH_AS,
    THEME_OPENERS,
    THEME_SUBJECTS,
    UNIT_KINDS,
    UNRESOLVABLE_NAMES,
    Meeting,
    Org,
    Polity,
    Series,
    Unit,
    capitalised,
    date_phrase,
    join_names,
    slug,
)
from tipkg.vocab import COMMON_PREFIXES, NIF, SCHEMA, Iris

SHARE_PROBABILITY = 0.12  # a report re-describes a meeting another report described
TWO_MEETINGS_PROBABILITY = 0.08
DOCUMENTS_PER_ACTIVE_SERIES = 12  # few series in a small corpus, so series really recur
RECENT_MEETINGS = 400  # a report re-describes one of the latest meetings, as news does

Entity = Polity | Unit | Org | Series
Term = ox.NamedNode | ox.Literal
Facts = dict[ox.NamedNode, dict[tuple[ox.NamedNode, Term], None]]  # ordered sets per subject


class Terms:
    """IRIs of one namespace as pyoxigraph nodes, each made once: ``SCHEMA_.startDate``."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def __getattr__(self, local: str) -> ox.NamedNode:
        node = ox.NamedNode(self.namespace + local)
        setattr(self, local, node)
        return node

    def __getitem__(self, local: str) -> ox.NamedNode:
        return ox.NamedNode(self.namespace + local)


PREFIXED = ("rdf", "xsd", "skos", "dct", "prov", "org", "owl", "dcat", "wd", "wdt", "freq", "dbr")
RDF_, XSD_, SKOS_, DCT_, PROV_, ORG_, OWL_, DCAT_, WD_, WDT_, FREQ_, DBR_ = (
    Terms(str(COMMON_PREFIXES[name])) for name in PREFIXED
)
SCHEMA_, NIF_ = Terms(str(SCHEMA)), Terms(str(NIF))
A = RDF_.type


def english(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def typed(value: object, datatype: ox.NamedNode) -> ox.Literal:
    lexical = str(value).lower() if isinstance(value, bool) else str(value)
    return ox.Literal(lexical, datatype=datatype)


class Minted:
    """The project's own IRIs under one base, by kind, with the project's prefix names."""

    def __init__(self, base_iri: str) -> None:
        self.iris = Iris(base_iri)
        self.prefixes = {name: str(ns) for name, ns in self.iris.prefixes().items()}
        self.tip = Terms(self.prefixes["tip"])
        self.event, self.org = Terms(self.prefixes["event"]), Terms(self.prefixes["tiporg"])
        self.place, self.concept = Terms(self.prefixes["place"]), Terms(self.prefixes["concept"])
        self.scheme = Terms(self.prefixes["scheme"])
        self.participation = Terms(self.prefixes["participation"])
        self.membership = Terms(self.prefixes["membership"])
        self.statement = Terms(self.prefixes["statement"])
        self.covid = self.event["covid-19-pandemic"]

    def node(self, entity: Entity | Meeting) -> ox.NamedNode:
        if isinstance(entity, Polity):
            return self.place[entity.slug]
        if isinstance(entity, Series | Meeting):
            return self.event[entity.slug]
        return self.org[entity.slug]


class ReportBuilder:
    """A report's text, sentence by sentence, and the facts each sentence states.

    Offsets count code points (Python ``str`` indices), as the build's NIF offsets do.
    """

    def __init__(self, minted: Minted, slug_: str, index: int) -> None:
        self.minted, self.slug, self.index = minted, slug_, index
        self.document = str(minted.iris.document(slug_))
        self.text = ""
        self.sentences: list[tuple[int, int]] = []
        self.facts: Facts = {}
        self.cited: list[Entity] = []

    def say(self, text: str, new_paragraph: bool = False) -> ox.NamedNode:
        """Append one sentence; returns its IRI (``…/sentence/<n>``)."""
        if self.text:
            self.text += "\n" if new_paragraph else " "
        begin = len(self.text)
        self.text += text
        self.sentences.append((begin, len(self.text)))
        return ox.NamedNode(f"{self.document}/sentence/{len(self.sentences)}")

    @property
    def last_sentence(self) -> str:
        return self.text[self.sentences[-1][0] :]

    def phrase(self, sentence: ox.NamedNode, quoted: str) -> ox.NamedNode:
        """A ``nif:Phrase`` for the first occurrence of ``quoted`` in ``sentence``."""
        begin, end = self.sentences[int(sentence.value.rsplit("/", 1)[1]) - 1]
        offset = self.text.index(quoted, begin, end)
        node = ox.NamedNode(f"{self.document}#char={offset},{offset + len(quoted)}")
        self.add(node, A, NIF_.Phrase)
        self.add(node, NIF_.anchorOf, ox.Literal(quoted))
        return node

    def add(self, subject: ox.NamedNode, predicate: ox.NamedNode, *objects: Term) -> None:
        facts = self.facts.setdefault(subject, {})
        for obj in objects:
            facts[(predicate, obj)] = None

    def cite(self, sentence: ox.NamedNode, *entities: Entity) -> None:
        """Shared entities a sentence mentions cite it, as the seed's places do."""
        for entity in entities:
            self.add(self.minted.node(entity), PROV_.wasDerivedFrom, sentence)
            self.cited.append(entity)
            if isinstance(entity, Unit):  # a unit's name names its polity too
                self.cite(sentence, entity.polity)

    def check_sentences(self) -> None:
        """The build must split the text into exactly these sentences, or citations drift."""
        split = [(sentence.begin, sentence.end) for sentence in split_sentences(self.text)]
        if split != self.sentences:
            raise AssertionError(f"{self.slug}: the templates split differently: {self.text!r}")


@dataclass
class Report:
    slug: str
    title: str
    text: str
    facts: Facts
    meetings: list[Meeting]


@dataclass
class Corpus:
    """What ``generate`` returns; ``plant_violations`` edits its facts before they are written."""

    seed: int
    minted: Minted
    reports: list[Report] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    cited: dict[str, Entity] = field(default_factory=dict)  # shared entities some report cites
    pandemic_cited: bool = False
    # Who states what, for planting faults: IRI -> indices of the reports that state it.
    participations: dict[str, list[int]] = field(default_factory=dict)
    themes: dict[str, list[int]] = field(default_factory=dict)
    memberships: list[tuple[int, ox.NamedNode]] = field(default_factory=list)
    statements: list[tuple[int, ox.NamedNode]] = field(default_factory=list)


def generate(documents: int, seed: int, base_iri: str) -> Corpus:
    """A corpus of ``documents`` reports, in memory: a function of its arguments only."""
    generator = Generator(documents, seed, Minted(base_iri))
    for index in range(documents):
        generator.corpus.reports.append(generator.report(index))
    return generator.corpus


class Generator:
    """Draws the world (series, meetings) and writes reports about it, from one seeded RNG."""

    def __init__(self, documents: int, seed: int, minted: Minted) -> None:
        self.rng = random.Random(seed)
        self.corpus = Corpus(seed, minted)
        self.minted, self.tip = minted, minted.tip
        kinds = list(SERIES_KINDS)
        series = [
            Series(org, kind, FIRST_DATE + timedelta(days=self.rng.randrange(8400)))
            for org in CONVENERS
            for kind in (kinds[:4] if org.committee else kinds[4:])
        ]
        self.rng.shuffle(series)
        active = max(3, math.ceil(documents / DOCUMENTS_PER_ACTIVE_SERIES))
        self.series, self.reserve = series[:active], series[active:]
        self.committees = [org for org in CONVENERS if org.committee]

    def new_meeting(self) -> Meeting:
        rng = self.rng
        while True:
            series = rng.choice(self.series)
            start = self.next_date(series)
            if start <= LAST_DATE:
                break
            self.series.remove(series)  # full: its next meeting would lie in the future
            if self.reserve:
                self.series.append(self.reserve.pop())
            elif not self.series:
                raise InputError("too many documents: every synthetic meeting series is full")
        pandemic = PANDEMIC[0] <= start <= PANDEMIC[1]
        modes = ("online",) * 5 + ("mixed",) if pandemic else ("offline",) * 3 + ("online", "mixed")
        host: Polity | Unit = rng.choice(POLITIES)
        if rng.random() < 0.5:
            host = Unit(host, rng.choice(UNIT_KINDS[:2]))
        subject = "trafficking in times of pandemic" if pandemic else rng.choice(THEME_SUBJECTS)
        theme = f"{rng.choice(THEME_OPENERS)} {subject}"
        days, mode = rng.choice((1, 1, 1, 1, 2, 2, 3)), rng.choice(modes)
        meeting = Meeting(series, len(series.meetings) + 1, start, days, host, mode, theme)
        series.meetings.append(meeting)
        self.corpus.meetings.append(meeting)
        return meeting

    def next_date(self, series: Series) -> date:
        interval = SERIES_KINDS[series.kind][1]
        if not series.meetings:
            return series.first
        if interval is None:
            return series.meetings[-1].start + timedelta(days=self.rng.randrange(120, 500))
        jitter = self.rng.randrange(interval // 6)  # dates stay in ordinal order
        return series.first + timedelta(days=len(series.meetings) * interval + jitter)

    def pick_meetings(self, index: int) -> list[Meeting]:
        """One or two meetings; now and then one that another report has described already
        (always for the second report, so that any corpus of two or more has one)."""
        count = 2 if self.rng.random() < TWO_MEETINGS_PROBABILITY else 1
        chosen: list[Meeting] = []
        for slot in range(count):
            described = [m for m in self.corpus.meetings[-RECENT_MEETINGS:] if m.describers]
            if described and ((index == 1 and slot == 0) or self.rng.random() < SHARE_PROBABILITY):
                meeting = self.rng.choice(described)
                if meeting not in chosen:
                    chosen.append(meeting)
                    continue
            chosen.append(self.new_meeting())
        return sorted(chosen, key=lambda m: m.start)

    def report(self, index: int) -> Report:
        reporter = self.rng.choice(POLITIES)
        meetings = self.pick_meetings(index)
        year = meetings[0].start.year
        b = ReportBuilder(self.minted, f"{reporter.slug}-tip-{year}-{index:05d}", index)
        if len(meetings) == 2:
            intro = b.say(
                f"{capitalised(reporter.in_text)} has recently participated in two regional "
                "meetings on trafficking in persons."
            )
            b.cite(intro, reporter)
        for position, meeting in enumerate(meetings):
            self.describe(b, meeting, reporter, position)
        b.check_sentences()
        for entity in b.cited:
            self.corpus.cited.setdefault(f"{type(entity).__name__}:{entity.slug}", entity)
        month = f"{MONTH_NAMES[meetings[0].start.month - 1]} {year}"
        what = f"the {meetings[0].name}" if len(meetings) == 1 else "two meetings on trafficking"
        title = f"{reporter.name} takes part in {what}, {month}"
        return Report(b.slug, title, b.text, b.facts, meetings)

    def describe(self, b: ReportBuilder, m: Meeting, reporter: Polity, position: int) -> None:
        """One paragraph about one meeting: who took part, when, hosted by whom, its theme,
        what was said there, and sometimes what its committee is and undertakes."""
        rng, tip, node, name = self.rng, self.tip, self.minted.node(m), m.name
        convener = m.series.convener
        m.describers.append(b.index)
        by = f"convened by the {convener.name} ({convener.abbr})"
        if position or rng.random() < 0.5:
            who = (
                f"Meantime, {reporter.in_text} also" if position else capitalised(reporter.in_text)
            )
            s = b.say(f"{who} participated in the {name}, {by} and held {date_phrase(m)}.", True)
        else:
            when = capitalised(date_phrase(m))
            s = b.say(f"{when}, {reporter.in_text} took part in the {name}, {by}.", True)
        b.add(node, A, tip.Meeting)
        b.add(node, SCHEMA_.name, english(name))
        b.add(node, tip.inSeries, self.minted.node(m.series))
        b.add(node, tip.ordinal, typed(m.ordinal, XSD_.positiveInteger))
        b.add(node, SCHEMA_.startDate, typed(m.start.isoformat(), XSD_.date))
        b.add(node, SCHEMA_.endDate, typed(m.end.isoformat(), XSD_.date))
        if m.days > 1:
            b.add(node, SCHEMA_.duration, typed(f"P{m.days}D", XSD_.duration))
        b.add(node, tip.convenedBy, self.minted.node(convener))
        b.add(node, PROV_.wasDerivedFrom, s)
        b.cite(s, m.series, convener, reporter)
        self.participation(b, m, reporter, s)
        adjective, mode_term = MODES[m.mode]
        mode_stated = m.in_pandemic and m.mode == "online" and rng.random() < 0.7
        if mode_stated:
            s = b.say(f"Because of the COVID-19 pandemic, the {name} was held online.")
            b.add(node, SCHEMA_.eventAttendanceMode, SCHEMA_[mode_term])
            b.add(node, tip.heldInContextOf, self.minted.covid)
            b.add(node, PROV_.wasDerivedFrom, s)
            b.add(self.minted.covid, PROV_.wasDerivedFrom, s)
            self.corpus.pandemic_cited = True
        if rng.random() < 0.85:
            host = m.host.in_text if isinstance(m.host, Polity) else f"the {m.host.name}"
            if not mode_stated and rng.random() < 0.6:
                s = b.say(f"The {adjective} meeting was hosted by {host}.")
                b.add(node, SCHEMA_.eventAttendanceMode, SCHEMA_[mode_term])
                mode_stated = True
            else:
                s = b.say(f"The meeting was hosted by {host}.")
            b.add(node, tip.hostedBy, self.minted.node(m.host))
            b.add(node, PROV_.wasDerivedFrom, s)
            b.cite(s, m.host)
        if not mode_stated:
            note = "The report gives no attendance mode (in person or online) for this meeting."
            b.add(node, SKOS_.editorialNote, english(note))
        if rng.random() < 0.65:
            self.theme(b, m)
        if rng.random() < 0.3:
            self.represented(b, m, reporter)
        if rng.random() < 0.25:
            others = rng.sample([p for p in POLITIES if p != reporter], 2)
            names = join_names([p.in_text for p in others])
            s = b.say(f"Delegations from {names} also took part in the {name}.")
            for polity in others:
                self.participation(b, m, polity, s)
                b.cite(s, polity)
        for _ in range(rng.choice((1, 1, 1, 2))):
            self.statement(b, m, reporter)
        committee = convener if convener.committee else rng.choice(self.committees)
        if rng.random() < (0.35 if convener.committee else 0.1):
            self.members(b, committee)
        if rng.random() < (0.25 if convener.committee else 0.08):
            self.undertaking(b, committee)

    def participation(self, b: ReportBuilder, m: Meeting, polity: Polity, s: ox.NamedNode) -> None:
        node = self.minted.participation[f"{polity.slug}-at-{m.slug}"]
        b.add(node, A, self.tip.Participation)
        b.add(node, self.tip.inMeeting, self.minted.node(m))
        b.add(node, self.tip.participant, self.minted.node(polity))
        b.add(node, PROV_.wasDerivedFrom, s)
        describers = self.corpus.participations.setdefault(node.value, [])
        if b.index not in describers:
            describers.append(b.index)

    def theme(self, b: ReportBuilder, m: Meeting) -> None:
        """The meeting's theme, quoted: a ``tip:Theme`` labelled with the exact phrase."""
        node = self.minted.concept[f"theme-{m.slug}"]
        if self.rng.random() < 0.3:
            s = b.say(f"This year’s theme, “{m.theme}”, framed the discussions.")
            note = (
                "The report gives this as 'this year's theme' without naming the meeting; it "
                f"follows the account of the {m.name} and is recorded as that meeting's theme."
            )
            b.add(node, SKOS_.editorialNote, english(note))
        else:
            s = b.say(f"The {m.name} was held under the theme “{m.theme}”.")
        b.add(node, A, self.tip.Theme)
        b.add(node, SKOS_.inScheme, self.minted.scheme["meeting-themes"])
        b.add(node, SKOS_.prefLabel, english(m.theme))
        b.add(node, PROV_.wasDerivedFrom, b.phrase(s, m.theme), s)
        b.add(self.minted.node(m), self.tip.theme, node)
        b.add(self.minted.node(m), PROV_.wasDerivedFrom, s)
        self.corpus.themes.setdefault(node.value, []).append(b.index)

    def represented(self, b: ReportBuilder, m: Meeting, reporter: Polity) -> None:
        kinds = self.rng.sample(UNIT_KINDS, self.rng.randint(1, 2))
        units = [Unit(reporter, kind) for kind in kinds]
        offices = join_names([f"its {kind}" for kind in kinds])
        node = self.minted.participation[f"{reporter.slug}-at-{m.slug}"]
        who = reporter.in_text
        if self.rng.random() < 0.5:
            s = b.say(f"At the {m.name}, {who} was represented by officers from {offices}.")
        else:
            s = b.say(f"{capitalised(who)} was represented by officers from {offices}.")
            note = (
                f"The report does not name the meeting at which officers represented {who}; the "
                f"sentence stands in its account of the {m.name} and is recorded for that meeting."
            )
            b.add(node, SKOS_.editorialNote, english(note))
        b.add(node, self.tip.representedBy, *(self.minted.node(unit) for unit in units))
        b.add(node, PROV_.wasDerivedFrom, s)
        b.cite(s, *units)

    def statement(self, b: ReportBuilder, m: Meeting, reporter: Polity) -> None:
        """What the meeting stressed or decided, or what parties the sentence names undertook."""
        rng, tip, meeting = self.rng, self.tip, self.minted.node(m)
        node = self.minted.statement[f"{b.slug}-{len(self.corpus.statements)}"]
        kind = rng.choice(("emphasis", "outcome", "including", "reporter"))
        clauses = {"emphasis": EMPHASES, "outcome": OUTCOMES}.get(kind, COMMITS)
        topic = rng.choice(sorted(clauses))
        if kind == "emphasis":
            s = b.say(f"The {m.name} also emphasized that {clauses[topic]}.")
            b.add(node, A, tip.Emphasis)
            b.add(node, tip.statedAt, meeting)
        elif kind == "outcome":
            s = b.say(f"Participants at the {m.name} decided to {clauses[topic]}.")
            b.add(node, A, tip.Outcome)
            b.add(node, tip.statedAt, meeting)
        elif kind == "including":
            parties = [reporter, rng.choice([p for p in POLITIES if p != reporter])]
            names = join_names([p.in_text for p in parties])
            s = b.say(
                f"At the {m.name}, the participating states, including {names}, "
                f"undertook to {clauses[topic]}."
            )
            b.add(node, A, tip.Commitment)
            b.add(node, tip.statedAt, meeting)
            b.add(node, tip.statedBy, *(self.minted.node(p) for p in parties))
            b.add(node, tip.partiesListedExhaustively, typed(False, XSD_.boolean))
            b.cite(s, *parties)
            if rng.random() < 0.5:
                note = "The report names only some of the parties ('including'): those recorded."
                b.add(node, SKOS_.editorialNote, english(note))
        else:
            s = b.say(f"{capitalised(reporter.in_text)} reaffirmed that it will {clauses[topic]}.")
            b.add(node, A, tip.Commitment)
            b.add(node, tip.statedBy, self.minted.node(reporter))
            b.cite(s, reporter)
        b.add(node, SCHEMA_.description, english(b.last_sentence))
        b.add(node, tip.concerns, self.minted.concept[topic])
        b.add(node, PROV_.wasDerivedFrom, s)
        self.corpus.statements.append((b.index, node))

    def members(self, b: ReportBuilder, committee: Org) -> None:
        """A partial list of a committee's members, now and then with a name nobody bears."""
        members = self.rng.sample(POLITIES, self.rng.randint(3, 5))
        names = [p.listed_as for p in members]
        unresolved = [self.rng.choice(UNRESOLVABLE_NAMES)] if self.rng.random() < 0.15 else []
        s = b.say(
            f"Among the members of the {committee.name} ({committee.abbr}) are "
            f"{join_names(names + unresolved)}."
        )
        org = self.minted.node(committee)
        note = "The report names these members as 'among' the members: others are not inferred."
        b.add(org, self.tip.membersListedExhaustively, typed(False, XSD_.boolean))
        b.add(org, SKOS_.editorialNote, english(note))
        b.cite(s, committee, *members)
        for polity, name in zip(members, names, strict=True):
            node = self.membership(b, committee, polity.slug, name, s)
            b.add(node, ORG_.member, self.minted.node(polity))
            if name != polity.in_text:
                b.add(node, PROV_.wasDerivedFrom, b.phrase(s, name))
            self.corpus.memberships.append((b.index, node))
        for name in unresolved:
            node = self.membership(b, committee, slug(name), name, s)
            b.add(node, PROV_.wasDerivedFrom, b.phrase(s, name))
            note = (
                f"No state or territory is called '{name}'; it may be a slip for one listed "
                "elsewhere. The member is left unresolved rather than guessed."
            )
            b.add(node, SKOS_.editorialNote, english(note))

    def membership(
        self, b: ReportBuilder, committee: Org, key: str, name: str, s: ox.NamedNode
    ) -> ox.NamedNode:
        node = self.minted.membership[f"{committee.slug}-{key}"]
        b.add(node, A, ORG_.Membership)
        b.add(node, ORG_.organization, self.minted.node(committee))
        b.add(node, self.tip.nameAsStated, english(name))
        b.add(node, PROV_.wasDerivedFrom, s)
        return node

    def undertaking(self, b: ReportBuilder, committee: Org) -> None:
        """A committee's undertaking: a commitment by the committee, at no meeting the text
        names, about the areas of concern it lists (examples: "such as")."""
        topics = self.rng.sample(sorted(SUCH_AS), 3)
        areas = [SUCH_AS[topic] for topic in topics]
        s = b.say(
            f"Going forward, the {committee.name} ({committee.abbr}) shall endeavor to discuss "
            f"areas of mutual concern such as {areas[0]}; {areas[1]} and {areas[2]}."
        )
        node = self.minted.statement[f"{b.slug}-{len(self.corpus.statements)}"]
        concepts = [self.minted.concept[topic] for topic in topics]
        note = "The areas of concern are introduced with 'such as': those named are examples."
        b.add(node, A, self.tip.Commitment)
        b.add(node, SCHEMA_.description, english(b.last_sentence))
        b.add(node, self.tip.statedBy, self.minted.node(committee))
        b.add(node, self.tip.concerns, *concepts)
        b.add(node, PROV_.wasDerivedFrom, s)
        b.add(node, SKOS_.editorialNote, english(note))
        b.add(self.minted.node(committee), self.tip.agendaTopic, *concepts)
        b.cite(s, committee)
        self.corpus.statements.append((b.index, node))
