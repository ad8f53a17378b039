"""The update inbox: every update is stored as it arrives, before Telegram learns it arrived.

Telegram forgets an update once it is confirmed: by the next getUpdates' offset (which
python-telegram-bot sends as soon as it has queued a batch, before handling it) or by the webhook's
200. So the request object of the long poll (`bot.telegram.http.PacedUpdatesRequest`) and the
webhook (`bot.telegram.web`) store each update here first; at start-up (and when a standby takes
over) the stored updates that are not in `processed_update` yet are handed to the Application again,
oldest first. An update that was being handled when a process died is handled by the next one; one
that keeps killing the process is given up after MAX_REPLAYS starts, with a line naming its id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from telegram import Update
from telegram.ext import Application

from bot.core.clock import utcnow
from models import ProcessedUpdate, UpdateInbox
from models.db import Database

log = logging.getLogger(__name__)

MAX_REPLAYS = 3


class Inbox:
    """Store and replay updates of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        insert = sqlite_insert if db.is_sqlite else pg_insert
        self._insert = (insert(UpdateInbox).on_conflict_do_nothing(index_elements=["update_id"])
                        .returning(col(UpdateInbox.update_id)))  # fmt: skip
        self._waiting: list[tuple[dict, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def keep_one(self, update: dict) -> bool:
        """Store one update (the webhook's); True if it is new. Updates posted while a write is
        under way are written together by the next one: a transaction for every post would make
        each post wait for the one before it (SQLite has one writer)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                new = await self.keep(posted for posted, _ in batch)
            except Exception as exc:  # every post of the batch is answered "not stored"
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for posted, future in batch:
                if not future.done():
                    future.set_result(posted["update_id"] in new)
                    new.discard(posted["update_id"])  # the same update twice in a batch: new once

    async def keep(self, updates: Iterable[dict]) -> set[int]:
        """Store updates as received (JSON objects with an `update_id`); the ids that were new.
        Raises when the database cannot take them: the caller must then not confirm them."""
        now = utcnow()
        rows = [{"update_id": u["update_id"], "payload": u, "received_at": now, "replays": 0}
                for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]  # fmt: skip
        if not rows:
            return set()
        # a plain connection, not an ORM session: this runs for every post and every batch, and the
        # session's bookkeeping cost more than the insert (the webhook's 200 waits for it)
        async with self.db.engine.begin() as conn:
            result = await conn.execute(self._insert, rows)
            return {row[0] for row in result.all()}

    async def unhandled(self) -> list[dict]:
        """Stored updates not handled yet, oldest first; each one counts a replay."""
        async with self.db.session() as session:
            handled = select(ProcessedUpdate.update_id).where(
                col(ProcessedUpdate.update_id) == col(UpdateInbox.update_id)
            )
            rows = list((await session.exec(
                select(UpdateInbox).where(~handled.exists()).order_by(col(UpdateInbox.update_id))
            )).all())  # fmt: skip
            given_up = [r.update_id for r in rows if r.replays >= MAX_REPLAYS]
            for update_id in given_up:
                log.error("update %s was handed on at %d starts and never finished; it is given up",
                          update_id, MAX_REPLAYS)  # fmt: skip
            if given_up:
                session.add_all(ProcessedUpdate(update_id=i) for i in given_up)
            again = [r for r in rows if r.replays < MAX_REPLAYS]
            if again:
                await session.exec(
                    update(UpdateInbox)
                    .where(col(UpdateInbox.update_id).in_([r.update_id for r in again]))
                    .values(replays=col(UpdateInbox.replays) + 1)
                )
            return [r.payload for r in again]

    async def replay(self, app: Application) -> int:
        """Queue the stored, unhandled updates for `app` (before it starts taking new ones)."""
        from bot.telegram.http import readable

        payloads = await self.unhandled()
        for data in readable(payloads):
            await app.update_queue.put(Update.de_json(data, app.bot))
        if payloads:
            log.info("%d update(s) received before the last stop were not handled yet; handling them now",
                     len(payloads))  # fmt: skip
        return len(payloads)
