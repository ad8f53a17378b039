"""Command-line options that take a date, a week, a year or a number: a value outside the calendar
the bot can use (years 2000–2100) or wider than a row id is refused with one line and exit code 2,
never a traceback, and nothing is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app

HUGE = "99999999999999999999"

CASES = [
    ["digest", "--week", "0001-W01"],
    ["digest", "--week", "9999-W52"],
    ["events", "add", "--title", "学习会：民法典", "--kind", "study", "--start", "0001-01-01 00:00"],
    ["events", "add", "--title", "学习会：民法典", "--kind", "study", "--start", "9999-12-31 23:30"],
    ["events", "add", "--title", "学习会：民法典", "--kind", "study", "--start", "2099-01-01 10:00",
     "--end", "0001-01-01 00:00"],
    ["events", "update", "1", "--start", "0001-01-01 00:00"],
    ["events", "publish", HUGE],
    ["events", "cancel", HUGE],
    ["events", "update", HUGE, "--place", "会议室"],
    ["deadlines", "add", "--title", "年度报告", "--due", "9999-12-31", "--requirement", "info"],
    ["activities", "record", "--type", "plenary", "--date", "0001-01-01", "--members", "all", "--dry-run"],
    ["info", "export", "--year", HUGE, "--out", "x.xlsx"],
    ["info", "export", "--year", "0", "--out", "x.xlsx"],
    ["annual", "--year", HUGE],
    ["export", "members", "--period", HUGE, "--out", "x.xlsx"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a) for a in CASES])
def test_out_of_range_values_get_one_line_and_exit_2(args, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LOCALE", "zh")
    if args[:2] == ["events", "update"] and args[2] == "1":
        first = CliRunner().invoke(app, ["events", "add", "--title", "学习会：民法典", "--kind", "study",
                                         "--start", "2099-01-01 10:00"])
        assert first.exit_code == 0, first.output
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.strip() and "\n" not in result.stderr.strip(), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.xlsx").exists()
