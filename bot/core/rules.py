"""Point rules are data: a TOML file (shipped default, RULES_FILE overrides) with activity types,
points, caps, review, the assessment period, pass marks and minimum duties, and 社情民意 bonuses.

A broken file stops start-up with the file, the line and the reason (`RulesError`).
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path

from bot.core.review_rules import Labelled, ReviewRules, has_review, parse_review

INFO_LEVELS = ("district", "city", "region", "national")
SHORT_MAX = 8  # characters of a Chinese button label that fit two to a row on a 390 px phone
# An activity code travels in button data (`prefix:action:code`) and in callback patterns.
CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")


class RulesError(Exception):
    """`<file>:<line>: <reason>`."""


@dataclass(frozen=True, kw_only=True)
class ActivityType(Labelled):
    """An activity type: its names (the short one on buttons, which a phone cuts: at most SHORT_MAX
    characters), its points and cap, whether a report of it is reviewed, and a meeting's points for
    leave and absence."""

    points: float
    cap: float | None
    review: bool
    leave_points: float | None = None
    absence_points: float | None = None


@dataclass(frozen=True)
class InfoRules:
    submit_points: float = 5
    cap: float | None = 30
    coauthor_share: float = 0.5
    categories: tuple[str, ...] = ("其他",)
    adopt_bonus: dict[str, float] = field(default_factory=dict)  # per level in INFO_LEVELS
    instruction_bonus: float = 0


@dataclass(frozen=True)
class AnswerCategory:
    code: str  # A / B / C: what a unit picks for its answer
    zh: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class ProposalRules:
    """[proposal]: points for the lead on 立案 and for each co-proposer who agreed, bonuses for a
    重点 and an 优秀 proposal, a cap per period; the categories; the units' answer categories."""

    lead_points: float = 10
    cosigner_points: float = 3
    key_bonus: float = 5
    excellent_bonus: float = 10
    cap: float | None = 30
    categories: tuple[str, ...] = ("经济建设", "政治建设", "文化建设", "社会建设", "生态文明建设", "其他")
    answer_categories: tuple[AnswerCategory, ...] = (
        AnswerCategory("A", "已解决或基本解决", "Solved or mostly solved"),
        AnswerCategory("B", "正在解决或列入计划", "Being solved or planned"),
        AnswerCategory("C", "因条件限制留作参考", "Kept for reference (conditions do not allow it yet)"),
    )

    def answer_category(self, code: str) -> AnswerCategory | None:
        return next((c for c in self.answer_categories if c.code == code), None)


@dataclass(frozen=True)
class Assessment:
    period: str = "year"
    pass_mark: float = 60
    excellent_mark: float = 85
    minimums: dict[str, int] = field(default_factory=dict)  # activity code, "activity" (any) or "info"


