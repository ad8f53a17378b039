"""The holiday calendar (HOLIDAYS_FILE): public holidays and the Chinese 调休 make-up workdays.

One entry a line, `#` starts a comment:

    2025-10-01..2025-10-08  休  国庆节、中秋节
    2025-09-28              班  调休上班
    2025-05-01              holiday
    2025-04-27              workday

`休`/`holiday` (the default) marks days off, `班`/`workday` marks a weekend day that is worked.
With a calendar, a day is a workday when it is Monday–Friday and not a holiday, or a make-up
workday; without one, every day counts as a workday (nothing is moved).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

HOLIDAY_WORDS = {"休", "假", "holiday", "off"}
WORKDAY_WORDS = {"班", "补班", "workday", "work"}
MAX_RANGE_DAYS = 60


class HolidayFileError(Exception):
    """`<file>:<line>: <reason>`."""


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # 调休: weekend days that are worked
    enabled: bool = False  # False: no calendar given, every day is a workday

    def is_workday(self, day: date) -> bool:
        if not self.enabled:
            return True
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


NO_CALENDAR = HolidayCalendar()


def _day(text: str, source: str, number: int) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HolidayFileError(f"{source}:{number}: not a date (YYYY-MM-DD): {text.strip()!r}") from None


def parse_calendar(text: str, source: str = "<holidays>") -> HolidayCalendar:
    holidays: set[date] = set()
    workdays: set[date] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").replace("\t", " ").split()
        when, word = parts[0], (parts[1] if len(parts) > 1 else "休")
        first, sep, last = when.partition("..")
        start = _day(first, source, number)
        end = _day(last, source, number) if sep else start
        if end < start or (end - start).days > MAX_RANGE_DAYS:
            raise HolidayFileError(f"{source}:{number}: bad date range {when!r}")
        if word.lower() in HOLIDAY_WORDS:
            target = holidays
        elif word.lower() in WORKDAY_WORDS:
            target = workdays
        else:
            raise HolidayFileError(f"{source}:{number}: {word!r} is neither 休/holiday nor 班/workday")
        day = start
        while day <= end:
            target.add(day)
            day += timedelta(days=1)
    both = holidays & workdays
    if both:
        raise HolidayFileError(f"{source}: {min(both)} is both a holiday and a workday")
    return HolidayCalendar(frozenset(holidays), frozenset(workdays), enabled=True)


def load_calendar(path: str | Path | None) -> HolidayCalendar:
    """The calendar of HOLIDAYS_FILE, or no calendar when the setting is empty."""
    if not path:
        return NO_CALENDAR
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise HolidayFileError(f"{path}:0: cannot read: {exc.strerror}") from None
    return parse_calendar(text, str(path))
