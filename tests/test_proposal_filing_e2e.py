"""The secretariat moves proposals through the real bot (emulator): /proposals and its views, a card
per proposal, 立案 → 交办 (主办 + 协办 picked by button and by part of a name), 不予立案 with a
reason that reaches every proposer, 转为社情民意, 并案 by a typed number, re-assignment from an
objection opened from a notice's 📄 button, an extension approved and one refused; and role checks:
a member, a unit contact and a stranger get nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from bot.core.buttons import inline_markup
from bot.core.i18n import t
from bot.services.proposals import common
from handlers.proposal_review.queue import MOVE
from models import InfoAuthor, InfoItem, Proposal, ProposalAssignment, ProposalEvent
from models.proposal import A_ASSIGNED, A_WITHDRAWN, ASSIGNED, ASSIST, EXT_APPROVED, EXT_REFUSED, MAIN
from tests.conftest import expect_reply, inline_buttons
from tests.test_proposal_filing import NOW, World, _proposal, _world

# handlers, not SQL: SQLite only (the service tests run on both databases)
pytestmark = pytest.mark.one_database


async def _assignments(db, proposal_id: int) -> list[ProposalAssignment]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        query = select(ProposalAssignment).where(col(ProposalAssignment.proposal_id) == proposal_id)
        return list((await session.exec(query.order_by(col(ProposalAssignment.id)))).all())


async def _card(staff, number: int, inbox: dict) -> dict:  # type: ignore[no-untyped-def]
    """Press 📄 n on the inbox page: the proposal's card."""
    return await expect_reply(staff, lambda: staff.press(inline_buttons(inbox)[f"📄 {number}"], inbox),
                              lambda m: m["text"].startswith(("20", "（未立案）")))  # fmt: skip


async def _received(emu, user, fragment: str) -> dict:  # type: ignore[no-untyped-def]
    def found() -> dict | None:
        return next((m for m in user.messages() if fragment in (m.get("text") or "")), None)

    await emu.wait_for(lambda: found() is not None, what=f"{fragment!r} to {user.id}")
    return found()  # type: ignore[return-value]


async def _alert(emu, action) -> str:  # type: ignore[no-untyped-def]
    """What the bot answered to the press `action` makes (a refusal is an alert on the press)."""
    before = len(emu.calls_of("answerCallbackQuery"))
    action()
    await emu.wait_for(lambda: len(emu.calls_of("answerCallbackQuery")) > before, what="the press answered")
    return str(emu.calls_of("answerCallbackQuery")[before].params.get("text") or "")


def _count(user, fragment: str) -> int:  # type: ignore[no-untyped-def]
    return sum(fragment in (m.get("text") or "") for m in user.messages())


