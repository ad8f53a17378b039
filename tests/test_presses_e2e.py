"""Every button press is answered, once, whatever the handler did: the confirm of /report, a press
whose first answer failed, a press no handler takes. (The `emu` fixture also fails any test that
leaves a press unanswered.)"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.core.i18n import t
from models import ActivityReport
from tests.conftest import add_member, expect_reply

NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"


async def _to_summary(user) -> None:  # type: ignore[no-untyped-def]
    await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(user, lambda: user.press("rep:type:research"), t("report.ask_date", "zh"))
    await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")), "第 3 步")
    await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
    await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：")


async def test_the_confirm_press_is_answered_even_when_its_first_answer_fails(emu, bot_app, db, clock):
    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=8101)
    user = emu.user(8101, "建华")
    await _to_summary(user)
    confirm = user.press_button(t("report.btn_submit", "zh"))
    await expect_reply(user, lambda: None, t("report.after_submit", "zh"))
    await emu.wait_for(lambda: confirm in emu.callback_answers, what="the answer to 确认提交")

    # Telegram refuses the answer once (flood control): the report is still acknowledged in the
    # chat, and the press is answered after all.
    await _to_summary(user)
    emu.fail_next("answerCallbackQuery", 429, "Too Many Requests: retry after 1", retry_after=1)
    confirm = user.press_button(t("report.btn_submit", "zh"))
    await expect_reply(user, lambda: None, t("report.after_submit", "zh"))
    await emu.wait_for(lambda: confirm in emu.callback_answers, what="the answer to the second 确认提交")
    assert t("common.error", "zh") not in user.texts()
    async with db.session() as session:
        assert len((await session.exec(select(ActivityReport))).all()) == 2


async def test_a_press_no_handler_takes_is_answered(emu, bot_app, db):
    await add_member(db, "廖艳", telegram_user_id=8102)
    user = emu.user(8102, "廖艳")
    await expect_reply(user, lambda: user.send_text("/help"), t("onboarding.help_header", "zh", name="廖艳"))
    # a button on a message sent through inline mode: the press names no chat
    press = {"id": "8102000000001", "from": user.user, "chat_instance": "-1", "data": "rep:ok",
             "inline_message_id": "AAAA-inline"}  # fmt: skip
    emu.inject({"callback_query": press})
    await emu.wait_for(lambda: press["id"] in emu.callback_answers, what="the answer to a press without a chat")
