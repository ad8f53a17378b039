"""The secretariat's moves on a proposal (bot.services.proposals.filing) on SQLite and PostgreSQL: every
move from every state (legal ones change the proposal and write one history row; illegal ones
change nothing and tell nobody), and what each person concerned is told, once, in their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, func, select

from bot.core.config import ConfigError
from bot.core.rules import DEFAULT_FILE, load_rules
from bot.services.proposals import common, filing
from bot.services.proposals.filing import FilingError
from models import (
    HandlingUnit,
    InfoAuthor,
    InfoItem,
    Member,
    Outbox,
    Proposal,
    ProposalAssignment,
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
    A_WITHDRAWN,
    AGREED,
    ANSWERED,
    ASSIGNED,
    ASSIST,
    COSIGNING,
    DECLINED,
    EXT_APPROVED,
    EXT_REFUSED,
    EXT_REQUESTED,
    FILED,
    FILED_STATES,
    LEAD,
    MAIN,
    PROPOSAL_STATES,
    SATISFIED,
    SEPARATE,
    SUBMITTED,
    UNSATISFIED,
)
from tests.conftest import add_member, make_settings

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
SETTINGS = make_settings("sqlite+aiosqlite:///unused.db")
RULES = load_rules(DEFAULT_FILE)


@dataclass
class World:
    staff: Member
    member: Member  # a 委员, not staff
    lead: Member  # zh
    co: Member  # en, agreed
    declined: Member
    units: list[HandlingUnit]
    contacts: list[Member]  # one per unit


async def _world(db) -> World:  # type: ignore[no-untyped-def]
    staff = await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001, committee="")
    member = await add_member(db, "李委员", telegram_user_id=9002)
    lead = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    co = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    declined = await add_member(db, "王强", telegram_user_id=1003)
    async with db.session() as session:
        units = [HandlingUnit(name=n, short_name=s) for n, s in
                 (("区住房和城乡建设局", "住建局"), ("区教育局", "教育局"), ("区交通运输局", "交通局"))]  # fmt: skip
        session.add_all(units)
        await session.flush()
        contacts = [Member(name=f"联络员{i}", role=Role.UNIT.value, unit_id=u.id, telegram_user_id=3001 + i,
                           language="en" if i == 1 else None) for i, u in enumerate(units)]  # fmt: skip
        session.add_all(contacts)
        await session.flush()
        for row in units + contacts:
            await session.refresh(row)
    return World(staff, member, lead, co, declined, units, contacts)


async def _proposal(db, w: World, state: str = SUBMITTED, *, title: str = "关于老旧小区加装电梯的建议",  # type: ignore[no-untyped-def]
                    seq: int | None = None) -> int:  # fmt: skip
    """A proposal in `state` as the other parts leave it: filed ones have a number; one in hand has a
    主办 (objected, asking for an extension) and a 协办; an answered one has its answer and a 不满意 rating."""
    async with db.session() as session:
        proposal = Proposal(year=2026, lead_id=w.lead.id, title=title, category="社会建设", analysis="情况分析" * 20,
                            suggestion="具体建议" * 20, state=state, submitted_at=NOW.replace(tzinfo=None))  # fmt: skip
        if state in FILED_STATES:
            proposal.seq = seq or 100 + (await session.exec(select(func.count()).select_from(Proposal))).one()
            proposal.number = common.format_number(2026, proposal.seq)
        session.add(proposal)
        await session.flush()
        assert proposal.id is not None
        for position, (m, consent) in enumerate(((w.lead, LEAD), (w.co, AGREED), (w.declined, DECLINED))):
            session.add(
                ProposalAuthor(proposal_id=proposal.id, member_id=m.id, position=position, consent=consent)
            )
        if state in (ASSIGNED, ANSWERED):
            at = (NOW - timedelta(days=5)).replace(tzinfo=None)
            main = ProposalAssignment(proposal_id=proposal.id, unit_id=w.units[0].id, role=MAIN, assigned_at=at,
                                      object_until=at + timedelta(days=10), due_on=date(2026, 6, 1))  # fmt: skip
            assist = ProposalAssignment(proposal_id=proposal.id, unit_id=w.units[1].id, role=ASSIST, assigned_at=at,
                                        object_until=at + timedelta(days=10), due_on=date(2026, 6, 1))  # fmt: skip
            if state == ASSIGNED:
                main.state, main.objection = A_OBJECTED, "不属于本单位职责"
                main.extension_state, main.extension_until, main.extension_reason = (
                    EXT_REQUESTED, date(2026, 7, 1), "需要调研")  # fmt: skip
            else:
                main.state, main.answer, main.answer_category = A_ANSWERED, "已列入计划", "B"
                assist.state = A_SIGNED
                session.add(ProposalRating(proposal_id=proposal.id, member_id=w.lead.id, attitude=SATISFIED,
                                           result=UNSATISFIED, at=NOW.replace(tzinfo=None)))  # fmt: skip
            session.add_all([main, assist])
        return proposal.id


async def _outbox(db) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
        return [(row.chat_id, row.payload["text"]) for row in rows]


async def _assignments(db, proposal_id: int) -> list[ProposalAssignment]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        query = select(ProposalAssignment).where(col(ProposalAssignment.proposal_id) == proposal_id)
        return list((await session.exec(query.order_by(col(ProposalAssignment.id)))).all())


async def _do(db, w: World, move: str, proposal_id: int, actor: Member | None = None) -> None:  # type: ignore[no-untyped-def]
    """The move with valid arguments (what the handlers pass)."""
    actor = actor or w.staff
    kw = {"actor": actor, "now": NOW, "settings": SETTINGS}
    async with db.session() as session:
        rows = (await session.exec(select(ProposalAssignment).where(
            col(ProposalAssignment.proposal_id) == proposal_id, col(ProposalAssignment.role) == MAIN))).all()  # fmt: skip
        main = rows[0].id if rows else 999
        if move == "file":
            await filing.file(session, proposal_id, **kw)
        elif move == "not_file":
            await filing.not_file(session, proposal_id, reason="vague", text=None, **kw)
        elif move == "convert":
            await filing.convert(session, proposal_id, rules=RULES, **kw)
        elif move == "merge":
            target = (await session.exec(select(Proposal).where(col(Proposal.title) == "合并目标"))).one()
            await filing.merge(session, proposal_id, into_id=target.id, **kw)
        elif move == "return":
            await filing.return_(session, proposal_id, note="请补充数据", **kw)
        elif move == "assign":
            await filing.assign(session, proposal_id, main_id=w.units[0].id, assist_ids=[w.units[1].id], **kw)
        elif move == "reassign":
            await filing.reassign(session, proposal_id, assignment_id=main, unit_id=w.units[2].id, **kw)
        elif move == "key":
            await filing.mark_key(session, proposal_id, leader="张副主席", **kw)
        elif move == "nudge":
            await filing.nudge(session, proposal_id, **kw)
        elif move in ("extend", "no_extend"):
            await filing.decide_extension(
                session, proposal_id, assignment_id=main, approve=move == "extend", **kw
            )
        elif move == "rework":
            await filing.rework(session, proposal_id, **kw)
        elif move == "excellent":
            await filing.mark_excellent(session, proposal_id, **kw)
        else:
            raise AssertionError(move)


@pytest.mark.parametrize("move", list(filing.MOVES))
async def test_every_move_from_every_state(db, move: str) -> None:
    w = await _world(db)
    await _proposal(db, w, FILED, title="合并目标")
    for state in PROPOSAL_STATES:
        proposal_id = await _proposal(db, w, state)
        async with db.session() as session:
            events = (await session.exec(select(func.count()).select_from(ProposalEvent))).one()
        sent = len(await _outbox(db))
        legal = state in filing.MOVES[move].sources
        if legal:
            await _do(db, w, move, proposal_id)
        else:
            with pytest.raises(FilingError) as refused:
                await _do(db, w, move, proposal_id)
            assert refused.value.code == f"illegal_{move}"
            assert refused.value.text("zh") != f"proposals_filing.err.illegal_{move}"
        async with db.session() as session:
            proposal = await session.get(Proposal, proposal_id)
            assert proposal is not None
            kinds = (await session.exec(select(ProposalEvent.kind).where(
                col(ProposalEvent.proposal_id) == proposal_id))).all()  # fmt: skip
            after = (await session.exec(select(func.count()).select_from(ProposalEvent))).one()
        if not legal:
            assert proposal.state == state and after == events and len(await _outbox(db)) == sent, (
                move,
                state,
            )
            continue
        target = filing.MOVES[move].target
        assert proposal.state == (target or state), (move, state)
        expected = 2 if move == "assign" else 1  # 交办 writes one row per unit
        assert after - events == expected and set(kinds) == {filing.MOVES[move].event}, (move, state)
        assert len(await _outbox(db)) > sent, (move, state)  # somebody was told


@pytest.mark.parametrize("move", list(filing.MOVES))
async def test_a_member_a_unit_contact_and_a_stranger_cannot_move_a_proposal(db, move: str) -> None:
    w = await _world(db)
    await _proposal(db, w, FILED, title="合并目标")
    state = next(s for s in filing.MOVES[move].sources)
    proposal_id = await _proposal(db, w, state)
    stranger = Member(id=None, name="陌生人", role="member", active=False)
    for actor in (w.member, w.contacts[0], w.lead, stranger):
        with pytest.raises(FilingError) as refused:
            await _do(db, w, move, proposal_id, actor=actor)
        assert refused.value.code == "not_allowed"
    async with db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None and proposal.state == state
        assert (await session.exec(select(func.count()).select_from(ProposalEvent))).one() == 0
    assert await _outbox(db) == []


async def test_filing_numbers_are_gap_free_and_each_proposer_is_told_once_in_their_language(db) -> None:
    w = await _world(db)
    first, second = await _proposal(db, w), await _proposal(db, w, title="关于背街小巷路灯的建议")
    await _do(db, w, "file", first)
    with pytest.raises(FilingError):
        await _do(db, w, "file", first)  # twice: refused, and its number is given back
    await _do(db, w, "file", second)
    async with db.session() as session:
        numbers = [(await session.get(Proposal, i)).number for i in (first, second)]  # type: ignore[union-attr]
    assert numbers == ["2026-001", "2026-002"]
    assert await _outbox(db) == [
        (1001, "你的提案「关于老旧小区加装电梯的建议」已立案，立案号 2026-001。"),
        (1002, "Your proposal “关于老旧小区加装电梯的建议” is filed as 2026-001."),
        (1001, "你的提案「关于背街小巷路灯的建议」已立案，立案号 2026-002。"),
        (1002, "Your proposal “关于背街小巷路灯的建议” is filed as 2026-002."),
    ]  # the co-proposer who declined is not told


async def test_not_filed_tells_every_proposer_the_reason(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w)
    async with db.session() as session:
        for reason, text, code in (("bogus", None, "reason"), ("other", "  ", "reason_text_missing")):
            with pytest.raises(FilingError) as refused:
                await filing.not_file(session, proposal_id, actor=w.staff, reason=reason, text=text, now=NOW,
                                      settings=SETTINGS)  # fmt: skip
            assert refused.value.code == code
    async with db.session() as session:
        await filing.not_file(session, proposal_id, actor=w.staff, reason="personal", text="属于个人诉求", now=NOW,
                              settings=SETTINGS)  # fmt: skip
    sent = await _outbox(db)
    assert [chat for chat, _ in sent] == [1001, 1002]
    assert "理由：涉及个人或家庭事务：属于个人诉求" in sent[0][1]
    assert "Reason: " in sent[1][1] and "属于个人诉求" in sent[1][1] and "涉及" not in sent[1][1]
    async with db.session() as session:
        event = (await session.exec(select(ProposalEvent))).one()
        assert (event.kind, event.reason, event.text, event.actor_id) == ("not_filed", "personal", "属于个人诉求",
                                                                          w.staff.id)  # fmt: skip


async def test_converted_to_information_with_the_same_authors(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w)
    async with db.session() as session:
        _proposal_row, number = await filing.convert(session, proposal_id, actor=w.staff, now=NOW,
                                                     settings=SETTINGS, rules=RULES)  # fmt: skip
    assert number == "SQ-2026-0001"
    async with db.session() as session:
        item = (await session.exec(select(InfoItem))).one()
        authors = (await session.exec(select(InfoAuthor.member_id).order_by(col(InfoAuthor.position)))).all()
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None and proposal.info_item_id == item.id and proposal.state == "converted"
    assert (item.state, item.author_id, item.category) == ("submitted", w.lead.id, "民生保障")
    assert "情况分析" in item.body and "具体建议" in item.body
    assert list(authors) == [w.lead.id, w.co.id]
    sent = await _outbox(db)
    assert [chat for chat, _ in sent] == [1001, 1002] and all("SQ-2026-0001" in text for _, text in sent)


async def test_merged_proposers_hear_of_the_filed_one_later(db) -> None:
    w = await _world(db)
    other = await add_member(db, "赵敏", telegram_user_id=1010, language="en")
    target = await _proposal(db, w, FILED, title="合并目标")
    async with db.session() as session:
        merged = Proposal(year=2026, lead_id=other.id, title="关于加装电梯补贴的建议", category="社会建设",
                          analysis="分析", suggestion="建议", submitted_at=NOW.replace(tzinfo=None))  # fmt: skip
        session.add(merged)
        await session.flush()
        assert merged.id is not None
        session.add(ProposalAuthor(proposal_id=merged.id, member_id=other.id, position=0, consent=LEAD))
    unfiled = await _proposal(db, w)
    async with db.session() as session:
        for into in (merged.id, unfiled, 999):
            with pytest.raises(FilingError) as refused:
                await filing.merge(
                    session, merged.id, actor=w.staff, into_id=into, now=NOW, settings=SETTINGS
                )
            assert refused.value.code == "merge_target"
    async with db.session() as session:
        await filing.merge(session, merged.id, actor=w.staff, into_id=target, now=NOW, settings=SETTINGS)
    assert [c for c, _ in await _outbox(db)] == [1010]
    await _do(db, w, "assign", target)  # a later step of the filed proposal reaches the merged one's lead
    notices = [(c, text) for c, text in await _outbox(db) if c == 1010]
    assert len(notices) == 2 and "is assigned to" in notices[1][1]
    async with db.session() as session:  # and so does what the other parts send with common.notify_proposers
        proposal = await session.get(Proposal, target)
        assert proposal is not None
        event = await common.record(session, proposal, "answered", actor_id=None, now=NOW)
        assert (
            await common.notify_proposers(session, proposal, event, "proposals.state.answered", now=NOW) == 3
        )
        row = await session.get(Proposal, merged.id)
        assert row is not None and row.merged_into_id == target and row.state == "merged"


async def test_returned_with_a_note(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w)
    async with db.session() as session:
        with pytest.raises(FilingError) as refused:
            await filing.return_(session, proposal_id, actor=w.staff, note=" ", now=NOW, settings=SETTINGS)
        assert refused.value.code == "note_missing"
        with pytest.raises(FilingError) as refused:
            await filing.return_(
                session, proposal_id, actor=w.staff, note="长" * 501, now=NOW, settings=SETTINGS
            )
        assert refused.value.code == "text_long"
        await filing.return_(
            session, proposal_id, actor=w.staff, note="请补充数据来源", now=NOW, settings=SETTINGS
        )
    assert all("请补充数据来源" in text for _, text in await _outbox(db))


async def test_assignment_to_a_main_unit_and_an_assisting_one(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, FILED)
    async with db.session() as session:
        for kwargs, code in (
            ({}, "assign_main_missing"),
            ({"separate_ids": [w.units[0].id]}, "assign_separate_few"),
            ({"main_id": w.units[0].id, "separate_ids": [w.units[1].id, w.units[2].id]}, "assign_mixed"),
            ({"main_id": 999}, "no_unit"),
        ):
            with pytest.raises(FilingError) as refused:
                await filing.assign(session, proposal_id, actor=w.staff, now=NOW, settings=SETTINGS, **kwargs)  # type: ignore[arg-type]
            assert refused.value.code == code
    await _do(db, w, "assign", proposal_id)
    rows = await _assignments(db, proposal_id)
    assert [(r.unit_id, r.role, r.state) for r in rows] == [(w.units[0].id, MAIN, A_ASSIGNED),
                                                            (w.units[1].id, ASSIST, A_ASSIGNED)]  # fmt: skip
    assert rows[0].due_on == date(2026, 6, 1)  # 3 March (Shanghai) + 90 days
    assert rows[0].object_until == datetime(2026, 3, 13, 2, 0)
    async with db.session() as session:
        outbox = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
    by_chat = {row.chat_id: row for row in outbox}
    assert sorted(by_chat) == [1001, 1002, 3001, 3002] and len(outbox) == 4
    card = by_chat[3001].payload
    buttons = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [common.UNIT_SIGN_BUTTON(rows[0].id), common.UNIT_OBJECT_BUTTON(rows[0].id)]
    assert "主办" in card["text"] and "区教育局" in card["text"] and "6月1日" in card["text"]
    assert "assisting" in by_chat[3002].payload["text"].lower()  # the 协办's contact reads English
    assert "区住房和城乡建设局（主办）、区教育局（协办）" in by_chat[1001].payload["text"]


async def test_separate_handling_by_several_units(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, FILED)
    async with db.session() as session:
        await filing.assign(session, proposal_id, actor=w.staff, separate_ids=[w.units[0].id, w.units[2].id],
                            now=NOW, settings=SETTINGS)  # fmt: skip
    assert [(r.unit_id, r.role) for r in await _assignments(db, proposal_id)] == [
        (w.units[0].id, SEPARATE), (w.units[2].id, SEPARATE)]  # fmt: skip


async def test_reassignment_after_an_objection(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, ASSIGNED)
    main, assist = await _assignments(db, proposal_id)
    async with db.session() as session:
        for assignment_id, unit_id, code in ((assist.id, w.units[2].id, "not_objected"),
                                             (main.id, w.units[1].id, "unit_taken"),
                                             (main.id, 999, "no_unit"), (999, w.units[2].id, "no_assignment")):  # fmt: skip
            with pytest.raises(FilingError) as refused:
                await filing.reassign(session, proposal_id, actor=w.staff, assignment_id=assignment_id,  # type: ignore[arg-type]
                                      unit_id=unit_id, now=NOW, settings=SETTINGS)  # type: ignore[arg-type]  # fmt: skip
            assert refused.value.code == code
    await _do(db, w, "reassign", proposal_id)
    old, kept, new = await _assignments(db, proposal_id)
    assert (old.state, kept.state) == (A_WITHDRAWN, A_ASSIGNED)
    assert (new.unit_id, new.role, new.state, new.due_on) == (
        w.units[2].id,
        MAIN,
        A_ASSIGNED,
        date(2026, 6, 1),
    )
    sent = await _outbox(db)
    assert sorted(chat for chat, _ in sent) == [1001, 1002, 3001, 3003]
    assert "改派给其他单位" in dict(sent)[3001] and "区交通运输局" in dict(sent)[1001]
    with pytest.raises(FilingError):  # the withdrawn row cannot be re-assigned again
        await _do(db, w, "reassign", proposal_id)


async def test_an_extension_approved_within_the_limit_and_refused(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, ASSIGNED)
    main, _assist = await _assignments(db, proposal_id)
    async with db.session() as session:
        row = await session.get(ProposalAssignment, main.id)
        assert row is not None
        row.extension_until = filing.extension_limit(row, SETTINGS) + timedelta(days=1)
        session.add(row)
    async with db.session() as session:
        with pytest.raises(FilingError) as refused:
            await filing.decide_extension(session, proposal_id, actor=w.staff, assignment_id=main.id, approve=True,  # type: ignore[arg-type]
                                          now=NOW, settings=SETTINGS)  # fmt: skip
        assert refused.value.code == "extension_late"
    async with db.session() as session:
        row = await session.get(ProposalAssignment, main.id)
        assert row is not None
        row.extension_until = filing.extension_limit(row, SETTINGS)  # the last day allowed
        session.add(row)
    await _do(db, w, "extend", proposal_id)
    (approved, _a), sent = await _assignments(db, proposal_id), await _outbox(db)
    assert (approved.extension_state, approved.due_on) == (EXT_APPROVED, date(2026, 8, 25))  # 26 Feb + 180
    assert sorted(chat for chat, _ in sent) == [1001, 1002, 3001]
    with pytest.raises(FilingError) as decided:
        await _do(db, w, "no_extend", proposal_id)  # decided already
    assert decided.value.code == "no_extension"
    other = await _proposal(db, w, ASSIGNED)
    await _do(db, w, "no_extend", other)
    (refused_row, _a) = await _assignments(db, other)
    assert (refused_row.extension_state, refused_row.due_on) == (EXT_REFUSED, date(2026, 6, 1))
    assert [chat for chat, _ in (await _outbox(db))[len(sent) :]] == [3001]  # the unit only


async def test_a_nudge_once_a_day(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, ASSIGNED)
    assert [chat for chat, _ in await _outbox(db)] == []
    await _do(db, w, "nudge", proposal_id)
    assert sorted(chat for chat, _ in await _outbox(db)) == [3001, 3002]
    async with db.session() as session:
        with pytest.raises(FilingError) as refused:
            await filing.nudge(
                session, proposal_id, actor=w.staff, now=NOW + timedelta(hours=23), settings=SETTINGS
            )
    assert refused.value.code == "nudge_too_soon" and "10:00" in refused.value.text("zh")
    async with db.session() as session:
        assert await filing.nudge(session, proposal_id, actor=w.staff, now=NOW + timedelta(days=1),
                                  settings=SETTINGS) == 2  # fmt: skip
    assert len(await _outbox(db)) == 4


async def test_rework_once_after_an_unsatisfied_result(db) -> None:
    w = await _world(db)
    happy = await _proposal(db, w, ANSWERED)
    async with db.session() as session:
        rating = (
            await session.exec(select(ProposalRating).where(col(ProposalRating.proposal_id) == happy))
        ).one()
        rating.result = SATISFIED
        session.add(rating)
    with pytest.raises(FilingError) as refused:
        await _do(db, w, "rework", happy)
    assert refused.value.code == "rework_unrated"
    proposal_id = await _proposal(db, w, ANSWERED)
    await _do(db, w, "rework", proposal_id)
    main, assist = await _assignments(db, proposal_id)
    assert (main.round, main.state, main.answer, assist.round, assist.state) == (
        2,
        A_SIGNED,
        None,
        1,
        A_SIGNED,
    )
    async with db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None and (proposal.state, proposal.reworked) == (ASSIGNED, True)
        event = (await session.exec(select(ProposalEvent).where(col(ProposalEvent.kind) == "rework"))).one()
        assert event.text == "[B] 已列入计划"  # the earlier answer stays in the history
        # the unit answers round 2, a proposer is unsatisfied again: no second rework
        row = await session.get(ProposalAssignment, main.id)
        assert row is not None
        row.state, row.answer = A_ANSWERED, "已解决"
        proposal.state = ANSWERED
        session.add_all([row, proposal, ProposalRating(proposal_id=proposal_id, member_id=w.lead.id, round=2,
                                                       attitude=SATISFIED, result=UNSATISFIED, at=NOW)])  # fmt: skip
    sent = await _outbox(db)
    assert sorted(chat for chat, _ in sent) == [1001, 1002, 3001]  # the answering unit and the proposers
    with pytest.raises(FilingError) as again:
        await _do(db, w, "rework", proposal_id)
    assert again.value.code == "reworked_before"


async def test_key_and_excellent_marks(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, FILED)
    async with db.session() as session:
        with pytest.raises(FilingError) as refused:
            await filing.mark_key(session, proposal_id, actor=w.staff, leader=" ", now=NOW, settings=SETTINGS)
        assert refused.value.code == "leader_missing"
    await _do(db, w, "key", proposal_id)
    with pytest.raises(FilingError) as again:
        await _do(db, w, "key", proposal_id)
    assert again.value.code == "already_key"
    await _do(db, w, "excellent", proposal_id)
    with pytest.raises(FilingError) as again:
        await _do(db, w, "excellent", proposal_id)
    assert again.value.code == "already_excellent"
    async with db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None and (proposal.key, proposal.key_leader, proposal.excellent) == (
            True,
            "张副主席",
            True,
        )
        card = await filing.card(session, proposal_id)
        assert card is not None and "excellent" not in card.moves and [e.kind for e, _n in card.events] == [
            "key", "excellent"]  # fmt: skip
    assert len(await _outbox(db)) == 4


async def test_the_inbox_views(db) -> None:
    w = await _world(db)
    ids = {state: await _proposal(db, w, state) for state in PROPOSAL_STATES}
    late = await _proposal(db, w, ASSIGNED)
    async with db.session() as session:
        for row in (
            await session.exec(select(ProposalAssignment).where(col(ProposalAssignment.proposal_id) == late))
        ).all():
            row.due_on = date(2026, 3, 1)
            session.add(row)
        key = await session.get(Proposal, ids[FILED])
        assert key is not None
        key.key = True
        session.add(key)
    today = date(2026, 3, 3)
    async with db.session() as session:
        counts = await filing.view_counts(session, today)
        assert counts == {"review": 1, "filed": 1, "handling": 2, "overdue": 1, "rating": 1, "key": 1}
        page, total = await filing.inbox(session, "handling", today, offset=1, limit=1)
        assert total == 2 and [p.id for p in page] == [late]
        assert [p.id for p in (await filing.inbox(session, "overdue", today))[0]] == [late]
        # every proposer who agreed has rated: no longer waiting for a rating
        session.add(ProposalRating(proposal_id=ids[ANSWERED], member_id=w.co.id, attitude=SATISFIED,
                                   result=SATISFIED, at=NOW))  # fmt: skip
        await session.flush()
        assert (await filing.view_counts(session, today))["rating"] == 0
    assert ids[COSIGNING] not in [p.id for v in filing.VIEWS for p in (await _page(db, v, today))]


async def _page(db, view: str, today: date) -> list[Proposal]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return (await filing.inbox(session, view, today, limit=50))[0]


async def test_units_found_by_part_of_their_name(db) -> None:
    w = await _world(db)
    async with db.session() as session:
        units, total = await filing.active_units(session, "教育")
        assert [u.name for u in units] == ["区教育局"] and total == 1
        everyone, total = await filing.active_units(session, "", limit=2)
        assert len(everyone) == 2 and total == len(w.units)


async def test_two_secretaries_filing_at_once_give_one_number(db) -> None:
    import asyncio

    w = await _world(db)
    proposal_id = await _proposal(db, w)
    other = await _proposal(db, w, title="关于背街小巷路灯的建议")

    async def press() -> str:
        try:
            await _do(db, w, "file", proposal_id)
        except FilingError as refused:
            return refused.code
        return "filed"

    assert sorted(await asyncio.gather(press(), press())) == ["filed", "illegal_file"]
    await _do(db, w, "file", other)
    async with db.session() as session:
        numbers = [(await session.get(Proposal, i)).number for i in (proposal_id, other)]  # type: ignore[union-attr]
        filed = (await session.exec(select(ProposalEvent).where(col(ProposalEvent.kind) == "filed"))).all()
    assert numbers == ["2026-001", "2026-002"] and len(filed) == 2
    assert len(await _outbox(db)) == 4  # each proposer told once per filing


async def test_a_rework_gives_the_answering_units_a_new_due_day_counted_from_it(db) -> None:
    w = await _world(db)
    proposal_id = await _proposal(db, w, ANSWERED)  # due 2026-06-01, long past at the 重办
    reworked = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
    settings = make_settings("sqlite+aiosqlite:///unused.db", proposal_rework_days=20)
    async with db.session() as session:
        await filing.rework(session, proposal_id, actor=w.staff, now=reworked, settings=settings)
    main, assist = await _assignments(db, proposal_id)
    assert (main.round, main.due_on) == (2, date(2026, 9, 21))  # 20 days from the 重办's local day
    assert (assist.round, assist.due_on) == (1, date(2026, 6, 1))  # a 协办 does not answer again
    sent = await _outbox(db)
    (unit_text,) = [text for chat, text in sent if chat == 3001]
    assert "9月21日（周一）" in unit_text and "重办" in unit_text
    (lead_text,) = [text for chat, text in sent if chat == 1001]
    (co_text,) = [text for chat, text in sent if chat == 1002]
    assert "9月21日（周一）" in lead_text and "Mon 21 Sep" in co_text  # the proposers too, each in their language
    assert make_settings("sqlite+aiosqlite:///unused.db").proposal_rework_days == 30


@pytest.mark.parametrize(("value", "needle"), [(0, "must be a positive number"), (400, "at most 365")])
def test_the_rework_days_setting_is_checked(value: int, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_settings("sqlite+aiosqlite:///unused.db", proposal_rework_days=value)
    assert f"PROPOSAL_REWORK_DAYS: {needle}" in str(info.value)