async def test_filing_and_assignment_to_a_main_and_an_assisting_unit(emu, bot_app, db, clock) -> None:
    clock.frozen = NOW
    w = await _world(db)
    proposal_id = await _proposal(db, w)
    staff, lead, co = emu.user(9001, "王秘书"), emu.user(1001, "苏建华"), emu.user(1002, "Liao", language_code="en")
    main_contact, assist_contact = emu.user(3001, "联络员0"), emu.user(3002, "Contact1", language_code="en")

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals"), "提案 · 待审查：共 1 件")
    assert "待审查 1" in inline_buttons(inbox) and "关于老旧小区加装电梯的建议" in inbox["text"]
    card = await _card(staff, 1, inbox)
    assert "（未立案）" in card["text"] and "苏建华（第一提案人）" in card["text"] and "王强（不同意联名）" in card["text"]
    assert set(inline_buttons(card)) == {"✅ 立案", "✖ 不予立案", "🔄 转为社情民意", "🔗 并案", "↩️ 退回修改"}

    done = await expect_reply(staff, lambda: staff.press_button("✅ 立案", card), "已立案，立案号 2026-001")
    assert done is not None
    await _received(emu, lead, "你的提案「关于老旧小区加装电梯的建议」已立案，立案号 2026-001。")
    await _received(emu, co, "is filed as 2026-001")
    filed = await _received(emu, staff, "2026-001「关于老旧小区加装电梯的建议」")
    assert "📨 交办" in inline_buttons(filed) and "✅ 立案" not in inline_buttons(filed)
    # the old card's 立案 pressed again: refused, nothing changes
    assert "不在待审查状态" in await _alert(emu, lambda: staff.press(inline_buttons(card)["✅ 立案"], card))

    mode = await expect_reply(staff, lambda: staff.press_button("📨 交办", filed), "请选择办理方式")
    main = await expect_reply(staff, lambda: staff.press_button("主办 + 协办", mode), "请选择主办单位")
    assert {"住建局", "教育局", "交通局"} <= set(inline_buttons(main))
    found = await expect_reply(staff, lambda: staff.send_text("住建"), "请选择主办单位")
    assert [b for b in inline_buttons(found) if b.endswith("局")] == ["住建局"]
    more = await expect_reply(staff, lambda: staff.press_button("住建局", found), "主办：区住房和城乡建设局")
    more = await expect_reply(staff, lambda: staff.press_button("教育局", more), "协办：区教育局")
    confirm = await expect_reply(staff, lambda: staff.press_button("完成", more), "将交办给")
    assert "区住房和城乡建设局（主办）\n区教育局（协办）" in confirm["text"]
    await expect_reply(staff, lambda: staff.press_button("✅ 确认交办", confirm), "已交办")

    rows = await _assignments(db, proposal_id)
    assert [(r.unit_id, r.role, r.state, r.due_on) for r in rows] == [
        (w.units[0].id, MAIN, A_ASSIGNED, date(2026, 6, 1)), (w.units[1].id, ASSIST, A_ASSIGNED, date(2026, 6, 1))]  # fmt: skip
    unit_card = await _received(emu, main_contact, "📨 交办提案 2026-001")
    assert inline_buttons(unit_card) == {"✅ 签收": common.UNIT_SIGN_BUTTON(rows[0].id),
                                         "↩️ 申请调整": common.UNIT_OBJECT_BUTTON(rows[0].id)}  # fmt: skip
    english = await _received(emu, assist_contact, "Proposal 2026-001")
    assert "Your part: Assisting unit" in english["text"]
    await _received(emu, lead, "已交办：区住房和城乡建设局（主办）、区教育局（协办）")
    await _received(emu, co, "is assigned to 区住房和城乡建设局 (Lead unit)")
    for user, fragment in ((lead, "已立案"), (co, "is filed"), (lead, "已交办"), (main_contact, "📨 交办提案")):
        assert _count(user, fragment) == 1, (user.id, fragment)  # each notice exactly once
    assert not [m for m in emu.user(1003, "王强").messages()]  # the co-proposer who declined hears nothing


async def test_not_filed_converted_and_merged(emu, bot_app, db, clock) -> None:
    clock.frozen = NOW
    w = await _world(db)
    refused = await _proposal(db, w, title="关于某小区物业纠纷的建议")
    converted = await _proposal(db, w, title="关于路灯维修的建议")
    merged = await _proposal(db, w, title="关于电梯补贴的建议")
    target = await _proposal(db, w, "filed", title="合并目标提案", seq=7)
    staff, lead, co = emu.user(9001, "王秘书"), emu.user(1001, "苏建华"), emu.user(1002, "Liao", language_code="en")

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals"), "待审查：共 3 件")
    card = await _card(staff, 1, inbox)
    assert "关于某小区物业纠纷的建议" in card["text"]
    ask = await expect_reply(staff, lambda: staff.press_button("✖ 不予立案", card), "请选择理由")
    ask = await expect_reply(staff, lambda: staff.press_button("涉及个人或家庭事务", ask), "可以补充说明")
    await expect_reply(staff, lambda: staff.send_text("属于业主与物业之间的民事纠纷"), "已不予立案")
    await _received(emu, lead, "理由：涉及个人或家庭事务：属于业主与物业之间的民事纠纷")
    await _received(emu, co, "was not filed. Reason: ")

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals"), "待审查：共 2 件")
    card = await _card(staff, 1, inbox)
    assert "关于路灯维修的建议" in card["text"]
    await expect_reply(staff, lambda: staff.press_button("🔄 转为社情民意", card), "已转为社情民意，编号 SQ-2026-0001")
    await _received(emu, lead, "已转为社情民意信息，编号 SQ-2026-0001")
    await _received(emu, co, "social-conditions information SQ-2026-0001")
    async with db.session() as session:
        item = (await session.exec(select(InfoItem))).one()
        authors = (await session.exec(select(InfoAuthor.member_id).order_by(col(InfoAuthor.position)))).all()
        assert item.title == "关于路灯维修的建议" and list(authors) == [w.lead.id, w.co.id]
        assert (await session.get(Proposal, converted)).info_item_id == item.id  # type: ignore[union-attr]

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals"), "待审查：共 1 件")
    card = await _card(staff, 1, inbox)
    ask = await expect_reply(staff, lambda: staff.press_button("🔗 并案", card), "并入哪件已立案的提案")
    assert "2026-007「合并目标提案」" in inline_buttons(ask)
    again = await expect_reply(staff, lambda: staff.send_text("2026-99"), "只能并入另一件已立案的提案")
    assert "并入哪件已立案的提案" in again["text"]  # the same step asks again
    await expect_reply(staff, lambda: staff.send_text("2026-7"), "已并入 2026-007")
    await _received(emu, lead, "已并案办理")
    async with db.session() as session:
        row = await session.get(Proposal, merged)
        assert row is not None and (row.state, row.merged_into_id) == ("merged", target)
        kinds = (await session.exec(select(ProposalEvent.proposal_id, ProposalEvent.kind))).all()
    assert sorted(kinds) == sorted([(refused, "not_filed"), (converted, "converted"), (merged, "merged")])


