"""The python-telegram-bot Application: built in one place, started the same way by
`lvzhi run`, the tests, the benchmarks and the sandbox."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import time, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot import housekeeping, presses
from bot.clock import Clock
from bot.commands import bot_commands
from bot.config import Settings
from bot.deps import Deps
from bot.outbox import Dispatcher
from bot.persistence import DatabasePersistence
from bot.processing import PerUserUpdateProcessor
from bot.reminders import parse_quiet_hours
from bot.rules import load_rules
from bot.telegram.inbox import Inbox
from bot.telegram_http import PacedUpdatesRequest, cap_polling_logs
from handlers import dedupe, errors, gate, onboarding
from handlers.common import link_dialogs, rearm_dialog_timeouts, recall_dialog_use
from handlers.events import start_jobs as _events_start_jobs
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
]

# Start-up hooks of features: `async def hook(app) -> None`, run after the bot is initialised.
STARTUP_HOOKS: list[Callable[[Application], Any]] = []
STARTUP_HOOKS.append(_events_start_jobs)  # deadline sweep and attendance close-out


async def _digest_start(app: Application) -> None:
    from handlers.digest import on_startup  # imported late: pulls in matplotlib only when the bot starts

    await on_startup(app)


STARTUP_HOOKS.append(_digest_start)  # weekly digest job; queues a digest missed while the bot was down

DISPATCH_INTERVAL_SECONDS = 1.0
HOUSEKEEPING_AT = time(4, 0)  # local time, daily: a quiet hour


class LvzhiApplication(Application):
    """PTB's Application with the life of one update in one place: a redelivery is skipped; the
    handlers run; a button press nobody answered is answered (bot/presses.py); what the update
    changed for its person is saved with its id, in one transaction (handlers/dedupe.py). And a
    shutdown that does not wait for the outbox's backlog."""

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        d: Deps = self.bot_data["deps"]
        in_hand: set[int] = d.extras.setdefault("updates_in_hand", set())
        # in hand already: replayed from the inbox and fetched again before it was confirmed
        if update.update_id in in_hand or await dedupe.journal_of(d).seen(d.db, update.update_id):
            return
        persistence = self.persistence
        assert isinstance(persistence, DatabasePersistence)
        user = update.effective_user
        in_hand.add(update.update_id)
        try:
            with persistence.updating(user.id if user else None), presses.pressing(update):
                await super().process_update(update)  # PTB marks the person's data for saving at its end
                await presses.answer_if_unanswered(update)
                await dedupe.finish_update(self, update)
        finally:
            in_hand.discard(update.update_id)

    async def stop(self) -> None:
        """The outbox stops first: PTB's `stop()` waits for the running jobs, so the dispatcher is
        told to start no more sends before, and the sends under way are waited for (and recorded)
        after. A backlog of thousands stays queued for the next start."""
        dispatcher: Dispatcher | None = self.bot_data["deps"].extras.get("dispatcher")
        if dispatcher is not None:
            dispatcher.request_stop()
        await super().stop()
        if dispatcher is not None:
            await dispatcher.stop()


def build_application(deps: Deps, *, updater: bool = True) -> Application:
    cap_polling_logs()
    processor = PerUserUpdateProcessor()
    builder = (
        ApplicationBuilder()
        .application_class(LvzhiApplication)
        .token(deps.settings.telegram_bot_token)
        .base_url(deps.settings.telegram_api_base_url)
        .base_file_url(deps.settings.telegram_api_file_url)
        .defaults(Defaults(tzinfo=deps.settings.tz))
        .concurrent_updates(processor)
        .connection_pool_size(64)
        .get_updates_request(
            PacedUpdatesRequest(lambda: processor.current_concurrent_updates, read_timeout=35,
                                keep=Inbox(deps.db).keep)
        )
    )
    if not updater:
        builder = builder.updater(None)
    app = builder.persistence(DatabasePersistence(deps.db)).build()
    app.bot_data["deps"] = deps
    gate.register(app)  # private chats, edits and groups: decided before any feature sees the update
    for name in FEATURES:
        importlib.import_module(name).register(app)
    onboarding.register_fallback(app)
    link_dialogs(app)
    app.add_error_handler(errors.on_error)
    return app


