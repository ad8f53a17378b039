"""The holiday calendar: public holidays and the Chinese 调休 make-up workdays.

Out of the box the State Council's calendar comes from the maintained `chinesecalendar` package
(import name `chinese_calendar`), make-up workdays included. HOLIDAYS_FILE adds or overrides days
(a district's own day off, a worked holiday), one entry a line, `#` starts a comment:

    2025-10-01..2025-10-08  休  国庆节、中秋节
    2025-09-28              班  调休上班
    2025-05-01              holiday
    2025-04-27              workday

`休`/`holiday` (the default) marks days off, `班`/`workday` marks a day that is worked. For a year
the package does not know yet, Monday–Friday are workdays and one warning a day says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from bot.core.dates import read_iso_day

log = logging.getLogger(__name__)

HOLIDAY_WORDS = {"休", "假", "holiday", "off"}
WORKDAY_WORDS = {"班", "补班", "workday", "work"}
MAX_RANGE_DAYS = 60


class HolidayFileError(Exception):
    """`<file>:<line>: <reason>`."""


def national_workday(day: date) -> bool | None:
    """The State Council's answer from `chinesecalendar`, None for a year it does not know."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class HolidayCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # 调休: days off that are worked
    enabled: bool = False  # False: no calendar at all, every day is a workday (tests)
    national: bool = False  # consult the State Council's calendar for days the file does not name
    today: Callable[[], date] = field(default=date.today, compare=False)
    _warned: dict[int, date] = field(default_factory=dict, compare=False, repr=False)

    def is_workday(self, day: date) -> bool:
        if not self.enabled:
            return True
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if self.national:
            known = national_workday(day)
            if known is not None:
                return known
            self._warn_unknown(day.year)
        return day.weekday() < 5

    def _warn_unknown(self, year: int) -> None:
        today = self.today()
        if self._warned.get(year) != today:
            self._warned[year] = today
            log.warning(
                "the holiday calendar (chinesecalendar) does not know %d yet: counting Monday–Friday as "
                "workdays; update the package or list the year's days in HOLIDAYS_FILE",
                year,
            )


NO_CALENDAR = HolidayCalendar()


def _day(text: str, source: str, number: int) -> date:
    day = read_iso_day(text)
    if day is None:
        raise HolidayFileError(f"{source}:{number}: not a date (YYYY-MM-DD): {text.strip()!r}")
    return day


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


def load_calendar(path: str | Path | None, *, today: Callable[[], date] = date.today) -> HolidayCalendar:
    """The State Council's calendar, with the days of HOLIDAYS_FILE (if set) added or overriding."""
    own = NO_CALENDAR
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise HolidayFileError(f"{path}:0: cannot read: {exc.strerror}") from None
        own = parse_calendar(text, str(path))
    return HolidayCalendar(own.holidays, own.workdays, enabled=True, national=True, today=today)
