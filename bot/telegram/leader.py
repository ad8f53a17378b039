"""Which process is the active one.

python-telegram-bot reads dialog states once, at start, and APScheduler's jobs must run in one
process, so two active processes would diverge. On PostgreSQL the active process holds an advisory
lock on a connection of its own; any other `lvzhi run` waits as the standby (migrated, connected,
answering /healthz, 503 on /readyz) and tries for the lock every STANDBY_POLL_SECONDS. PostgreSQL
releases the lock when the holder's connection ends — the process died, or its connection broke —
and a standby takes it. The active process checks its lock connection every WATCH_SECONDS; when the
connection breaks it has lost the lock (a standby may hold it by now) and stops (`lost`).

On SQLite there is no standby: a second `lvzhi run` on the same file refuses to start
(`AlreadyRunning`), found by an exclusive lock on a file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bot.core.config import Settings
from bot.telegram.health import Health
from models.db import Database

log = logging.getLogger(__name__)

LOCK_KEY = 0x6C767A6869  # "lvzhi"; advisory locks are per database, so one key serves every deployment
STANDBY_POLL_SECONDS = 0.25
WATCH_SECONDS = 1.0


class AlreadyRunning(Exception):
    """Another process runs on this SQLite database; the argument is its file."""


@dataclass
class Lead:
    """Held while this process is the active one; `lost` is set when the lock's connection broke."""

    lost: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def leadership(settings: Settings, db: Database, health: Health,
                     stop: asyncio.Event) -> AsyncIterator[Lead | None]:  # fmt: skip
    """Wait to be the active process; yields None when `stop` came first."""
    if db.is_sqlite:
        with sqlite_sole_process(db.url):
            yield Lead()
        return
    # TCP keepalives: a server that went away is noticed within about 10 s
    conninfo = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, application_name="lvzhi-leader",
                                                 keepalives=1, keepalives_idle=5, keepalives_interval=2,
                                                 keepalives_count=2)  # fmt: skip
    try:
        health.role = "standby"
        waited = False
        while not await _try_lock(conn):
            if not waited:
                log.info("standby: another lvzhi process is active; taking over when it stops")
                waited = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STANDBY_POLL_SECONDS)
            if stop.is_set():
                yield None
                return
        if waited:
            log.info("took over as the active process")
        health.role = "active-starting"
        lead = Lead()
        watch = asyncio.create_task(_watch(conn, lead))
        try:
            yield lead
        finally:
            watch.cancel()
            with contextlib.suppress(BaseException):
                await watch
    finally:
        with contextlib.suppress(Exception):
            await conn.close()  # the lock goes with the connection


async def _try_lock(conn: psycopg.AsyncConnection) -> bool:
    cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _watch(conn: psycopg.AsyncConnection, lead: Lead) -> None:
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        try:
            async with asyncio.timeout(WATCH_SECONDS * 5):
                await conn.execute("SELECT 1")
        except Exception as exc:
            log.error("the leadership connection broke (%s); this process stops being the active one",
                      type(exc).__name__)  # fmt: skip
            lead.lost.set()
            return


@contextlib.contextmanager
def sqlite_sole_process(url: str):  # type: ignore[no-untyped-def]
    """Hold an exclusive lock on `<database>.lock` for the block; AlreadyRunning when another has it."""
    database = make_url(url).database
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).resolve()
    with open(f"{path}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
