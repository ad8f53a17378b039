"""One definition of "took part" for every figure: a leave or an absence recorded by the secretariat
is not a confirmed 履职报告 — in the year's figures by committee and by type (which must agree), the
digest's report counts, the per-member workbook and /me (which says what an absence is)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.rules import load_rules
from bot.services import activities
from bot.services.annual import annual_figures
from bot.services.digest import IsoWeek, build_digest
from bot.services.figures import Period, member_records
from tests.conftest import add_member, run_cli

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def rules(settings):  # type: ignore[no-untyped-def]
    return load_rules(settings.rules_path)


def _cli(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url, "TIMEZONE": "Asia/Shanghai", "LOCALE": "zh"}
    return run_cli(args, env=env, cwd=cwd)


@pytest.mark.one_database  # the command line; its figures on both: test_by_committee_and_by_type_agree…
async def test_recorded_absence_is_not_a_confirmed_report_on_the_command_line(db, db_url, tmp_path) -> None:
    """The issue's reproduction: two members of one committee, one present, one absent."""
    await add_member(db, "周平", committee="提案委员会")
    await add_member(db, "吴敏", committee="提案委员会")
    await add_member(db, "马晓燕", role="secretariat", committee="办公室")
    (tmp_path / "p.txt").write_text("周平\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("吴敏\n", encoding="utf-8")
    today = datetime.now(SH).date()
    recorded = _cli(db_url, tmp_path, "activities", "record", "--type", "plenary", "--date", today.isoformat(),
                    "--members", "p.txt", "--absent", "a.txt")
    assert recorded.returncode == 0, recorded.stderr

    annual = _cli(db_url, tmp_path, "annual", "--year", str(today.year))
    assert annual.returncode == 0, annual.stderr
    assert "提案委员会：已确认报告 1 件，1/2 位委员有履职记录" in annual.stdout
    figures = json.loads(_cli(db_url, tmp_path, "annual", "--year", str(today.year), "--json").stdout)
    by_type, by_committee = figures["breakdown"]["by_type"], figures["breakdown"]["by_committee"]
    assert by_type == {"plenary": 1} and figures["headings"]["members"]["figures"]["reports"] == 1
    assert sum(c["reports"] for c in by_committee.values()) == sum(by_type.values())

    week = IsoWeek.containing(datetime.now(UTC), SH)
    digest = _cli(db_url, tmp_path, "digest", "--week", str(week))
    assert digest.returncode == 0, digest.stderr
    assert "履职报告：提交 1 件（已确认 1）" in digest.stdout


async def test_by_committee_and_by_type_agree_and_workbook_counts_reports_taken_part(db, rules) -> None:
    now = datetime(2025, 6, 10, 9, 0, tzinfo=SH).astimezone(UTC)
    a = await add_member(db, "周平", committee="提案委员会")
    b = await add_member(db, "吴敏", committee="提案委员会")
    c = await add_member(db, "郑红", committee="经济委员会")
    async with db.session() as session:
        plan = activities.AttendancePlan(present=[a.id], leave=[c.id], absent=[b.id])
        await activities.record_plan(session, plan, type_code="plenary", day=date(2025, 6, 9), now=now, rules=rules)
    async with db.session() as session:
        figures = await annual_figures(session, 2025, rules=rules, zone=SH, now=now)
        records = {r["name"]: r for r in await member_records(session, Period.of_year(2025, SH), rules, now=now)}
        digest = await build_digest(session, IsoWeek(2025, 24), now=now, rules=rules, zone=SH)
    # Hand count: one member took part (周平); 吴敏 was absent and 郑红 on leave.
    assert figures.by_type == {"plenary": 1}
    assert {k: (v.reports, v.reporting, v.members) for k, v in figures.by_committee.items()} == {
        "提案委员会": (1, 1, 2),
        "经济委员会": (0, 0, 1),
    }
    assert figures.groups["study"].participations == 0
    assert [records[n]["reports_confirmed"] for n in ("周平", "吴敏", "郑红")] == [1, 0, 0]
    assert [records[n]["att_absent"] for n in ("周平", "吴敏", "郑红")] == [0, 1, 0]
    assert [records[n]["att_leave"] for n in ("周平", "吴敏", "郑红")] == [0, 0, 1]
    assert (digest.current.reports.submitted, digest.current.reports.confirmed) == (1, 1)
    assert {k: (v.submitted, v.confirmed) for k, v in digest.current.by_committee.items()} == {"提案委员会": (1, 1)}


@pytest.mark.one_database
async def test_me_says_what_an_absence_is(emu, bot_app, db) -> None:
    deps = bot_app.bot_data["deps"]
    member = await add_member(db, "吴敏", telegram_user_id=3101, committee="提案委员会")
    other = await add_member(db, "郑红", telegram_user_id=3102, committee="提案委员会")
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with db.session() as session:
        for who, status in ((member, activities.ABSENT), (other, activities.LEAVE)):
            await activities.record_attendance(
                session, member_ids=[who.id], type_code="plenary", day=today, status=status,
                now=deps.clock.now(), rules=deps.rules, source_key="plenary:test",
            )
    user = emu.user(3101, "吴敏")
    user.send_text("/me")
    await emu.wait_for(lambda: any("全体会议" in t for t in user.texts()), what="/me for an absence")
    text = next(t for t in user.texts() if "全体会议" in t)
    assert "· 全体会议：-10 分（缺席 1 次，扣 10 分）" in text, text
    assert "0 分（1 次）" not in text
    on_leave = emu.user(3102, "郑红")
    on_leave.send_text("/me")
    await emu.wait_for(lambda: any("全体会议" in t for t in on_leave.texts()), what="/me for a leave")
    assert "· 全体会议：20 分（请假 1 次，计 20 分）" in next(t for t in on_leave.texts() if "全体会议" in t)
