"""Assessment points: caps per period, pending points, period boundaries in Asia/Shanghai,
minimum duties still owed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.rules import load_rules
from bot.services.figures import Period, member_points, points_for_now
from models import ActivityReport
from tests.conftest import add_member, record_attendance

RULES = load_rules(Path(__file__).parents[1] / "bot" / "core" / "rules.default.toml")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)


async def _report(db, member_id, type_code, day, status="confirmed", points=None, attendance=None):
    async with db.session() as session:
        session.add(
            ActivityReport(
                member_id=member_id,
                type_code=type_code,
                activity_date=day,
                description="x",
                status=status,
                attendance=attendance,
                points=RULES.activity(type_code).points if points is None else points,
                submitted_at=datetime(2025, 1, 1),
            )
        )


async def _points(db, member_id, now=NOW):
    async with db.session() as session:
        return await points_for_now(session, member_id, now=now, rules=RULES, zone=ZONE)


async def test_caps_apply_per_type_and_pending_fills_only_up_to_the_cap(db):
    member = await add_member(db, "苏建华")
    for day in range(1, 7):  # six research trips of 3 points: 18, capped at 15
        await _report(db, member.id, "research", date(2025, 3, day))
    await _report(db, member.id, "study", date(2025, 4, 1))  # 1 point
    await _report(db, member.id, "study", date(2025, 4, 2), status="pending")
    await _report(db, member.id, "research", date(2025, 4, 3), status="pending")  # over the cap: adds nothing
    await _report(db, member.id, "meeting", date(2025, 4, 4), status="returned")  # not counted
    await _report(db, member.id, "meeting", date(2025, 4, 5), status="withdrawn")  # not counted
    summary = await _points(db, member.id)
    by_type = {t.code: t for t in summary.by_type}
    assert by_type["research"].confirmed_raw == 18 and by_type["research"].confirmed == 15
    assert (
        by_type["research"].capped
        and by_type["research"].pending == 0
        and by_type["research"].pending_count == 1
    )
    assert by_type["study"].confirmed == 1 and by_type["study"].pending == 1
    assert "meeting" not in by_type
    assert summary.confirmed == 16 and summary.info_points == 0
    assert summary.pending == 1
    assert not summary.passed


async def test_absence_points_reduce_and_marks_are_reported(db):
    member = await add_member(db, "廖艳")
    await _report(db, member.id, "plenary", date(2025, 1, 8), points=-10, attendance="absent")
    await _report(db, member.id, "standing", date(2025, 2, 1))
    summary = await _points(db, member.id)
    assert {t.code: t.confirmed for t in summary.by_type} == {"plenary": -10, "standing": 5}
    assert summary.pass_mark == 60 and summary.excellent_mark == 85
    # being absent does not meet the minimum of attending one plenary
    assert any(o.key == "plenary" and o.missing == 1 for o in summary.owed)


async def test_period_boundary_is_new_year_in_shanghai(db):
    member = await add_member(db, "朱宇浩")
    # 31 Dec 23:30 Shanghai is 15:30 UTC: still 2025. The report's day is the local day.
    await _report(db, member.id, "research", date(2025, 12, 31))
    await _report(db, member.id, "research", date(2026, 1, 1))
    late_2025 = datetime(2025, 12, 31, 15, 30, tzinfo=UTC)
    early_2026 = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2026 in Shanghai
    assert sum(t.confirmed for t in (await _points(db, member.id, late_2025)).by_type) == 3
    summary_2026 = await _points(db, member.id, early_2026)
    assert summary_2026.start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert [(t.code, t.confirmed) for t in summary_2026.by_type] == [("research", 3)]
    # the explicit-bounds form other features use gives the same
    start, end = RULES.period_of_year(2025, ZONE)
    async with db.session() as session:
        direct = await member_points(session, member.id, Period.between(start, end, ZONE), RULES)
    assert [(t.code, t.confirmed) for t in direct.by_type] == [("research", 3)]


async def test_minimums_still_owed(db):
    member = await add_member(db, "丁欣怡")
    summary = await _points(db, member.id)
    owed = {o.key: o.missing for o in summary.owed}
    assert owed["plenary"] == 1 and owed["activity"] == 3
    assert owed["info"] == 1
    # attending the plenary (recorded) and three activities clear those duties; the plenary does not
    # count as one of the three "activities" (it has its own minimum)
    await record_attendance(db, [member.id], "plenary", date(2025, 1, 8), "present", now=NOW, rules=RULES,
                            source_key="attendance:plenary:2025-01-08")  # fmt: skip
    for day in (1, 2):
        await _report(db, member.id, "research", date(2025, 5, day))
    await _report(db, member.id, "study", date(2025, 5, 3), status="pending")  # pending does not count yet
    owed = {o.key: o.missing for o in (await _points(db, member.id)).owed}
    assert "plenary" not in owed and owed["activity"] == 1
    await _report(db, member.id, "inspection", date(2025, 5, 4))
    owed = {o.key: o.missing for o in (await _points(db, member.id)).owed}
    assert "activity" not in owed


async def test_info_points_and_the_info_minimum_come_from_the_info_feature(db):
    from bot.services import info

    member = await add_member(db, "尹华")
    assert any(o.key == "info" and o.missing == 1 for o in (await _points(db, member.id)).owed)
    async with db.session() as session:
        await info.submit(
            session,
            author_id=member.id,
            title="关于老旧小区加装电梯的建议",
            category=RULES.info.categories[0],
            body="老旧小区加装电梯进展缓慢，居民反映强烈。" * 5,
            now=NOW,
            tz=ZONE,
            rules=RULES,
        )
    expected_points = RULES.info.submit_points  # submitted, not yet accepted: 5
    summary = await _points(db, member.id)
    assert summary.info_submitted == 1
    assert summary.info_points == expected_points and summary.confirmed == expected_points
    assert not any(o.key == "info" for o in summary.owed)