async def test_reassignment_from_an_objection_and_extensions(emu, bot_app, db, clock) -> None:
    clock.frozen = NOW
    w = await _world(db)
    objected = await _proposal(db, w, ASSIGNED, title="关于学校门口交通的建议", seq=1)
    refused = await _proposal(db, w, ASSIGNED, title="关于菜市场油烟的建议", seq=2)
    staff, lead = emu.user(9001, "王秘书"), emu.user(1001, "苏建华")
    old_contact, new_contact = emu.user(3001, "联络员0"), emu.user(3003, "联络员2")
    # the units part tells the secretariat of the objection with the 📄 button; it opens the card
    async with db.session() as session:
        proposal = await common.lock(session, objected)
        event = await common.record(session, proposal, "objected", actor_id=w.contacts[0].id, now=NOW)
        await common.tell_secretariat(session, proposal, event, "proposals.state.assigned", chat_id=9001, now=NOW,
                                      reply_markup=inline_markup([[("📄", common.STAFF_OPEN_BUTTON(objected))]]))  # fmt: skip
    notice = await _received(emu, staff, "办理中")
    card = await expect_reply(staff, lambda: staff.press_button("📄", notice), "2026-001「关于学校门口交通的建议」")
    assert "申请调整：不属于本单位职责" in card["text"]
    ask = await expect_reply(staff, lambda: staff.press_button("🔀 改派（区住房和城乡建设局）", card), "请选择改派的单位")
    found = await expect_reply(staff, lambda: staff.send_text("交通"), "请选择改派的单位")
    await expect_reply(staff, lambda: staff.press_button("交通局", found), "已改派给 区交通运输局")
    assert ask is not None
    old, _assist, new = await _assignments(db, objected)
    assert (old.state, new.unit_id, new.role, new.state) == (A_WITHDRAWN, w.units[2].id, MAIN, A_ASSIGNED)
    await _received(emu, old_contact, "改派给其他单位")
    await _received(emu, new_contact, "📨 交办提案 2026-001")
    await _received(emu, lead, "的主办单位由 区住房和城乡建设局 改为 区交通运输局")

    # an extension approved (on the first proposal's card no request is left: its row was withdrawn)
    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals handling"), "办理中：共 2 件")
    card = await _card(staff, 2, inbox)
    assert "申请延期至 7月1日" in card["text"]
    await expect_reply(staff, lambda: staff.press_button("✅ 同意延期（区住房和城乡建设局）", card), "新的答复期限 7月1日")
    await _received(emu, old_contact, "延期申请已同意")
    await _received(emu, lead, "获准延期答复")
    main, _assist = await _assignments(db, refused)
    assert (main.extension_state, main.due_on) == (EXT_APPROVED, date(2026, 7, 1))

    # and one refused
    third = await _proposal(db, w, ASSIGNED, title="关于公园厕所的建议", seq=3)
    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals handling"), "办理中：共 3 件")
    card = await _card(staff, 3, inbox)
    await expect_reply(staff, lambda: staff.press_button("✖ 不同意延期（区住房和城乡建设局）", card), "已不同意延期")
    await _received(emu, old_contact, "未获同意，答复期限仍为 6月1日")
    main, _assist = await _assignments(db, third)
    assert (main.extension_state, main.due_on) == (EXT_REFUSED, date(2026, 6, 1))


