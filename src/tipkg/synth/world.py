"""What synthetic reports talk about: real states and territories, an invented world of
conveners, meeting series and meetings, and the wording reports use for them.

Only the states and territories are real, and only identifiers known for certain are given
(ISO 3166-1 codes and Wikidata items for all; GeoNames only where the project already links them).
A meeting is drawn once and every report that describes it says the same of it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta


@functools.cache
def slug(name: str) -> str:
    """A lowercase ASCII slug for IRIs: "Curaçao" → "curacao"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


# ---------------------------------------------------------------- the real list


@dataclass(frozen=True)
class Polity:
    """A real state or territory, with its codes and Wikidata item."""

    name: str
    alpha2: str
    alpha3: str
    wikidata: str
    sovereign: bool = True
    the: bool = False  # named with "the" inside a sentence ("the Cayman Islands")
    listed: str | None = None  # how a list of members writes it, where that differs
    geonames: str | None = None

    @property
    def slug(self) -> str:
        return slug(self.name)

    @property
    def in_text(self) -> str:
        return f"the {self.name}" if self.the else self.name

    @property
    def listed_as(self) -> str:
        return self.listed or self.in_text

    @property
    def dbpedia(self) -> str:
        return self.name.replace(" ", "_")


POLITIES: tuple[Polity, ...] = (
    Polity("Antigua and Barbuda", "AG", "ATG", "Q781", geonames="3576396"),
    Polity("Argentina", "AR", "ARG", "Q414", geonames="3865483"),
    Polity("The Bahamas", "BS", "BHS", "Q778", geonames="3572887"),
    Polity("Barbados", "BB", "BRB", "Q244"),
    Polity("Belize", "BZ", "BLZ", "Q242"),
    Polity("Bolivia", "BO", "BOL", "Q750"),
    Polity("Brazil", "BR", "BRA", "Q155"),
    Polity("Canada", "CA", "CAN", "Q16"),
    Polity("Chile", "CL", "CHL", "Q298"),
    Polity("Colombia", "CO", "COL", "Q739"),
    Polity("Costa Rica", "CR", "CRI", "Q800"),
    Polity("Cuba", "CU", "CUB", "Q241"),
    Polity("Dominica", "DM", "DMA", "Q784"),
    Polity("Dominican Republic", "DO", "DOM", "Q786", the=True),
    Polity("Ecuador", "EC", "ECU", "Q736"),
    Polity("El Salvador", "SV", "SLV", "Q792"),
    Polity("Grenada", "GD", "GRD", "Q769"),
    Polity("Guatemala", "GT", "GTM", "Q774"),
    Polity("Guyana", "GY", "GUY", "Q734"),
    Polity("Haiti", "HT", "HTI", "Q790", geonames="3723988"),
    Polity("Honduras", "HN", "HND", "Q783"),
    Polity("Jamaica", "JM", "JAM", "Q766"),
    Polity("Mexico", "MX", "MEX", "Q96"),
    Polity("Nicaragua", "NI", "NIC", "Q811"),
    Polity("Panama", "PA", "PAN", "Q804"),
    Polity("Paraguay", "PY", "PRY", "Q733"),
    Polity("Peru", "PE", "PER", "Q419"),
    Polity("Saint Kitts and Nevis", "KN", "KNA", "Q763", listed="St. Kitts and Nevis"),
    Polity("Saint Lucia", "LC", "LCA", "Q760", geonames="3576468"),
    Polity(
        "Saint Vincent and the Grenadines",
        "VC",
        "VCT",
        "Q757",
        listed="St. Vincent and the Grenadines",
        geonames="3577815",
    ),
    Polity("Suriname", "SR", "SUR", "Q730"),
    Polity("Trinidad and Tobago", "TT", "TTO", "Q754"),
    Polity("United States", "US", "USA", "Q30", the=True),
    Polity("Uruguay", "UY", "URY", "Q77"),
    Polity("Venezuela", "VE", "VEN", "Q717"),
    Polity("Anguilla", "AI", "AIA", "Q25228", sovereign=False),
    Polity("Aruba", "AW", "ABW", "Q21203", sovereign=False),
    Polity("Bermuda", "BM", "BMU", "Q23635", sovereign=False),
    Polity("British Virgin Islands", "VG", "VGB", "Q25305", sovereign=False, the=True),
    Polity("Cayman Islands", "KY", "CYM", "Q5785", sovereign=False, the=True),
    Polity("Curaçao", "CW", "CUW", "Q25279", sovereign=False),
    Polity("Montserrat", "MS", "MSR", "Q13353", sovereign=False),
    Polity("Puerto Rico", "PR", "PRI", "Q1183", sovereign=False),
    Polity("Sint Maarten", "SX", "SXM", "Q26273", sovereign=False),
    Polity(
        "Turks and Caicos Islands",
        "TC",
        "TCA",
        "Q18221",
        sovereign=False,
        the=True,
        listed="the Turks and Caicos",
        geonames="3576916",
    ),
    Polity("United States Virgin Islands", "VI", "VIR", "Q11703", sovereign=False, the=True),
)
# Names a list of members may carry that no state or territory bears (as "Antigua and Bermuda").
UNRESOLVABLE_NAMES = ("Antigua and Bermuda", "Trinidad and Barbados", "Saint Vincent and Nevis")
COVID_19_WIKIDATA = "Q81068910"

