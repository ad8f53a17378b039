"""The idempotent sweeps the features schedule (deadline reminders, the 督 reminders of units, the
end of co-signing): once at start-up for what came due while the bot was down, then on a clock.
Missed runs coalesce into one; a sweep never runs twice at once."""

from __future__ import annotations

from typing import Any

from bot.telegram.ui import App

LATE_GRACE_SECONDS = 30 * 60  # an hourly sweep late by up to this much (the machine slept) still runs


def sweep_at_start_and_hourly(app: App, sweep: Any, name: str, *, minute: int) -> None:
    """`sweep` now and then every hour at `minute` (so a 09:00 reminder is planned at 09:00)."""
    job_queue = _started(app, sweep, name)
    job_queue.run_custom(sweep, name=name, job_kwargs={
        "trigger": "cron", "minute": minute, "coalesce": True, "max_instances": 1,
        "misfire_grace_time": LATE_GRACE_SECONDS,
    })  # fmt: skip


def sweep_at_start_and_every(app: App, sweep: Any, name: str, *, minutes: int) -> None:
    """`sweep` now and then every `minutes`, however late (a later run does the same work)."""
    job_queue = _started(app, sweep, name)
    job_queue.run_repeating(sweep, interval=minutes * 60, first=minutes * 60, name=name,
                            job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})  # fmt: skip


def _started(app: App, sweep: Any, name: str) -> Any:
    assert app.job_queue is not None
    # a late start (a loaded machine) still runs: APScheduler would skip it after 1 s
    app.job_queue.run_once(sweep, when=1, name=f"{name}-start")
    return app.job_queue
