"""The long poll waits a moment before fetching while the bot is busy, and never while it is idle."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.telegram.http import BUSY_UPDATES, PacedUpdatesRequest
from tests.conftest import TOKEN


async def _poll(emu, in_hand: int, pause: float) -> tuple[asyncio.Task, Bot]:  # type: ignore[no-untyped-def]
    bot = Bot(TOKEN, base_url=emu.base_url, get_updates_request=PacedUpdatesRequest(lambda: in_hand, pause=pause))
    await bot.initialize()
    return asyncio.create_task(bot.get_updates(timeout=0)), bot


async def test_busy_bot_waits_before_fetching_then_fetches(emu) -> None:  # type: ignore[no-untyped-def]
    emu.user(501, "委员甲").send_text("你好")
    task, bot = await _poll(emu, BUSY_UPDATES, pause=1.0)
    try:
        await asyncio.sleep(0.3)
        assert emu.calls_of("getUpdates") == [] and not task.done()  # still pausing
        updates = await asyncio.wait_for(task, 5)
        assert [u.effective_message.text for u in updates] == ["你好"]
        assert len(emu.calls_of("getUpdates")) == 1
    finally:
        await bot.shutdown()


async def test_idle_bot_fetches_at_once(emu) -> None:  # type: ignore[no-untyped-def]
    emu.user(502, "委员乙").send_text("在吗")
    task, bot = await _poll(emu, BUSY_UPDATES - 1, pause=30.0)
    try:
        updates = await asyncio.wait_for(task, 5)  # far less than the pause it must not take
        assert [u.effective_message.text for u in updates] == ["在吗"]
    finally:
        await bot.shutdown()


async def test_started_bot_polls_through_the_paced_request_and_freezes_start_up_objects(bot_app, emu) -> None:  # type: ignore[no-untyped-def]
    import gc

    assert any(isinstance(r, PacedUpdatesRequest) for r in bot_app.bot._request)  # [getUpdates, others]
    assert gc.get_freeze_count() > 0  # start-up objects are out of the collector's full passes
    emu.user(503, "陌生人").send_text("/help")
    assert await emu.user(503).wait_for_messages(1, timeout=5)  # the paced poll delivers updates


async def test_an_update_the_library_cannot_read_is_skipped_logged_once_without_its_body(bot_app, emu, db, caplog):  # type: ignore[no-untyped-def]
    import logging

    from bot.core.i18n import t
    from tests.conftest import add_member, expect_reply

    await add_member(db, "苏建华", telegram_user_id=504)
    await add_member(db, "廖艳", telegram_user_id=505)
    sender, other = emu.user(504, "建华"), emu.user(505, "廖艳")
    caplog.set_level(logging.INFO)  # (DEBUG lines may carry bodies; INFO and above never)
    # a shape python-telegram-bot does not know (an entity without offset and length)
    bad = sender.send_update({"message": {"message_id": 1, "date": 0, "chat": {"type": "private"},
                                          "from": {}, "text": "我的电话 13800138000",
                                          "entities": [{"type": "bold"}]}})  # fmt: skip
    await expect_reply(other, lambda: other.send_text("/help"), t("onboarding.help_header", "zh", name="廖艳"))
    await expect_reply(sender, lambda: sender.send_text("/help"), t("onboarding.help_header", "zh", name="苏建华"))
    assert emu.confirmed_offset > bad  # skipped, not fetched again and again
    (about_it,) = [r for r in caplog.records if r.levelno >= logging.WARNING]  # one line, by its id
    assert str(bad) in about_it.getMessage() and not about_it.exc_info
    assert "13800138000" not in caplog.text


def test_repeated_log_lines_are_capped_and_the_left_out_ones_counted(caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from bot.telegram.http import RepeatCap

    now = [0.0]
    logger = logging.getLogger("tests.repeat_cap")
    cap = RepeatCap(limit=3, window=60, clock=lambda: now[0])
    logger.addFilter(cap)
    try:
        with caplog.at_level(logging.INFO, logger="tests.repeat_cap"):
            for _ in range(1000):
                try:
                    raise ValueError("received: 13800138000")
                except ValueError:
                    logger.exception("Exception happened while polling for updates: %s", "13800138000")
            logger.info("an INFO line is never capped")
            now[0] = 61.0
            logger.error("Exception happened while polling for updates: %s", "again")
    finally:
        logger.removeFilter(cap)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] == ["Exception happened while polling for updates (ValueError)"] * 3
    assert lines[3] == "an INFO line is never capped"
    assert lines[4] == "Exception happened while polling for updates: again [997 more like this in the last 60 s left out]"
    assert len(lines) == 5 and "13800138000" not in caplog.text
