"""The update inbox: an update python-telegram-bot fetched (and so confirmed to Telegram with its
next getUpdates) but had not handled when its process was SIGKILLed is handled after the restart,
once; an update that was handled is not handled again."""

from __future__ import annotations

import asyncio
import signal

from bot.core.i18n import t
from tests.conftest import add_member, expect_reply, seen, start_bot_process, stop_bot_process


def _help_replies(emu, chat_id: int) -> list:  # type: ignore[no-untyped-def]
    header = t("onboarding.help_header", "zh", name="苏建华")
    return [c for c in emu.calls_of("sendMessage")
            if c.status == 200 and c.params.get("chat_id") == chat_id and header in str(c.params.get("text"))]  # fmt: skip


async def test_an_update_fetched_but_not_handled_when_the_bot_is_killed_is_handled_after_the_restart_once(
    emu, db, db_url, tmp_path
):
    await add_member(db, "苏建华", telegram_user_id=5201)
    user = emu.user(5201, "建华")
    header = t("onboarding.help_header", "zh", name="苏建华")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华")  # the bot is up
        emu.swallow_next("sendMessage", chat_id=5201)  # the answer to /help never reaches Telegram
        user.send_text("/help")
        (update,) = [u for u in emu.pending_updates() if u.get("message", {}).get("text") == "/help"]

        def fetched_confirmed_and_unanswered() -> bool:
            swallowed = any(c.status == 0 and c.params.get("chat_id") == 5201 for c in emu.calls_of("sendMessage"))
            return swallowed and emu.confirmed_offset > update["update_id"]

        await emu.wait_for(fetched_confirmed_and_unanswered, what="/help confirmed and its answer under way")
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 15)
    finally:
        stop_bot_process(proc)
    assert not _help_replies(emu, 5201)  # Telegram will not deliver it again: only the bot has it now

    before = seen(user)  # the replayed update can be answered while the new process starts
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: None, header, before=before)  # handled by the new process
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华")  # a later update: the lane is past it
    finally:
        stop_bot_process(proc)
    assert len(_help_replies(emu, 5201)) == 1

    proc = start_bot_process(db_url, emu, tmp_path)  # and a third start hands on nothing again
    try:
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华")
    finally:
        stop_bot_process(proc)
    assert len(_help_replies(emu, 5201)) == 1