async def test_a_member_a_unit_contact_and_a_stranger_get_nothing(emu, bot_app, db, clock) -> None:
    clock.frozen = NOW
    w = await _world(db)
    proposal_id = await _proposal(db, w)
    member, contact, stranger = emu.user(9002, "李委员"), emu.user(3001, "联络员0"), emu.user(7777, "路人")
    for user, refusal in ((member, t("common.not_allowed", "zh")), (contact, t("common.not_allowed", "zh")),
                          (stranger, t("onboarding.stranger", "zh"))):  # fmt: skip
        await expect_reply(user, lambda u=user: u.send_text("/proposals"), refusal)
        # a forged press of a secretariat button is refused too (role checked on every press)
        last = user.messages()[-1]
        before = len(emu.calls_of("answerCallbackQuery"))
        for data in (common.STAFF_OPEN_BUTTON(proposal_id), MOVE("file", proposal_id)):
            user.press(data, last)
        await emu.wait_for(lambda b=before: len(emu.calls_of("answerCallbackQuery")) >= b + 2, what="presses answered")
        assert all(c.params.get("text") == refusal for c in emu.calls_of("answerCallbackQuery")[before:])
        assert not any("苏建华" in (m.get("text") or "") for m in user.messages())
    async with db.session() as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None and proposal.state == "submitted" and proposal.number is None
        assert (await session.exec(select(ProposalEvent))).first() is None
    assert isinstance(w, World)


GROUP = {"id": -1001000777, "type": "supergroup", "title": "政协机关工作群"}


async def test_the_open_button_in_the_secretariat_group_sends_the_card_privately(emu, db, db_url, clock) -> None:
    from bot.assemble import make_deps, running
    from tests.conftest import make_settings

    clock.frozen = NOW
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=GROUP["id"]), db, clock)
    w = await _world(db)
    proposal_id = await _proposal(db, w, ASSIGNED, title="关于学校门口交通的建议", seq=1)
    staff, member = emu.user(9001, "王秘书"), emu.user(9002, "李委员")
    async with running(deps, poll_timeout=1):
        staff.send_text("大家好", GROUP)  # the group as the bot knows it (the gate lets nothing of this through)
        async with db.session() as session:
            proposal = await common.lock(session, proposal_id)
            event = await common.record(session, proposal, "objected", actor_id=w.contacts[0].id, now=NOW)
            await common.tell_secretariat(session, proposal, event, "proposals.state.assigned", chat_id=GROUP["id"],
                                          now=NOW, reply_markup=inline_markup([[("📄", common.STAFF_OPEN_BUTTON(proposal_id))]]))  # fmt: skip
        await emu.wait_for(lambda: bool(emu.sent_to(GROUP["id"])), what="the notice in the group")
        notice = emu.sent_to(GROUP["id"])[0]
        before = len(emu.calls_of("answerCallbackQuery"))
        member.press(common.STAFF_OPEN_BUTTON(proposal_id), notice, chat=GROUP)  # a member's press: nothing
        staff.press(common.STAFF_OPEN_BUTTON(proposal_id), notice, chat=GROUP)
        card = await _received(emu, staff, "2026-001「关于学校门口交通的建议」")
        assert "🔀 改派（区住房和城乡建设局）" in inline_buttons(card)
        await emu.wait_for(lambda: len(emu.calls_of("answerCallbackQuery")) >= before + 2, what="both presses answered")
        texts = [c.params.get("text") for c in emu.calls_of("answerCallbackQuery")[before:]]
        assert t("proposals_filing.inbox.opened_private", "zh") in texts
    assert len(emu.sent_to(GROUP["id"])) == 1 and member.messages() == []


