"""Each update is handled once, and what it changed is saved with it.

After a crash Telegram delivers again every update whose offset was not confirmed yet, so the ids
of handled updates are recorded and a repeat is skipped. The id and the dialog states and data the
update produced for its person are written in one transaction at the update's end (`finish_update`,
called by `bot.telegram.app.LvzhiApplication` once the handlers ran): one write per update.
"""

from __future__ import annotations

import logging
from collections import deque

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application

from bot.core.clock import to_db
from bot.telegram.deps import Deps
from bot.telegram.persistence import DatabasePersistence
from models import ProcessedUpdate
from models.db import Database

log = logging.getLogger(__name__)
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


async def finish_update(app: Application, update: Update) -> None:
    """Save the dialog states and data of the update's person and mark the update handled, together.
    A failed save is logged and kept: it is written with the person's next update."""
    d: Deps = app.bot_data["deps"]
    persistence = app.persistence
    assert isinstance(persistence, DatabasePersistence)

    async def mark_handled(session: AsyncSession) -> None:
        insert = sqlite_insert if d.db.is_sqlite else pg_insert
        stmt = insert(ProcessedUpdate).values(update_id=update.update_id, processed_at=to_db(d.clock.now()))
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["update_id"]))  # type: ignore[call-overload]

    user = update.effective_user
    try:
        await persistence.save(app, user.id if user else None, also=mark_handled)
    except Exception as exc:
        log.warning("update %s: saving its dialog state failed (%s); it is saved with the next one",
                    update.update_id, type(exc).__name__)  # fmt: skip
        return
    journal_of(d).remember(update.update_id)
