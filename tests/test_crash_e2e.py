"""Crashes of `python -m bot run` (real SIGKILLs) at chosen moments, with members working at once:
after the restart a dialog's step and its draft agree, nothing submitted is offered again, and a
confirm repeated after the crash stores nothing twice."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import select

from bot.core.i18n import t
from bot.devtools.emulator import Call
from handlers import info as info_dialog
from handlers.report import DATE, DESCRIPTION, PHOTOS
from models import ActivityReport, DialogState, Event, InfoItem, Invitation, ReportDraft
from tests.conftest import add_member, expect_reply, seen, start_bot_process, stop_bot_process, until

TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"


async def _rows(db) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return {r.key: r.data for r in (await session.exec(select(DialogState))).all()}


async def _all(db, model) -> list:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list((await session.exec(select(model))).all())


async def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    return len(await _all(db, model))


def _conv(name: str, user_id: int) -> str:
    return f"conv:{name}:{json.dumps([user_id, user_id])}"


async def _state_is(db, name: str, user_id: int, state: int | None) -> None:  # type: ignore[no-untyped-def]
    async def check() -> bool:
        row = (await _rows(db)).get(_conv(name, user_id))
        return (row or {}).get("state") == state if state is not None else row is None

    await until(check, f"dialog {name} of {user_id} stored at step {state}")


def _kill_when(emu, proc, wanted: Callable[[Call], bool]) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL the bot the moment the emulator handled a call it makes (before the bot gets the answer)."""

    def listener(call: Call) -> None:
        if proc.poll() is None and wanted(call):
            proc.send_signal(signal.SIGKILL)

    emu.add_listener(listener)


async def _killed(proc) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(proc.wait, 15)
    assert proc.returncode == -signal.SIGKILL


def _sent(chat_id: int, text: str) -> Callable[[Call], bool]:
    return lambda call: (
        call.method == "sendMessage" and call.params.get("chat_id") == chat_id and text in str(call.params.get("text"))
    )


async def _to_summary(user) -> dict:  # type: ignore[no-untyped-def]
    await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(user, lambda: user.press("rep:type:research"), t("report.ask_date", "zh"))
    await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")), "第 3 步")
    await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
    return await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：")


