"""The proposal foundation on SQLite and PostgreSQL: the [proposal] section of the rules file, gap-free
filing numbers per year (also concurrently), and notices that reach each proposer and unit contact
once, in their own language."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.core.rules import DEFAULT_FILE, RulesError, load_rules, parse_rules
from bot.services.proposals import common
from models import HandlingUnit, Member, Outbox, Proposal, ProposalAuthor, Role
from models.proposal import AGREED, DECLINED, LEAD, PENDING
from tests.conftest import add_member

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
RULES_TEXT = DEFAULT_FILE.read_text(encoding="utf-8")


def test_the_shipped_rules_name_the_categories_and_answer_categories() -> None:
    rules = load_rules(DEFAULT_FILE).proposal
    assert rules.categories[0] == "经济建设" and "其他" in rules.categories
    assert [c.code for c in rules.answer_categories] == ["A", "B", "C"]
    assert rules.answer_category("B").label("zh") == "正在解决或列入计划"
    assert rules.answer_category("Z") is None
    assert "proposal" in parse_rules(RULES_TEXT.replace("info = 1 }", "info = 1, proposal = 1 }")).assessment.minimums


def test_a_bad_proposal_section_names_its_line() -> None:
    text = RULES_TEXT.replace("lead_points = 10", 'lead_points = "ten"')
    with pytest.raises(RulesError, match=r":\d+: proposal.lead_points must be a number"):
        parse_rules(text, "rules.toml")
    text = RULES_TEXT.replace('code = "B"', 'code = "A"')
    with pytest.raises(RulesError, match="distinct codes"):
        parse_rules(text, "rules.toml")


async def test_filing_numbers_run_per_year_without_gaps_under_concurrency(db) -> None:
    async def take(year: int) -> str:
        async with db.session() as session:
            return (await common.next_filing_number(session, year))[1]

    numbers = await asyncio.gather(*(take(2026) for _ in range(12)))
    assert sorted(numbers) == [f"2026-{n:03d}" for n in range(1, 13)]
    assert await take(2027) == "2027-001"


async def _proposal(db, lead: Member, others: list[tuple[Member, str]]) -> int:
    async with db.session() as session:
        proposal = Proposal(year=2026, lead_id=lead.id, title="关于老旧小区加装电梯的建议", category="社会建设",
                            analysis="分析", suggestion="建议", submitted_at=NOW.replace(tzinfo=None))
        session.add(proposal)
        await session.flush()
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=lead.id, position=0, consent=LEAD))
        for position, (member, consent) in enumerate(others, start=1):
            session.add(ProposalAuthor(proposal_id=proposal.id, member_id=member.id, position=position, consent=consent))
        return proposal.id


async def test_notices_reach_the_lead_and_agreed_co_proposers_once_each_in_their_language(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    agreed = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    declined = await add_member(db, "王强", telegram_user_id=1003)
    pending = await add_member(db, "李梅", telegram_user_id=1004)
    proposal_id = await _proposal(db, lead, [(agreed, AGREED), (declined, DECLINED), (pending, PENDING)])
    for _ in range(2):  # a redelivered step queues nothing more
        async with db.session() as session:
            proposal = await common.lock(session, proposal_id)
            event = (await session.exec(select(common.ProposalEvent))).first() or await common.record(
                session, proposal, "filed", actor_id=None, now=NOW)
            await common.notify_proposers(session, proposal, event, "proposals.state.filed", now=NOW)
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.chat_id)))).all()
        assert [(row.chat_id, row.payload["text"]) for row in rows] == [(1001, "已立案"), (1002, "Filed")]
        assert await common.proposer_ids(session, proposal_id, agreed_only=False) == [
            lead.id, agreed.id, declined.id, pending.id]


async def test_a_unit_notice_reaches_its_active_contacts_only(db) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001)
    proposal_id = await _proposal(db, lead, [])
    async with db.session() as session:
        unit, other = HandlingUnit(name="区住房和城乡建设局"), HandlingUnit(name="区教育局")
        session.add_all([unit, other])
        await session.flush()
        session.add_all([
            Member(name="张科长", role=Role.UNIT.value, unit_id=unit.id, telegram_user_id=3001),
            Member(name="离职联络员", role=Role.UNIT.value, unit_id=unit.id, telegram_user_id=3002, active=False),
            Member(name="赵科长", role=Role.UNIT.value, unit_id=other.id, telegram_user_id=3003),
        ])
        await session.flush()
        proposal = await common.lock(session, proposal_id)
        event = await common.record(session, proposal, "assigned", actor_id=None, now=NOW, unit_id=unit.id)
        assert await common.notify_unit(session, proposal, event, unit.id, "proposals.role.main", now=NOW) == 1
    async with db.session() as session:
        assert [row.chat_id for row in (await session.exec(select(Outbox))).all()] == [3001]
        unit_contact = (await session.exec(select(Member).where(col(Member.telegram_user_id) == 3001))).one()
        assert not unit_contact.is_member and not unit_contact.is_staff


async def test_the_lock_refuses_a_missing_proposal(db) -> None:
    async with db.session() as session:
        with pytest.raises(common.ProposalError):
            await common.lock(session, 999)
