"""Holidays out of the box: the State Council's calendar from the `chinesecalendar` package (with
the 调休 make-up workdays), HOLIDAYS_FILE adding or overriding days, weekdays with one warning a
day for a year the package does not know, and HOLIDAYS_FILE checked at start-up."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from bot.core.config import ConfigError, load_settings
from bot.core.holidays import load_calendar
from bot.services.reminders import deadline_slots, policy_from_settings

SH = ZoneInfo("Asia/Shanghai")


def test_without_a_file_national_holidays_and_make_up_workdays_are_known() -> None:
    calendar = load_calendar("")
    assert not calendar.is_workday(date(2026, 10, 1))  # 国庆节
    assert not calendar.is_workday(date(2026, 2, 17))  # 春节
    assert calendar.is_workday(date(2026, 2, 14))  # a Saturday worked (调休)
    assert calendar.is_workday(date(2026, 10, 10))  # a Saturday worked (调休)
    assert not calendar.is_workday(date(2026, 11, 29)) and calendar.is_workday(date(2026, 11, 30))


def test_deadline_reminders_skip_national_day_without_a_holidays_file(tmp_path) -> None:
    settings = load_settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    policy = policy_from_settings(settings)
    # Due 2026-10-09: 7 days before is 2 Oct (holiday) → the workday before, 30 Sep.
    [slot] = deadline_slots(date(2026, 10, 9), [7], time(9, 0), SH, policy.calendar, today=date(2026, 9, 1))
    assert slot.astimezone(SH).date() == date(2026, 9, 30)


def test_the_file_adds_and_overrides_days(tmp_path) -> None:
    path = tmp_path / "holidays.txt"
    path.write_text("2026-11-30 休 区政协全会\n2026-10-02 班 值班\n", encoding="utf-8")
    calendar = load_calendar(path)
    assert not calendar.is_workday(date(2026, 11, 30))  # a Monday made a day off
    assert calendar.is_workday(date(2026, 10, 2))  # overrides the national holiday
    assert not calendar.is_workday(date(2026, 10, 1))  # the rest still from the package


def test_a_year_the_package_does_not_know_falls_back_to_weekdays_with_one_warning_a_day(caplog) -> None:
    today = [date(2026, 12, 1)]
    calendar = load_calendar("", today=lambda: today[0])
    with caplog.at_level(logging.WARNING, logger="bot.core.holidays"):
        assert calendar.is_workday(date(2099, 10, 1))  # a Thursday: a workday by weekday
        assert not calendar.is_workday(date(2099, 10, 3))  # a Saturday
        assert calendar.is_workday(date(2099, 10, 5))
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "2099" in warnings[0].getMessage()
        today[0] = date(2026, 12, 2)
        calendar.is_workday(date(2099, 10, 6))
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_a_missing_holidays_file_is_a_one_line_settings_error(tmp_path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, holidays_file=str(missing))
    assert str(info.value).startswith("HOLIDAYS_FILE: ") and "\n" not in str(info.value)
    bad = tmp_path / "bad.txt"
    bad.write_text("2026-13-01 休\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, holidays_file=str(bad))
    assert f"{bad}:1:" in str(info.value)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LOCALE", "TIMEZONE"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env={**clean, "TELEGRAM_BOT_TOKEN": "1:x", "HOLIDAYS_FILE": str(missing)},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "HOLIDAYS_FILE" in result.stderr
