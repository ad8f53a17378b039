"""Reading activity dates as members type them, in the committee's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.dates import (
    DateProblem,
    format_day,
    format_span,
    parse_activity_date,
    parse_day,
    parse_moment,
    read_clock,
    read_iso_day,
    read_iso_week,
    read_weekly_time,
    today_in,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 11, 5)  # a Wednesday
PERIOD = date(2025, 1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天", date(2025, 11, 5)),
        ("昨天", date(2025, 11, 4)),
        ("前天", date(2025, 11, 3)),
        ("大前天", date(2025, 11, 2)),
        ("3天前", date(2025, 11, 2)),
        ("三天前", date(2025, 11, 2)),
        ("2025-11-03", date(2025, 11, 3)),
        ("2025/11/3", date(2025, 11, 3)),
        ("2025.11.03", date(2025, 11, 3)),
        ("2025年11月3日", date(2025, 11, 3)),
        ("２０２５－１１－０３", date(2025, 11, 3)),
        ("11-03", date(2025, 11, 3)),
        ("11/3", date(2025, 11, 3)),
        ("11月3日", date(2025, 11, 3)),
        ("11月3号", date(2025, 11, 3)),
        (" 11月3日。", date(2025, 11, 3)),
        # 上周五: Friday of the previous Monday-based week
        ("上周五", date(2025, 10, 31)),
        ("上星期五", date(2025, 10, 31)),
        ("上礼拜一", date(2025, 10, 27)),
        ("上周日", date(2025, 11, 2)),
        ("周一", date(2025, 11, 3)),
        ("星期三", date(2025, 11, 5)),
        ("本周一", date(2025, 11, 3)),
        ("today", date(2025, 11, 5)),
        ("Yesterday", date(2025, 11, 4)),
        ("2 days ago", date(2025, 11, 3)),
        ("last friday", date(2025, 10, 31)),
        ("Last Wednesday", date(2025, 10, 29)),
        ("monday", date(2025, 11, 3)),
        ("Nov 3", date(2025, 11, 3)),
        ("November 3, 2025", date(2025, 11, 3)),
        ("3 Nov", date(2025, 11, 3)),
        ("3rd November 2025", date(2025, 11, 3)),
        ("Feb 28", date(2025, 2, 28)),
    ],
)
def test_every_form_is_read(text, expected):
    answer = parse_activity_date(text, today=TODAY, period_start=PERIOD)
    assert answer.ok, (text, answer)
    assert answer.day == expected


def test_last_weekday_on_a_saturday_differs_between_the_languages_as_people_use_them():
    saturday = date(2025, 11, 8)
    assert parse_activity_date("上周五", today=saturday).day == date(2025, 10, 31)
    assert parse_activity_date("last friday", today=saturday).day == date(2025, 11, 7)
    assert parse_activity_date("周五", today=saturday).day == date(2025, 11, 7)


REJECTED = {  # why each text is refused as the day of an activity
    DateProblem.FUTURE: ("明天", "2025-11-06", "本周五", "2026-01-01", "tomorrow", "下周一"),
    DateProblem.BEFORE_PERIOD: ("2024-12-31",),
    DateProblem.NO_SUCH_DAY: ("2025-02-30", "13-01"),
    DateProblem.UNREADABLE: ("Foo 3", "", "开会那天"),
}


@pytest.mark.parametrize(
    ("text", "problem"), [(text, problem) for problem, texts in REJECTED.items() for text in texts]
)
def test_rejections_say_why(text, problem):
    answer = parse_activity_date(text, today=TODAY, period_start=PERIOD)
    assert not answer.ok and answer.problem is problem


def test_month_day_not_yet_come_this_year_means_last_year_and_is_refused_in_a_new_period():
    # 5 January 2026: "12-30" is 30 December 2025, before the 2026 period
    answer = parse_activity_date("12-30", today=date(2026, 1, 5), period_start=date(2026, 1, 1))
    assert answer.problem is DateProblem.BEFORE_PERIOD and answer.day == date(2025, 12, 30)
    # without a period check (the CLI) it is simply that day
    assert parse_activity_date("12-30", today=date(2026, 1, 5)).day == date(2025, 12, 30)


def test_today_is_the_committee_day_not_the_utc_day():
    # 23:30 on 31 December in Shanghai is still 15:30 UTC the same day; 00:30 on 1 January is 16:30 UTC on 31 Dec
    assert today_in(datetime(2025, 12, 31, 15, 30, tzinfo=UTC), SHANGHAI) == date(2025, 12, 31)
    assert today_in(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), SHANGHAI) == date(2026, 1, 1)


def test_format_day_one_style_everywhere():
    assert format_day(date(2025, 11, 3), "zh") == "2025年11月3日（周一）"
    assert format_day(date(2025, 11, 3), "zh", today=date(2025, 12, 2)) == "11月3日（周一）"
    assert format_day(date(2025, 11, 3), "en") == "Mon 3 Nov 2025"
    assert format_day(date(2025, 11, 3), "en", today=date(2025, 12, 2)) == "Mon 3 Nov"
    start = datetime(2026, 12, 8, 6, 30, tzinfo=UTC)
    assert format_span(start, start + timedelta(hours=2), SHANGHAI, "zh") == "2026年12月8日（周二）14:30–16:30"


NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 2 December 2026, 10:00 in Shanghai


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天 15:00", datetime(2026, 12, 2, 15, 0)),
        ("明天 9:00", datetime(2026, 12, 3, 9, 0)),
        ("后天 下午3点", datetime(2026, 12, 4, 15, 0)),
        ("下周二 14:30", datetime(2026, 12, 8, 14, 30)),
        ("周五 14点", datetime(2026, 12, 4, 14, 0)),  # a bare weekday looks ahead for an event
        ("12月8日 14:30", datetime(2026, 12, 8, 14, 30)),
        ("12月8日14:30", datetime(2026, 12, 8, 14, 30)),
        ("12月8日下午2点半", datetime(2026, 12, 8, 14, 30)),
        ("1月5日 9:00", datetime(2027, 1, 5, 9, 0)),  # passed this year: next year's
        ("2026-12-08 14:30", datetime(2026, 12, 8, 14, 30)),
        ("2026/12/8 14:30", datetime(2026, 12, 8, 14, 30)),
        ("2026-12-08T14:30", datetime(2026, 12, 8, 14, 30)),
        ("2026年12月8日 14：30", datetime(2026, 12, 8, 14, 30)),
        ("tomorrow 9:00", datetime(2026, 12, 3, 9, 0)),
        ("next tuesday 2pm", datetime(2026, 12, 8, 14, 0)),
        ("Dec 8 2:30 pm", datetime(2026, 12, 8, 14, 30)),
        ("8 Dec 2026 14:30", datetime(2026, 12, 8, 14, 30)),
        ("16:30", datetime(2026, 12, 2, 16, 30)),  # a time alone: today (or the day given)
    ],
)
def test_a_day_and_time_in_every_form(text, expected):
    answer = parse_moment(text, now=NOW, zone=SHANGHAI)
    assert answer.ok, (text, answer)
    assert answer.at == expected.replace(tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-12-08", DateProblem.NO_TIME),
        ("下周二", DateProblem.NO_TIME),
        ("12.08", DateProblem.NO_TIME),  # a day with dots, not 12:08
        ("25:00", DateProblem.NO_SUCH_TIME),
        ("2026-02-30 10:00", DateProblem.NO_SUCH_DAY),
        ("开会那天 10:00", DateProblem.UNREADABLE),
        ("", DateProblem.UNREADABLE),
    ],
)
def test_a_moment_that_cannot_be_read_says_why(text, problem):
    assert parse_moment(text, now=NOW, zone=SHANGHAI).problem is problem


def test_a_time_alone_is_on_the_day_given():
    answer = parse_moment("16:30", now=NOW, zone=SHANGHAI, day=date(2026, 12, 8))
    assert answer.at == datetime(2026, 12, 8, 16, 30, tzinfo=SHANGHAI).astimezone(UTC)


def test_days_ahead_and_behind():
    today = date(2026, 12, 2)
    assert parse_day("3天后", today=today).day == date(2026, 12, 5)
    assert parse_day("in 3 days", today=today).day == date(2026, 12, 5)
    assert parse_day("12月8日", today=today).day == date(2025, 12, 8)  # looking back by default
    assert parse_day("12月8日", today=today, ahead=True).day == date(2026, 12, 8)
    assert parse_day("3月2日", today=today).day == date(2026, 3, 2)


def test_the_settings_forms_of_times_weeks_and_days():
    """DIGEST_TIME, DEADLINE_REMIND_TIME, QUIET_HOURS, /digest's week and a holidays file are read here too."""
    assert read_clock("09:00") == read_clock(" 9:00 ") == read_clock("09:00:00") == time(9, 0)
    assert read_clock("23:59") == time(23, 59)
    for bad in ("24:00", "9", "09:60", "nine", "", "09:00+08:00"):
        assert read_clock(bad) is None, bad
    assert read_weekly_time("MON 09:00") == read_weekly_time("09:00") == (0, time(9, 0))
    assert read_weekly_time("Friday 17:30") == read_weekly_time("fri 17:30") == (4, time(17, 30))
    for bad in ("XYZ 09:00", "MON 25:00", "nine", "MON"):
        assert read_weekly_time(bad) is None, bad
    assert read_iso_week("2025-W47") == read_iso_week(" 2025w47 ") == (2025, 47)
    assert read_iso_week("2026-W53") == (2026, 53)  # 2026 has 53 ISO weeks, 2025 does not
    for bad in ("2025-W53", "2025-W00", "2025-47", "W47", "1999-W01"):
        assert read_iso_week(bad) is None, bad
    assert read_iso_day("2025-12-20") == read_iso_day("2025/12/20") == date(2025, 12, 20)
    assert read_iso_day("2025-02-30") is None and read_iso_day("9999-12-31") is None
