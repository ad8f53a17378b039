"""提案, the members' part, end to end through the Bot API emulator: the /proposal dialog with bad
input at every step (each asks the same step again), a lead and two co-proposers (one declines) →
submitted with the right authors, every notice exactly once in each person's language; the
co-signing time running out under a moved clock across a restart (the draft of a dialog survives
it too); a stranger and a unit contact get nothing; /myproposals; the rating of an answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.assemble import make_deps, running
from bot.core.i18n import t
from bot.services.proposals import submission as service
from bot.services.proposals.common import record
from models import (
    HandlingUnit,
    Member,
    Outbox,
    Proposal,
    ProposalAssignment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
)
from models.proposal import AGREED, ANSWERED, COSIGNING, DECLINED, LEAD, MAIN, PENDING, SUBMITTED
from tests.conftest import Expect, add_member, make_settings, said_after, said_up_to

GROUP = {"id": -1001000888, "type": "supergroup", "title": "提案委员会工作群"}
PDF = b"%PDF-1.4\n% test\n"
TITLE = "关于加快老旧小区加装电梯的建议"
PART1 = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。"
PART2 = "资金筹措难，审批环节多，群众反映强烈。"
SUGGESTION = "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商推动落地。"


@pytest.fixture
def settings(db_url, emu):  # type: ignore[no-untyped-def]
    emu._chat(GROUP["id"], GROUP)  # the secretariat's group, where the bot was added
    return make_settings(db_url, emu, secretariat_chat_id=GROUP["id"])


async def _new(user, before: int, last: Expect) -> list[dict]:
    return await said_up_to(user, before, last, 30)


async def _say(user, text: str, last: Expect) -> list[dict]:
    return await said_after(user, lambda: user.send_text(text), last, 30)


async def _press(user, data: str, last: Expect, message=None) -> list[dict]:
    return await said_after(user, lambda: user.press(data, message), last, 30)


async def _alert(emu, user, data: str, message=None) -> str:
    cq = user.press(data, message)
    await emu.wait_for(lambda: cq in emu.callback_answers, 30, what="the press to be answered")
    return str(emu.callback_answers[cq].get("text") or "")


def _ends(text: str) -> Callable[[dict], bool]:
    return lambda m: (m.get("text") or "").endswith(text)


def _count(user, text: str) -> int:
    return sum(text in (m.get("text") or "") for m in user.history())


def _button(message: dict, prefix: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("callback_data", "").startswith(prefix):
                return str(button["callback_data"])
    raise LookupError(f"no button {prefix!r} on {message.get('text')!r}")


async def _unit_contact(db, telegram_user_id: int) -> Member:
    async with db.session() as session:
        unit = HandlingUnit(name="区住建局")
        session.add(unit)
        await session.flush()
        contact = Member(name="住建局联络员", role="unit", unit_id=unit.id, telegram_user_id=telegram_user_id)
        session.add(contact)
        await session.flush()
        await session.refresh(contact)
        return contact


async def _state(db) -> tuple[int, list[tuple[str, str]]]:
    async with db.session() as session:
        proposals = (await session.exec(select(Proposal))).all()
        rows = (await session.exec(select(ProposalAuthor).order_by(col(ProposalAuthor.id)))).all()
        names = {m.id: m.name for m in (await session.exec(select(Member))).all()}
    return len(proposals), [(names[r.member_id], r.consent) for r in rows]


@pytest.mark.one_database
async def test_submit_with_two_co_proposers_one_declining(emu, bot_app, db, deps):
    await add_member(db, "苏建华", telegram_user_id=3001, language="zh")
    await add_member(db, "Liao Yan", telegram_user_id=3002, language="en", sector="致公党")
    no_row = await add_member(db, "王强", telegram_user_id=3003, language="zh")
    await _unit_contact(db, 3800)
    lead, yes, no = emu.user(3001, "建华"), emu.user(3002, "Yan", language_code="en"), emu.user(3003, "强")
    stranger, contact = emu.user(3777, "路人"), emu.user(3800, "联络员")
    async with db.session() as session:  # last year's proposal on the same matter
        await service.submit(session, lead_id=no_row.id, title="关于老旧小区加装电梯工作的建议", category="社会建设",
                             analysis=PART1, suggestion=SUGGESTION, now=deps.clock.now() - timedelta(days=365),
                             tz=deps.settings.tz, rules=deps.rules, cosign_hours=72)
    before_staff = len(emu.sent_to(GROUP["id"]))

    # 案由: too short is refused and asked again; then similar proposals are shown, the dialog goes on
    ask_title = t("proposals_submit.ask_title", "zh", min=5, max=60)
    replies = await _say(lead, "/proposal", _ends(ask_title))
    assert replies[-1]["text"] == "第 1 步，共 6 步：" + ask_title
    replies = await _say(lead, "电梯", _ends(ask_title))
    assert replies[-1]["text"].startswith(t("proposals_submit.err.title_short", "zh", length=2, min=5))
    ask_category = t("proposals_submit.ask_category", "zh")
    replies = await _say(lead, TITLE, _ends(ask_category))
    assert replies[0]["text"].startswith(t("proposals_submit.similar_header", "zh"))
    assert "关于老旧小区加装电梯工作的建议" in replies[0]["text"]
    # category: typed instead of pressed and not one of the list → asked again
    replies = await _say(lead, "民生", _ends(ask_category))
    assert replies[-1]["text"].startswith(t("proposals_submit.err.category", "zh"))
    index = deps.rules.proposal.categories.index("社会建设")
    ask_analysis = t("proposals_submit.ask_analysis", "zh", min=10, max=3000)
    await _press(lead, f"prop:cat:{index}", _ends(ask_analysis))

    # 情况分析 in two messages; 完成 on nothing is refused
    assert await _alert(emu, lead, "prop:done:analysis") == t("proposals_submit.err.text_short", "zh", length=0,
                                                                min=10)
    await _say(lead, PART1, t("proposals_submit.text_progress", "zh", length=len(PART1), total=len(PART1), max=3000))
    analysis = f"{PART1}\n{PART2}"
    await _say(lead, PART2, t("proposals_submit.text_progress", "zh", length=len(analysis), total=len(analysis),
                              max=3000))
    ask_suggestion = t("proposals_submit.ask_suggestion", "zh", min=10, max=3000)
    await _press(lead, "prop:done:analysis", _ends(ask_suggestion))
    # 具体建议: over the limit together → not added, handed back, asked again
    long = "建" * (3001 - len(analysis))
    replies = await _say(lead, long, lambda m: m.get("text") == long)
    assert replies[0]["text"].startswith(t("proposals_submit.text_over", "zh", length=3001, max=3000, current=0))
    assert replies[0]["text"].endswith(ask_suggestion)
    await _say(lead, SUGGESTION, t("proposals_submit.text_progress", "zh", length=len(SUGGESTION),
                                   total=len(analysis) + len(SUGGESTION), max=3000))
    ask_files = t("proposals_submit.ask_files", "zh", count=0)
    await _press(lead, "prop:done:suggestion", _ends(ask_files))

    # files: an .exe is refused, asked again; a PDF is taken
    before = len(lead.messages())
    lead.send_document(b"MZ\x90\x00", "tool.exe", "application/octet-stream")
    replies = await _new(lead, before, _ends(ask_files))
    assert replies[-1]["text"].startswith(t("info.err.file_kind", "zh"))
    before = len(lead.messages())
    lead.send_document(PDF, "情况说明.pdf", "application/pdf")
    await _new(lead, before, t("proposals_submit.file_ok", "zh", count=1))
    ask_co = t("proposals_submit.ask_coproposers", "zh", names="无")
    await _press(lead, "prop:att:done", _ends(ask_co))

    # co-proposers by part of a name; a name nobody has is refused, asked again
    replies = await _say(lead, "欧阳", _ends(ask_co))
    assert replies[-1]["text"].startswith(t("proposals_submit.coproposer_none", "zh"))
    replies = await _say(lead, "Liao", t("proposals_submit.coproposer_found", "zh"))
    await _press(lead, _button(replies[-1], "prop:co:"), t("proposals_submit.coproposer_added", "zh",
                                                              names="Liao Yan"))
    replies = await _say(lead, "王", t("proposals_submit.coproposer_found", "zh"))
    await _press(lead, f"prop:co:{no_row.id}", t("proposals_submit.coproposer_added", "zh", names="Liao Yan、王强"))
    confirm = t("proposals_submit.confirm_question", "zh")
    replies = await _press(lead, "prop:co:done", lambda m: m.get("text") == confirm)
    assert TITLE in replies[0]["text"] and "Liao Yan、王强" in replies[0]["text"]
    assert analysis in replies[1]["text"] and SUGGESTION in replies[2]["text"]
    # the card: typing is not an answer, it is asked again
    replies = await _say(lead, "好的", _ends(confirm))
    assert replies[-1]["text"].startswith(t("common.step_again", "zh"))

    replies = await _press(lead, "prop:ok", lambda m: "正在等待联名委员" in (m.get("text") or ""))
    assert TITLE in replies[-1]["text"]
    assert await _alert(emu, lead, "prop:ok") == t("common.stale_button", "zh")  # a second press: stale
    async with db.session() as session:
        proposal = (await session.exec(select(Proposal).where(Proposal.title == TITLE))).one()
    assert proposal.state == COSIGNING

    # each co-proposer a card in their language; a stranger and a unit contact cannot answer it
    card_en = await _new(yes, 0, lambda m: "invites you to co-sign" in (m.get("text") or ""))
    card_zh = await _new(no, 0, lambda m: "邀请您联名提案" in (m.get("text") or ""))
    assert TITLE in card_en[-1]["text"] and "苏建华" in card_en[-1]["text"]
    pid = proposal.id
    stranger.send_text("/proposal")
    contact.send_text("/proposal")
    await emu.wait_for(lambda: t("onboarding.stranger", "zh") in stranger.texts(), 30, what="the stranger's refusal")
    await emu.wait_for(lambda: t("common.unit_commands_only", "zh") in contact.texts(), 30, what="unit refusal")
    contact.send_text("/myproposals")
    await emu.wait_for(lambda: contact.texts().count(t("common.unit_commands_only", "zh")) == 2, 30,
                       what="unit refusal of /myproposals")
    # forged presses of the card's buttons on their own chats
    assert await _alert(emu, stranger, f"pcos:yes:{pid}") == t("onboarding.stranger", "zh")
    assert await _alert(emu, contact, f"pcos:yes:{pid}") == t("common.unit_commands_only", "zh")
    assert await _alert(emu, contact, f"prate:go:{pid}") == t("common.unit_commands_only", "zh")
    assert await _state(db) == (2, [("王强", LEAD), ("苏建华", LEAD), ("Liao Yan", PENDING), ("王强", PENDING)])

    await _press(yes, _button(card_en[-1], "pcos:yes:"), t("proposals_submit.cosign_agreed", "en", title=TITLE),
                 card_en[-1])
    await _press(no, _button(card_zh[-1], "pcos:no:"), t("proposals_submit.cosign_declined", "zh", title=TITLE),
                 card_zh[-1])
    result = t("proposals_submit.cosign_result", "zh", title=TITLE, agreed="Liao Yan", declined="王强", silent="无")
    await _new(lead, 0, result)
    await emu.wait_for(lambda: any("新提案" in (m.get("text") or "") for m in emu.sent_to(GROUP["id"])), 30,
                       what="the secretariat's notice")
    assert await _state(db) == (2, [("王强", LEAD), ("苏建华", LEAD), ("Liao Yan", AGREED), ("王强", DECLINED)])
    async with db.session() as session:
        assert (await session.get(Proposal, pid)).state == SUBMITTED
    # a second press on the card changes nothing; a forged one neither
    assert await _alert(emu, no, "pcos:yes:999999") == t("proposals.err.no_proposal", "zh")
    assert await _alert(emu, no, f"pcos:yes:{pid}") == t("proposals_submit.err.cosign_answered", "zh")

    # /myproposals: the state and history, in each member's language
    replies = await _say(lead, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    card = replies[-1]["text"]
    assert "待审查" in card and "Liao Yan 同意联名" in card and "王强 不同意联名" in card
    replies = await _say(yes, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    assert "Under review" in replies[-1]["text"] and "Liao Yan co-signed" in replies[-1]["text"]

    # every notice exactly once
    assert _count(lead, "的联名已结束") == 1
    assert _count(yes, "invites you to co-sign") == 1 and _count(no, "邀请您联名提案") == 1
    staff = [m for m in emu.sent_to(GROUP["id"])[before_staff:] if "新提案" in (m.get("text") or "")]
    assert len(staff) == 1 and "苏建华、Liao Yan" in staff[0]["text"] and "王强" not in staff[0]["text"]
    assert _button(staff[0], "pstaff:open:") == f"pstaff:open:{pid}"
    assert stranger.texts() == [t("onboarding.stranger", "zh")]


@pytest.mark.one_database
async def test_co_signing_ends_after_its_time_across_a_restart_and_a_draft_survives(emu, db, db_url, clock):
    clock.frozen = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    emu._chat(GROUP["id"], GROUP)
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=GROUP["id"]), db, clock)
    lead_row = await add_member(db, "苏建华", telegram_user_id=3101, language="zh")
    silent_row = await add_member(db, "Liao Yan", telegram_user_id=3102, language="en")
    lead, silent = emu.user(3101, "建华"), emu.user(3102, "Yan", language_code="en")
    async with db.session() as session:
        proposal = await service.submit(session, lead_id=lead_row.id, title=TITLE, category="社会建设",
                                        analysis=PART1, suggestion=SUGGESTION, now=clock.now(), tz=deps.settings.tz,
                                        rules=deps.rules, cosign_hours=deps.settings.proposal_cosign_hours,
                                        coproposer_ids=[silent_row.id], staff_chat_id=GROUP["id"])
    ask_category = t("proposals_submit.ask_category", "zh")
    async with running(deps, poll_timeout=1):
        await _new(silent, 0, lambda m: "invites you to co-sign" in (m.get("text") or ""))
        await _say(lead, t("menu.proposal", "zh"), _ends(t("proposals_submit.ask_title", "zh", min=5, max=60)))
        await _say(lead, "关于发展夜间经济的建议", _ends(ask_category))
    clock.advance(timedelta(hours=72, minutes=1))
    async with running(deps, poll_timeout=1):  # the sweep at start-up closes the co-signing
        await _new(lead, 0, lambda m: "未答复：Liao Yan" in (m.get("text") or ""))
        await emu.wait_for(lambda: any("新提案" in (m.get("text") or "") for m in emu.sent_to(GROUP["id"])), 30,
                           what="the secretariat's notice")
        # the draft waited through the restart: /proposal goes back to its step
        replies = await _say(lead, "/proposal", _ends(ask_category))
        assert replies[0]["text"] == t("proposals_submit.resume", "zh")
        # a late answer: the co-signing is over
        assert await _alert(emu, silent, f"pcos:yes:{proposal.id}") == t("proposals_submit.err.cosign_closed", "en")
        await _say(lead, "/cancel", t("proposals_submit.cancelled", "zh"))
    async with db.session() as session:
        assert (await session.get(Proposal, proposal.id)).state == SUBMITTED
        staff = (await session.exec(select(Outbox).where(Outbox.chat_id == GROUP["id"], Outbox.kind == "proposal_staff"))).all()
    assert len(staff) == 1 and _count(lead, "的联名已结束") == 1


@pytest.mark.one_database
async def test_rating_an_answered_proposal(emu, bot_app, db, deps):
    lead_row = await add_member(db, "苏建华", telegram_user_id=3201, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=3202, language="en")
    lead, co = emu.user(3201, "建华"), emu.user(3202, "Yan", language_code="en")
    now = deps.clock.now().replace(tzinfo=None)
    async with db.session() as session:
        unit = HandlingUnit(name="区住建局")
        proposal = Proposal(year=now.year, number=f"{now.year}-001", lead_id=lead_row.id, title=TITLE,
                            category="社会建设", analysis=PART1, suggestion=SUGGESTION, state=ANSWERED,
                            submitted_at=now)
        session.add_all([unit, proposal])
        await session.flush()
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=lead_row.id, position=0, consent=LEAD))
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=co_row.id, position=1, consent=AGREED))
        session.add(ProposalAssignment(proposal_id=proposal.id, unit_id=unit.id, role=MAIN, state="answered",
                                       assigned_at=now, object_until=now, due_on=now.date(), answer="已答复",
                                       answer_category="B"))
        pid = proposal.id
    replies = await _say(lead, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    rate = _button(replies[-1], "prate:go:")
    ask_attitude = t("proposals_submit.rate_attitude", "zh", title=TITLE)
    await _press(lead, rate, _ends(ask_attitude), replies[-1])
    replies = await _say(lead, "满意", _ends(ask_attitude))  # typed, not pressed: asked again
    assert replies[-1]["text"].startswith(t("common.step_again", "zh"))
    await _press(lead, "prate:att:satisfied", t("proposals_submit.rate_result", "zh"))
    ask_comment = t("proposals_submit.rate_comment", "zh", max=500)
    await _press(lead, "prate:res:unsatisfied", ask_comment)
    replies = await _say(lead, "意" * 501, lambda m: m.get("text") == "意" * 501)  # too long: handed back
    assert replies[0]["text"].endswith(ask_comment)
    await _say(lead, "问题还没有解决", lambda m: "感谢评价" in (m.get("text") or ""))
    await emu.wait_for(lambda: any("不满意" in (m.get("text") or "") for m in emu.sent_to(GROUP["id"])), 30,
                       what="the secretariat told of 不满意")
    # rated: no button any more, and an old button is refused
    replies = await _say(lead, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    assert "prate:go" not in str(replies[-1].get("reply_markup"))
    assert await _alert(emu, lead, rate) == t("proposals_submit.err.rated", "zh")
    # the co-proposer first leaves the rating (取消: nothing stored), then rates in English, without a comment
    replies = await _say(co, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    await _press(co, _button(replies[-1], "prate:go:"), _ends(t("proposals_submit.rate_attitude", "en", title=TITLE)))
    await _press(co, "prate:cancel", t("proposals_submit.rate_cancelled", "en"))
    replies = await _say(co, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    await _press(co, _button(replies[-1], "prate:go:"), _ends(t("proposals_submit.rate_attitude", "en", title=TITLE)))
    await _press(co, "prate:att:basically", t("proposals_submit.rate_result", "en"))
    await _press(co, "prate:res:satisfied", t("proposals_submit.rate_comment", "en", max=500))
    await _press(co, "prate:skip", lambda m: "Thank you" in (m.get("text") or ""))
    async with db.session() as session:
        ratings = (await session.exec(select(ProposalRating).order_by(col(ProposalRating.id)))).all()
    assert [(r.proposal_id, r.member_id, r.round, r.attitude, r.result, r.comment) for r in ratings] == [
        (pid, lead_row.id, 1, "satisfied", "unsatisfied", "问题还没有解决"),
        (pid, co_row.id, 1, "basically", "satisfied", None),
    ]
    assert len([m for m in emu.sent_to(GROUP["id"]) if "不满意" in (m.get("text") or "")]) == 1


@pytest.mark.one_database
async def test_the_lead_revises_a_returned_proposal_and_resubmits_it(emu, bot_app, db, deps):
    lead_row = await add_member(db, "苏建华", telegram_user_id=3301, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=3302, language="en")
    lead, co = emu.user(3301, "建华"), emu.user(3302, "Yan", language_code="en")
    staff_row = await add_member(db, "机关小王", role="secretariat", telegram_user_id=3390)
    now = deps.clock.now()
    async with db.session() as session:
        proposal = await service.submit(session, lead_id=lead_row.id, title=TITLE, category="社会建设",
                                        analysis=PART1, suggestion=SUGGESTION, now=now, tz=deps.settings.tz,
                                        rules=deps.rules, cosign_hours=72, coproposer_ids=[co_row.id])
        await service.answer_cosign(session, proposal_id=proposal.id, member=co_row, agree=True, now=now)
        proposal.state = "returned"  # as the filing review does it (退回修改 with a note)
        session.add(proposal)
        await record(session, proposal, "returned", actor_id=staff_row.id, now=now, text="请补充资金测算")
        pid = proposal.id
    await _new(lead, 0, lambda m: "的联名已结束" in (m.get("text") or ""))  # before /myproposals: not taken for its card
    replies = await _say(lead, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    assert "退回修改" in replies[-1]["text"] and "请补充资金测算" in replies[-1]["text"]
    revise = _button(replies[-1], "prop:rev:")
    await _new(co, 0, lambda m: "invites you to co-sign" in (m.get("text") or ""))
    assert await _alert(emu, co, revise) == t("proposals_submit.err.not_yours", "en")  # only the lead revises
    confirm = t("proposals_submit.confirm_question", "zh")
    replies = await _press(lead, revise, lambda m: m.get("text") == confirm, replies[-1])
    assert "请补充资金测算" in replies[0]["text"]
    await _press(lead, "prop:edit", t("proposals_submit.edit_which", "zh"))
    ask_suggestion = t("proposals_submit.ask_suggestion", "zh", min=10, max=3000)
    await _press(lead, "prop:edit:suggestion", _ends(ask_suggestion))
    revised = SUGGESTION + "预计需要财政资金 500 万元。"
    await _say(lead, revised, t("proposals_submit.text_progress", "zh", length=len(revised),
                                total=len(PART1) + len(revised), max=3000))
    await _press(lead, "prop:done:suggestion", lambda m: m.get("text") == confirm)
    await _press(lead, "prop:ok", t("proposals_submit.resubmitted", "zh", title=TITLE))
    await _new(co, 0, t("proposals_submit.notice_resubmitted", "en", title=TITLE, lead="苏建华"))
    await emu.wait_for(lambda: any("重新提交" in (m.get("text") or "") for m in emu.sent_to(GROUP["id"])), 30,
                       what="the secretariat's notice")
    async with db.session() as session:
        again = await session.get(Proposal, pid)
        assert (again.state, again.suggestion) == (SUBMITTED, revised)
        kinds = (await session.exec(select(ProposalEvent.kind).where(ProposalEvent.proposal_id == pid)
                                    .order_by(col(ProposalEvent.id)))).all()
    assert list(kinds) == ["submitted", "cosign_agreed", "cosign_closed", "returned", "resubmitted"]
    replies = await _say(lead, "/myproposals", lambda m: TITLE in (m.get("text") or ""))
    assert "待审查" in replies[-1]["text"] and "修改后重新提交（苏建华）" in replies[-1]["text"]
    assert "prop:rev" not in str(replies[-1].get("reply_markup"))
