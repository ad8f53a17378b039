"""Reminder timing as pure functions: offsets (also across daylight-saving changes), quiet hours,
the holiday calendar with 调休 make-up workdays, and deadline reminder days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.holidays import HolidayFileError, parse_calendar
from bot.core.schedule import NO_QUIET, QuietHours, parse_quiet_hours
from bot.services.reminders import (
    OffsetError,
    deadline_slots,
    offset_moment,
    out_of_quiet,
    parse_offsets,
    plan_event_times,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(zone, *args: int) -> datetime:  # type: ignore[no-untyped-def]
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def test_offsets_are_parsed_canonically_longest_first():
    assert parse_offsets("24h,2h,10m") == ["24h", "2h", "10m"]
    assert parse_offsets("10m 1d，90m、2小时") == ["1d", "2h", "90m", "10m"]
    assert parse_offsets("2h,2h") == ["2h"]
    for bad in ("", "2x", "0h", "-1h", "1.5h", "61d", "1h,2h,3h,4h,5h,6h,7h"):
        with pytest.raises(OffsetError):
            parse_offsets(bad)


def test_days_keep_the_wall_clock_time_across_a_dst_change():
    # Berlin switched to summer time on 2025-03-30 at 02:00.
    start = at(BERLIN, 2025, 3, 30, 10, 0)  # 08:00 UTC (CEST)
    assert offset_moment(start, "1d", BERLIN) == at(BERLIN, 2025, 3, 29, 10, 0)  # 09:00 UTC, 10:00 local
    assert offset_moment(start, "24h", BERLIN) == datetime(2025, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 local
    assert offset_moment(start, "2h", BERLIN) == datetime(2025, 3, 30, 6, 0, tzinfo=UTC)
    # New York fell back on 2025-11-02: a 7-day reminder for 09:00 on the 5th is at 09:00 on 29 Oct.
    ny_start = at(NEW_YORK, 2025, 11, 5, 9, 0)
    assert offset_moment(ny_start, "7d", NEW_YORK).astimezone(NEW_YORK).hour == 9
    assert ny_start - offset_moment(ny_start, "7d", NEW_YORK) == timedelta(days=7, hours=1)


def test_quiet_hours_defer_to_their_end_in_local_time_also_across_dst():
    quiet = parse_quiet_hours("21:00-08:00")
    assert quiet.contains(at(SH, 2025, 11, 3, 22, 0), SH) and quiet.contains(at(SH, 2025, 11, 4, 7, 59), SH)
    assert not quiet.contains(at(SH, 2025, 11, 4, 8, 0), SH)
    assert out_of_quiet(at(SH, 2025, 11, 3, 23, 0), SH, quiet) == at(SH, 2025, 11, 4, 8, 0)
    assert out_of_quiet(at(SH, 2025, 11, 4, 3, 0), SH, quiet) == at(SH, 2025, 11, 4, 8, 0)
    # The night the clocks change: still 08:00 local.
    assert out_of_quiet(at(BERLIN, 2025, 3, 29, 23, 0), BERLIN, quiet) == at(BERLIN, 2025, 3, 30, 8, 0)
    assert parse_quiet_hours("off") == NO_QUIET and not NO_QUIET.contains(at(SH, 2025, 1, 1, 3, 0), SH)
    with pytest.raises(ValueError):
        parse_quiet_hours("late")


def test_event_reminders_leave_quiet_hours_and_never_come_after_the_start():
    quiet = QuietHours(time(21, 0), time(8, 0))
    now = at(SH, 2025, 11, 1, 12, 0)
    # 09:30 start: 24h before is fine, 2h before (07:30) waits for 08:00.
    plan = plan_event_times(at(SH, 2025, 11, 3, 9, 30), ["24h", "2h"], SH, quiet, now)
    assert [(p.offset, p.at) for p in plan] == [
        ("24h", at(SH, 2025, 11, 2, 9, 30)),
        ("2h", at(SH, 2025, 11, 3, 8, 0)),
    ]
    # 07:30 start (a research trip): 08:00 would be too late, so 20:59 the evening before.
    plan = plan_event_times(at(SH, 2025, 11, 3, 7, 30), ["2h"], SH, quiet, now)
    assert [p.at for p in plan] == [at(SH, 2025, 11, 2, 20, 59)]
    # Two offsets that both wait for 08:00 send one reminder.
    plan = plan_event_times(at(SH, 2025, 11, 3, 9, 0), ["3h", "2h"], SH, quiet, now)
    assert [(p.offset, p.at) for p in plan] == [("3h", at(SH, 2025, 11, 3, 8, 0))]
    # Offsets already past when the event is planned are skipped.
    plan = plan_event_times(at(SH, 2025, 11, 1, 15, 0), ["24h", "2h", "10m"], SH, quiet, now)
    assert [p.offset for p in plan] == ["2h", "10m"]


CALENDAR = """
# 2025 国庆节、中秋节
2025-10-01..2025-10-08  休  国庆节
2025-09-28              班  调休上班
2025-10-11              班
"""


def test_holiday_calendar_with_make_up_workdays():
    calendar = parse_calendar(CALENDAR)
    assert not calendar.is_workday(date(2025, 10, 3))
    assert calendar.is_workday(date(2025, 9, 28))  # a Sunday, worked (调休)
    assert not calendar.is_workday(date(2025, 10, 12))  # an ordinary Sunday
    assert calendar.is_workday(date(2025, 10, 9))
    for bad in ("2025-13-01 休", "2025-10-01 maybe", "2025-10-05..2025-10-01 休"):
        with pytest.raises(HolidayFileError):
            parse_calendar(bad, "h.txt")


def test_deadline_reminders_move_off_holidays_to_the_workday_before():
    calendar = parse_calendar(CALENDAR)
    slots = deadline_slots(date(2025, 10, 10), [7, 3, 1], time(9, 0), SH, calendar, today=date(2025, 9, 1))
    # 7 days before (3 Oct) and 3 days before (7 Oct) are holidays: both go to 30 Sep, once.
    assert slots == [at(SH, 2025, 9, 30, 9, 0), at(SH, 2025, 10, 9, 9, 0)]
    # The make-up Sunday is a workday: a reminder may fall on it.
    assert deadline_slots(date(2025, 9, 29), [1], time(9, 0), SH, calendar, today=date(2025, 9, 1)) == [
        at(SH, 2025, 9, 28, 9, 0)
    ]
    # If the workday before is already past, the next workday before the due date is used.
    assert deadline_slots(date(2025, 10, 10), [3], time(9, 0), SH, calendar, today=date(2025, 10, 2)) == [
        at(SH, 2025, 10, 9, 9, 0)
    ]


def test_deadline_reminder_time_is_local_across_dst():
    slots = deadline_slots(
        date(2025, 11, 5), [7, 1], time(9, 0), NEW_YORK, parse_calendar(""), today=date(2025, 10, 1)
    )
    assert [s.astimezone(NEW_YORK).hour for s in slots] == [9, 9]
    assert slots[1] - slots[0] == timedelta(days=6, hours=1)  # one day was 25 hours long
