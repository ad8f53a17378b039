"""办 and 督 by the handling units on SQLite and PostgreSQL: 签收, 申请调整 within and after the
window, the 协办 opinion reaching the 主办, the answers completing a proposal (every proposer told
once, in their language, with the rating button), the extension request reaching the secretariat,
and the supervision sweep: reminders 30, 7 and 1 days before the due day and the overdue notice,
once each, never in quiet hours. A unit never reaches another unit's assignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.core.holidays import HolidayCalendar
from bot.core.rules import ProposalRules
from bot.core.schedule import parse_quiet_hours
from bot.services.proposals import filing, handling
from bot.services.proposals.common import RATE_BUTTON, STAFF_OPEN_BUTTON
from bot.services.proposals.figures import proposal_figures, unit_figures
from bot.services.reminders import ReminderPolicy
from models import (
    HandlingUnit,
    Member,
    Outbox,
    Proposal,
    ProposalAssignment,
    ProposalAttachment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
    Role,
)
from models.proposal import (
    A_ANSWERED,
    A_ASSIGNED,
    A_OBJECTED,
    A_SIGNED,
    AGREED,
    ANSWERED,
    ASSIGNED,
    ASSIST,
    DECLINED,
    EXT_REQUESTED,
    LEAD,
    MAIN,
    SATISFIED,
    SEPARATE,
    UNSATISFIED,
)
from tests.conftest import add_member, make_settings

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Tuesday
STAFF_CHAT = -1009
RULES = ProposalRules()
# Monday to Friday are workdays; 2026-04-13 (the Monday after the due day below) is a holiday.
CALENDAR = HolidayCalendar(holidays=frozenset({date(2026, 4, 13)}), enabled=True)
POLICY = ReminderPolicy(zone=ZONE, quiet=parse_quiet_hours("22:00-08:00"), deadline_time=time(9, 0), calendar=CALENDAR)


@dataclass
class World:
    proposal_id: int
    lead: Member
    cosigner: Member
    contacts: dict[str, Member]  # role -> the unit contact
    assignments: dict[str, int]  # role -> assignment id


async def world(db, roles: tuple[str, ...] = (MAIN, ASSIST), *, due_days: int = 90) -> World:  # type: ignore[no-untyped-def]
    lead = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    cosigner = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    declined = await add_member(db, "王强", telegram_user_id=1003)
    contacts, assignments = {}, {}
    async with db.session() as session:
        proposal = Proposal(year=2026, number="2026-001", seq=1, lead_id=lead.id, title="关于老旧小区加装电梯的建议",
                            category="社会建设", analysis="分析", suggestion="建议", state=ASSIGNED,
                            submitted_at=NOW.replace(tzinfo=None), assigned_at=NOW.replace(tzinfo=None))
        session.add(proposal)
        await session.flush()
        for position, (member, consent) in enumerate([(lead, LEAD), (cosigner, AGREED), (declined, DECLINED)]):
            session.add(ProposalAuthor(proposal_id=proposal.id, member_id=member.id, position=position, consent=consent))
        for index, role in enumerate(roles):
            unit = HandlingUnit(name=f"区单位{index}")
            session.add(unit)
            await session.flush()
            contact = Member(name=f"联络员{index}", role=Role.UNIT.value, unit_id=unit.id, telegram_user_id=3001 + index)
            session.add(contact)
            await session.flush()
            assignment = ProposalAssignment(
                proposal_id=proposal.id, unit_id=unit.id, role=role, assigned_at=NOW.replace(tzinfo=None),
                object_until=(NOW + timedelta(days=10)).replace(tzinfo=None),
                due_on=NOW.astimezone(ZONE).date() + timedelta(days=due_days))
            session.add(assignment)
            await session.flush()
            contacts[role], assignments[role] = contact, assignment.id
        return World(proposal.id, lead, cosigner, contacts, assignments)


async def outbox(db) -> list[Outbox]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list((await session.exec(select(Outbox).order_by(col(Outbox.id)))).all())


async def test_sign_once_and_another_unit_gets_nothing(db) -> None:
    w = await world(db)
    async with db.session() as session:
        item, signed = await handling.sign(session, w.contacts[MAIN], w.assignments[MAIN], now=NOW)
        assert signed and item.assignment.state == A_SIGNED
    async with db.session() as session:
        _, signed = await handling.sign(session, w.contacts[MAIN], w.assignments[MAIN], now=NOW)
        assert not signed
        with pytest.raises(handling.UnitError, match="not_yours"):
            await handling.sign(session, w.contacts[ASSIST], w.assignments[MAIN], now=NOW)
        member = await session.get(Member, w.lead.id)
        with pytest.raises(handling.UnitError, match="not_yours"):
            await handling.item(session, member, w.assignments[MAIN])  # a member is no unit
        mine = await handling.my_items(session, w.contacts[ASSIST])
        assert [i.assignment.id for i in mine] == [w.assignments[ASSIST]]
        events = (await session.exec(select(ProposalEvent).where(col(ProposalEvent.kind) == "signed"))).all()
        assert len(events) == 1


async def test_an_objection_within_the_window_reaches_the_secretariat_and_after_it_the_assignment_stands(db) -> None:
    w = await world(db)
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="text_short"):
            await handling.object_to(session, w.contacts[MAIN], w.assignments[MAIN], " ", now=NOW, staff_chat=STAFF_CHAT)
    late = NOW + timedelta(days=10, minutes=1)
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="object_closed") as refused:
            await handling.object_to(session, w.contacts[ASSIST], w.assignments[ASSIST], "不属于本单位职责",
                                     now=late, staff_chat=STAFF_CHAT)
        assert refused.value.final
    async with db.session() as session:
        await handling.object_to(session, w.contacts[MAIN], w.assignments[MAIN], "不属于本单位职责，建议交区城管局",
                                 now=NOW + timedelta(days=9), staff_chat=STAFF_CHAT)
    async with db.session() as session:
        main, assist = (await session.get(ProposalAssignment, w.assignments[MAIN]),
                        await session.get(ProposalAssignment, w.assignments[ASSIST]))
        assert main is not None and assist is not None
        assert (main.state, main.objection) == (A_OBJECTED, "不属于本单位职责，建议交区城管局")
        assert assist.state == A_ASSIGNED and assist.objection is None
    (row,) = await outbox(db)
    assert row.chat_id == STAFF_CHAT and "区单位0" in row.payload["text"] and "建议交区城管局" in row.payload["text"]
    assert STAFF_OPEN_BUTTON(w.proposal_id) in str(row.payload["reply_markup"])


async def test_opinion_then_answer_makes_the_proposal_answered_and_every_proposer_hears_once(db) -> None:
    w = await world(db)
    main, assist = w.contacts[MAIN], w.contacts[ASSIST]
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="sign_first"):
            await handling.send_opinion(session, assist, w.assignments[ASSIST], "同意主办单位意见", now=NOW)
        await handling.sign(session, assist, w.assignments[ASSIST], now=NOW)
        await handling.sign(session, main, w.assignments[MAIN], now=NOW)
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="wrong_role"):
            await handling.send_opinion(session, main, w.assignments[MAIN], "主办不发协办意见", now=NOW)
        await handling.send_opinion(session, assist, w.assignments[ASSIST], "建议统筹专项资金予以支持", now=NOW)
        await handling.record_contact(session, main, w.assignments[MAIN], kind="phone", on=date(2026, 3, 3),
                                      now=NOW, today=date(2026, 3, 3))
        assert await handling.opinions(session, w.proposal_id) == [("区单位1", "建议统筹专项资金予以支持")]
    rows = await outbox(db)
    assert [(r.chat_id, "建议统筹专项资金予以支持" in r.payload["text"]) for r in rows] == [(3001, True)]
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="bad_category"):
            await handling.answer(session, main, w.assignments[MAIN], text="已列入明年计划，分批实施。", category="Z",
                                  letter=None, now=NOW, rules=RULES, staff_chat=STAFF_CHAT)
        with pytest.raises(handling.UnitError, match="letter_type"):
            await handling.answer(session, main, w.assignments[MAIN], text="已列入明年计划，分批实施。", category="B",
                                  letter=handling.Letter("f1", file_name="a.exe", mime_type="application/x-msdownload"),
                                  now=NOW, rules=RULES, staff_chat=STAFF_CHAT)
    later = NOW + timedelta(days=30)
    async with db.session() as session:
        _, done = await handling.answer(
            session, main, w.assignments[MAIN], text="已列入明年计划，分批实施加装电梯工程。", category="B",
            letter=handling.Letter("file-1", "u1", "答复函.pdf", "application/pdf", 1000), now=later,
            rules=RULES, staff_chat=STAFF_CHAT)
        assert done
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="answered"):
            await handling.answer(session, main, w.assignments[MAIN], text="再答复一次内容不少于十个字", category="A",
                                  letter=None, now=later, rules=RULES, staff_chat=STAFF_CHAT)
        proposal = await session.get(Proposal, w.proposal_id)
        assert proposal is not None and proposal.state == ANSWERED and proposal.answered_at == later.replace(tzinfo=None)
        assert len((await session.exec(select(ProposalAttachment))).all()) == 1
    new = (await outbox(db))[1:]
    notices = [r for r in new if r.payload["method"] == "sendMessage" and r.chat_id in (1001, 1002, 1003)]
    assert sorted(r.chat_id for r in notices) == [1001, 1002]  # the declined co-proposer gets nothing
    zh = next(r for r in notices if r.chat_id == 1001).payload
    en = next(r for r in notices if r.chat_id == 1002).payload
    assert "已办复" in zh["text"] and "正在解决或列入计划" in zh["text"] and "分批实施加装电梯工程" in zh["text"]
    assert "has been answered" in en["text"] and "Being solved or planned" in en["text"]
    assert RATE_BUTTON(w.proposal_id) in str(zh["reply_markup"]) and RATE_BUTTON(w.proposal_id) in str(en["reply_markup"])
    letters = [r for r in new if r.payload["method"] == "sendDocument"]
    assert sorted(r.chat_id for r in letters) == [1001, 1002] and letters[0].payload["document"] == "file-1"
    assert [r.chat_id for r in new if r.chat_id == STAFF_CHAT] == [STAFF_CHAT]


async def test_separate_units_each_answer_and_the_proposal_is_answered_with_the_last(db) -> None:
    w = await world(db, (SEPARATE, SEPARATE + "2"))
    # the second role name is only a label of this test: make it a separate assignment too
    async with db.session() as session:
        second = await session.get(ProposalAssignment, w.assignments[SEPARATE + "2"])
        assert second is not None
        second.role = SEPARATE
        session.add(second)
    first_contact, second_contact = w.contacts[SEPARATE], w.contacts[SEPARATE + "2"]
    for contact, aid in ((first_contact, w.assignments[SEPARATE]), (second_contact, w.assignments[SEPARATE + "2"])):
        async with db.session() as session:
            await handling.sign(session, contact, aid, now=NOW)
    async with db.session() as session:
        _, done = await handling.answer(session, first_contact, w.assignments[SEPARATE], text="已解决，路灯已全部修复。",
                                        category="A", letter=None, now=NOW, rules=RULES, staff_chat=None)
        assert not done
    assert not [r for r in await outbox(db) if r.chat_id in (1001, 1002)]
    async with db.session() as session:
        _, done = await handling.answer(session, second_contact, w.assignments[SEPARATE + "2"],
                                        text="留作参考，待条件成熟时实施。", category="C", letter=None, now=NOW,
                                        rules=RULES, staff_chat=None)
        assert done
    (lead_notice,) = [r for r in await outbox(db) if r.chat_id == 1001]
    assert "已全部修复" in lead_notice.payload["text"] and "待条件成熟时实施" in lead_notice.payload["text"]


async def test_an_extension_request_is_checked_and_reaches_the_secretariat(db) -> None:
    w = await world(db)
    main = w.contacts[MAIN]
    async with db.session() as session:
        await handling.sign(session, main, w.assignments[MAIN], now=NOW)
    assigned_day = NOW.astimezone(ZONE).date()
    kwargs = {"now": NOW, "zone": ZONE, "max_days": 180, "staff_chat": STAFF_CHAT}
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="extension_too_late"):
            await handling.request_extension(session, main, w.assignments[MAIN], until=assigned_day + timedelta(days=181),
                                             reason="需要协调多个部门", **kwargs)  # type: ignore[arg-type]
        with pytest.raises(handling.UnitError, match="extension_not_later"):
            await handling.request_extension(session, main, w.assignments[MAIN], until=assigned_day + timedelta(days=90),
                                             reason="需要协调多个部门", **kwargs)  # type: ignore[arg-type]
        await handling.request_extension(session, main, w.assignments[MAIN], until=assigned_day + timedelta(days=180),
                                         reason="需要协调多个部门", **kwargs)  # type: ignore[arg-type]
    async with db.session() as session:
        with pytest.raises(handling.UnitError, match="extension_pending"):
            await handling.check_extension(session, main, w.assignments[MAIN])
        a = await session.get(ProposalAssignment, w.assignments[MAIN])
        assert a is not None and (a.extension_state, a.extension_until) == (EXT_REQUESTED, assigned_day + timedelta(days=180))
        assert a.due_on == assigned_day + timedelta(days=90)  # the secretariat decides
    (row,) = await outbox(db)
    assert row.chat_id == STAFF_CHAT and "需要协调多个部门" in row.payload["text"]
    assert STAFF_OPEN_BUTTON(w.proposal_id) in str(row.payload["reply_markup"])


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


async def test_the_sweep_reminds_30_7_and_1_days_before_and_tells_of_the_overdue_once_each(db) -> None:
    w = await world(db, (MAIN, ASSIST), due_days=40)
    due = NOW.astimezone(ZONE).date() + timedelta(days=40)  # 2026-04-12, a Sunday
    async with db.session() as session:
        await handling.sign(session, w.contacts[ASSIST], w.assignments[ASSIST], now=NOW)
        await handling.send_opinion(session, w.contacts[ASSIST], w.assignments[ASSIST], "协办意见已提出", now=NOW)
    base = len(await outbox(db))

    async def sweep(moment: datetime) -> int:
        async with db.session() as session:
            return await handling.sweep(session, now=moment, policy=POLICY, staff_chat=STAFF_CHAT)

    assert await sweep(at_local(date(2026, 3, 13), 8, 30)) == 0  # 30 days before, but before 09:00
    assert await sweep(at_local(date(2026, 3, 13), 9, 0)) == 1  # 30 days before (a Friday)
    assert await sweep(at_local(date(2026, 3, 13), 10, 0)) == 0  # the hourly sweep after: nothing more
    assert await sweep(at_local(date(2026, 4, 3), 9, 5)) == 1  # 7 days before is a Sunday: the Friday before
    assert await sweep(at_local(date(2026, 4, 5), 9, 5)) == 0
    assert await sweep(at_local(date(2026, 4, 9), 23, 0)) == 0  # quiet hours
    assert await sweep(at_local(date(2026, 4, 10), 9, 0)) == 1  # 1 day before is a Saturday: the Friday
    assert await sweep(at_local(date(2026, 4, 11), 9, 0)) == 0
    assert await sweep(at_local(due, 12, 0)) == 0  # the due day itself: nothing
    assert await sweep(at_local(date(2026, 4, 13), 9, 0)) == 0  # the day after is a holiday
    assert await sweep(at_local(date(2026, 4, 14), 9, 0)) == 2  # overdue: the unit and the secretariat
    assert await sweep(at_local(date(2026, 4, 15), 9, 0)) == 0
    rows = (await outbox(db))[base:]
    assert [r.chat_id for r in rows] == [3001, 3001, 3001, 3001, STAFF_CHAT]  # the 协办 sent its opinion: no reminders
    assert "还有 30 天" in rows[0].payload["text"] and "还有 9 天" in rows[1].payload["text"]
    assert "还有 2 天" in rows[2].payload["text"]
    assert "超过答复期限" in rows[3].payload["text"] and "区单位0" in rows[4].payload["text"]
    async with db.session() as session:
        kinds = [e.kind for e in (await session.exec(select(ProposalEvent).where(
            col(ProposalEvent.kind).in_(("reminded", "overdue"))).order_by(col(ProposalEvent.id)))).all()]
        assert kinds == ["reminded", "reminded", "reminded", "overdue"]


async def test_a_sweep_after_a_long_pause_sends_only_the_latest_reminder_and_nothing_once_answered(db) -> None:
    w = await world(db, (MAIN,), due_days=40)
    due = NOW.astimezone(ZONE).date() + timedelta(days=40)
    async with db.session() as session:
        assert await handling.sweep(session, now=at_local(due - timedelta(days=6), 15, 0), policy=POLICY,
                                    staff_chat=STAFF_CHAT) == 1  # the 30- and 7-day moments passed while down
    async with db.session() as session:
        await handling.sign(session, w.contacts[MAIN], w.assignments[MAIN], now=NOW)
        await handling.answer(session, w.contacts[MAIN], w.assignments[MAIN], text="已解决，电梯已开工建设。",
                              category="A", letter=None, now=NOW, rules=RULES, staff_chat=None)
    async with db.session() as session:
        assert await handling.sweep(session, now=at_local(due + timedelta(days=3), 9, 0), policy=POLICY,
                                    staff_chat=STAFF_CHAT) == 0
        a = await session.get(ProposalAssignment, w.assignments[MAIN])
        assert a is not None and a.state == A_ANSWERED


async def test_after_a_rework_the_unit_answers_again_and_the_proposers_hear_again_once(db) -> None:
    w = await world(db, (MAIN,))
    main = w.contacts[MAIN]
    async with db.session() as session:
        await handling.sign(session, main, w.assignments[MAIN], now=NOW)
        await handling.answer(session, main, w.assignments[MAIN], text="已列入计划，分批实施加装电梯。", category="B",
                              letter=None, now=NOW, rules=RULES, staff_chat=None)
    async with db.session() as session:  # 重办, as the filing part does it: round 2, back to handling
        a = await session.get(ProposalAssignment, w.assignments[MAIN])
        proposal = await session.get(Proposal, w.proposal_id)
        assert a is not None and proposal is not None
        a.round, a.state, a.answer, a.answer_category, a.answered_at = 2, A_SIGNED, None, None, None
        proposal.state, proposal.reworked = ASSIGNED, True
        session.add_all([a, proposal])
    later = NOW + timedelta(days=20)
    async with db.session() as session:
        _, done = await handling.answer(session, main, w.assignments[MAIN], text="电梯已开工建设，年底前投入使用。",
                                        category="A", letter=None, now=later, rules=RULES, staff_chat=None)
        assert done
    lead_rows = [r for r in await outbox(db) if r.chat_id == 1001]
    assert len(lead_rows) == 2 and "开工建设" in lead_rows[1].payload["text"]
    assert "已解决或基本解决" in lead_rows[1].payload["text"]
    async with db.session() as session:
        proposal = await session.get(Proposal, w.proposal_id)
        assert proposal is not None and proposal.state == ANSWERED


async def _answered_late_and_reworked(db, w: World) -> datetime:  # type: ignore[no-untyped-def]
    """Round 1 of `w` (due 2026-04-12): the overdue notice, a late answer, 不满意, then 重办 on
    Wednesday 2026-04-22 10:00 (the new due day: 30 days on, Friday 2026-05-22). Returns the 重办 moment."""
    main = w.contacts[MAIN]
    async with db.session() as session:
        assert await handling.sweep(session, now=at_local(date(2026, 4, 14), 9, 0), policy=POLICY,
                                    staff_chat=STAFF_CHAT) == 2  # round 1 overdue: the unit and the secretariat
    async with db.session() as session:
        await handling.sign(session, main, w.assignments[MAIN], now=NOW)
        await handling.answer(session, main, w.assignments[MAIN], text="已列入计划，分批实施加装电梯。", category="B",
                              letter=None, now=at_local(date(2026, 4, 20), 10), rules=RULES, staff_chat=None)
    reworked = at_local(date(2026, 4, 22), 10)
    async with db.session() as session:
        session.add(ProposalRating(proposal_id=w.proposal_id, member_id=w.lead.id, attitude=SATISFIED,
                                   result=UNSATISFIED, at=at_local(date(2026, 4, 21), 10).replace(tzinfo=None)))
    staff = await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001)
    async with db.session() as session:
        await filing.rework(session, w.proposal_id, actor=staff, now=reworked,
                            settings=make_settings("sqlite+aiosqlite:///unused.db", secretariat_chat_id=STAFF_CHAT))
    return reworked


async def test_after_a_rework_the_sweep_reminds_and_tells_of_the_overdue_again_for_round_2_once_each(db) -> None:
    w = await world(db, (MAIN,), due_days=40)
    await _answered_late_and_reworked(db, w)
    async with db.session() as session:
        a = await session.get(ProposalAssignment, w.assignments[MAIN])
        assert a is not None and (a.round, a.state, a.due_on) == (2, A_SIGNED, date(2026, 5, 22))
    base = len(await outbox(db))

    async def sweep(moment: datetime) -> int:
        async with db.session() as session:
            return await handling.sweep(session, now=moment, policy=POLICY, staff_chat=STAFF_CHAT)

    assert await sweep(at_local(date(2026, 4, 22), 10, 30)) == 0  # not overdue at once; 30 days before was 09:00
    assert await sweep(at_local(date(2026, 5, 15), 9, 5)) == 1  # 7 days before the new due day
    assert await sweep(at_local(date(2026, 5, 15), 10, 0)) == 0
    assert await sweep(at_local(date(2026, 5, 21), 9, 0)) == 1  # 1 day before
    assert await sweep(at_local(date(2026, 5, 22), 12, 0)) == 0  # the due day itself
    assert await sweep(at_local(date(2026, 5, 25), 9, 0)) == 2  # overdue (Monday): the unit and the secretariat
    assert await sweep(at_local(date(2026, 5, 26), 9, 0)) == 0
    rows = (await outbox(db))[base:]
    assert [r.chat_id for r in rows] == [3001, 3001, 3001, STAFF_CHAT]
    assert "还有 7 天" in rows[0].payload["text"] and "还有 1 天" in rows[1].payload["text"]
    assert "超过答复期限（5月22日" in rows[2].payload["text"] and "5月22日" in rows[3].payload["text"]
    async with db.session() as session:
        kinds = [(e.kind, e.on_date) for e in (await session.exec(select(ProposalEvent).where(
            col(ProposalEvent.kind).in_(("reminded", "overdue"))).order_by(col(ProposalEvent.id)))).all()]
    assert kinds == [("overdue", date(2026, 4, 12)), ("reminded", date(2026, 5, 15)), ("reminded", date(2026, 5, 21)),
                     ("overdue", date(2026, 5, 22))]


async def test_an_answer_of_round_2_by_its_new_due_day_counts_as_on_time(db) -> None:
    w = await world(db, (MAIN,), due_days=40)
    await _answered_late_and_reworked(db, w)
    async with db.session() as session:  # after round 1's due day, before round 2's
        _, done = await handling.answer(session, w.contacts[MAIN], w.assignments[MAIN], text="电梯已开工建设，年底前投入使用。",
                                        category="A", letter=None, now=at_local(date(2026, 5, 20), 15), rules=RULES,
                                        staff_chat=None)
        assert done
    async with db.session() as session:
        figures = await proposal_figures(session, 2026, zone=ZONE)
        (unit,) = await unit_figures(session, 2026, now=at_local(date(2026, 6, 1), 9), zone=ZONE)
    assert (figures.answered, figures.on_time, figures.on_time_rate) == (1, 1, 100.0)
    assert (unit.answered, unit.on_time, unit.overdue) == (1, 1, 0)


async def test_a_unit_no_contact_can_be_reached_at_leaves_the_secretariat_told_once_per_unit_and_moment(db) -> None:
    w = await world(db, (SEPARATE, SEPARATE), due_days=40)
    async with db.session() as session:  # 区单位0: its contact never bound; 区单位1: no contact at all
        rows = (await session.exec(select(Member).where(col(Member.role) == Role.UNIT.value))).all()
        for contact in rows:
            if contact.name == "联络员0":
                contact.telegram_user_id = None
                session.add(contact)
            else:
                await session.delete(contact)

    async def sweep(moment: datetime) -> int:
        async with db.session() as session:
            return await handling.sweep(session, now=moment, policy=POLICY, staff_chat=STAFF_CHAT)

    assert await sweep(at_local(date(2026, 3, 13), 9, 0)) == 2  # the 30-day reminders: the secretariat, per unit
    assert await sweep(at_local(date(2026, 3, 13), 10, 0)) == 0
    assert await sweep(at_local(date(2026, 4, 3), 9, 5)) == 2  # the 7-day ones
    assert await sweep(at_local(date(2026, 4, 14), 9, 0)) == 4  # overdue: the overdue notice and the unreached one
    assert await sweep(at_local(date(2026, 4, 15), 9, 0)) == 0
    rows = await outbox(db)
    assert {r.chat_id for r in rows} == {STAFF_CHAT}
    texts = [r.payload["text"] for r in rows]
    unreached = [x for x in texts if "没有已绑定" in x]
    assert len(unreached) == len(set(unreached)) == 6  # 2 units × (30 days, 7 days, overdue)
    assert sum("还有 30 天" in x for x in unreached) == 2 and sum("还有 9 天" in x for x in unreached) == 2
    assert sum("区单位0" in x for x in unreached) == 3 and sum("区单位1" in x for x in unreached) == 3
    assert all("2026-001" in x and "关于老旧小区加装电梯的建议" in x for x in unreached)
    assert sum("督办提醒未能送达" in x for x in unreached) == 4 and sum("逾期通知未能送达" in x for x in unreached) == 2
    assert all(STAFF_OPEN_BUTTON(w.proposal_id) in str(r.payload["reply_markup"]) for r in rows)
    assert len({r.dedupe_key for r in rows}) == len(rows) == 8
