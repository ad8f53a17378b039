"""Activity reports, review decisions, attendance records and drafts, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.rules import load_rules
from bot.services import activities
from bot.services.activities import Decision, Evidence, ReportError
from models import ActivityPhoto, ActivityReport, Outbox
from tests.conftest import add_member, record_attendance

RULES = load_rules(Path(__file__).parents[1] / "bot" / "core" / "rules.default.toml")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TEXT = "参加区政协组织的社区养老服务调研，走访三个街道。"


async def _submit(db, member_id, **kw):
    values = {
        "member_id": member_id,
        "type_code": "research",
        "day": date(2025, 11, 3),
        "description": TEXT,
        "photos": [],
        "now": NOW,
        "rules": RULES,
        "zone": ZONE,
    }
    values.update(kw)
    async with db.session() as session:
        return await activities.submit_report(session, **values)


async def _rows(db, model=ActivityReport):
    async with db.session() as session:
        return list((await session.exec(select(model))).all())


async def test_report_needing_review_is_pending_with_photos_in_order(db):
    member = await add_member(db, "苏建华", telegram_user_id=5001)
    photos = [Evidence("photo", f"file-{i}", f"u{i}") for i in range(3)] + [
        Evidence("document", "doc-1", "ud")
    ]
    report = await _submit(db, member.id, photos=photos)
    assert report.status == "pending" and report.points == 3 and report.reviewed_at is None
    stored = sorted(await _rows(db, ActivityPhoto), key=lambda p: p.position)
    assert [p.file_id for p in stored] == ["file-0", "file-1", "file-2", "doc-1"]
    assert stored[-1].kind == "document"


async def test_type_without_review_is_confirmed_at_once(db):
    member = await add_member(db, "廖艳")
    report = await _submit(db, member.id, type_code="standing")
    assert report.status == "confirmed" and report.points == 5 and report.reviewed_at is not None


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"type_code": "nonsense"}, "unknown_type"),
        ({"day": date(2025, 11, 6)}, "date_future"),
        ({"day": date(2024, 12, 31)}, "date_before_period"),
        ({"description": "太短了"}, "too_short"),
        ({"description": "长" * 2001}, "too_long"),
        ({"photos": [Evidence("photo", f"f{i}", f"u{i}") for i in range(10)]}, "too_many_photos"),
    ],
)
async def test_bad_reports_are_refused_and_store_nothing(db, kw, code):
    member = await add_member(db, "朱宇浩")
    with pytest.raises(ReportError) as err:
        await _submit(db, member.id, **kw)
    assert err.value.code == code
    assert await _rows(db) == [] and await _rows(db, ActivityPhoto) == []


async def test_two_reviewers_racing_exactly_one_decides_and_member_is_notified_once(db):
    member = await add_member(db, "丁欣怡", telegram_user_id=5002)
    first = await add_member(db, "机关甲", role="secretariat", telegram_user_id=9001)
    second = await add_member(db, "机关乙", role="secretariat", telegram_user_id=9002)
    report = await _submit(db, member.id)

    async def approve(reviewer):
        async with db.session() as session:
            return await activities.approve_report(
                session, report_id=report.id, reviewer_id=reviewer.id, now=NOW, rules=RULES
            )

    async def give_back(reviewer):
        async with db.session() as session:
            return await activities.return_report(
                session,
                report_id=report.id,
                reviewer_id=reviewer.id,
                reason="照片不清楚",
                now=NOW,
                rules=RULES,
            )

    outcomes = await asyncio.gather(approve(first), give_back(second), approve(second))
    assert sorted(o.value for o in outcomes).count("done") == 1
    assert all(o in (Decision.DONE, Decision.ALREADY_HANDLED) for o in outcomes)
    (stored,) = await _rows(db)
    assert stored.status in ("confirmed", "returned")
    notices = await _rows(db, Outbox)
    assert len(notices) == 1 and notices[0].chat_id == 5002
    # a decided report cannot be decided again; an unknown id is "not found"
    async with db.session() as session:
        assert (
            await activities.approve_report(
                session, report_id=report.id, reviewer_id=first.id, now=NOW, rules=RULES
            )
            is Decision.ALREADY_HANDLED
        )
        assert (
            await activities.approve_report(
                session, report_id=99999, reviewer_id=first.id, now=NOW, rules=RULES
            )
            is Decision.NOT_FOUND
        )


async def test_returned_report_can_be_corrected_and_resubmitted_and_returned_again(db):
    member = await add_member(db, "邓子涵", telegram_user_id=5003)
    staff = await add_member(db, "机关", role="secretariat")
    report = await _submit(db, member.id, photos=[Evidence("photo", "a", "ua")])
    async with db.session() as session:
        assert (
            await activities.return_report(
                session, report_id=report.id, reviewer_id=staff.id, reason="请补充地点", now=NOW, rules=RULES
            )
            is Decision.DONE
        )
    # someone else cannot correct it
    other = await add_member(db, "薛桂英")
    with pytest.raises(ReportError) as err:
        await _submit(db, other.id, report_id=report.id)
    assert err.value.code == "not_editable"
    fixed = await _submit(
        db,
        member.id,
        report_id=report.id,
        description=TEXT + "地点：城东街道。",
        photos=[Evidence("photo", "b", "ub")],
        now=NOW + timedelta(hours=1),
    )
    assert fixed.id == report.id and fixed.status == "pending" and fixed.description.endswith("城东街道。")
    assert [p.file_id for p in await _rows(db, ActivityPhoto)] == ["b"]
    async with db.session() as session:
        assert (
            await activities.return_report(
                session,
                report_id=report.id,
                reviewer_id=staff.id,
                reason="仍不完整",
                now=NOW + timedelta(hours=2),
                rules=RULES,
            )
            is Decision.DONE
        )
    # both "returned" notices were queued (the second is not swallowed by the first's dedupe key)
    assert len([o for o in await _rows(db, Outbox) if o.member_id == member.id]) == 2


async def test_withdraw_only_own_open_reports(db):
    member = await add_member(db, "尹华")
    other = await add_member(db, "路人甲")
    pending = await _submit(db, member.id)
    confirmed = await _submit(db, member.id, type_code="standing")
    async with db.session() as session:
        assert not await activities.withdraw_report(
            session, report_id=pending.id, member_id=other.id, now=NOW
        )
        assert not await activities.withdraw_report(
            session, report_id=confirmed.id, member_id=member.id, now=NOW
        )
        assert await activities.withdraw_report(session, report_id=pending.id, member_id=member.id, now=NOW)
        reports, total = await activities.list_reports(session, member.id)
    assert total == 1 and reports[0].id == confirmed.id


async def test_record_attendance_is_idempotent_and_uses_leave_and_absence_points(db):
    members = [await add_member(db, f"委员{i}") for i in range(5)]
    ids = [m.id for m in members]
    staff = await add_member(db, "机关", role="secretariat")
    key = activities.attendance_key("plenary", date(2025, 1, 8))

    async def record(member_ids, status, type_code="plenary"):
        return await record_attendance(db, member_ids, type_code, date(2025, 1, 8), status, now=NOW, rules=RULES,
                                       source_key=key, recorded_by=staff.id)  # fmt: skip

    assert await record(ids[:3], "present") == 3
    assert await record(ids[3:4], "leave") == 1
    assert await record(ids[4:], "absent") == 1
    assert await record(ids, "present") == 0  # recording twice changes nothing
    rows = {r.member_id: r for r in await _rows(db)}
    assert len(rows) == 5 and all(r.status == "confirmed" for r in rows.values())
    assert [rows[i].points for i in ids] == [30, 30, 30, 20, -10]
    assert [rows[i].attendance for i in ids] == ["present"] * 3 + ["leave", "absent"]
    # a type without leave/absence points gives 0 for them
    leave_key = "attendance:standing:2025-03-01"
    assert await record_attendance(db, ids[:1], "standing", date(2025, 3, 1), "leave", now=NOW, rules=RULES,
                                   source_key=leave_key) == 1  # fmt: skip
    async with db.session() as session:
        leave = (
            await session.exec(select(ActivityReport).where(ActivityReport.type_code == "standing"))
        ).one()
    assert leave.points == 0


async def test_recording_takes_over_the_members_own_report_of_that_meeting(db):
    member = await add_member(db, "苏建华")
    own = await _submit(db, member.id, type_code="standing", day=date(2025, 11, 3))
    key = activities.attendance_key("standing", date(2025, 11, 3))
    assert await record_attendance(db, [member.id], "standing", date(2025, 11, 3), "present", now=NOW, rules=RULES,
                                   source_key=key) == 1  # fmt: skip
    (row,) = await _rows(db)
    assert row.id == own.id and row.attendance == "present" and row.source_key.startswith("attendance:")
    # and the member cannot report it again for that day
    with pytest.raises(ReportError) as err:
        await _submit(db, member.id, type_code="standing", day=date(2025, 11, 3))
    assert err.value.code == "already_recorded"


async def test_attendance_plan_everyone_but_the_excused_and_names(db):
    a = await add_member(db, "张三")
    b = await add_member(db, "李四")
    c = await add_member(db, "王五", sector="民盟")
    await add_member(db, "王五", sector="农工")
    async with db.session() as session:
        everyone = await activities.active_member_ids(session)
        matched = await activities.match_names(
            session, activities.split_names("张三、李四，王五 王五/民盟 赵六")
        )
    assert matched.found == {"张三": a.id, "李四": b.id, "王五/民盟": c.id}
    assert matched.unknown == ["赵六"] and matched.ambiguous == ["王五"]
    plan = activities.plan_attendance(None, [a.id], [b.id], everyone)
    assert a.id not in plan.present and b.id not in plan.present and c.id in plan.present
    assert plan.total == len(everyone)
    with pytest.raises(ReportError):
        activities.plan_attendance([a.id], [a.id], [], everyone)


async def test_drafts_are_kept_per_member(db):
    member = await add_member(db, "廖艳")
    async with db.session() as session:
        await activities.save_draft(session, member.id, {"type": "research"}, NOW)
        await activities.save_draft(session, member.id, {"type": "study", "description": TEXT}, NOW)
    async with db.session() as session:
        assert await activities.load_draft(session, member.id) == {"type": "study", "description": TEXT}
        await activities.discard_draft(session, member.id)
    async with db.session() as session:
        assert await activities.load_draft(session, member.id) is None


async def test_a_draft_submitted_again_returns_the_report_stored_the_first_time(db):
    member = await add_member(db, "尹华")
    first = await _submit(db, member.id, submit_key="draft-1")
    # the same confirm again (after a crash, or a doubled press), even with other values: nothing new
    again = await _submit(db, member.id, submit_key="draft-1", description=TEXT + "（第二次）")
    other = await _submit(db, member.id, submit_key="draft-2")
    assert again.id == first.id and again.description == TEXT and other.id != first.id
    assert len(await _rows(db)) == 2
    # a submitted draft is not kept as a draft to resume
    async with db.session() as session:
        assert not await activities.save_draft(session, member.id, {"type": "research", "key": "draft-1"}, NOW)
        assert await activities.save_draft(session, member.id, {"type": "research", "key": "draft-3"}, NOW)
        assert (await activities.load_draft(session, member.id))["key"] == "draft-3"
