"""The chat parts of the year in review, through the Bot API emulator: tags and organiser on the
/newevent summary card, /outcome after an event (quantities, a document and its 批示, the leaders
invited), /log for the committee's own work, and a member's quantity on the /report card. Bad
input gets a polite answer and the same step again; members cannot use the secretariat's steps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.rules import load_rules
from bot.core.schedule import QuietHours
from bot.services import events, outcomes
from bot.services.reminders import ReminderPolicy
from models import Event, EventGuest, EventTag, OutcomeQuantity, OutputDocument, WorkLogEntry
from tests.conftest import add_member, expect_reply, inline_buttons, new_event_card

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
RULES = load_rules(Settings(_env_file=None).rules_path)  # type: ignore[call-arg]
POLICY = ReminderPolicy(zone=SH, quiet=QuietHours(time(21, 0), time(8, 0)))
# The dialogs of the year in review, not its SQL (tests/test_year_review.py counts the figures on
# both databases): SQLite alone shows what these check.
pytestmark = pytest.mark.one_database


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=NOW)


async def _rows(db, model):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list((await session.exec(select(model))).all())


async def _refused(emu, user, data: str, message=None) -> str:  # type: ignore[no-untyped-def]
    cq = user.press(data, message)
    await emu.wait_for(lambda: cq in emu.callback_answers, 30, what="the press answered")
    return emu.callback_answers[cq].get("text") or ""


async def test_newevent_takes_tags_and_organiser_from_buttons_on_its_card(emu, bot_app, db):
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001, committee="")
    await add_member(db, "苏建华", telegram_user_id=9101, committee="经济委员会")
    await add_member(db, "丁欣怡", telegram_user_id=9102, committee="文史委员会")
    staff, member = emu.user(9001, "王秘书"), emu.user(9101, "苏建华")

    card = await new_event_card(staff, "老旧小区改造调研协商", "consultation", "3月10日 14:30")
    assert t("outcomes.btn_tags", "zh") in inline_buttons(card) and "标签：" not in card["text"]

    await expect_reply(member, lambda: member.send_text("/help"), "/report")
    assert await _refused(emu, member, "ne:tags") == t("common.stale_button", "zh")  # a member has no such dialog
    tags = await expect_reply(staff, lambda: staff.press("ne:tags", card), t("outcomes.ask_tags", "zh"))
    def ticked() -> set[str]:  # the tags shown with ✓ on the (edited) card
        shown = next(m for m in staff.messages() if m["message_id"] == tags["message_id"])
        return {label.removeprefix("✓ ") for label in inline_buttons(shown) if label.startswith("✓ ")}

    for code, after in (("consult_research", {"调研协商"}), ("rotating_consult", {"调研协商", "轮值协商"}),
                        ("rotating_consult", {"调研协商"})):  # fmt: skip  # pressed again, it comes off
        staff.press(f"ne:tg:{code}", tags)
        await emu.wait_for(lambda after=after: ticked() == after, 30, what=f"the card showing {after}")
    assert await _refused(emu, staff, "ne:tg:dance", tags) == t("common.stale_button", "zh")
    card = await expect_reply(staff, lambda: staff.press("ne:tgdone", tags), "请确认")
    assert "标签：调研协商" in card["text"]
    organisers = await expect_reply(staff, lambda: staff.press("ne:org", card), t("outcomes.ask_organiser", "zh"))
    choices = inline_buttons(organisers)
    assert {"机关", "党组", "主席会议", "经济委员会", "文史委员会"} <= set(choices)
    card = await expect_reply(staff, lambda: staff.press(choices["经济委员会"], organisers), "请确认")
    assert "标签：调研协商" in card["text"] and "主办：经济委员会" in card["text"]
    await expect_reply(staff, lambda: staff.press("ne:pub", card), "已发布活动")

    (event,) = await _rows(db, Event)
    assert (event.organiser, event.organiser_unit) == ("committee", "经济委员会")
    assert [(t_.event_id, t_.tag) for t_ in await _rows(db, EventTag)] == [(event.id, "consult_research")]

    # a staff-only event: the audience button goes straight on, and only staff are invited
    def staff_button(asked: dict) -> None:
        assert inline_buttons(asked)[t("events.admin.audience_staff", "zh")] == "ne:a:staff"

    card = await new_event_card(staff, "机关学习：作风建设", "study", "3月11日 09:00", audience="ne:a:staff",
                                asked_audience=staff_button)  # fmt: skip
    assert "参加：仅机关干部（1 人" in card["text"]
    done = await expect_reply(staff, lambda: staff.press("ne:pub", card), "已发布活动")
    assert "1 位" in done["text"]


async def _held_event(db, clock, staff_id: int) -> Event:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        event = await events.create_event(session, title="调研协商：养老服务", kind="consultation",
                                          starts_at=NOW + timedelta(days=1), now=NOW, rules=RULES, created_by=staff_id)  # fmt: skip
        await events.publish_event(session, event, now=NOW, policy=POLICY)
    clock.frozen = NOW + timedelta(days=1, hours=4)
    return event


async def test_outcome_records_quantities_a_document_its_instruction_and_guests(emu, bot_app, db, clock):
    staff_row = await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001, committee="")
    await add_member(db, "苏建华", telegram_user_id=9101)
    staff, member = emu.user(9001, "王秘书"), emu.user(9101, "苏建华")
    event = await _held_event(db, clock, staff_row.id)

    refusal = t("common.not_allowed", "zh")
    assert (await expect_reply(member, lambda: member.send_text("/outcome"), refusal))["text"] == refusal
    picked = await expect_reply(staff, lambda: staff.send_text("/outcome"), t("outcomes.chat.ask_event", "zh"))
    (label,) = [k for k, v in inline_buttons(picked).items() if v == f"oc:e:{event.id}"]
    assert "调研协商：养老服务" in label
    card = await expect_reply(staff, lambda: staff.press(f"oc:e:{event.id}", picked), t("outcomes.chat.ask_what", "zh"))
    assert t("outcomes.cli.nothing_yet", "zh") in card["text"]
    assert await _refused(emu, staff, "oc:q:dance", card) == t("common.stale_button", "zh")

    await expect_reply(staff, lambda: staff.press("oc:q:suggestions", card), "请发送建议的数量（条）")
    again = await expect_reply(staff, lambda: staff.send_text("十五"), "请发送建议的数量")
    assert "不是数量" in again["text"]  # asked again, nothing stored
    assert await _rows(db, OutcomeQuantity) == []
    card = await expect_reply(staff, lambda: staff.send_text("15"), t("outcomes.chat.ask_what", "zh"))
    assert "建议：15 条" in card["text"]

    await expect_reply(staff, lambda: staff.press("oc:doc", card), t("outcomes.chat.ask_doc_kind", "zh"))
    await expect_reply(staff, lambda: staff.press("oc:k:consult_report"), "请发送协商报告的标题")
    card = await expect_reply(staff, lambda: staff.send_text("关于养老服务的协商报告"), t("outcomes.chat.ask_what", "zh"))
    assert "协商报告：《关于养老服务的协商报告》" in card["text"]
    (doc,) = await _rows(db, OutputDocument)
    await expect_reply(staff, lambda: staff.press(f"oc:i:{doc.id}", card), t("outcomes.chat.ask_instruction", "zh"))
    card = await expect_reply(staff, lambda: staff.send_text("区委书记张某"), t("outcomes.chat.ask_what", "zh"))
    assert "区委书记张某批示" in card["text"] and not any(v.startswith("oc:i:") for v in inline_buttons(card).values())

    await expect_reply(staff, lambda: staff.press("oc:g", card), t("outcomes.chat.ask_guests", "zh"))
    card = await expect_reply(staff, lambda: staff.send_text("张某（区委书记）、李某（区长）"), t("outcomes.chat.ask_what", "zh"))
    assert "邀请领导：张某（区委书记）、李某（区长）" in card["text"]
    await expect_reply(staff, lambda: staff.press("oc:done", card), t("outcomes.chat.done", "zh"))

    assert [(q.event_id, q.code, q.amount) for q in await _rows(db, OutcomeQuantity)] == [(event.id, "suggestions", 15)]
    (doc,) = await _rows(db, OutputDocument)
    assert (doc.event_id, doc.kind, doc.instruction_by, str(doc.instruction_on)) == (
        event.id, "consult_report", "区委书记张某", "2026-03-03")  # fmt: skip
    assert [g.name for g in await _rows(db, EventGuest)] == ["张某（区委书记）", "李某（区长）"]
    # an event by number; a cancelled one is refused
    async with db.session() as session:
        later = await events.create_event(session, title="取消的视察", kind="inspection", starts_at=clock.now() + timedelta(days=3),
                                          now=clock.now(), rules=RULES)  # fmt: skip
        await events.cancel_event(session, later, now=clock.now(), policy=POLICY)
    refused = await expect_reply(staff, lambda: staff.send_text(f"/outcome {later.id}"), "已取消")
    assert refused["text"] == t("outcomes.error.event_cancelled", "zh", id=later.id)
    card = await expect_reply(staff, lambda: staff.send_text(f"/outcome {event.id}"), t("outcomes.chat.ask_what", "zh"))
    assert "建议：15 条" in card["text"]


async def test_log_records_one_entry_in_a_short_guided_chat(emu, bot_app, db):
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001, committee="")
    await add_member(db, "苏建华", telegram_user_id=9101)
    staff, member = emu.user(9001, "王秘书"), emu.user(9101, "苏建华")
    refusal = t("common.not_allowed", "zh")
    assert (await expect_reply(member, lambda: member.send_text("/log"), refusal))["text"] == refusal

    asked = await expect_reply(staff, lambda: staff.send_text("/log"), t("worklog.ask_kind", "zh"))
    assert inline_buttons(asked)["宣传简讯"] == "lg:k:briefing" and "请示报告" in inline_buttons(asked)
    await expect_reply(staff, lambda: staff.press("lg:k:briefing"), "是哪一天")
    again = await expect_reply(staff, lambda: staff.send_text("明天"), "是哪一天")
    assert t("worklog.error.future", "zh") in again["text"]
    await expect_reply(staff, lambda: staff.send_text("3月1日"), "数量是多少（篇）")
    again = await expect_reply(staff, lambda: staff.send_text("0"), "数量是多少")
    assert "不是数量" in again["text"]
    await expect_reply(staff, lambda: staff.send_text("2"), "简要说明")
    await expect_reply(staff, lambda: staff.send_text("简讯：区政协召开全体会议"), "是否被转载")
    card = await expect_reply(staff, lambda: staff.press("lg:m:1"), "请确认")
    assert "类别：宣传简讯" in card["text"] and "数量：2 篇" in card["text"] and "标记：被转载" in card["text"]
    await expect_reply(staff, lambda: staff.press("lg:ok", card), "已登记工作记录")
    assert await _refused(emu, staff, "lg:ok", card)  # the card's button again: answered, nothing more stored
    (entry,) = await _rows(db, WorkLogEntry)
    assert (entry.kind, str(entry.on_date), entry.count, entry.note, entry.marked) == (
        "briefing", "2026-03-01", 2, "简讯：区政协召开全体会议", True)  # fmt: skip

    # a kind without a mark skips that step
    await expect_reply(staff, lambda: staff.send_text("/log"), t("worklog.ask_kind", "zh"))
    await expect_reply(staff, lambda: staff.press("lg:k:request_report"), "是哪一天")
    await expect_reply(staff, lambda: staff.press("lg:d:1"), "数量是多少（次）")
    await expect_reply(staff, lambda: staff.press("lg:n:1"), "简要说明")
    card = await expect_reply(staff, lambda: staff.press("lg:skip"), "请确认")
    assert "标记" not in card["text"] and "第 4 步，共 4 步" not in card["text"]
    await expect_reply(staff, lambda: staff.press("lg:ok", card), "已登记工作记录")
    assert sorted(e.kind for e in await _rows(db, WorkLogEntry)) == ["briefing", "request_report"]


async def test_a_member_gives_the_households_with_their_own_report(emu, bot_app, db, clock):
    await add_member(db, "丁欣怡", telegram_user_id=9104)
    user = emu.user(9104, "丁欣怡")
    await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(user, lambda: user.press("rep:type:service"), t("report.ask_date", "zh"))
    await expect_reply(user, lambda: user.press("rep:day:1"), "第 3 步")
    await expect_reply(user, lambda: user.send_text("走访慰问辖区困难群众十二户，送去慰问品和慰问金。"), "第 4 步")
    card = await expect_reply(user, lambda: user.press("rep:photos:done"), "类型：")
    assert set(inline_buttons(card)) >= {"➕ 走访", "➕ 办实事"} and "➕ 建议" not in inline_buttons(card)
    await expect_reply(user, lambda: user.press("rep:qty:households", card), "请发送走访的数量（户）")
    again = await expect_reply(user, lambda: user.send_text("十二"), "请发送走访的数量")
    assert "不是数量" in again["text"]
    card = await expect_reply(user, lambda: user.send_text("12"), "类型：")
    assert "走访：12 户" in card["text"]
    await expect_reply(user, lambda: user.press("rep:ok", card), t("report.after_submit", "zh"))
    (quantity,) = await _rows(db, OutcomeQuantity)
    assert (quantity.event_id, quantity.code, quantity.amount) == (None, "households", 12) and quantity.report_id
    async with db.session() as session:
        with pytest.raises(outcomes.OutcomeError):  # its type carries no suggestions
            await outcomes.set_quantity(session, code="suggestions", amount=1, rules=RULES, now=NOW,
                                        report_id=quantity.report_id)  # fmt: skip
