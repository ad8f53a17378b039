"""`lvzhi run`: one process of the bot, from migrating to stopping.

The process migrates, opens the database and (with LISTEN) its HTTP server, then becomes the
active process — or, on PostgreSQL while another holds the leadership, waits as a standby
(`bot.telegram.leader`). Active, it builds the Application (dialog states and handled update ids
are read then, not before), hands on what the inbox holds unhandled, recovers the outbox rows that
were in flight, and takes updates by long polling or by webhook until SIGTERM/SIGINT or until it
loses the leadership.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from telegram import Update
from telegram.ext import Application

from bot.app import _on_startup, build_application, make_deps, running
from bot.config import Settings
from bot.deps import Deps
from bot.telegram.health import Health
from bot.telegram.web import Web
from models.db import Database, upgrade_async

log = logging.getLogger(__name__)

WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's default: updates of different chats are posted at once


class LostLeadership(Exception):
    """The active process lost its lock's connection and stopped (a standby takes over)."""


@contextlib.asynccontextmanager
async def bot_running(deps: Deps, web: Web | None = None, *, poll_timeout: int = 10) -> AsyncIterator[Application]:
    """The bot taking updates for the duration of the block: by webhook when WEBHOOK_URL is set
    (through `web`), else by long polling. The webhook stays set when the block ends: the standby
    that takes over sets it again, and Telegram keeps the updates meanwhile."""
    settings = deps.settings
    if not settings.webhook_url:
        async with running(deps, poll_timeout=poll_timeout) as app:
            if web is not None:
                web.health.dispatcher = deps.extras.get("dispatcher")
            yield app
        return
    assert web is not None, "webhook mode needs the HTTP server (LISTEN)"
    app = build_application(deps, updater=False)
    async with app:
        await _on_startup(app)
        await app.start()
        try:
            await app.bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES, max_connections=WEBHOOK_MAX_CONNECTIONS)  # fmt: skip
            web.health.dispatcher = deps.extras.get("dispatcher")
            web.app = app
            yield app
        finally:
            web.app = None
            await app.stop()


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run one process until `stop` is set (SIGTERM, SIGINT) or the leadership is lost."""
    from bot.telegram.leader import leadership

    stop = stop or _stop_on_signals()
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    health = Health(db)
    web = Web(settings, health) if settings.listen_address else None
    try:
        if web is not None:
            await web.start()
        async with leadership(settings, db, health, stop) as lead:
            if lead is None:
                return  # stopped while waiting as the standby
            deps = make_deps(settings, db)
            async with bot_running(deps, web):
                health.role = "active"
                log.info("lvzhi is running (%s); SIGTERM or Ctrl-C stops it",
                         "webhook" if settings.webhook_url else "long polling")  # fmt: skip
                await _first(stop.wait(), lead.lost.wait())
                health.role = "stopping"
            if lead.lost.is_set():
                raise LostLeadership
    finally:
        if web is not None:
            await web.stop()
        await db.dispose()


async def _first(*waits: object) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run(settings: Settings) -> None:
    asyncio.run(serve(settings))