# ---------------------------------------------------------------- the invented world


@dataclass(frozen=True)
class Org:
    """A convener: a real intergovernmental organisation or an invented committee."""

    slug: str
    name: str
    abbr: str
    committee: bool
    wikidata: str | None = None
    dbpedia: str | None = None


INTERGOVERNMENTAL = (
    Org(
        "organization-of-american-states",
        "Organization of American States",
        "OAS",
        False,
        "Q123759",
        "Organization_of_American_States",
    ),
    Org("caribbean-community", "Caribbean Community", "CARICOM", False),
    Org("oecs", "Organisation of Eastern Caribbean States", "OECS", False),
    Org("sica", "Central American Integration System", "SICA", False),
)
COMMITTEE_REGIONS = (
    ("Regional", ""), ("Eastern Caribbean", "EC"), ("Northern Caribbean", "NC"),
    ("Central American", "CA"), ("Andean", "AN"), ("Southern Cone", "SC"),
    ("Lesser Antilles", "LA"), ("Greater Antilles", "GA"), ("Hemispheric", "H"),
)  # fmt: skip
COMMITTEE_FOCI = (
    ("Trafficking In Persons Committee", "TIPCOM"),
    ("Committee on Migrant Smuggling and Trafficking", "CMST"),
    ("Victim Protection Committee", "VPC"),
    ("Anti-Trafficking Task Force", "ATTF"),
    ("Committee on Labour Trafficking", "CLT"),
)
CONVENERS = INTERGOVERNMENTAL + tuple(
    Org(slug(abbr + code), f"{region} {focus}", abbr + code, True)
    for region, abbr in COMMITTEE_REGIONS
    for focus, code in COMMITTEE_FOCI
)
# Kinds of series: committees hold the first four, organisations the last two.
# Each kind: (Dublin Core frequency term or None, days between meetings or None if irregular).
SERIES_KINDS = {
    "Annual Meeting": ("annual", 365),
    "Technical Meeting": ("semiannual", 182),
    "Working Group Meeting": ("quarterly", 91),
    "Coordination Meeting": ("monthly", 30),
    "Meeting of National Authorities on Trafficking in Persons": (None, None),
    "Regional Consultation on Trafficking in Persons": ("annual", 365),
}
FIRST_DATE, LAST_DATE = date(1995, 1, 1), date(2025, 12, 31)
PANDEMIC = (date(2020, 3, 11), date(2022, 6, 30))
UNIT_KINDS = (
    "Ministry of National Security", "Ministry of Foreign Affairs", "Ministry of Labour",
    "Department of Immigration", "Ministry of Social Development", "Attorney General's Chambers",
)  # fmt: skip
MODES = {  # attendance mode: (adjective in text, schema.org term)
    "online": ("virtual", "OnlineEventAttendanceMode"),
    "offline": ("in-person", "OfflineEventAttendanceMode"),
    "mixed": ("hybrid", "MixedEventAttendanceMode"),
}
THEME_OPENERS = (
    "Strengthening regional cooperation against", "Building partnerships to end",
    "A regional response to", "Protecting the victims of", "Successes and challenges in ending",
    "Breaking the cycle of",
)  # fmt: skip
THEME_SUBJECTS = (
    "trafficking in persons", "human trafficking in the Caribbean", "trafficking across borders",
    "human trafficking in the Americas", "trafficking for forced labour",
)  # fmt: skip

