"""Secretariat staff are not 委员 unless the roster says a person is both: the sample roster's
250 members and 5 staff through every figure, audience, reminder and search, counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.rules import load_rules
from bot.services import activities, deadlines, events, info, roster
from bot.services.annual import annual_figures
from bot.services.digest import IsoWeek, build_digest, render_text
from bot.services.figures import Period, member_records
from bot.services.reminders import ReminderPolicy
from models import Deadline, Invitation, Member, Role
from tests.conftest import DATA

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 12, 8, 9, 0, tzinfo=SH).astimezone(UTC)  # within 30 days of the year's end


@pytest.fixture
def rules(settings):  # type: ignore[no-untyped-def]
    return load_rules(settings.rules_path)


async def _import(db, path=DATA / "roster.sample.csv", *, extra: list[list[str]] = ()) -> list[Member]:  # type: ignore[no-untyped-def, assignment]
    table = roster.read_table(path) + [list(row) for row in extra]
    checked = roster.check_roster(table)
    assert not checked.problems
    async with db.session() as session:
        await roster.import_roster(session, checked.rows)
    async with db.session() as session:
        return list((await session.exec(select(Member).order_by(Member.id))).all())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the roster flag


def test_roster_role_words_for_staff_who_are_also_members() -> None:
    table = [
        ["姓名", "角色"],
        ["甲", "机关+委员"],
        ["乙", "委员＋管理员"],
        ["丙", "secretariat + member"],
        ["丁", "Admin+Member"],
        ["戊", "机关"],
        ["己", "委员"],
        ["庚", "委员+委员"],
        ["辛", "机关+管理员"],
        ["壬", "机关+委员+委员"],
    ]
    checked = roster.check_roster(table)
    assert [(r.name, r.role, r.also_member) for r in checked.rows] == [
        ("甲", Role.SECRETARIAT, True),
        ("乙", Role.ADMIN, True),
        ("丙", Role.SECRETARIAT, True),
        ("丁", Role.ADMIN, True),
        ("戊", Role.SECRETARIAT, False),
        ("己", Role.MEMBER, False),
    ]
    assert [p.row for p in checked.problems] == [8, 9, 10]


@pytest.mark.parametrize("path", ["roster.sample.csv", "roster.sample.en.csv"])
async def test_import_in_both_languages_marks_who_is_a_member(db, path: str) -> None:
    header = roster.read_table(DATA / path)[0]
    role = "机关+委员" if header[0] == "姓名" else "secretariat+member"
    people = await _import(db, DATA / path, extra=[["秦立", "政协机关", "办公室", role, "13900000099"]])
    both = next(m for m in people if m.name == "秦立")
    assert both.is_staff and both.also_member and both.is_member
    plain = [m for m in people if m.is_staff and not m.also_member]
    assert plain and not any(m.is_member for m in plain)
    # Re-importing the person as plain staff takes the flag away again.
    plain_role = "机关" if header[0] == "姓名" else "secretariat"
    people = await _import(db, DATA / path, extra=[["秦立", "政协机关", "办公室", plain_role, "13900000099"]])
    assert not next(m for m in people if m.name == "秦立").is_member


# --------------------------------------------------------------------------- the figures


async def test_digest_with_250_members_and_5_staff_says_250(db, rules) -> None:
    people = await _import(db)
    assert sum(m.role == "member" for m in people) == 250 and sum(m.is_staff for m in people) == 5
    async with db.session() as session:
        digest = await build_digest(session, IsoWeek(2025, 49), now=NOW, rules=rules, zone=SH)
    # Nobody has done anything: every 委员 owes the minimum duties, and every one is unbound.
    assert digest.action.minimums is not None and digest.action.minimums.count == 250
    assert digest.action.unbound.count == 250
    staff_names = {m.name for m in people if m.is_staff}
    assert not staff_names & set(digest.action.minimums.names)
    text = render_text(digest, "zh", rules)
    assert "250 位委员尚未完成基本履职要求" in text and "255" not in text


async def test_a_staff_member_who_is_also_a_member_is_counted(db, rules) -> None:
    await _import(db, extra=[["秦立", "政协机关", "办公室", "机关+委员", "13900000099"]])
    async with db.session() as session:
        digest = await build_digest(session, IsoWeek(2025, 49), now=NOW, rules=rules, zone=SH)
        figures = await annual_figures(session, 2025, rules=rules, zone=SH, now=NOW)
        records = await member_records(session, Period.of_year(2025, SH), rules, now=NOW)
    assert digest.action.minimums is not None and digest.action.minimums.count == 251
    assert figures.members == 251
    assert len(records) == 251 and "秦立" in {r["name"] for r in records}
    assert "马晓燕" not in {r["name"] for r in records}


async def test_annual_figures_and_member_records_leave_staff_out(db, rules) -> None:
    people = await _import(db)
    staff = next(m for m in people if m.role == "secretariat")
    member = next(m for m in people if m.role == "member")
    async with db.session() as session:
        for who in (staff, member):
            await activities.record_attendance(
                session,
                member_ids=[who.id],
                type_code="plenary",
                day=date(2025, 3, 1),
                status=activities.ABSENT if who is staff else activities.PRESENT,
                now=NOW,
                rules=rules,
                source_key=f"test:{who.id}",
            )
    async with db.session() as session:
        figures = await annual_figures(session, 2025, rules=rules, zone=SH, now=NOW)
        records = await member_records(session, Period.of_year(2025, SH), rules, now=NOW)
    assert figures.members == 250
    assert "办公室" not in figures.by_committee  # the staff's "committee"
    assert len(records) == 250 and all(r["committee"] != "办公室" for r in records)
    assert sum(r["att_absent"] for r in records) == 0 and sum(r["att_present"] for r in records) == 1


# --------------------------------------------------------------------------- who is reached


async def test_event_audiences_leave_staff_out(db, rules) -> None:
    people = await _import(db, extra=[["秦立", "政协机关", "办公室", "机关+委员", "13900000099"]])
    policy = ReminderPolicy(zone=SH)
    async with db.session() as session:
        everyone = await events.create_event(
            session, title="全体会议", kind="plenary", starts_at=NOW + timedelta(days=3), now=NOW, rules=rules
        )
        await events.publish_event(session, everyone, now=NOW, policy=policy)
        office = await events.resolve_audience(session, "committee:办公室")  # 秦立 is in it
        office_event = await events.create_event(
            session,
            title="办公室会议",
            kind="meeting",
            starts_at=NOW + timedelta(days=4),
            audience=office,
            now=NOW,
            rules=rules,
        )
        await events.publish_event(session, office_event, now=NOW, policy=policy)
    async with db.session() as session:
        invited = {
            eid: {n for n, in_event in rows if in_event == eid}
            for eid in (everyone.id, office_event.id)
            for rows in [
                (
                    await session.exec(
                        select(Member.name, Invitation.event_id).join(Invitation, Invitation.member_id == Member.id)
                    )
                ).all()
            ]
        }
    assert len(invited[everyone.id]) == 251 and "马晓燕" not in invited[everyone.id]
    assert invited[office_event.id] == {"秦立"}
    assert not any(m.name in invited[everyone.id] for m in people if m.is_staff and not m.also_member)
    async with db.session() as session:
        with pytest.raises(events.EventError):
            await events.resolve_audience(session, "members:马晓燕")


async def test_coauthor_search_attendance_lists_and_deadlines_leave_staff_out(db, rules) -> None:
    people = await _import(db)
    staff = next(m for m in people if m.role == "secretariat")  # 杨建军
    namesake = next(m for m in people if m.role == "member" and m.name.startswith(staff.name[0]))
    async with db.session() as session:
        found, _total = await info.search_members(session, staff.name[0], exclude=[])
        assert namesake.name in {m.name for m in found} and staff.name not in {m.name for m in found}
        assert await activities.match_names(session, [staff.name]) == activities.NameMatch({}, [staff.name], [])
        everyone = await activities.active_member_ids(session)
        assert len(everyone) == 250 and staff.id not in everyone
        deadline = Deadline(title="社情民意", due_on=date(2025, 12, 20), requirement={"type": "info", "count": 1})
        session.add(deadline)
        await session.flush()
        behind = await deadlines.members_behind(session, deadline, rules=rules, zone=SH)
    assert len(behind) == 250 and staff.id not in {m.id for m in behind}


async def test_staff_at_the_venue_are_not_checked_in_as_members(db, rules) -> None:
    people = await _import(db)
    staff = next(m for m in people if m.role == "secretariat")
    start = NOW + timedelta(days=1)
    async with db.session() as session:
        event = await events.create_event(session, title="学习会", kind="study", starts_at=start, now=NOW, rules=rules)
        await events.publish_event(session, event, now=NOW, policy=ReminderPolicy(zone=SH))
    async with db.session() as session:
        result, _ = await events.check_in(session, member=staff, now=start, rules=rules, zone=SH, code=event.checkin_code)
        assert result is events.CheckIn.NOT_INVITED
        assert (await session.exec(select(Invitation).where(Invitation.member_id == staff.id))).first() is None
