"""The year-in-review part of the rules file: what events, outcomes and the committee's work log
are labelled with ([[tag]], [[organiser]], [[quantity]], [[document]], [[log]]) and the annual
work report built from them ([[report.heading]]: a label, a sentence in the committee's style and
the figures it quotes). Each district edits its copy; `bot.services.year_review` evaluates it.

A file without any of these sections gets the shipped default's (so an older RULES_FILE keeps
working); a file with some of them gets exactly what it defines.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

SHORT_MAX = 8  # as bot.core.rules: a Chinese button label that fits two to a row on a phone
SECTIONS = ("tag", "organiser", "quantity", "document", "log", "report")

# What a figure counts, and the keys each kind takes besides `count`.
EVENT_FILTERS = ("tags", "kinds", "organisers", "units", "audience", "with_guests")
FIGURE_KEYS: dict[str, tuple[str, ...]] = {
    "events": EVENT_FILTERS,  # 场次: events held
    "attendances": EVENT_FILTERS,  # 人次: people present at them
    "attendees": EVENT_FILTERS,  # distinct people present
    "guests": EVENT_FILTERS,  # leaders invited to them (人次)
    "reports": ("types",),  # members' confirmed reports (took part): 人次
    "reporters": ("types",),  # distinct members with such reports
    "quantity": ("quantity", "from", "types", *EVENT_FILTERS),  # a summed quantity
    "documents": ("documents", "instructed"),  # output documents (with a 批示)
    "log": ("log", "marked"),  # the work log: summed counts (of entries with the kind's mark)
    "info": ("info", "levels", "target"),  # 社情民意
    "roster": ("roster",),  # serving members, bound, passed, excellent
    "proposals": ("proposals",),  # 提案 (bot.services.proposals.figures says what each counts)
}
INFO_FIGURES = ("collected", "accepted", "reported", "adopted", "transferred", "instructions", "feedback")
ROSTER_FIGURES = ("serving", "bound", "passed", "excellent")
PROPOSAL_FIGURES = ("received", "registered", "answered", "answered_rate", "key", "not_filed", "merged", "converted",
                    "on_time", "on_time_rate", "excellent")  # fmt: skip
TARGETS = ("hotline", "departments")
AUDIENCES = ("members", "staff")
SOURCES = ("events", "reports")

Fail = Callable[[str, str], Exception]


@dataclass(frozen=True)
class Labelled:
    """A coded entry with its names: full (cards, lists) and short (buttons)."""

    code: str
    zh: str
    en: str
    zh_short: str = ""
    en_short: str = ""

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def button(self, lang: str) -> str:
        short = self.en_short if lang == "en" else self.zh_short
        return short or self.label(lang)

    def names(self) -> set[str]:
        return {n.casefold() for n in (self.code, self.zh, self.en, self.zh_short, self.en_short) if n}


@dataclass(frozen=True)
class Tag(Labelled):
    pass


@dataclass(frozen=True)
class Organiser(Labelled):
    committee: bool = False  # names one 专委会 of the roster (kept as the event's organiser_unit)


@dataclass(frozen=True)
class Quantity(Labelled):
    unit_zh: str = ""
    unit_en: str = ""
    report_types: tuple[str, ...] = ()  # activity types whose own reports may carry it

    def unit(self, lang: str) -> str:
        return self.unit_en if lang == "en" else self.unit_zh


@dataclass(frozen=True)
class DocumentKind(Labelled):
    pass


@dataclass(frozen=True)
class LogKind(Labelled):
    unit_zh: str = ""
    unit_en: str = ""
    mark_zh: str = ""  # a yes/no each entry may carry (简讯: 被转载); empty: none
    mark_en: str = ""

    def unit(self, lang: str) -> str:
        return self.unit_en if lang == "en" else self.unit_zh

    def mark(self, lang: str) -> str:
        return (self.mark_en or self.mark_zh) if lang == "en" else self.mark_zh


@dataclass(frozen=True)
class Figure:
    """One number a heading quotes: what it counts and the filters that pick the rows."""

    name: str
    count: str
    tags: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # event kinds (activity types of the point rules)
    organisers: tuple[str, ...] = ()
    units: tuple[str, ...] = ()  # committees named as organiser
    audience: str | None = None  # members / staff events only
    with_guests: bool = False
    types: tuple[str, ...] = ()  # members' report types
    quantity: str | None = None
    sources: tuple[str, ...] = SOURCES
    documents: tuple[str, ...] = ()
    instructed: bool = False
    log: tuple[str, ...] = ()
    marked: bool = False
    info: str | None = None
    levels: tuple[str, ...] = ()
    target: str | None = None
    roster: str | None = None
    proposals: str | None = None


@dataclass(frozen=True)
class Heading:
    key: str
    zh: str
    en: str
    zh_text: str
    en_text: str
    figures: tuple[Figure, ...]

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class ReviewRules:
    tags: dict[str, Tag] = field(default_factory=dict)
    organisers: dict[str, Organiser] = field(default_factory=dict)
    quantities: dict[str, Quantity] = field(default_factory=dict)
    documents: dict[str, DocumentKind] = field(default_factory=dict)
    log_kinds: dict[str, LogKind] = field(default_factory=dict)
    headings: tuple[Heading, ...] = ()

    def heading(self, key: str) -> Heading:
        return next(h for h in self.headings if h.key == key)


def find(entries: Mapping[str, Labelled], text: str) -> str | None:
    """The code of the entry `text` names: its code or any of its names, in any case."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    for code, entry in entries.items():
        if wanted in entry.names():
            return code
    return None


