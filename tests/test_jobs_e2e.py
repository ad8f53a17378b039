"""Jobs of the real application run even when they fall due while the machine is busy: a job that
starts late is run late, not skipped (APScheduler's default would drop it after one second)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import WAIT


@pytest.mark.one_database  # the job queue, not SQL
async def test_a_job_due_while_the_loop_was_busy_still_runs(bot_app) -> None:  # type: ignore[no-untyped-def]
    ran = asyncio.Event()

    async def job(_context) -> None:  # type: ignore[no-untyped-def]
        ran.set()

    bot_app.job_queue.run_once(job, when=0.05, name="late-job")  # no job_kwargs: the defaults decide
    # The cause, not a wait: the event loop is held (a long synchronous step) while the job falls due.
    time.sleep(1.6)  # noqa: ASYNC251
    await asyncio.wait_for(ran.wait(), WAIT)
