"""Reading activity dates as members type them, in the committee's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.dates import DateProblem, format_day, parse_activity_date, today_in

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


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("明天", DateProblem.UNREADABLE),
        ("2025-11-06", DateProblem.FUTURE),
        ("本周五", DateProblem.FUTURE),
        ("2024-12-31", DateProblem.BEFORE_PERIOD),
        ("2025-02-30", DateProblem.NO_SUCH_DAY),
        ("13-01", DateProblem.NO_SUCH_DAY),
        ("Foo 3", DateProblem.UNREADABLE),
        ("", DateProblem.UNREADABLE),
        ("开会那天", DateProblem.UNREADABLE),
        ("2026-01-01", DateProblem.FUTURE),
        ("tomorrow", DateProblem.UNREADABLE),
    ],
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


def test_format_day():
    assert format_day(date(2025, 11, 3), "zh") == "2025年11月3日"
    assert format_day(date(2025, 11, 3), "en") == "2025-11-03"