def has_review(data: dict) -> bool:
    return any(name in data for name in SECTIONS)


def _texts(raw: dict, key: str, what: str, fail: Fail, needle: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(needle, f"{what}: {key} must be a list of names")
    return tuple(v.strip() for v in value)


def _labelled(raw: object, section: str, fail: Fail, seen: dict) -> dict:
    if not isinstance(raw, dict):
        raise fail(f"[[{section}]]", f"a [[{section}]] must be a table")
    code = raw.get("code")
    if not code or not isinstance(code, str):
        raise fail(f"[[{section}]]", f"a [[{section}]] has no code")
    if code in seen:
        raise fail(f'"{code}"', f"{section} code {code!r} is defined twice")
    zh = str(raw.get("zh") or code)
    zh_short = str(raw.get("zh_short") or "")
    if len(zh_short or zh) > SHORT_MAX:
        raise fail(f'"{code}"', f"{section} {code!r} needs a zh_short of at most {SHORT_MAX} characters for its buttons")
    return {"code": code, "zh": zh, "en": str(raw.get("en") or zh), "zh_short": zh_short,
            "en_short": str(raw.get("en_short") or "")}  # fmt: skip


def _resolve(names: Iterable[str], entries: Mapping[str, Labelled], what: str, fail: Fail, needle: str) -> tuple[str, ...]:
    out = []
    for name in names:
        code = find(entries, name)
        if code is None:
            known = ", ".join(entries) or "none"
            raise fail(needle, f"{what}: unknown {name!r} (known: {known})")
        out.append(code)
    return tuple(dict.fromkeys(out))


def parse_review(data: dict, fail: Fail, *, activity_codes: Iterable[str], levels: Iterable[str]) -> ReviewRules:
    """The review sections of a parsed rules file (raises what `fail` makes, with file and line)."""
    activities = set(activity_codes)
    info_levels = tuple(levels)
    tags: dict[str, Tag] = {}
    for raw in data.get("tag", []):
        tags[raw.get("code")] = Tag(**_labelled(raw, "tag", fail, tags))
    organisers: dict[str, Organiser] = {}
    for raw in data.get("organiser", []):
        organisers[raw.get("code")] = Organiser(**_labelled(raw, "organiser", fail, organisers),
                                                committee=bool(raw.get("committee", False)))  # fmt: skip
    quantities: dict[str, Quantity] = {}
    for raw in data.get("quantity", []):
        base = _labelled(raw, "quantity", fail, quantities)
        types = _texts(raw, "report_types", f"quantity {base['code']!r}", fail, f'"{base["code"]}"')
        unknown = [t for t in types if activities and t not in activities]
        if unknown:
            raise fail(f'"{base["code"]}"', f"quantity {base['code']!r}: unknown activity type {unknown[0]!r}")
        quantities[base["code"]] = Quantity(**base, unit_zh=str(raw.get("unit_zh") or ""),
                                            unit_en=str(raw.get("unit_en") or ""), report_types=types)  # fmt: skip
    documents: dict[str, DocumentKind] = {}
    for raw in data.get("document", []):
        documents[raw.get("code")] = DocumentKind(**_labelled(raw, "document", fail, documents))
    log_kinds: dict[str, LogKind] = {}
    for raw in data.get("log", []):
        base = _labelled(raw, "log", fail, log_kinds)
        log_kinds[base["code"]] = LogKind(
            **base, unit_zh=str(raw.get("unit_zh") or ""), unit_en=str(raw.get("unit_en") or ""),
            mark_zh=str(raw.get("mark_zh") or ""), mark_en=str(raw.get("mark_en") or ""),
        )  # fmt: skip
    review = ReviewRules(tags, organisers, quantities, documents, log_kinds)
    report = data.get("report", {})
    if not isinstance(report, dict):
        raise fail("report", "[report] must be a table with [[report.heading]] entries")
    headings: list[Heading] = []
    for raw in report.get("heading", []):
        headings.append(_heading(raw, review, fail, activities, info_levels, {h.key for h in headings}))
    return ReviewRules(tags, organisers, quantities, documents, log_kinds, tuple(headings))


def _heading(raw: object, review: ReviewRules, fail: Fail, activities: set[str], levels: tuple[str, ...],
             keys: set[str]) -> Heading:  # fmt: skip
    if not isinstance(raw, dict) or not isinstance(raw.get("key"), str) or not raw["key"]:
        raise fail("[[report.heading]]", "a [[report.heading]] has no key")
    key = raw["key"]
    needle = f'"{key}"'
    if key in keys:
        raise fail(needle, f"heading {key!r} is defined twice")
    zh = str(raw.get("zh") or key)
    zh_text = raw.get("zh_text")
    if not isinstance(zh_text, str) or not zh_text.strip():
        raise fail(needle, f"heading {key!r} has no zh_text (its sentence)")
    en_text = str(raw.get("en_text") or "")
    specs = raw.get("figures", {})
    if not isinstance(specs, dict) or not specs:
        raise fail(needle, f"heading {key!r} has no figures")
    figures = tuple(_figure(name, spec, f"heading {key!r}, figure {name!r}", review, fail, needle, activities,
                            levels) for name, spec in specs.items())  # fmt: skip
    names = {f.name for f in figures}
    for text in (zh_text, en_text):
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise fail(needle, f"heading {key!r}: {exc} in its sentence") from None
        missing = used - names
        if missing:
            raise fail(needle, f"heading {key!r}: the sentence names {sorted(missing)[0]!r}, which is not one of its figures")
    return Heading(key=key, zh=zh, en=str(raw.get("en") or zh), zh_text=zh_text, en_text=en_text, figures=figures)


def _figure(name: str, spec: object, what: str, review: ReviewRules, fail: Fail, needle: str,
            activities: set[str], levels: tuple[str, ...]) -> Figure:  # fmt: skip
    if not name.isidentifier():
        raise fail(needle, f"{what}: a figure's name must be a plain word (letters, digits, _)")
    if not isinstance(spec, dict) or spec.get("count") not in FIGURE_KEYS:
        raise fail(needle, f"{what}: count must be one of {', '.join(FIGURE_KEYS)}")
    count = spec["count"]
    extra = set(spec) - {"count", *FIGURE_KEYS[count]}
    if extra:
        raise fail(needle, f"{what}: {sorted(extra)[0]!r} does not apply to count = {count!r}")
    values: dict = {"name": name, "count": count}
    if "tags" in spec:
        values["tags"] = _resolve(_texts(spec, "tags", what, fail, needle), review.tags, what, fail, needle)
    if "organisers" in spec:
        values["organisers"] = _resolve(_texts(spec, "organisers", what, fail, needle), review.organisers, what,
                                        fail, needle)  # fmt: skip
    if "units" in spec:
        values["units"] = _texts(spec, "units", what, fail, needle)
    for key in ("kinds", "types"):
        if key in spec:
            codes = _texts(spec, key, what, fail, needle)
            unknown = [c for c in codes if activities and c not in activities]
            if unknown:
                raise fail(needle, f"{what}: unknown activity type {unknown[0]!r}")
            values[key] = codes
    if "audience" in spec:
        if spec["audience"] not in AUDIENCES:
            raise fail(needle, f"{what}: audience must be one of {', '.join(AUDIENCES)}")
        values["audience"] = spec["audience"]
    for flag in ("with_guests", "instructed", "marked"):
        if flag in spec:
            if not isinstance(spec[flag], bool):
                raise fail(needle, f"{what}: {flag} must be true or false")
            values[flag] = spec[flag]
    if count == "quantity":
        code = find(review.quantities, str(spec.get("quantity") or ""))
        if code is None:
            raise fail(needle, f"{what}: quantity must name a [[quantity]] (known: {', '.join(review.quantities) or 'none'})")
        values["quantity"] = code
        if "from" in spec:
            sources = _texts(spec, "from", what, fail, needle)
            if not sources or set(sources) - set(SOURCES):
                raise fail(needle, f"{what}: from must list events and/or reports")
            values["sources"] = sources
    if count == "documents":
        values["documents"] = _resolve(_texts(spec, "documents", what, fail, needle), review.documents, what, fail,
                                       needle) or tuple(review.documents)  # fmt: skip
    if count == "log":
        values["log"] = _resolve(_texts(spec, "log", what, fail, needle), review.log_kinds, what, fail, needle)
        if not values["log"]:
            raise fail(needle, f"{what}: log must name at least one [[log]] kind")
    choices = {"info": INFO_FIGURES, "roster": ROSTER_FIGURES, "proposals": PROPOSAL_FIGURES}
    if count in choices:
        if spec.get(count) not in choices[count]:
            raise fail(needle, f"{what}: {count} must be one of {', '.join(choices[count])}")
        values[count] = spec[count]
    if count == "info":
        if "levels" in spec:
            wanted = _texts(spec, "levels", what, fail, needle)
            if set(wanted) - set(levels):
                raise fail(needle, f"{what}: levels must be among {', '.join(levels)}")
            if values["info"] not in ("reported", "adopted", "instructions"):
                raise fail(needle, f"{what}: levels apply to reported, adopted and instructions")
            values["levels"] = wanted
        if "target" in spec:
            if spec["target"] not in TARGETS or values["info"] != "transferred":
                raise fail(needle, f"{what}: target (hotline or departments) applies to transferred")
            values["target"] = spec["target"]
    return Figure(**values)
