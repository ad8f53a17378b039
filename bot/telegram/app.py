"""The python-telegram-bot Application and the plumbing every feature relies on: the life of one
update, the outbox dispatcher, housekeeping, the command lists. It knows no feature: the
composition root (`bot.assemble`) passes in the function that registers the handlers."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import time, timedelta
from time import perf_counter
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.core.schedule import parse_quiet_hours
from bot.services import housekeeping
from bot.telegram import dedupe, metrics, presses
from bot.telegram.commands import bot_commands
from bot.telegram.deps import Deps
from bot.telegram.dispatcher import Dispatcher
from bot.telegram.http import PacedUpdatesRequest, cap_polling_logs
from bot.telegram.inbox import Inbox
from bot.telegram.persistence import DatabasePersistence
from bot.telegram.processing import PerUserUpdateProcessor
from bot.telegram.ui import CONTEXT_TYPES, DEPS_KEY

log = logging.getLogger(__name__)

DISPATCH_INTERVAL_SECONDS = 1.0
HOUSEKEEPING_AT = time(4, 0)  # local time, daily: a quiet hour


class LvzhiApplication(Application):
    """PTB's Application with the life of one update in one place: a redelivery is skipped; the
    handlers run; a button press nobody answered is answered (bot/telegram/presses.py); what the update
    changed for its person is saved with its id, in one transaction (bot/telegram/dedupe.py). And a
    shutdown that does not wait for the outbox's backlog."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # ids of the updates being handled: one replayed from the inbox may be fetched again
        # before Telegram had it confirmed
        self._in_hand: set[int] = set()

    async def process_update(self, update: object) -> None:
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        d: Deps = self.bot_data["deps"]
        in_hand = self._in_hand
        if update.update_id in in_hand or await d.journal.seen(d.db, update.update_id):
            return
        persistence = self.persistence
        assert isinstance(persistence, DatabasePersistence)
        user = update.effective_user
        in_hand.add(update.update_id)
        kind, started = metrics.update_type(update), perf_counter()
        try:
            with persistence.updating(user.id if user else None), presses.pressing(update):
                await super().process_update(update)  # PTB marks the person's data for saving at its end
                await presses.answer_if_unanswered(update)
                await dedupe.finish_update(self, update)
        finally:
            in_hand.discard(update.update_id)
            metrics.UPDATES.labels(kind).inc()
            metrics.UPDATE_SECONDS.labels(kind).observe(perf_counter() - started)

    async def stop(self) -> None:
        """The outbox stops first: PTB's `stop()` waits for the running jobs, so the dispatcher is
        told to start no more sends before, and the sends under way are waited for (and recorded)
        after. A backlog of thousands stays queued for the next start."""
        deps: Deps = self.bot_data["deps"]
        dispatcher = deps.dispatcher
        if dispatcher is not None:
            dispatcher.request_stop()
        await super().stop()
        if dispatcher is not None:
            await dispatcher.stop()


def new_application(deps: Deps, register: Callable[[Application], None], *, updater: bool = True) -> Application:
    """The Application for `deps`; `register(app)` adds the handlers (the composition root's)."""
    cap_polling_logs()
    processor = PerUserUpdateProcessor()
    builder = (
        ApplicationBuilder()
        .application_class(LvzhiApplication)
        .context_types(CONTEXT_TYPES)  # handlers get `context.deps` (bot.telegram.ui.Context)
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
    late_jobs_still_run(app)
    app.bot_data[DEPS_KEY] = deps
    register(app)
    return app


def late_jobs_still_run(app: Application) -> None:
    """APScheduler skips a job that starts more than a second late (its default misfire grace):
    on a busy machine a start-up sweep, a reminder or a dialog's timeout would silently not run.
    Every job runs however late, once (missed runs coalesce), unless it says otherwise. (Through
    `scheduler_configuration`, as PTB's JobQueue documentation asks: `configure` replaces it.)"""
    queue = app.job_queue
    assert queue is not None
    queue.scheduler.configure(
        **queue.scheduler_configuration, job_defaults={"misfire_grace_time": None, "coalesce": True}
    )


async def housekeeping_job(deps: Deps) -> None:
    """Prune the plumbing tables (`bot.services.housekeeping`), then re-read which updates were handled."""
    retention = timedelta(days=deps.settings.outbox_retention_days)
    async with deps.db.session() as session:
        await housekeeping.prune(session, now=deps.clock.now(), outbox_retention=retention)
    await deps.journal.load(deps.db)


async def start_plumbing(app: Application) -> None:
    """At start-up, once the handlers' dialogs are back: the command lists, the outbox dispatcher
    (sending again what was in flight at the last stop) and the fixed jobs."""
    deps: Deps = app.bot_data["deps"]
    lang = deps.settings.locale
    # Strangers see only /start and /help; members get their own list per chat when they bind.
    await app.bot.set_my_commands(bot_commands(None, lang))
    await app.bot.set_my_commands(bot_commands(None, "en"), language_code="en")
    # Quiet hours hold back reminders (kind "reminder") that fall due at night, e.g. after a restart.
    dispatcher = Dispatcher(deps.db, app.bot, deps.clock, quiet=parse_quiet_hours(deps.settings.quiet_hours),
                            zone=deps.settings.tz)
    deps.dispatcher = dispatcher
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


def settle_garbage_collector() -> None:
    """Keep the collector's full passes short once everything is loaded.

    A full collection walks every tracked object; with the libraries' hundreds of thousands of
    start-up objects that stopped the loop for up to ~100 ms, several times a minute under load
    (every member waiting). Objects alive after start-up live as long as the process, so they are
    frozen out of the collector's walks.
    """
    gc.collect()
    gc.freeze()
