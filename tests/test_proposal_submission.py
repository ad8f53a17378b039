"""The members' part of proposals on SQLite and PostgreSQL: submitting (with and without
co-proposers), the co-signing answers and the sweep after the co-signing time, a redelivered
confirm, similar proposals, resubmitting a returned proposal, the member's view and the rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.core.i18n import t
from bot.core.rules import DEFAULT_FILE, load_rules
from bot.services.info import AttachmentIn
from bot.services.proposals import submission as service
from models import Member, Outbox, Proposal, ProposalAssignment, ProposalAuthor, ProposalEvent, ProposalRating
from models.proposal import AGREED, ANSWERED, COSIGNING, DECLINED, LEAD, MAIN, RETURNED, SUBMITTED
from tests.conftest import add_member

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
RULES = load_rules(DEFAULT_FILE)
STAFF_CHAT = -100500
ANALYSIS = "我区老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。"
SUGGESTION = "建议区住建局牵头简化审批流程，设立专项补贴，由街道组织协商推动落地。"


async def _submit(db, lead: Member, others: list[Member] = (), *, title: str = "关于加快老旧小区加装电梯的建议",
                  draft_key: str | None = None, now: datetime = NOW) -> Proposal:  # type: ignore[assignment]
    async with db.session() as session:
        return await service.submit(
            session, lead_id=lead.id, title=title, category="社会建设", analysis=ANALYSIS, suggestion=SUGGESTION,
            now=now, tz=TZ, rules=RULES, cosign_hours=72, coproposer_ids=[m.id for m in others],
            attachments=[AttachmentIn(kind="photo", file_id="f1", file_unique_id="u1")],
            staff_chat_id=STAFF_CHAT, draft_key=draft_key,
        )


async def _outbox(db) -> list[Outbox]:
    async with db.session() as session:
        return list((await session.exec(select(Outbox).order_by(col(Outbox.id)))).all())


async def _consents(db, proposal_id: int) -> list[tuple[int, str]]:
    async with db.session() as session:
        rows = (await session.exec(select(ProposalAuthor).where(ProposalAuthor.proposal_id == proposal_id)
                                   .order_by(col(ProposalAuthor.position)))).all()
        return [(r.member_id, r.consent) for r in rows]


def test_input_checks() -> None:
    with pytest.raises(service.SubmitError, match="title_short"):
        service.check_title("电梯")
    with pytest.raises(service.SubmitError, match="title_long"):
        service.check_title("电" * 61)
    assert service.check_title("  关于  加装电梯的建议 ") == "关于 加装电梯的建议"
    with pytest.raises(service.SubmitError, match="text_long"):
        service.check_part("字" * 2000, "字" * 1001)
    assert service.check_part("字" * 2000, "字" * 1000) == "字" * 2000
    with pytest.raises(service.SubmitError, match="category"):
        service.check_category("民生保障", RULES)


async def test_without_co_proposers_it_goes_to_the_secretariat_at_once(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    proposal = await _submit(db, lead)
    assert (proposal.state, proposal.year, proposal.cosign_until) == (SUBMITTED, 2026, None)
    assert await _consents(db, proposal.id) == [(lead.id, LEAD)]
    rows = await _outbox(db)
    assert [r.chat_id for r in rows] == [STAFF_CHAT]
    assert "苏建华" in rows[0].payload["text"] and "pstaff:open" in str(rows[0].payload["reply_markup"])


async def test_a_redelivered_confirm_stores_once(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    first = await _submit(db, lead, draft_key="p:1001:abc")
    with pytest.raises(service.AlreadySubmitted) as caught:
        await _submit(db, lead, draft_key="p:1001:abc")
    assert caught.value.proposal_id == first.id
    async with db.session() as session:
        assert len((await session.exec(select(Proposal))).all()) == 1
    assert len(await _outbox(db)) == 1


async def test_co_proposers_answer_and_the_last_answer_sends_it_on(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    yes = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    no = await add_member(db, "王强", telegram_user_id=1003)
    proposal = await _submit(db, lead, [yes, no])
    assert proposal.state == COSIGNING and proposal.cosign_until == (NOW + timedelta(hours=72)).replace(tzinfo=None)
    cards = await _outbox(db)
    assert [r.chat_id for r in cards] == [1002, 1003]  # each co-proposer a card, the secretariat not yet
    assert "Please answer by" in cards[0].payload["text"] and "pcos:yes" in str(cards[0].payload["reply_markup"])
    async with db.session() as session:
        await service.answer_cosign(session, proposal_id=proposal.id, member=yes, agree=True, now=NOW,
                                    staff_chat_id=STAFF_CHAT)
    async with db.session() as session:
        with pytest.raises(service.SubmitError, match="cosign_answered"):
            await service.answer_cosign(session, proposal_id=proposal.id, member=yes, agree=False, now=NOW)
    async with db.session() as session:
        with pytest.raises(service.SubmitError, match="not_invited"):
            await service.answer_cosign(session, proposal_id=proposal.id, member=lead, agree=True, now=NOW)
    async with db.session() as session:
        done = await service.answer_cosign(session, proposal_id=proposal.id, member=no, agree=False, now=NOW,
                                           staff_chat_id=STAFF_CHAT)
        assert done.state == SUBMITTED
    assert await _consents(db, proposal.id) == [(lead.id, LEAD), (yes.id, AGREED), (no.id, DECLINED)]
    rows = (await _outbox(db))[2:]
    assert [r.chat_id for r in rows] == [1001, STAFF_CHAT]
    assert rows[0].payload["text"] == t("proposals_submit.cosign_result", "zh", title=proposal.title,
                                         agreed="Liao Yan", declined="王强", silent="无")
    assert "苏建华、Liao Yan" in rows[1].payload["text"]
    async with db.session() as session:  # the sweep finds nothing more to do
        assert await service.close_due_cosigning(session, now=NOW + timedelta(days=9), staff_chat_id=STAFF_CHAT) == 0
    assert len(await _outbox(db)) == 4


async def test_the_sweep_closes_co_signing_after_its_time_with_those_who_agreed(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    yes = await add_member(db, "李梅", telegram_user_id=1002)
    silent = await add_member(db, "王强", telegram_user_id=1003)
    proposal = await _submit(db, lead, [yes, silent])
    async with db.session() as session:
        await service.answer_cosign(session, proposal_id=proposal.id, member=yes, agree=True, now=NOW)
    async with db.session() as session:
        assert await service.close_due_cosigning(session, now=NOW + timedelta(hours=71)) == 0
    for _ in range(2):  # idempotent
        async with db.session() as session:
            await service.close_due_cosigning(session, now=NOW + timedelta(hours=72), staff_chat_id=STAFF_CHAT)
    async with db.session() as session:
        assert (await session.get(Proposal, proposal.id)).state == SUBMITTED
        kinds = (await session.exec(select(ProposalEvent.kind).order_by(col(ProposalEvent.id)))).all()
    assert list(kinds) == ["submitted", "cosign_agreed", "cosign_closed"]
    rows = (await _outbox(db))[2:]
    assert [r.chat_id for r in rows] == [1001, STAFF_CHAT]
    assert "未答复：王强" in rows[0].payload["text"] and "同意联名：李梅" in rows[0].payload["text"]
    async with db.session() as session:  # a late answer is refused
        with pytest.raises(service.SubmitError, match="cosign_closed"):
            await service.answer_cosign(session, proposal_id=proposal.id, member=silent, agree=True, now=NOW)


async def test_similar_proposals_of_this_and_last_year(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    old = await _submit(db, lead, title="关于加快老旧小区加装电梯工作的建议", now=NOW - timedelta(days=365))
    await _submit(db, lead, title="关于加快老旧小区加装电梯的提案", now=NOW - timedelta(days=800))  # too old
    await _submit(db, lead, title="关于发展夜间经济的建议")
    async with db.session() as session:
        found = await service.similar(session, "关于老旧小区加装电梯的建议", now=NOW, tz=TZ)
    assert [s.proposal_id for s in found] == [old.id]
    assert found[0].state == SUBMITTED and found[0].answer_category is None


async def test_the_lead_resubmits_a_returned_proposal_and_the_history_keeps_the_old_text(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    yes = await add_member(db, "李梅", telegram_user_id=1002, language="en")
    proposal = await _submit(db, lead, [yes])
    async with db.session() as session:
        await service.answer_cosign(session, proposal_id=proposal.id, member=yes, agree=True, now=NOW)
    async with db.session() as session:
        row = await session.get(Proposal, proposal.id)
        row.state = RETURNED
        session.add(row)
    async with db.session() as session:
        with pytest.raises(service.SubmitError, match="not_yours"):
            await service.resubmit(session, proposal_id=proposal.id, actor=yes, title="关于加装电梯的建议",
                                   category="社会建设", analysis=ANALYSIS, suggestion=SUGGESTION, now=NOW, rules=RULES)
    async with db.session() as session:
        again = await service.resubmit(session, proposal_id=proposal.id, actor=lead, title="关于加装电梯的建议",
                                       category="社会建设", analysis=ANALYSIS, suggestion=SUGGESTION + "另外。",
                                       now=NOW, rules=RULES, staff_chat_id=STAFF_CHAT)
        assert again.state == SUBMITTED
    async with db.session() as session:
        event = (await session.exec(select(ProposalEvent).where(ProposalEvent.kind == "resubmitted"))).one()
        assert event.text.startswith("关于加快老旧小区加装电梯的建议")
    async with db.session() as session:
        with pytest.raises(service.SubmitError, match="not_returned"):
            await service.resubmit(session, proposal_id=proposal.id, actor=lead, title="关于加装电梯的建议",
                                   category="社会建设", analysis=ANALYSIS, suggestion=SUGGESTION, now=NOW, rules=RULES)
    rows = await _outbox(db)
    assert any(r.chat_id == 1002 and "was revised and submitted again" in r.payload["text"] for r in rows)
    assert any(r.chat_id == STAFF_CHAT and "重新提交" in r.payload["text"] for r in rows)


async def _answered(db, lead: Member, others: list[Member]) -> int:
    proposal = await _submit(db, lead, others)
    for other in others:
        async with db.session() as session:
            await service.answer_cosign(session, proposal_id=proposal.id, member=other, agree=True, now=NOW)
    async with db.session() as session:
        from models import HandlingUnit

        unit = HandlingUnit(name="区住建局")
        session.add(unit)
        await session.flush()
        row = await session.get(Proposal, proposal.id)
        row.state, row.number = ANSWERED, "2026-001"
        session.add(row)
        session.add(ProposalAssignment(proposal_id=proposal.id, unit_id=unit.id, role=MAIN, state="answered",
                                       assigned_at=NOW.replace(tzinfo=None), object_until=NOW.replace(tzinfo=None),
                                       due_on=NOW.date(), answer="已答复", answer_category="B"))
    return proposal.id


async def test_rating_once_per_round_and_the_secretariat_hears_of_unsatisfied(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    co = await add_member(db, "李梅", telegram_user_id=1002)
    stranger = await add_member(db, "王强", telegram_user_id=1003)
    proposal_id = await _answered(db, lead, [co])
    async with db.session() as session:
        views = await service.member_proposals(session, lead.id)
        assert [v.may_rate for v in views] == [True]
        card = service.render_card(views[0], "zh", TZ)
        assert "已答复" in card and "2026-001" in card and "李梅 同意联名" in card
        with pytest.raises(service.SubmitError, match="not_yours"):
            await service.rate(session, proposal_id=proposal_id, member=stranger, attitude="satisfied",
                               result="satisfied", comment=None, now=NOW)
    async with db.session() as session:
        await service.rate(session, proposal_id=proposal_id, member=lead, attitude="satisfied", result="unsatisfied",
                           comment="还没解决", now=NOW, staff_chat_id=STAFF_CHAT)
    async with db.session() as session:
        with pytest.raises(service.SubmitError, match="rated"):
            await service.rate(session, proposal_id=proposal_id, member=lead, attitude="satisfied",
                               result="satisfied", comment=None, now=NOW)
        assert not await service.may_rate(session, await session.get(Proposal, proposal_id), lead.id)
        assert await service.may_rate(session, await session.get(Proposal, proposal_id), co.id)
    async with db.session() as session:
        await service.rate(session, proposal_id=proposal_id, member=co, attitude="basically", result="basically",
                           comment=None, now=NOW, staff_chat_id=STAFF_CHAT)
    async with db.session() as session:
        ratings = (await session.exec(select(ProposalRating).order_by(col(ProposalRating.id)))).all()
    assert [(r.member_id, r.round, r.attitude, r.result, r.comment) for r in ratings] == [
        (lead.id, 1, "satisfied", "unsatisfied", "还没解决"), (co.id, 1, "basically", "basically", None)]
    staff = [r for r in await _outbox(db) if r.chat_id == STAFF_CHAT]
    assert len([r for r in staff if "不满意" in r.payload["text"]]) == 1
    async with db.session() as session:  # a second round (重办) may be rated again
        assignment = (await session.exec(select(ProposalAssignment))).one()
        assignment.round = 2
        session.add(assignment)
    async with db.session() as session:
        assert await service.may_rate(session, await session.get(Proposal, proposal_id), lead.id)
