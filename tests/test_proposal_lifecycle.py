"""The whole proposal year of one proposal, through the services of every part, on SQLite and
PostgreSQL: a lead and two co-proposers (one declines) → 立案 → 主办 + 协办 → the 协办's opinion →
answer B → rated 不满意 → 重办 → answer A → 满意. Each person hears of each step exactly once, in
their own language; a step repeated (a redelivered press) tells nobody again; and `lvzhi annual`
prints the figures a hand count of this year gives."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.core.i18n import t
from bot.core.rules import DEFAULT_FILE, load_rules
from bot.services.proposals import filing, handling, submission
from models import HandlingUnit, Member, Outbox, Proposal, ProposalEvent, ProposalRating, Role
from models.proposal import (
    ANSWERED,
    ASSIGNED,
    ASSIST,
    COSIGNING,
    FILED,
    MAIN,
    SATISFIED,
    SUBMITTED,
    UNSATISFIED,
)
from tests.conftest import add_member, make_settings, run_cli

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
RULES = load_rules(DEFAULT_FILE)
STAFF_CHAT = -100500
SETTINGS = make_settings("sqlite+aiosqlite:///unused.db", secretariat_chat_id=STAFF_CHAT)
TITLE = "关于加快老旧小区加装电梯的建议"
ANALYSIS = "我区老旧小区多建于上世纪九十年代，六层以下住宅普遍没有电梯，老年住户上下楼困难。"
SUGGESTION = "建议区住建局牵头简化审批流程，设立专项补贴，由街道组织居民协商，分批推进加装电梯。"


async def _texts_by_chat(db) -> Counter[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).order_by(col(Outbox.id)))).all()
    return Counter((row.chat_id, row.payload["text"]) for row in rows)


async def _session_do(db, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return await fn(session, *args, **kwargs)


async def test_one_proposal_from_submission_to_a_satisfied_rating_after_a_rework(db, db_url, tmp_path) -> None:
    lead = await add_member(db, "苏建华", telegram_user_id=1001, language="zh", committee="经济委员会")
    co = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    declines = await add_member(db, "王强", telegram_user_id=1003, language="zh")
    staff = await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001)
    async with db.session() as session:
        main_unit, assist_unit = HandlingUnit(name="区住房和城乡建设局"), HandlingUnit(name="区财政局")
        session.add_all([main_unit, assist_unit])
        await session.flush()
        main_contact = Member(name="张科长", role=Role.UNIT.value, unit_id=main_unit.id, telegram_user_id=3001,
                              language="zh")  # fmt: skip
        assist_contact = Member(name="Zhao", role=Role.UNIT.value, unit_id=assist_unit.id, telegram_user_id=3002,
                                language="en")  # fmt: skip
        session.add_all([main_contact, assist_contact])
        await session.flush()
        main_id, assist_id = main_unit.id, assist_unit.id
    common = {"now": NOW, "staff_chat_id": STAFF_CHAT}

    # 提 and 联名: one co-proposer agrees, one declines; the last answer sends it to the secretariat
    async with db.session() as session:
        proposal = await submission.submit(
            session, lead_id=lead.id, title=TITLE, category="社会建设", analysis=ANALYSIS, suggestion=SUGGESTION,
            tz=SETTINGS.tz, rules=RULES, cosign_hours=72, coproposer_ids=[co.id, declines.id], **common,
        )  # fmt: skip
        assert proposal.state == COSIGNING
        pid = proposal.id
    for member, agree in ((co, True), (declines, False)):
        await _session_do(db, submission.answer_cosign, proposal_id=pid, member=member, agree=agree, **common)
    assert (await _session_do(db, lambda s: s.get(Proposal, pid))).state == SUBMITTED

    # 立 and 交: a filing number, one 主办 and one 协办
    later = NOW + timedelta(days=2)
    filed = await _session_do(db, filing.file, pid, actor=staff, now=later, settings=SETTINGS)
    assert (filed.state, filed.number) == (FILED, "2026-001")
    rows = await _session_do(db, filing.assign, pid, actor=staff, main_id=main_id, assist_ids=[assist_id],
                             now=later, settings=SETTINGS)  # fmt: skip
    by_role = {row.role: row.id for row in rows}
    assert (await _session_do(db, lambda s: s.get(Proposal, pid))).state == ASSIGNED

    # 办: both sign, the 协办 sends its opinion, the 主办 answers B: every proposer gets the answer
    handled = later + timedelta(days=20)
    for contact, role in ((main_contact, MAIN), (assist_contact, ASSIST)):
        await _session_do(db, handling.sign, contact, by_role[role], now=handled)
    await _session_do(db, handling.send_opinion, assist_contact, by_role[ASSIST], "财政局可安排补贴资金，建议分三年实施。",
                      now=handled)  # fmt: skip
    answer_kw = {"letter": None, "rules": RULES.proposal, "staff_chat": STAFF_CHAT}
    _, done = await _session_do(db, handling.answer, main_contact, by_role[MAIN], text="已列入明年计划，分批实施。",
                                category="B", now=handled, **answer_kw)  # fmt: skip
    assert done and (await _session_do(db, lambda s: s.get(Proposal, pid))).state == ANSWERED

    # 评: 不满意 with the result; 重办 once; the 主办 answers A; both rate 满意
    rated = handled + timedelta(days=3)
    for member, result in ((lead, UNSATISFIED), (co, SATISFIED)):
        await _session_do(db, submission.rate, proposal_id=pid, member=member, attitude=SATISFIED, result=result,
                          comment=None, now=rated, staff_chat_id=STAFF_CHAT)  # fmt: skip
    await _session_do(db, filing.rework, pid, actor=staff, now=rated, settings=SETTINGS)
    again = rated + timedelta(days=10)
    _, done = await _session_do(db, handling.answer, main_contact, by_role[MAIN], text="电梯已开工，年底前投入使用。",
                                category="A", now=again, **answer_kw)  # fmt: skip
    assert done
    for member in (lead, co):
        await _session_do(db, submission.rate, proposal_id=pid, member=member, attitude=SATISFIED, result=SATISFIED,
                          comment="办理及时", now=again + timedelta(days=1), staff_chat_id=STAFF_CHAT)  # fmt: skip

    async with db.session() as session:
        final = await session.get(Proposal, pid)
        assert final is not None and (final.state, final.reworked) == (ANSWERED, True)
        ratings = (await session.exec(select(ProposalRating).where(col(ProposalRating.proposal_id) == pid))).all()
        assert sorted((r.round, r.member_id, r.result) for r in ratings) == [
            (1, lead.id, UNSATISFIED), (1, co.id, SATISFIED), (2, lead.id, SATISFIED), (2, co.id, SATISFIED)]
        kinds = [e.kind for e in (await session.exec(
            select(ProposalEvent).where(col(ProposalEvent.proposal_id) == pid).order_by(col(ProposalEvent.id)))).all()]
    for kind in ("submitted", "cosign_agreed", "cosign_declined", "filed", "assigned", "signed", "opinion",
                 "answered", "rated", "rework"):  # fmt: skip
        assert kind in kinds, kind
    assert kinds.count("answered") == 2 and kinds.count("rework") == 1

    # Each message reached its person once: no (chat, text) pair twice, and each person's notices
    # are in their own language (the English co-proposer's and the English unit contact's have no Chinese).
    sent = await _texts_by_chat(db)
    assert [pair for pair, n in sent.items() if n > 1] == []
    chats = Counter(chat for chat, _ in sent)
    assert chats[1003] == 1  # the one who declined: only the invitation, nothing of what followed
    people_wrote = [TITLE, ANALYSIS, SUGGESTION, "社会建设", "苏建华", "王强", "王秘书", "张科长", "区住房和城乡建设局",
                    "区财政局", "财政局可安排补贴资金，建议分三年实施。", "已列入明年计划，分批实施。",
                    "电梯已开工，年底前投入使用。", "经济委员会"]  # fmt: skip

    def catalogue_words(text: str) -> str:
        for written in people_wrote:
            text = text.replace(written, "")
        return text

    english = [text for chat, text in sent if chat in (1002, 3002)]
    assert english and all(not any("\u4e00" <= ch <= "\u9fff" for ch in catalogue_words(text)) for text in english), english
    for chat in (1001, 1002):  # both proposers: the filing, both answers, the rework
        assert chats[chat] >= 4, (chat, [text for c, text in sent if c == chat])

    # A step repeated (a redelivered press) tells nobody again.
    before = sum(sent.values())
    await _session_do(db, handling.sign, main_contact, by_role[MAIN], now=again)
    assert sum((await _texts_by_chat(db)).values()) == before

    # The year's figures are a hand count of this year: one filed, one answered, 办复率 100 %.
    env = {**os.environ, "DATABASE_URL": db_url, "TIMEZONE": "Asia/Shanghai", "LOCALE": "zh"}
    done_cli = run_cli(["annual", "--year", "2026", "--json"], env=env, cwd=Path(tmp_path))
    assert done_cli.returncode == 0, done_cli.stderr
    figures = json.loads(done_cli.stdout)["proposals"]
    assert (figures["filed"], figures["answered"], figures["answered_rate"]) == (1, 1, 100.0)
    assert t("proposals.state.answered", "zh") == "已答复"