async def housekeeping_job(deps: Deps) -> None:
    """Prune the plumbing tables (`bot.housekeeping`), then re-read which updates were handled."""
    retention = timedelta(days=deps.settings.outbox_retention_days)
    async with deps.db.session() as session:
        await housekeeping.prune(session, now=deps.clock.now(), outbox_retention=retention)
    await dedupe.journal_of(deps).load(deps.db)


async def _on_startup(app: Application) -> None:
    deps: Deps = app.bot_data["deps"]
    await housekeeping_job(deps)  # before the handled updates are read: an old id must not hide a new update
    await Inbox(deps.db).replay(app)  # what a stopped process received and did not handle, first
    recall_dialog_use(app)
    if rearmed := rearm_dialog_timeouts(app):
        log.info("%d open dialog(s) will time out as they would have without the restart", rearmed)
    lang = deps.settings.locale
    # Strangers see only /start and /help; members get their own list per chat when they bind.
    await app.bot.set_my_commands(bot_commands(None, lang))
    await app.bot.set_my_commands(bot_commands(None, "en"), language_code="en")
    # Quiet hours hold back reminders (kind "reminder") that fall due at night, e.g. after a restart.
    dispatcher = Dispatcher(deps.db, app.bot, deps.clock, quiet=parse_quiet_hours(deps.settings.quiet_hours),
                            zone=deps.settings.tz)
    deps.extras["dispatcher"] = dispatcher
    recovered = await dispatcher.recover()
    if recovered:
        log.info("outbox: %d message(s) were in flight at the last stop; sending again", recovered)
    assert app.job_queue is not None
    # Few, fixed jobs. A missed dispatch tick is worthless (the next one sends the same rows),
    # so runs coalesce and a late one is skipped rather than piled up.
    app.job_queue.run_repeating(lambda _ctx: dispatcher.run_once(), interval=DISPATCH_INTERVAL_SECONDS,
                                first=0.1, name="outbox-dispatch",
                                job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 5})
    app.job_queue.run_daily(lambda _ctx: housekeeping_job(deps), time=HOUSEKEEPING_AT.replace(tzinfo=deps.settings.tz),
                            name="housekeeping", job_kwargs={"coalesce": True, "misfire_grace_time": 3600})
    for hook in STARTUP_HOOKS:
        await hook(app)
    settle_garbage_collector()


def settle_garbage_collector() -> None:
    """Keep the collector's full passes short once everything is loaded.

    A full collection walks every tracked object; with the libraries' hundreds of thousands of
    start-up objects that stopped the loop for up to ~100 ms, several times a minute under load
    (every member waiting). Objects alive after start-up live as long as the process, so they are
    frozen out of the collector's walks.
    """
    gc.collect()
    gc.freeze()


def make_deps(settings: Settings, db: Database, clock: Clock | None = None) -> Deps:
    """Raises RulesError for a broken rules file (start-up stops with file, line and reason)."""
    return Deps(settings=settings, db=db, clock=clock or Clock(), rules=load_rules(settings.rules_path))


@asynccontextmanager
async def running(deps: Deps, *, poll_timeout: int = 10) -> AsyncIterator[Application]:
    """Start the bot (polling, jobs) for the duration of the block; used everywhere but `run`."""
    app = build_application(deps)
    async with app:
        await _on_startup(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout,
                                        allowed_updates=Update.ALL_TYPES)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def run(settings: Settings) -> None:
    """`lvzhi run`: see `bot.telegram.runtime` (migrate, wait to be the active process, serve)."""
    from bot.telegram.runtime import run as serve

    serve(settings)


__all__ = ["FEATURES", "STARTUP_HOOKS", "build_application", "make_deps", "open_database", "run", "running"]
