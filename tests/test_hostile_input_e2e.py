"""Hostile input through the Bot API emulator: forged button data with ids no row can have,
edited messages in the middle of a dialog, and the bot in group chats. Each is answered politely
(every press answered), changes no row and logs no ERROR."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from bot import activities, info
from bot.activities import Evidence
from bot.i18n import t
from tests.conftest import add_member

HUGE = "99999999999999999999"  # 20 digits: beyond every integer column
TABLES = ("activity_report", "activity_photo", "info_item", "info_event", "info_author", "invitation", "event")


async def _snapshot(db) -> dict[str, list]:
    async with db.session() as session:
        return {name: [tuple(row) for row in (await session.exec(text(f"SELECT * FROM {name} ORDER BY id")))]
                for name in TABLES}


async def _answer(emu, cq_id: str) -> dict:
    await emu.wait_for(lambda: cq_id in emu.callback_answers, 10, what=f"an answer to press {cq_id}")
    return emu.callback_answers[cq_id]


def _errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def _world(bot_app, db):
    """A member with a pending report and a submitted 社情民意 item, and a secretary."""
    deps = bot_app.bot_data["deps"]
    member = await add_member(db, "苏建华", telegram_user_id=5101, language="zh")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=5901, language="zh")
    now = deps.clock.now()
    async with db.session() as session:
        await activities.submit_report(
            session, member_id=member.id, type_code="research", day=now.astimezone(deps.settings.tz).date(),
            description="到社区调研老旧小区加装电梯的推进情况", photos=[Evidence("photo", "AgAC-x", "u-x")],
            now=now, rules=deps.rules, zone=deps.settings.tz)
        await info.submit(
            session, author_id=member.id, title="老旧小区加装电梯推进难", category="民生保障",
            body="我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。" * 3 + "建议简化审批流程。",
            now=now, tz=deps.settings.tz, rules=deps.rules)
    return member


MEMBER_PRESSES = [f"rep:edit:{HUGE}", f"info:rev:{HUGE}", f"my:wd:{HUGE}", f"my:wdy:{HUGE}",
                  f"my:page:{HUGE}", f"ev:a:{HUGE}", f"ev:l:{HUGE}", f"ev:c:{HUGE}", f"rv:ok:{HUGE}"]
STAFF_PRESSES = [f"ib:m:accept:{HUGE}", f"ib:m:reject:{HUGE}", f"ib:q:submitted:{HUGE}", f"rv:ok:{HUGE}",
                 f"rv:ret:{HUGE}", f"rv:skip:{HUGE}", f"info:rev:{HUGE}", f"rep:edit:{HUGE}"]


async def test_button_data_with_ids_no_row_can_have_is_refused_politely(emu, bot_app, db, caplog):
    caplog.set_level(logging.INFO)
    await _world(bot_app, db)
    before = await _snapshot(db)
    member, staff = emu.user(5101, "建华"), emu.user(5901, "小王")
    for user, presses in ((member, MEMBER_PRESSES), (staff, STAFF_PRESSES)):
        user.send_text("/help")  # a bot message to press on
        await emu.wait_for(lambda u=user: len(u.messages()) >= 1, 10, what="the help text")
        for data in presses:
            answer = await _answer(emu, user.press(data))
            assert answer.get("text") and answer.get("show_alert"), (data, answer)
            assert answer["text"] != t("common.error", "zh"), f"{data} crashed into the apology"
    assert _errors(caplog) == []
    assert await _snapshot(db) == before


async def test_a_press_in_a_dialog_with_an_oversized_id_is_refused_and_the_step_stays(emu, bot_app, db, caplog):
    """info:co:<huge> at the co-author step: refused, and the step still takes the real answer."""
    caplog.set_level(logging.INFO)
    await add_member(db, "苏建华", telegram_user_id=5102, language="zh")
    user = emu.user(5102, "建华")
    await _step(emu, user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
    await _step(emu, user, lambda: user.send_text("老旧小区加装电梯推进难"), t("info.ask_category", "zh"))
    await _step(emu, user, lambda: user.press("info:cat:0"), t("info.ask_body", "zh", min=50, max=3000,
                                                                     advised=1500))
    body = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。" * 3
    await _step(emu, user, lambda: user.send_text(body), t("info.body_progress", "zh", length=len(body),
                                                                min=50, max=3000))
    await _step(emu, user, lambda: user.press("info:body:done"), t("info.ask_files", "zh", count=0))
    await _step(emu, user, lambda: user.press("info:att:done"), t("info.ask_coauthors", "zh",
                                                                      names=t("info.none", "zh")))
    answer = await _answer(emu, user.press(f"info:co:{HUGE}"))
    assert answer["text"] == t("common.stale_button", "zh") and answer.get("show_alert")
    assert _errors(caplog) == []
    await _step(emu, user, lambda: user.press("info:co:done"), t("info.confirm_question", "zh"))


async def _step(emu, user, action, expected: str) -> None:
    """Do something as the user and wait for the bot's reply `expected` (one more time than before)."""
    seen = user.texts().count(expected)
    action()
    await emu.wait_for(lambda: user.texts().count(expected) > seen, 10, what=repr(expected[:40]))


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "0000-W01"])
async def test_digest_of_a_week_outside_the_calendar_is_refused(emu, bot_app, db, caplog, week):
    caplog.set_level(logging.INFO)
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=5903, language="zh")
    staff = emu.user(5903, "小王")
    staff.send_text(f"/digest {week}")
    refusal = t("digest.bad_week", "zh", text=week)
    await emu.wait_for(lambda: refusal in staff.texts(), 10, what="the refusal of the week")
    assert _errors(caplog) == []
