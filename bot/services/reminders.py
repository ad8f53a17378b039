"""When reminders go out: offsets before an event, quiet hours, deadline reminder days kept off
holidays. The functions that compute times are pure (UTC in, UTC out, the committee's zone as an
argument); `bot.services.events` and `bot.services.deadlines` turn their results into outbox rows.

Offsets are written `1m`, `90m`, `24h`, `7d`. Minutes and hours are elapsed time; days keep the
wall-clock time ("1d" before 14:30 is 14:30 the day before, even across a daylight-saving change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from bot.core.dates import read_clock
from bot.core.holidays import NO_CALENDAR, HolidayCalendar, load_calendar
from bot.core.schedule import (
    MAX_OFFSET_MINUTES,
    MAX_OFFSETS,
    QuietHours,
    from_wall,
    parse_days,
    parse_quiet_hours,
)

if TYPE_CHECKING:
    from bot.core.config import Settings

DEFAULT_OFFSETS = ("24h", "2h")
_OFFSET_RE = re.compile(r"^(\d{1,5})\s*([mhd])$")
_UNIT_ALIASES = {
    "min": "m",
    "mins": "m",
    "分钟": "m",
    "小时": "h",
    "天": "d",
    "day": "d",
    "days": "d",
    "hour": "h",
    "hours": "h",
}


class OffsetError(ValueError):
    """An offset that is not whole minutes, hours or days, or out of range."""


def parse_offset(token: str) -> str:
    """A canonical offset token ("24h") from what a person wrote ("24h", "24 H", "24小时")."""
    text = token.strip().lower()
    for alias, unit in _UNIT_ALIASES.items():
        if text.endswith(alias):
            text = text[: -len(alias)].strip() + unit
            break
    match = _OFFSET_RE.match(text)
    if not match:
        raise OffsetError(token)
    amount, unit = int(match.group(1)), match.group(2)
    minutes = amount * {"m": 1, "h": 60, "d": 1440}[unit]
    if amount <= 0 or minutes > MAX_OFFSET_MINUTES:
        raise OffsetError(token)
    return f"{amount}{unit}"


def parse_offsets(text: str) -> list[str]:
    """ "24h,2h,10m" (also with 、，or spaces) → canonical tokens, longest first, no repeats."""
    tokens = [p for p in re.split(r"[,，、;；\s]+", text.strip()) if p]
    if not tokens or len(tokens) > MAX_OFFSETS:
        raise OffsetError(text)
    canonical = {parse_offset(tok) for tok in tokens}
    return sorted(canonical, key=offset_minutes, reverse=True)


def offset_minutes(token: str) -> int:
    amount, unit = int(token[:-1]), token[-1]
    return amount * {"m": 1, "h": 60, "d": 1440}[unit]


def offset_moment(start: datetime, token: str, zone: tzinfo) -> datetime:
    """The moment `token` before `start` (aware); days step back on the local calendar."""
    amount, unit = int(token[:-1]), token[-1]
    if unit == "d":
        local = start.astimezone(zone)
        wall = local.replace(tzinfo=None) - timedelta(days=amount)
        return from_wall(wall, zone)
    return start.astimezone(UTC) - timedelta(minutes=offset_minutes(token))


def out_of_quiet(
    when: datetime,
    zone: tzinfo,
    quiet: QuietHours,
    *,
    deadline: datetime | None = None,
    not_before: datetime | None = None,
) -> datetime | None:
    """When a reminder due at `when` may go out. In quiet hours it waits for their end; if that is
    too late (at or after `deadline`, e.g. the event's start) it goes out just before the quiet
    hours began instead; None if that too is impossible (before `not_before`)."""
    if not quiet.contains(when, zone):
        return when
    later = quiet.end_after(when, zone)
    if deadline is None or later < deadline:
        return later
    earlier = quiet.start_before(when, zone) - timedelta(minutes=1)
    if not_before is not None and earlier < not_before:
        return None
    return earlier


@dataclass(frozen=True)
class PlannedReminder:
    offset: str
    at: datetime  # aware UTC


def plan_event_times(
    start: datetime, offsets: list[str], zone: tzinfo, quiet: QuietHours, now: datetime
) -> list[PlannedReminder]:
    """Send times of an event's reminders: offsets before `start`, out of quiet hours, only those
    still ahead of `now`; two offsets that land on the same moment send one reminder."""
    planned: list[PlannedReminder] = []
    seen: set[datetime] = set()
    for token in sorted(offsets, key=offset_minutes, reverse=True):
        due = offset_moment(start, token, zone)
        if due <= now:
            continue
        at = out_of_quiet(due, zone, quiet, deadline=start, not_before=now)
        if at is None or at <= now or at >= start or at in seen:
            continue
        seen.add(at)
        planned.append(PlannedReminder(token, at))
    return sorted(planned, key=lambda p: p.at)


def reminder_day(day: date, due_on: date, calendar: HolidayCalendar, today: date) -> date | None:
    """The day a deadline reminder planned for `day` goes out: the workday before it if `day` is
    off (holiday, or a weekend that is not a 调休 workday); failing that (it would be in the past),
    the next workday before the due date; None if there is none."""
    if calendar.is_workday(day):
        return day
    earlier = day - timedelta(days=1)
    while earlier >= today and not calendar.is_workday(earlier):
        earlier -= timedelta(days=1)
    if earlier >= today:
        return earlier
    later = day + timedelta(days=1)
    while later < due_on and not calendar.is_workday(later):
        later += timedelta(days=1)
    return later if later < due_on else None


def deadline_slots(
    due_on: date, days_before: list[int], at: time, zone: tzinfo, calendar: HolidayCalendar, today: date
) -> list[datetime]:
    """Moments (aware UTC) of a deadline's reminders: `days_before` the due date at local time `at`,
    moved off days off; two that land on the same day send once."""
    days: set[date] = set()
    for n in days_before:
        day = reminder_day(due_on - timedelta(days=n), due_on, calendar, today)
        if day is not None:
            days.add(day)
    return sorted(from_wall(datetime.combine(day, at), zone) for day in days)


@dataclass(frozen=True)
class ReminderPolicy:
    """Everything planning needs from the settings, read once."""

    zone: tzinfo
    quiet: QuietHours = field(default_factory=QuietHours)
    deadline_days: tuple[int, ...] = (7, 3, 1)
    deadline_time: time = time(9, 0)
    calendar: HolidayCalendar = NO_CALENDAR
    default_lang: str = "zh"


def policy_from_settings(settings: Settings) -> ReminderPolicy:
    deadline_time = read_clock(settings.deadline_remind_time)
    if deadline_time is None:  # Settings refuses it; a Settings built without validation does not
        raise ValueError(f"DEADLINE_REMIND_TIME: expected HH:MM, not {settings.deadline_remind_time!r}")
    return ReminderPolicy(
        zone=settings.tz,
        quiet=parse_quiet_hours(settings.quiet_hours),
        deadline_days=tuple(parse_days(settings.deadline_remind_days)),
        deadline_time=deadline_time,
        calendar=load_calendar(settings.holidays_file),
        default_lang=settings.locale,
    )
