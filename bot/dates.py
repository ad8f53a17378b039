"""Reading the day of an activity as members type it, in Chinese or English, relative to
"today" in the committee's time zone; future days and days before the assessment period are
refused with the reason.

Forms: 今天 昨天 前天 大前天 · 3天前 · 2025-11-03 2025/11/3 2025.11.3 2025年11月3日 · 11-03 11/3
11月3日 11月3号 · 上周五 上星期五 上礼拜五 · 周五 本周五 这周五 · today yesterday · 3 days ago ·
last friday · friday · Nov 3, 3 Nov, November 3 2025.

"上周五" is the Friday of the previous calendar week (weeks start on Monday), as Chinese speakers
use it; English "last friday" is the most recent Friday before today, as English speakers use it.
A month and day without a year is this year, or last year if that day has not come yet.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum


class DateProblem(StrEnum):
    UNREADABLE = "unreadable"  # not a form we know
    NO_SUCH_DAY = "no_such_day"  # 2025-02-30
    FUTURE = "future"
    BEFORE_PERIOD = "before_period"


@dataclass(frozen=True)
class DateAnswer:
    day: date | None
    problem: DateProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


# Dates people type (meeting days, event times, deadlines, weeks, report years) must fall in these
# years: anything else is a typo, and near the ends of Python's calendar adding a day or a time zone
# overflows (a deadline on 9999-12-31 broke the hourly sweep).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def read_iso_day(text: str) -> date | None:
    """A day written 2025-12-20 (or 2025/12/20) within the supported years, else None."""
    try:
        day = date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None
    return day if year_in_range(day.year) else None


WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MONTHS_EN = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
RELATIVE_DAYS = {
    "今天": 0,
    "今日": 0,
    "昨天": 1,
    "昨日": 1,
    "前天": 2,
    "大前天": 3,
    "today": 0,
    "yesterday": 1,
    "the day before yesterday": 2,
}
ZH_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}

_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAYS_AGO = re.compile(r"^(\d{1,3}|[一二两三四五六七八九十])\s*(?:天前|日前|days? ago)$")
_ZH_WEEKDAY = re.compile(r"^(上上|上|本|这|這)?(?:周|星期|礼拜|禮拜)([一二三四五六日天])$")
_EN_WEEKDAY = re.compile(r"^(last\s+|this\s+|on\s+)?(mon|tue|wed|thu|fri|sat|sun)[a-z]*$")
_EN_MONTH_FIRST = re.compile(r"^([a-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?$")
_EN_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]{3})[a-z]*\.?(?:,?\s+(\d{4}))?$")


def today_in(now: datetime, zone: tzinfo) -> date:
    """The committee's calendar day at `now`."""
    return now.astimezone(zone).date()


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and punctuation (２０２５－１１－０３) into ASCII.
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower().rstrip("。.!！")


def _month_day(month: int, day: int, today: date) -> date | None:
    """This year's date, or last year's when this year's has not come yet."""
    candidate = _safe(today.year, month, day)
    if candidate is not None and candidate <= today:
        return candidate
    return _safe(today.year - 1, month, day)


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _read(text: str, today: date) -> date | DateProblem:
    if text in RELATIVE_DAYS:
        return today - timedelta(days=RELATIVE_DAYS[text])
    if m := _DAYS_AGO.match(text):
        raw = m.group(1)
        return today - timedelta(days=int(raw) if raw.isdigit() else ZH_NUMBERS[raw])
    if m := _FULL.match(text):
        found = _safe(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        return found if found else DateProblem.NO_SUCH_DAY
    if m := _MONTH_DAY.match(text):
        found = _month_day(int(m.group(1)), int(m.group(2)), today)
        return found if found else DateProblem.NO_SUCH_DAY
    if m := _ZH_WEEKDAY.match(text):
        prefix, weekday = m.group(1), WEEKDAYS_ZH[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        if prefix == "上":
            return monday - timedelta(weeks=1) + timedelta(days=weekday)
        if prefix == "上上":
            return monday - timedelta(weeks=2) + timedelta(days=weekday)
        if prefix in ("本", "这", "這"):
            return monday + timedelta(days=weekday)  # may be in the future: refused as such
        return today - timedelta(days=(today.weekday() - weekday) % 7)  # 周五: the latest one
    if m := _EN_WEEKDAY.match(text):
        prefix, weekday = (m.group(1) or "").strip(), WEEKDAYS_EN[m.group(2)]
        if prefix == "this":
            return today - timedelta(days=today.weekday()) + timedelta(days=weekday)
        back = (today.weekday() - weekday) % 7
        if prefix == "last" and back == 0:
            back = 7
        return today - timedelta(days=back)
    for pattern, month_group, day_group in ((_EN_MONTH_FIRST, 1, 2), (_EN_DAY_FIRST, 2, 1)):
        if m := pattern.match(text):
            month = MONTHS_EN.get(m.group(month_group)[:3])
            if month is None:
                return DateProblem.UNREADABLE
            day = int(m.group(day_group))
            found = _safe(int(m.group(3)), month, day) if m.group(3) else _month_day(month, day, today)
            return found if found else DateProblem.NO_SUCH_DAY
    return DateProblem.UNREADABLE


def parse_activity_date(text: str, *, today: date, period_start: date | None = None) -> DateAnswer:
    """The day `text` names, checked: not after `today`, not before `period_start` (if given)."""
    found = _read(_normalise(text or ""), today)
    if isinstance(found, DateProblem):
        return DateAnswer(None, found)
    if found > today:
        return DateAnswer(found, DateProblem.FUTURE)
    if period_start is not None and found < period_start:
        return DateAnswer(found, DateProblem.BEFORE_PERIOD)
    return DateAnswer(found)


def check_day(day: date, *, today: date, period_start: date | None = None) -> DateProblem | None:
    """The same checks for a day that came from a button or a stored draft."""
    if day > today:
        return DateProblem.FUTURE
    if period_start is not None and day < period_start:
        return DateProblem.BEFORE_PERIOD
    return None


def format_day(day: date, lang: str) -> str:
    """A day as members read it: 2025年11月3日 / 2025-11-03."""
    return day.isoformat() if lang == "en" else f"{day.year}年{day.month}月{day.day}日"