@dataclass(frozen=True)
class Rules:
    assessment: Assessment
    activities: dict[str, ActivityType]  # in file order: the order of the report buttons
    info: InfoRules
    source: str = ""
    proposal: ProposalRules = field(default_factory=ProposalRules)
    review: ReviewRules = field(default_factory=ReviewRules)  # tags, outcomes, work log, annual report

    def activity(self, code: str) -> ActivityType:
        return self.activities[code]

    def period_bounds(self, moment: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
        """The assessment period holding `moment`, as aware UTC [start, end): a calendar year in the
        committee's zone, so 23:30 on 31 December local time still counts for that year."""
        year = moment.astimezone(zone).year
        start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
        end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
        return start, end

    def period_of_year(self, year: int, zone: tzinfo) -> tuple[datetime, datetime]:
        return (datetime(year, 1, 1, tzinfo=zone).astimezone(UTC),
                datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC))


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _code_line(text: str, code: str) -> int:
    """The line of `code = "<code>"` (however the file spells the string), else 1."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"\s*code\s*=", line):
            with contextlib.suppress(tomllib.TOMLDecodeError):
                if tomllib.loads(line).get("code") == code:
                    return number
    return 1


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    return float(value)


def parse_rules(text: str, source: str = "<rules>") -> Rules:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RulesError(f"{source}:{match.group(1) if match else 1}: {exc}") from None

    def fail(needle: str, reason: str) -> RulesError:
        return RulesError(f"{source}:{_line_of(text, needle)}: {reason}")

    section = data.get("assessment", {})
    if section.get("period", "year") != "year":
        raise fail("period", "only period = \"year\" (calendar year) is supported")
    try:
        assessment = Assessment(
            pass_mark=_number(section.get("pass_mark", 60), "pass_mark"),
            excellent_mark=_number(section.get("excellent_mark", 85), "excellent_mark"),
            minimums={str(k): int(v) for k, v in section.get("minimums", {}).items()},
        )
    except (ValueError, TypeError) as exc:
        raise fail("[assessment]", str(exc)) from None

    activities: dict[str, ActivityType] = {}
    raw_activities = data.get("activity", [])
    if not raw_activities:
        raise fail("[[activity]]", "no [[activity]] types defined")
    for raw in raw_activities:
        code = raw.get("code")
        if not code or not isinstance(code, str):
            raise fail("[[activity]]", "an [[activity]] has no code")
        if not CODE_PATTERN.fullmatch(code):
            raise RulesError(
                f"{source}:{_code_line(text, code)}: activity code {code!r} may hold only lowercase letters, "
                "digits and _, starting with a letter, at most 32 characters (it goes into the buttons' data)"
            )
        if code in activities:
            raise fail(f'"{code}"', f"activity code {code!r} is defined twice")
        zh_short = str(raw.get("zh_short") or "")
        if len(zh_short or str(raw.get("zh") or code)) > SHORT_MAX:
            raise fail(f'"{code}"', f"activity {code!r} needs a zh_short of at most {SHORT_MAX} characters for its buttons")
        try:
            activities[code] = ActivityType(
                code=code, zh=str(raw.get("zh") or code), en=str(raw.get("en") or raw.get("zh") or code),
                zh_short=zh_short, en_short=str(raw.get("en_short") or ""),
                points=_number(raw["points"], f"points of {code}"),
                cap=_number(raw["cap"], f"cap of {code}") if "cap" in raw else None,
                review=bool(raw.get("review", True)),
                leave_points=_number(raw["leave_points"], "leave_points") if "leave_points" in raw else None,
                absence_points=_number(raw["absence_points"], "absence_points") if "absence_points" in raw else None,
            )
        except KeyError as exc:
            raise fail(f'"{code}"', f"activity {code!r} lacks {exc.args[0]}") from None
        except ValueError as exc:
            raise fail(f'"{code}"', str(exc)) from None

    for key in assessment.minimums:
        if key not in activities and key not in ("activity", "info", "proposal"):
            raise fail("minimums", f"minimum for unknown type {key!r}")

    raw_info = data.get("info", {})
    bonus = raw_info.get("adopt_bonus", {})
    try:
        info = InfoRules(
            submit_points=_number(raw_info.get("submit_points", 5), "info.submit_points"),
            cap=_number(raw_info["cap"], "info.cap") if "cap" in raw_info else None,
            coauthor_share=_number(raw_info.get("coauthor_share", 0.5), "info.coauthor_share"),
            categories=tuple(str(c) for c in raw_info.get("categories", ["其他"])),
            adopt_bonus={level: _number(bonus.get(level, 0), f"adopt_bonus.{level}") for level in INFO_LEVELS},
            instruction_bonus=_number(bonus.get("instruction", 0), "adopt_bonus.instruction"),
        )
    except ValueError as exc:
        raise fail("[info", str(exc)) from None
    proposal = _proposal_rules(data.get("proposal", {}), fail)
    if has_review(data):
        review = parse_review(data, fail, activity_codes=activities, levels=INFO_LEVELS)
    else:
        review = shipped_review()  # an older rules file: the shipped tags, outcomes and report
    return Rules(assessment=assessment, activities=activities, info=info, source=source, review=review,
                 proposal=proposal)


def _proposal_rules(raw: dict, fail) -> ProposalRules:  # type: ignore[no-untyped-def]
    shipped = ProposalRules()
    try:
        answers = shipped.answer_categories
        if "answer_categories" in raw:
            answers = tuple(
                AnswerCategory(str(a["code"]), str(a["zh"]), str(a.get("en") or a["zh"]))
                for a in raw["answer_categories"]
            )
            if not answers or len({a.code for a in answers}) != len(answers):
                raise ValueError("proposal.answer_categories needs distinct codes")
        categories = tuple(str(c) for c in raw.get("categories", shipped.categories))
        if not categories:
            raise ValueError("proposal.categories is empty")
        return ProposalRules(
            lead_points=_number(raw.get("lead_points", shipped.lead_points), "proposal.lead_points"),
            cosigner_points=_number(raw.get("cosigner_points", shipped.cosigner_points), "proposal.cosigner_points"),
            key_bonus=_number(raw.get("key_bonus", shipped.key_bonus), "proposal.key_bonus"),
            excellent_bonus=_number(raw.get("excellent_bonus", shipped.excellent_bonus), "proposal.excellent_bonus"),
            cap=_number(raw["cap"], "proposal.cap") if "cap" in raw else shipped.cap,
            categories=categories,
            answer_categories=answers,
        )
    except (KeyError, TypeError) as exc:
        raise fail("[proposal", f"proposal.answer_categories: each needs code and zh ({exc})") from None
    except ValueError as exc:
        raise fail("[proposal", str(exc)) from None


DEFAULT_FILE = Path(__file__).with_name("rules.default.toml")


@cache
def shipped_review() -> ReviewRules:
    """The review sections of the shipped default (activity types not in a district's own file
    then match nothing)."""
    text = DEFAULT_FILE.read_text(encoding="utf-8")

    def fail(needle: str, reason: str) -> RulesError:
        return RulesError(f"{DEFAULT_FILE}:{_line_of(text, needle)}: {reason}")

    return parse_review(tomllib.loads(text), fail, activity_codes=(), levels=INFO_LEVELS)


def load_rules(path: Path) -> Rules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}:0: cannot read: {exc.strerror}") from None
    return parse_rules(text, str(path))