async def test_a_step_and_its_draft_are_stored_together_while_two_members_interleave(emu, db, db_url, tmp_path):
    await add_member(db, "苏建华", telegram_user_id=5101)
    await add_member(db, "廖艳", telegram_user_id=5102)
    a, b = emu.user(5101, "建华"), emu.user(5102, "廖艳")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(a, lambda: a.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(b, lambda: b.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(a, lambda: a.press("rep:type:research"), t("report.ask_date", "zh"))
        await expect_reply(b, lambda: b.press("rep:type:inspection"), t("report.ask_date", "zh"))
        await expect_reply(a, lambda: a.press_button(t("report.btn_yesterday", "zh")), "第 3 步")
        await _state_is(db, "report", 5101, DESCRIPTION)
        await _state_is(db, "report", 5102, DATE)
    finally:
        stop_bot_process(proc, signal.SIGKILL)
    # each member's stored step comes with the draft of that step
    rows = await _rows(db)
    assert rows["user:5101"]["report"]["type"] == "research" and rows["user:5101"]["report"]["date"]
    assert rows["user:5102"]["report"]["type"] == "inspection"

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(b, lambda: b.press_button(t("report.btn_today", "zh")), "第 3 步")
        await expect_reply(a, lambda: a.send_text(TEXT), "第 4 步")
        await _state_is(db, "report", 5102, DESCRIPTION)
        await _state_is(db, "report", 5101, PHOTOS)
    finally:
        stop_bot_process(proc, signal.SIGKILL)
    rows = await _rows(db)
    assert rows["user:5101"]["report"]["description"] == TEXT
    assert rows["user:5102"]["report"]["date"]

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(a, lambda: a.press_button(t("report.btn_photos_skip", "zh")), "类型：调研")
        await expect_reply(a, lambda: a.press_button(t("report.btn_submit", "zh")), t("report.after_submit", "zh"))
        await _state_is(db, "report", 5101, None)  # the submit is stored: the dialog is over
    finally:
        stop_bot_process(proc, signal.SIGKILL)
    assert "report" not in (await _rows(db)).get("user:5101", {})  # and its draft is gone with it

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        # nothing to resume: the report was submitted
        await expect_reply(a, lambda: a.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(b, lambda: b.send_text(TEXT), "第 4 步")
    finally:
        stop_bot_process(proc)
    assert await _count(db, ActivityReport) == 1 and await _count(db, ReportDraft) == 0


async def _confirm_and_kill(emu, db_url, tmp_path, user, at: Callable[[Call], bool]) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    """A bot that takes the member to the summary card, then dies (SIGKILL) at the call `at` made
    after 确认提交. Returns the card and the press."""
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        card = await _to_summary(user)
        _kill_when(emu, proc, at)
        confirm = user.press_button(t("report.btn_submit", "zh"), card)
        await _killed(proc)
    finally:
        stop_bot_process(proc)
    return card, confirm


async def _restarted_after_the_confirm(emu, db, db_url, tmp_path, user, card):  # type: ignore[no-untyped-def]
    """A new process after the kill of `_confirm_and_kill`: the press the killed one had taken is
    handled again (the update inbox) and answered with the stored report, not a second one; a
    confirm pressed again on the old card is answered too: the dialog is over. Returns the process."""
    (report,) = await _all(db, ActivityReport)
    stored = t("report.submitted_pending", "zh", id=report.id, points="3")
    before = seen(user)  # the replayed press can be answered while the new process starts
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: None, stored, before=before)
        again = user.press("rep:ok", card)
        await emu.wait_for(lambda: again in emu.callback_answers, what="the second confirm answered")
        assert emu.callback_answers[again]["text"] == t("common.stale_button", "zh")
    except BaseException:
        stop_bot_process(proc)
        raise
    return proc


async def test_a_kill_at_the_first_call_after_confirm_stores_the_report_once(emu, db, db_url, tmp_path):
    await add_member(db, "尹华", telegram_user_id=5103)
    user = emu.user(5103, "尹华")
    edit = lambda call: call.method == "editMessageText" and call.params.get("chat_id") == 5103  # noqa: E731
    card, confirm = await _confirm_and_kill(emu, db_url, tmp_path, user, edit)
    assert await _count(db, ActivityReport) == 1
    assert confirm not in emu.callback_answers  # the press died with the process

    stop_bot_process(await _restarted_after_the_confirm(emu, db, db_url, tmp_path, user, card))
    assert await _count(db, ActivityReport) == 1


async def test_a_kill_after_submitted_before_the_step_is_saved_offers_nothing_again(emu, db, db_url, tmp_path):
    await add_member(db, "朱宇浩", telegram_user_id=5104)
    user = emu.user(5104, "宇浩")
    card, _confirm = await _confirm_and_kill(emu, db_url, tmp_path, user, _sent(5104, "已提交"))

    proc = await _restarted_after_the_confirm(emu, db, db_url, tmp_path, user, card)
    try:
        # and /report starts afresh: nothing to resume
        await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
        assert not any(text.startswith("您有一份未完成的履职报告") for text in user.texts())
    finally:
        stop_bot_process(proc)
    assert await _count(db, ActivityReport) == 1 and await _count(db, ReportDraft) == 0


async def test_info_keeps_its_title_through_a_kill_and_does_not_offer_a_numbered_item_again(
    emu, db, db_url, tmp_path
):
    await add_member(db, "丁欣怡", telegram_user_id=5105)
    await add_member(db, "何玉兰", telegram_user_id=5107)
    user, other = emu.user(5105, "欣怡"), emu.user(5107, "玉兰")
    body = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。资金筹措难，审批环节多，群众反映强烈，建议简化审批。"
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
        # another member's update comes in between (as it does all day with 250 members)
        await expect_reply(other, lambda: other.send_text("/help"), t("onboarding.help_header", "zh", name="何玉兰"))
        await expect_reply(user, lambda: user.send_text("老旧小区加装电梯推进难"), t("info.ask_category", "zh"))
        await _state_is(db, "info", 5105, info_dialog.CATEGORY)
    finally:
        stop_bot_process(proc, signal.SIGKILL)
    assert (await _rows(db))["user:5105"]["info"]["title"] == "老旧小区加装电梯推进难"

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: user.press("info:cat:1"), "请发送正文")
        await expect_reply(user, lambda: user.send_text(body), "已收到正文")
        await expect_reply(user, lambda: user.press("info:body:done"), "可以发送照片")
        await expect_reply(user, lambda: user.press("info:att:done"), "如有合作者")
        await expect_reply(user, lambda: user.press("info:co:done"), t("info.confirm_question", "zh"))
        assert any("标题：老旧小区加装电梯推进难" in text for text in user.texts())
        _kill_when(emu, proc, _sent(5105, "已提交，编号"))
        user.press("info:ok")
        await _killed(proc)
    finally:
        stop_bot_process(proc)

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
        assert t("info.resume", "zh") not in user.texts()
    finally:
        stop_bot_process(proc)
    assert await _count(db, InfoItem) == 1


async def test_an_event_published_just_before_a_kill_is_not_published_twice(emu, db, db_url, tmp_path):
    await add_member(db, "机关甲", role="secretariat", telegram_user_id=5106)
    for i in range(3):
        await add_member(db, f"委员{i}", telegram_user_id=5200 + i)
    staff = emu.user(5106, "甲")
    start = f"{(date.today() + timedelta(days=10)).isoformat()} 09:00"
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(staff, lambda: staff.send_text("/newevent"), "请输入活动标题")
        await expect_reply(staff, lambda: staff.send_text("学习贯彻全会精神专题讲座"), t("events.admin.ask_kind", "zh"))
        await expect_reply(staff, lambda: staff.press("ne:k:study"), "活动什么时候开始")
        await expect_reply(staff, lambda: staff.send_text(start), "什么时候结束")
        await expect_reply(staff, lambda: staff.press("ne:skip"), "在哪里举行")
        await expect_reply(staff, lambda: staff.send_text("区政协三楼会议室"), "请哪些委员参加")
        await expect_reply(staff, lambda: staff.press("ne:a:all"), "活动前多久提醒")
        summary = await expect_reply(staff, lambda: staff.press("ne:skip"), "请确认")
        _kill_when(emu, proc, _sent(5106, "已发布活动"))
        staff.press("ne:pub", summary)
        await _killed(proc)
    finally:
        stop_bot_process(proc)
    invited = await _count(db, Invitation)
    assert await _count(db, Event) == 1 and invited >= 3

    before = seen(staff)  # the replayed press can be answered while the new process starts
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        # the press the killed process had taken is handled again (the update inbox): the same event
        done = await expect_reply(staff, lambda: None, "已发布活动", before=before)
        (event,) = await _all(db, Event)
        assert f"#{event.id}" in done["text"] and f"{invited} 位委员" in done["text"]
        # and 发布 pressed again on the same card is answered and publishes nothing
        again = staff.press("ne:pub", summary)
        await emu.wait_for(lambda: again in emu.callback_answers, what="the second 发布 answered")
    finally:
        stop_bot_process(proc)
    assert await _count(db, Event) == 1 and await _count(db, Invitation) == invited
