"""The long poll waits a moment before fetching while the bot is busy, and never while it is idle."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.telegram_http import BUSY_UPDATES, PacedUpdatesRequest
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