# ---------------------------------------------------------------- topics and their wording

TOP_TOPIC = "trafficking-in-persons"
TOPICS = {  # the topic scheme: key -> label; all narrower than the top topic (or as BROADER says)
    TOP_TOPIC: "Trafficking in persons",
    "contemporary-legislation": "Contemporary legislation",
    "training-and-awareness-campaigns": "Training and awareness campaigns",
    "victim-protection-and-recovery-services": "Victim protection and recovery services",
    "prosecution-of-human-traffickers": "Successful prosecution of human traffickers",
    "partnership-building-between-tip-committees": "Partnership building between TIP committees",
    "victims-of-trafficking": "Situation of victims of trafficking",
    "duty-of-care-and-protection": "Duty of care and protection",
    "shared-responsibility": "Shared responsibility of origin, transit and destination countries",
    "legal-and-administrative-cooperation": "Legal and administrative cooperation",
    "condemnation-of-trafficking-in-persons": "Joint condemnation of trafficking in persons",
    "data-collection-and-information-sharing": "Data collection and information sharing",
    "identification-of-victims": "Identification of victims",
    "trafficking-for-forced-labour": "Trafficking for forced labour",
}
BROADER = {"duty-of-care-and-protection": "victims-of-trafficking"}
# The clauses sentences state a topic with; a topic without one is never stated that way.
SUCH_AS = {  # a committee's areas of concern "such as ..."
    "contemporary-legislation": "contemporary legislation",
    "training-and-awareness-campaigns": "training and awareness campaigns",
    "victim-protection-and-recovery-services": "victim protection and recovery services",
    "prosecution-of-human-traffickers": "successful prosecution of human traffickers",
    "partnership-building-between-tip-committees": "partnership building between TIP committees",
    "data-collection-and-information-sharing": "data collection and information sharing",
    "identification-of-victims": "early identification of victims",
    "trafficking-for-forced-labour": "trafficking for forced labour",
}
COMMITS = {  # "... undertook to <clause>." / "... reaffirmed that it will <clause>."
    "contemporary-legislation": "bring national laws against trafficking in persons up to date",
    "training-and-awareness-campaigns": "train front-line officials and run awareness campaigns",
    "victim-protection-and-recovery-services": "expand shelters and recovery services for victims",
    "prosecution-of-human-traffickers": "bring more traffickers to trial",
    "partnership-building-between-tip-committees": "build partnerships between TIP committees",
    "legal-and-administrative-cooperation": "strengthen legal and administrative cooperation",
    "condemnation-of-trafficking-in-persons": "jointly condemn the crime of trafficking in persons",
    "data-collection-and-information-sharing": "share data on trafficking cases across borders",
    "identification-of-victims": "train immigration officers to identify victims",
}
EMPHASES = {  # "... also emphasized that <clause>."
    "contemporary-legislation": "laws against trafficking must keep pace with traffickers' methods",
    "training-and-awareness-campaigns": "awareness campaigns help to prevent recruitment",
    "victim-protection-and-recovery-services": "victims must be protected, not punished",
    "victims-of-trafficking": "the situation of victims of trafficking has worsened in the region",
    "duty-of-care-and-protection": "states owe victims, above all women and children, protection",
    "shared-responsibility": "origin, transit and destination countries share the responsibility",
    "identification-of-victims": "border and labour officials must be able to identify victims",
    "trafficking-for-forced-labour": "forced labour is growing in agriculture and fishing",
}
OUTCOMES = {  # "... decided to <clause>."
    "contemporary-legislation": "review model legislation against trafficking in persons",
    "victim-protection-and-recovery-services": "draw up common standards for shelters for victims",
    "prosecution-of-human-traffickers": "set up a network of prosecutors of trafficking cases",
    "partnership-building-between-tip-committees": "hold a yearly joint session of committees",
    "legal-and-administrative-cooperation": "adopt a common form for mutual legal assistance",
    "data-collection-and-information-sharing": "set up a regional database of trafficking cases",
}

