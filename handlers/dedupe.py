"""Each update is handled once, and its dialog step is saved with it.

After a crash Telegram delivers again every update whose offset was not confirmed yet, so the ids
of handled updates are recorded and a repeat is skipped. The id and the dialog state the update
produced are written in one transaction at the update's end: one write per update.
"""

from __future__ import annotations

from collections import deque

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.clock import to_db
from bot.deps import Deps
from bot.persistence import DatabasePersistence, collecting
from handlers.common import Context, deps
from models import ProcessedUpdate
from models.db import Database

FIRST_GROUP = -100
LAST_GROUP = 100
RECENT = 10_000  # ids remembered in memory


class UpdateJournal:
    """Which updates were handled. Telegram's update ids grow, so only an id not above the highest
    one handled before this process started can be a redelivery; only those cost a database read."""

    def __init__(self) -> None:
        self.before_start = 0
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._recent_set: set[int] = set()

    async def load(self, db: Database) -> None:
        """Read the record (at start-up, and again after housekeeping pruned it: ids forgotten there
        are forgotten here too, so an id Telegram hands out afresh is never taken for a repeat)."""
        async with db.session() as session:
            self.before_start = (await session.exec(select(func.max(ProcessedUpdate.update_id)))).one() or 0
        self._recent.clear()
        self._recent_set.clear()

    def remember(self, update_id: int) -> None:
        if len(self._recent) == RECENT:
            self._recent_set.discard(self._recent[0])
        self._recent.append(update_id)
        self._recent_set.add(update_id)

    async def seen(self, db: Database, update_id: int) -> bool:
        if update_id in self._recent_set:
            return True
        if update_id > self.before_start:
            return False
        async with db.session() as session:
            return await session.get(ProcessedUpdate, update_id) is not None


def journal_of(d: Deps) -> UpdateJournal:
    return d.extras.setdefault("journal", UpdateJournal())


def journal(context: Context) -> UpdateJournal:
    return journal_of(deps(context))


async def skip_seen(update: Update, context: Context) -> None:
    """Stop here if this update id was handled before."""
    if await journal(context).seen(deps(context).db, update.update_id):
        raise ApplicationHandlerStop


async def finish_update(update: Update, context: Context) -> None:
    """Runs after every other group: save the dialog state and mark the update handled, together."""
    d = deps(context)
    persistence = context.application.persistence
    assert isinstance(persistence, DatabasePersistence)
    async with persistence.lock:
        token = collecting.set(True)
        try:
            await context.application.update_persistence()
        finally:
            collecting.reset(token)
        async with d.db.session() as session:
            await persistence.write_pending(session)
            insert = sqlite_insert if d.db.is_sqlite else pg_insert
            stmt = insert(ProcessedUpdate).values(update_id=update.update_id, processed_at=to_db(d.clock.now()))
            await session.exec(stmt.on_conflict_do_nothing(index_elements=["update_id"]))  # type: ignore[call-overload]
    journal(context).remember(update.update_id)


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, skip_seen), group=FIRST_GROUP)
    app.add_handler(TypeHandler(Update, finish_update), group=LAST_GROUP)
