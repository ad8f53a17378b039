"""Which updates were handled (the record `bot.telegram.dedupe` writes), kept in `Deps.journal`."""

from __future__ import annotations

from collections import deque

from sqlalchemy import func
from sqlmodel import select

from models import ProcessedUpdate
from models.db import Database

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