# ---------------------------------------------------------------- units, series, meetings


@dataclass(frozen=True)
class Unit:
    """A government unit of a real polity (invented: real ministries' names vary)."""

    polity: Polity
    kind: str

    @property
    def slug(self) -> str:
        return f"{self.polity.slug}-{slug(self.kind)}"

    @property
    def name(self) -> str:
        return f"{self.kind} of {self.polity.name}"


@dataclass(eq=False)
class Series:
    """A series of meetings: each new meeting takes the next ordinal, so one ordinal each."""

    convener: Org
    kind: str
    first: date
    meetings: list[Meeting] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return f"{self.convener.slug}-{slug(self.kind)}"

    @property
    def name(self) -> str:
        return f"{self.convener.abbr} {self.kind}"

    @property
    def frequency(self) -> str | None:
        return SERIES_KINDS[self.kind][0]


@dataclass(eq=False)
class Meeting:
    """One meeting as the world has it: every report that describes it says the same."""

    series: Series
    ordinal: int
    start: date
    days: int
    host: Polity | Unit
    mode: str
    theme: str
    describers: list[int] = field(default_factory=list)  # indices of the reports describing it

    @property
    def slug(self) -> str:
        return f"{self.series.slug}-{self.ordinal}"

    @property
    def name(self) -> str:
        return f"{ordinal_word(self.ordinal)} {self.series.name}"

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    @property
    def in_pandemic(self) -> bool:
        return PANDEMIC[0] <= self.start <= PANDEMIC[1]


# ---------------------------------------------------------------- wording

ORDINALS = (
    "First Second Third Fourth Fifth Sixth Seventh Eighth Ninth Tenth Eleventh Twelfth Thirteenth "
    "Fourteenth Fifteenth Sixteenth Seventeenth Eighteenth Nineteenth Twentieth"
).split()
# English names, not the locale's: the text must not depend on the machine.
MONTHS = "January February March April May June July August September October November December"
MONTH_NAMES = MONTHS.split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def ordinal_word(number: int) -> str:
    """How a report writes a meeting's ordinal: "Sixth", "21st"."""
    if number <= len(ORDINALS):
        return ORDINALS[number - 1]
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"


def date_phrase(meeting: Meeting) -> str:
    """ "on Thursday, May 6, 2021", "on May 13 and 14, 2021", "from April 30 to May 2, 2021"."""
    start, end = meeting.start, meeting.end
    first, last = MONTH_NAMES[start.month - 1], MONTH_NAMES[end.month - 1]
    if meeting.days == 1:
        return f"on {WEEKDAYS[start.weekday()]}, {first} {start.day}, {start.year}"
    if start.year != end.year:
        return f"from {first} {start.day}, {start.year} to {last} {end.day}, {end.year}"
    if start.month != end.month:
        return f"from {first} {start.day} to {last} {end.day}, {end.year}"
    if meeting.days == 2:
        return f"on {first} {start.day} and {end.day}, {start.year}"
    return f"from {first} {start.day} to {end.day}, {start.year}"


def join_names(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