async def test_return_separate_handling_key_nudge_rework_and_excellent(emu, bot_app, db, clock) -> None:
    clock.frozen = NOW
    w = await _world(db)
    returned = await _proposal(db, w, title="关于公交线路调整的建议")
    separate = await _proposal(db, w, "filed", title="关于河道治理的建议", seq=1)
    answered = await _proposal(db, w, "answered", title="关于社区养老的建议", seq=2)
    staff, lead, unit = emu.user(9001, "王秘书"), emu.user(1001, "苏建华"), emu.user(3001, "联络员0")

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals"), "待审查：共 1 件")
    card = await _card(staff, 1, inbox)
    ask = await expect_reply(staff, lambda: staff.press_button("↩️ 退回修改", card), "请写给第一提案人的修改意见")
    assert ask is not None
    await expect_reply(staff, lambda: staff.send_text("请补充近三年的客流数据"), "已退回第一提案人修改")
    await _received(emu, lead, "修改意见：请补充近三年的客流数据")

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals filed"), "待交办：共 1 件")
    card = await _card(staff, 1, inbox)
    mode = await expect_reply(staff, lambda: staff.press_button("📨 交办", card), "请选择办理方式")
    pick = await expect_reply(staff, lambda: staff.press_button("分办（各自答复）", mode), "请点选至少两个单位")
    pick = await expect_reply(staff, lambda: staff.press_button("住建局", pick), "分办单位：区住房和城乡建设局")
    assert "分办至少要两个单位" in await _alert(emu, lambda: staff.press_button("完成", pick))
    pick = await expect_reply(staff, lambda: staff.press_button("交通局", pick), "区住房和城乡建设局、区交通运输局")
    confirm = await expect_reply(staff, lambda: staff.press_button("完成", pick), "将交办给")
    await expect_reply(staff, lambda: staff.press_button("✅ 确认交办", confirm), "已交办")
    assert [(r.unit_id, r.role) for r in await _assignments(db, separate)] == [
        (w.units[0].id, "separate"), (w.units[2].id, "separate")]  # fmt: skip

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals handling"), "办理中：共 1 件")
    card = await _card(staff, 1, inbox)
    ask = await expect_reply(staff, lambda: staff.press_button("⭐ 重点提案", card), "领衔督办领导的姓名")
    card = await expect_reply(staff, lambda: staff.send_text("张副主席"), lambda m: "领衔督办：张副主席" in m["text"]
                              and m["text"].startswith("2026-001"))  # fmt: skip
    await _received(emu, lead, "由 张副主席 领衔督办")
    await expect_reply(staff, lambda: staff.press_button("⏰ 督办", card), "已督办 2 个承办单位")
    await _received(emu, unit, "⏰ 督办：提案 2026-001")

    def nudge_card() -> dict | None:  # the newest card of 2026-001 that still offers 督办
        return next((m for m in reversed(staff.messages())
                     if m["text"].startswith("2026-001") and "⏰ 督办" in inline_buttons(m)), None)

    await emu.wait_for(lambda: nudge_card() is not None, what="a card of 2026-001 with 督办")
    card = nudge_card()
    assert card is not None
    # again the same day: told politely
    assert "今天已经督办过了" in await _alert(emu, lambda: staff.press(inline_buttons(card)["⏰ 督办"], card))
    assert _count(unit, "⏰ 督办") == 1

    inbox = await expect_reply(staff, lambda: staff.send_text("/proposals rating"), "待评价：共 1 件")
    card = await _card(staff, 1, inbox)
    assert "社区养老" in card["text"]
    await expect_reply(staff, lambda: staff.press_button("🔁 重办", card), "已交回承办单位重办")
    await _received(emu, unit, "请重办并重新答复")
    await _received(emu, lead, "已交回承办单位重办")

    def reworked_card() -> dict | None:  # the card shown again after 重办 (it can come after the reply)
        return next((m for m in reversed(staff.messages())
                     if "社区养老" in m["text"] and m["text"].startswith("2026") and "已重办" in m["text"]), None)

    await emu.wait_for(lambda: reworked_card() is not None, what="the card after 重办")
    card = reworked_card()
    assert card is not None and "🔁 重办" not in inline_buttons(card)
    await expect_reply(staff, lambda: staff.press_button("🏅 优秀提案", card), "已评为优秀提案")
    await _received(emu, lead, "被评为优秀提案")
    async with db.session() as session:
        row = await session.get(Proposal, answered)
        assert row is not None and (row.state, row.reworked, row.excellent) == (ASSIGNED, True, True)
        assert (await session.get(Proposal, returned)).state == "returned"  # type: ignore[union-attr]
