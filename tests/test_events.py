"""Event and deadline services on SQLite and PostgreSQL: publishing plans invitation and reminder
rows for the audience, leave withdraws a member's reminders, edits replan, cancellations notify,
check-in credits points, close-out records leave and absence; deadline reminders target only
members who do not comply yet."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from bot.core.clock import to_db
from bot.core.config import Settings
from bot.core.rules import load_rules
from bot.core.schedule import QuietHours
from bot.services import deadlines, events
from bot.services.reminders import ReminderPolicy
from models import ActivityReport, Member, Outbox
from models.event import ATTEND, CLOSED, LEAVE, Invitation
from tests.conftest import add_member

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
START = datetime(2025, 11, 5, 14, 30, tzinfo=SH).astimezone(UTC)  # Wednesday 14:30
RULES = load_rules(Settings(_env_file=None).rules_path)  # type: ignore[call-arg]
POLICY = ReminderPolicy(zone=SH, quiet=QuietHours(time(21, 0), time(8, 0)))


async def outbox(db, prefix: str = "") -> dict[str, Outbox]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).where(col(Outbox.dedupe_key).startswith(prefix)))).all()
        return {r.dedupe_key: r for r in rows}


async def setup_committee(db):  # type: ignore[no-untyped-def]
    a = await add_member(db, "苏建华", telegram_user_id=101, committee="经济委员会")
    b = await add_member(db, "廖艳", telegram_user_id=102, committee="经济委员会", language="en")
    c = await add_member(db, "朱宇浩", committee="经济委员会")  # not bound yet: invited, no messages
    d = await add_member(db, "丁欣怡", telegram_user_id=104, committee="文史委员会")  # other committee
    return a, b, c, d


async def publish(db, **kwargs) -> int:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        audience = await events.resolve_audience(session, kwargs.pop("audience", "committee:经济委员会"))
        event = await events.create_event(
            session,
            title=kwargs.pop("title", "学习会：民法典"),
            kind="study",
            starts_at=START,
            place="政协三楼会议室",
            audience=audience,
            now=NOW,
            rules=RULES,
            **kwargs,
        )
        await events.publish_event(session, event, now=NOW, policy=POLICY)
        return event.id  # type: ignore[return-value]


async def test_publish_invites_the_audience_and_plans_reminders(db):
    a, b, c, d = await setup_committee(db)
    event_id = await publish(db)
    async with db.session() as session:
        invited = {i.member_id for i in (await session.exec(select(Invitation))).all()}
    assert invited == {a.id, b.id, c.id}
    rows = await outbox(db, f"event:{event_id}:")
    invites = {k: r for k, r in rows.items() if r.kind == "invitation"}
    assert set(invites) == {f"event:{event_id}:invite:{a.id}", f"event:{event_id}:invite:{b.id}"}
    assert "参加" in str(invites[f"event:{event_id}:invite:{a.id}"].payload)
    assert "Invitation" in invites[f"event:{event_id}:invite:{b.id}"].payload["text"]  # her language
    reminders = sorted((r.member_id, r.send_after) for r in rows.values() if r.kind == "reminder")
    day_before, two_hours = to_db(START - timedelta(hours=24)), to_db(START - timedelta(hours=2))
    assert reminders == sorted([(a.id, day_before), (a.id, two_hours), (b.id, day_before), (b.id, two_hours)])
    assert all(r.expires_at == to_db(START) for r in rows.values() if r.kind == "reminder")
    # Publishing twice is refused; the dedupe keys would have stopped duplicates anyway.
    async with db.session() as session:
        with pytest.raises(events.EventError):
            await events.publish_event(
                session, await events.get_event(session, event_id), now=NOW, policy=POLICY
            )


async def test_bad_input_is_refused_and_stores_nothing(db):
    await setup_committee(db)
    cases = [
        {"title": "  "},
        {"title": "长" * 121},
        {"starts_at": NOW - timedelta(hours=1)},
        {"ends_at": START - timedelta(minutes=1)},
        {"kind": "party"},
        {"offsets": "soon"},
    ]
    for case in cases:
        async with db.session() as session:
            values = {
                "title": "学习会",
                "kind": "study",
                "starts_at": START,
                "now": NOW,
                "rules": RULES,
                **case,
            }
            with pytest.raises(events.EventError):
                await events.create_event(session, **values)  # type: ignore[arg-type]
    async with db.session() as session:
        with pytest.raises(events.EventError):
            await events.resolve_audience(session, "committee:不存在的委员会")
        with pytest.raises(events.EventError):
            await events.resolve_audience(session, "members:查无此人")
        assert (await events.list_events(session, now=NOW)) == []


async def test_leave_withdraws_reminders_and_attending_again_brings_them_back(db):
    a, b, *_ = await setup_committee(db)
    event_id = await publish(db)
    async with db.session() as session:
        member = await session.get(Member, a.id)
        outcome, _ = await events.answer_invitation(
            session, event_id=event_id, member=member, answer=LEAVE, now=NOW, policy=POLICY
        )
        assert outcome is events.Answer.NEED_REASON
        outcome, _ = await events.answer_invitation(
            session, event_id=event_id, member=member, answer=LEAVE, reason="x" * 201, now=NOW, policy=POLICY
        )
        assert outcome is events.Answer.REASON_TOO_LONG
        outcome, _ = await events.answer_invitation(
            session, event_id=event_id, member=member, answer=LEAVE, reason="出差", now=NOW, policy=POLICY
        )
        assert outcome is events.Answer.RECORDED
    rows = await outbox(db, f"event:{event_id}:v1:")
    assert {r.status for r in rows.values() if r.member_id == a.id} == {"dropped"}
    assert {r.status for r in rows.values() if r.member_id == b.id} == {"pending"}
    async with db.session() as session:
        member = await session.get(Member, a.id)
        later = START - timedelta(hours=12)  # the 24h reminder has passed by now
        await events.answer_invitation(
            session, event_id=event_id, member=member, answer=ATTEND, now=later, policy=POLICY
        )
    rows = await outbox(db, f"event:{event_id}:v1:")
    pending = sorted(r.send_after for r in rows.values() if r.member_id == a.id and r.status == "pending")
    assert to_db(START - timedelta(hours=2)) in pending and to_db(START - timedelta(hours=24)) not in pending
    # Not invited, or after the start: refused.
    async with db.session() as session:
        other = (await session.exec(select(Member).where(Member.name == "丁欣怡"))).one()
        assert (
            await events.answer_invitation(
                session, event_id=event_id, member=other, answer=ATTEND, now=NOW, policy=POLICY
            )
        )[0] is events.Answer.NOT_INVITED
        member = await session.get(Member, b.id)
        assert (
            await events.answer_invitation(
                session, event_id=event_id, member=member, answer=LEAVE, reason="x", now=START, policy=POLICY
            )
        )[0] is events.Answer.CLOSED
        assert (
            await events.answer_invitation(
                session, event_id=999, member=member, answer=ATTEND, now=NOW, policy=POLICY
            )
        )[0] is events.Answer.NO_EVENT


async def test_changing_time_notifies_everyone_and_replans(db):
    a, b, *_ = await setup_committee(db)
    event_id = await publish(db)
    async with db.session() as session:
        member = await session.get(Member, b.id)
        await events.answer_invitation(
            session, event_id=event_id, member=member, answer=LEAVE, reason="开会", now=NOW, policy=POLICY
        )
    new_start = START + timedelta(days=1)
    async with db.session() as session:
        event = await events.get_event(session, event_id)
        assert await events.update_event(session, event, now=NOW, policy=POLICY, starts_at=new_start)
    old = await outbox(db, f"event:{event_id}:v1:")
    assert all(r.status == "dropped" for r in old.values())
    new = await outbox(db, f"event:{event_id}:v2:")
    changed = {r.member_id for r in new.values() if ":changed:" in r.dedupe_key}
    assert changed == {a.id, b.id}  # everyone invited hears of the change, on leave or not
    reminders = sorted(r.send_after for r in new.values() if r.kind == "reminder")
    assert reminders == [
        to_db(new_start - timedelta(hours=24)),
        to_db(new_start - timedelta(hours=2)),
    ]  # a only
    assert all(r.member_id == a.id for r in new.values() if r.kind == "reminder")


async def test_cancelling_removes_reminders_and_tells_only_those_who_were_invited(db):
    a, b, *_ = await setup_committee(db)
    event_id = await publish(db)
    async with db.session() as session:  # a's invitation went out, b's had not yet
        row = (
            await session.exec(select(Outbox).where(Outbox.dedupe_key == f"event:{event_id}:invite:{a.id}"))
        ).one()
        row.status = "sent"
        session.add(row)
    async with db.session() as session:
        assert (
            await events.cancel_event(
                session, await events.get_event(session, event_id), now=NOW, policy=POLICY
            )
            == 1
        )
    rows = await outbox(db, f"event:{event_id}:")
    assert {r.dedupe_key for r in rows.values() if r.status == "pending"} == {
        f"event:{event_id}:cancelled:{a.id}"
    }
    assert rows[f"event:{event_id}:invite:{b.id}"].status == "dropped"


async def test_check_in_by_code_and_button_and_close_out_credits_attendance(db):
    a, b, c, d = await setup_committee(db)
    event_id = await publish(db)
    async with db.session() as session:
        event = await events.get_event(session, event_id)
        code = event.checkin_code
        member_b = await session.get(Member, b.id)
        await events.answer_invitation(
            session, event_id=event_id, member=member_b, answer=LEAVE, reason="病假", now=NOW, policy=POLICY
        )
    during = START + timedelta(minutes=5)
    async with db.session() as session:
        member_a, member_d = await session.get(Member, a.id), await session.get(Member, d.id)
        assert (
            await events.check_in(session, member=member_a, code="000000", now=during, rules=RULES, zone=SH)
        )[0] is events.CheckIn.BAD_CODE
        assert (await events.check_in(session, member=member_a, code=code, now=NOW, rules=RULES, zone=SH))[
            0
        ] is events.CheckIn.NOT_OPEN
        # the button alone does not check anyone in to an event that wants the venue's code
        assert (
            await events.check_in(
                session, member=member_a, event_id=event_id, now=during, rules=RULES, zone=SH
            )
        )[0] is events.CheckIn.NEED_CODE
        assert (await events.check_in(session, member=member_a, code=code, now=during, rules=RULES, zone=SH))[
            0
        ] is events.CheckIn.DONE
        assert (await events.check_in(session, member=member_a, code=code, now=during, rules=RULES, zone=SH))[
            0
        ] is events.CheckIn.ALREADY
        # d was not invited but is at the venue with the code: counted.
        assert (await events.check_in(session, member=member_d, code=code, now=during, rules=RULES, zone=SH))[
            0
        ] is events.CheckIn.DONE
    async with db.session() as session:
        assert await events.close_due_events(session, now=during, rules=RULES, zone=SH) == 0  # still open
        assert (
            await events.close_due_events(session, now=START + timedelta(hours=3), rules=RULES, zone=SH) == 1
        )
        assert (await events.get_event(session, event_id)).status == CLOSED
        reports = (
            await session.exec(select(ActivityReport).where(ActivityReport.source_key == f"event:{event_id}"))
        ).all()
    attendance = {r.member_id: r.attendance for r in reports}
    assert attendance == {a.id: "present", d.id: "present", b.id: "leave", c.id: "absent"}
    assert all(r.type_code == "study" and r.activity_date == date(2025, 11, 5) for r in reports)
    async with db.session() as session:
        methods = {i.member_id: i.checkin_method for i in (await session.exec(select(Invitation))).all()}
    assert methods[a.id] == "code" and methods[d.id] == "code"
    async with db.session() as session:  # closing again changes nothing
        assert (
            await events.close_due_events(session, now=START + timedelta(hours=4), rules=RULES, zone=SH) == 0
        )


async def test_a_self_declared_event_checks_in_by_button_and_the_record_says_so(db):
    a, _b, _c, d = await setup_committee(db)
    event_id = await publish(db, self_declared=True)
    during = START + timedelta(minutes=5)
    async with db.session() as session:
        member_a, member_d = await session.get(Member, a.id), await session.get(Member, d.id)
        assert (
            await events.check_in(session, member=member_d, event_id=event_id, now=during, rules=RULES, zone=SH)
        )[0] is events.CheckIn.NOT_INVITED
        assert (
            await events.check_in(session, member=member_a, event_id=event_id, now=during, rules=RULES, zone=SH)
        )[0] is events.CheckIn.DONE
    async with db.session() as session:
        invitation = (await session.exec(select(Invitation).where(Invitation.member_id == a.id))).one()
        record = (
            await session.exec(select(ActivityReport).where(ActivityReport.source_key == f"event:{event_id}"))
        ).one()
    assert invitation.checkin_method == "self"
    assert record.attendance == "present" and "自报出席" in record.description


# ------------------------------------------------------------------ deadlines


async def add_report(db, member: Member, code: str, day: date) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        session.add(
            ActivityReport(
                member_id=member.id,
                type_code=code,
                activity_date=day,
                description="调研",  # type: ignore[arg-type]
                status="pending",
                points=3,
                submitted_at=to_db(NOW),
            )
        )


async def test_deadline_reminders_go_only_to_members_behind_and_stop_once_they_comply(db):
    a, b, c, d = await setup_committee(db)
    await add_report(db, b, "research", date(2025, 6, 1))  # b complies already
    async with db.session() as session:
        requirement = deadlines.parse_requirement("activity:research", RULES)
        deadline = await deadlines.create_deadline(
            session, title="年度调研", due_on=date(2025, 11, 20), requirement=requirement, now=NOW, zone=SH
        )
    seven_days = datetime(2025, 11, 13, 9, 0, tzinfo=SH).astimezone(UTC)
    async with db.session() as session:
        assert (
            await deadlines.plan_deadline_reminders(
                session, now=seven_days - timedelta(minutes=1), rules=RULES, policy=POLICY
            )
            == 0
        )  # not yet
        assert (
            await deadlines.plan_deadline_reminders(session, now=seven_days, rules=RULES, policy=POLICY) == 2
        )
        assert (
            await deadlines.plan_deadline_reminders(
                session, now=seven_days + timedelta(hours=1), rules=RULES, policy=POLICY
            )
            == 0
        )  # once per moment
    rows = await outbox(db, f"deadline:{deadline.id}:")
    assert {r.member_id for r in rows.values()} == {a.id, d.id}  # c is not bound; b complies
    assert all(
        r.kind == "reminder" and r.expires_at == to_db(datetime(2025, 11, 21, tzinfo=SH))
        for r in rows.values()
    )
    await add_report(db, a, "research", date(2025, 11, 14))  # a complies now
    three_days = datetime(2025, 11, 17, 9, 0, tzinfo=SH).astimezone(UTC)
    async with db.session() as session:
        assert (
            await deadlines.plan_deadline_reminders(session, now=three_days, rules=RULES, policy=POLICY) == 1
        )
    rows = await outbox(db, f"deadline:{deadline.id}:2025-11-17:")
    assert {r.member_id for r in rows.values()} == {d.id}
    # In quiet hours nothing is planned; past the due date neither.
    async with db.session() as session:
        night = datetime(2025, 11, 19, 22, 0, tzinfo=SH).astimezone(UTC)
        assert await deadlines.plan_deadline_reminders(session, now=night, rules=RULES, policy=POLICY) == 0
        after = datetime(2025, 11, 21, 9, 0, tzinfo=SH).astimezone(UTC)
        assert await deadlines.plan_deadline_reminders(session, now=after, rules=RULES, policy=POLICY) == 0


@pytest.mark.parametrize("requirement", ["activity:research", "info:1", "points:3"])
async def test_a_sweep_within_the_same_reminder_moment_plans_nothing_in_a_few_queries(db, requirement):
    members = [await add_member(db, f"委员{i:02d}", telegram_user_id=900 + i) for i in range(30)]
    await add_report(db, members[0], "research", date(2025, 6, 1))
    async with db.session() as session:
        deadline = await deadlines.create_deadline(
            session, title="年度履职", due_on=date(2025, 11, 20),
            requirement=deadlines.parse_requirement(requirement, RULES), now=NOW, zone=SH,
        )  # fmt: skip
    seven_days = datetime(2025, 11, 13, 9, 0, tzinfo=SH).astimezone(UTC)
    async with db.session() as session:
        first = await deadlines.plan_deadline_reminders(session, now=seven_days, rules=RULES, policy=POLICY)
    behind = 29 if requirement == "activity:research" else 30  # a pending report: no confirmed points
    assert first == behind
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        for hours in (1, 2):  # the hourly sweeps after the first, same reminder moment
            async with db.session() as session:
                again = seven_days + timedelta(hours=hours)
                assert await deadlines.plan_deadline_reminders(session, now=again, rules=RULES, policy=POLICY) == 0
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    # per sweep: the active deadlines, and one query for who is behind and not reminded yet
    assert len(statements) <= 2 * 2, statements
    assert len(await outbox(db, f"deadline:{deadline.id}:")) == behind


async def test_points_requirement_and_bad_requirements(db):
    a, b, *_ = await setup_committee(db)
    async with db.session() as session:
        session.add(
            ActivityReport(
                member_id=b.id,
                type_code="research",
                activity_date=date(2025, 5, 1),  # type: ignore[arg-type]
                description="x",
                status="confirmed",
                points=3,
                submitted_at=to_db(NOW),
            )
        )
        deadline = await deadlines.create_deadline(
            session,
            title="积分",
            due_on=date(2025, 12, 1),
            requirement=deadlines.parse_requirement("points:3", RULES),
            now=NOW,
            zone=SH,
        )
        behind = await deadlines.members_behind(session, deadline, rules=RULES, zone=SH)
    assert b.id not in {m.id for m in behind} and a.id in {m.id for m in behind}
    for bad in ("points", "points:-1", "activity:dancing", "lots", "info:x"):
        with pytest.raises(deadlines.DeadlineError):
            deadlines.parse_requirement(bad, RULES)
    async with db.session() as session:
        with pytest.raises(deadlines.DeadlineError):
            await deadlines.create_deadline(
                session,
                title="过去",
                due_on=date(2025, 1, 1),
                requirement={"type": "info", "count": 1},
                now=NOW,
                zone=SH,
            )


async def test_an_event_made_and_published_again_from_the_same_dialog_is_the_same_event(db):
    await setup_committee(db)

    async def make_and_publish(title: str) -> tuple[int, int]:
        async with db.session() as session:
            audience = await events.resolve_audience(session, "committee:经济委员会")
            event = await events.create_event(session, title=title, kind="study", starts_at=START,
                                              audience=audience, now=NOW, rules=RULES, create_key="dialog-1")  # fmt: skip
            return event.id, await events.publish_once(session, event, now=NOW, policy=POLICY)  # type: ignore[return-value]

    first = await make_and_publish("学习会：民法典")
    outbox_rows = len(await outbox(db))
    assert await make_and_publish("学习会：民法典（重复）") == first == (first[0], 3)
    async with db.session() as session:
        assert len((await session.exec(select(Invitation))).all()) == 3
        assert (await events.get_event(session, first[0])).title == "学习会：民法典"
    assert len(await outbox(db)) == outbox_rows
