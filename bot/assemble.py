"""The composition root: the Telegram application (`bot.telegram.app`) wired with the feature
handlers. Started the same way by `lvzhi run`, the tests, the benchmarks and the sandbox.

The only module besides the CLI and the dev tools that sees every layer; `bot.telegram` knows no
handler, so features are listed here."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.rules import load_rules
from bot.telegram.app import housekeeping_job, new_application, settle_garbage_collector, start_plumbing
from bot.telegram.deps import Deps
from bot.telegram.inbox import Inbox
from bot.telegram.web import Web
from handlers import errors, gate, onboarding
from handlers.dialog import link_dialogs, rearm_dialog_timeouts, recall_dialog_use
from handlers.events import start_jobs as _events_start_jobs
from handlers.proposals import start_jobs as _proposals_start_jobs
from models.db import Database, open_database

log = logging.getLogger(__name__)

# Feature handler modules, in registration order. Each has `register(app)`; order matters only
# in that the onboarding fallback (a catch-all) is registered after all of them.
FEATURES: list[str] = [
    "handlers.onboarding",
    "handlers.info",
    "handlers.inbox",
    "handlers.report",
    "handlers.review",
    "handlers.me",
    "handlers.events",
    "handlers.event_admin",
    "handlers.digest",
    "handlers.worklog",
    "handlers.outcomes",
    "handlers.proposals",  # 提案: /proposal, 联名, /myproposals, 评价
    "handlers.proposal_review",  # 提案 for the secretariat: /proposals, 立案, 交办, 督办
    "handlers.proposal_units",  # 提案 for the handling units: 签收, 答复, 延期
]

# Start-up hooks of features: `async def hook(app) -> None`, run after the bot is initialised.
STARTUP_HOOKS: list[Callable[[Application], Any]] = []
STARTUP_HOOKS.append(_events_start_jobs)  # deadline sweep and attendance close-out


async def _units_start(app: Application) -> None:
    from handlers.proposal_units import start_jobs

    await start_jobs(app)


STARTUP_HOOKS.append(_units_start)  # 督: the handling units' reminders and overdue notices


async def _digest_start(app: Application) -> None:
    from handlers.digest import on_startup  # imported late: pulls in matplotlib only when the bot starts

    await on_startup(app)


STARTUP_HOOKS.append(_digest_start)  # weekly digest job; queues a digest missed while the bot was down
STARTUP_HOOKS.append(_proposals_start_jobs)  # co-signing sweep of proposals (at start-up, then every 10 min)


def register_features(app: Application) -> None:
    gate.register(app)  # private chats, edits and groups: decided before any feature sees the update
    for name in FEATURES:
        importlib.import_module(name).register(app)
    onboarding.register_fallback(app)
    link_dialogs(app)
    app.add_error_handler(errors.on_error)


def build_application(deps: Deps, *, updater: bool = True) -> Application:
    return new_application(deps, register_features, updater=updater)


async def _on_startup(app: Application) -> None:
    deps: Deps = app.bot_data["deps"]
    await housekeeping_job(deps)  # before the handled updates are read: an old id must not hide a new update
    await Inbox(deps.db).replay(app)  # what a stopped process received and did not handle, first
    recall_dialog_use(app)
    if rearmed := rearm_dialog_timeouts(app):
        log.info("%d open dialog(s) will time out as they would have without the restart", rearmed)
    await start_plumbing(app)
    for hook in STARTUP_HOOKS:
        await hook(app)
    settle_garbage_collector()


def make_deps(settings: Settings, db: Database, clock: Clock | None = None) -> Deps:
    """Raises RulesError for a broken rules file (start-up stops with file, line and reason)."""
    return Deps(settings=settings, db=db, clock=clock or Clock(), rules=load_rules(settings.rules_path))


@asynccontextmanager
async def running(deps: Deps, *, poll_timeout: int = 10, web: Web | None = None) -> AsyncIterator[Application]:
    """Start the bot (jobs, and updates by long polling, or by webhook through `web` when
    WEBHOOK_URL is set) for the duration of the block. The webhook stays set when the block ends:
    the process that takes over sets it again, and Telegram keeps the updates meanwhile."""
    webhook = bool(deps.settings.webhook_url)
    assert web is not None or not webhook, "webhook mode needs the HTTP server (LISTEN)"
    app = build_application(deps, updater=not webhook)
    async with app:
        await _on_startup(app)
        await app.start()
        try:
            if webhook:
                assert web is not None
                await web.take_updates(app)
            else:
                assert app.updater is not None
                await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout,
                                                allowed_updates=Update.ALL_TYPES)
                if web is not None:
                    web.health.dispatcher = deps.dispatcher
            yield app
        finally:
            if web is not None:
                web.app = None
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            await app.stop()


def run(settings: Settings) -> None:
    """`lvzhi run` (`bot.telegram.runtime`): migrate, wait to be the active process, serve."""
    import asyncio

    from bot.telegram.runtime import serve

    asyncio.run(serve(settings, running=running, make_deps=make_deps))


__all__ = ["FEATURES", "STARTUP_HOOKS", "build_application", "make_deps", "open_database", "run", "running"]
