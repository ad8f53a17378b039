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
import logging
import signal
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from telegram.ext import Application

from bot.core.config import Settings
from bot.telegram.deps import Deps
from bot.telegram.health import Health
from bot.telegram.web import Web
from models.db import Database, upgrade_async

log = logging.getLogger(__name__)

Running = Callable[..., AbstractAsyncContextManager[Application]]


class LostLeadership(Exception):
    """The active process lost its lock's connection and stopped (a standby takes over)."""


async def serve(settings: Settings, *, running: Running, make_deps: Callable[[Settings, Database], Deps],
                stop: asyncio.Event | None = None) -> None:  # fmt: skip
    """Run one process until `stop` is set (SIGTERM, SIGINT) or the leadership is lost. `running`
    is the composition root's (`bot.assemble.running`): the Application with every feature."""
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
            async with running(deps, web=web):
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


