"""Times and days as the settings write them: quiet hours, the deadline reminder days, the digest's
weekday and hour. The settings validate with these parsers (so what passes at start-up works later)
and the services plan with them; they live here, in the bottom layer, so the settings need no service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from bot.core.dates import read_clock, read_weekly_time

MAX_OFFSET_MINUTES = 60 * 24 * 60  # 60 days
MAX_OFFSETS = 6
MAX_DEADLINE_DAYS = MAX_OFFSET_MINUTES // (60 * 24)  # reminders of deadlines reach as far as events'


def from_wall(wall: datetime, zone: tzinfo) -> datetime:
    """A naive local wall-clock time as aware UTC. fold=0: a time in the spring-forward gap
    lands just past the gap, an ambiguous one (fall back) takes its first occurrence."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (local time) in which reminders wait; start == end means none."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @property
    def enabled(self) -> bool:
        return self.start != self.end

    def contains(self, moment: datetime, zone: tzinfo) -> bool:
        if not self.enabled:
            return False
        clock = moment.astimezone(zone).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def end_after(self, moment: datetime, zone: tzinfo) -> datetime:
        """The end of the quiet window `moment` is in (aware UTC)."""
        local = moment.astimezone(zone)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)  # late evening: quiet ends tomorrow morning
        return from_wall(datetime.combine(day, self.end), zone)

    def start_before(self, moment: datetime, zone: tzinfo) -> datetime:
        """The start of the quiet window `moment` is in (aware UTC)."""
        local = moment.astimezone(zone)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) < self.end:
            day -= timedelta(days=1)  # early morning: quiet began yesterday evening
        return from_wall(datetime.combine(day, self.start), zone)


NO_QUIET = QuietHours(time(0, 0), time(0, 0))


def parse_quiet_hours(text: str) -> QuietHours:
    """ "21:00-08:00" → QuietHours; "" or "off" → none."""
    text = (text or "").strip().lower()
    if text in ("", "off", "none", "0"):
        return NO_QUIET
    first, _, last = text.partition("-")
    start, end = read_clock(first), read_clock(last)
    if start is None or end is None:
        raise ValueError(f"QUIET_HOURS: expected HH:MM-HH:MM, not {text!r}")
    return QuietHours(start, end)


def parse_days(text: str) -> list[int]:
    """ "7,3,1" → [7, 3, 1]: at most MAX_OFFSETS reminders, none further ahead than an event's."""
    parts = [p for p in re.split(r"[,，\s]+", text.strip()) if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected whole days separated by commas (e.g. 7,3,1), not {text[:40]!r}")
    days = sorted({int(p) for p in parts}, reverse=True)
    if days[0] > MAX_DEADLINE_DAYS:
        raise ValueError(f"at most {MAX_DEADLINE_DAYS} days before the due date, not {days[0]}")
    if len(days) > MAX_OFFSETS:
        raise ValueError(f"at most {MAX_OFFSETS} reminders, not {len(days)}")
    return days


class _Week(Protocol):
    """An ISO week (`bot.services.digest.IsoWeek`): all the digest's time needs of it is its Monday."""

    @property
    def monday(self) -> date: ...


@dataclass(frozen=True)
class DigestTime:
    weekday: int  # 0 = Monday
    at: time

    def due_in_week(self, week: _Week, zone: tzinfo) -> datetime:
        """When the digest is due in `week` (aware, committee zone)."""
        day = week.monday + timedelta(days=self.weekday)
        return datetime.combine(day, self.at, tzinfo=zone)


def parse_digest_time(text: str) -> DigestTime:
    """`MON 09:00` (weekday optional, Monday by default)."""
    found = read_weekly_time(text)
    if found is None:
        raise ValueError(f"DIGEST_TIME {text!r}: expected e.g. 'MON 09:00'")
    return DigestTime(*found)
