"""Dialog state in the database: a member half-way through a report continues after a restart
or a SIGKILL.

PTB flushes persistence on a timer and marks a user's data for saving only after all handlers ran.
Here, when an update of a person has been handled, what it changed for that person — the states of
their dialogs and their data (the drafts) — is written in one transaction with the update's id
(`save`, called by `bot.telegram.app.LvzhiApplication`): a step's state and its draft are never apart on
disk, and a failed write is kept and written again with the person's next save.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import Application, BasePersistence, PersistenceInput

from bot.core.clock import utcnow
from models import DialogState
from models.db import Database

log = logging.getLogger(__name__)

# The types of PTB's documented persistence signatures (its own aliases live in a private module,
# telegram.ext._utils.types, which a minor release may move).
ConversationKey = tuple[int | str, ...]
ConversationDict = MutableMapping[ConversationKey, object]

# Set while `save` collects an update's changes; outside it (PTB's timer, a job, shutdown) changes
# are written straight away by `flush`.
collecting: contextvars.ContextVar[bool] = contextvars.ContextVar("collecting", default=False)


def person_of(key: str) -> int | None:
    """The Telegram user a stored row belongs to: `user:<id>`, or the last part of a dialog's key
    (`conv:<name>:[chat, user]`)."""
    if key.startswith("user:"):
        return int(key.removeprefix("user:"))
    raw = json.loads(key.split(":", 2)[2])
    return int(raw[-1] if isinstance(raw, list) else raw)


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Conversation states and user_data as JSON rows of `dialog_state`.

    bot_data holds live objects (the database engine) and chat_data is unused, so neither is stored.
    Changes are buffered per row and written per person; `lock` orders the writes so that an older
    state can never overwrite a newer one.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                     callback_data=False), update_interval=60)
        self.db = db
        self.lock = asyncio.Lock()
        # key -> JSON as committed, to skip writes that change nothing; updated only after a commit
        self._written: dict[str, str] = {}
        self._pending: dict[str, Any] = {}  # key -> data to write, None to delete
        self._busy: Counter[int] = Counter()  # people with an update under way: that update writes them
        self._flush_scheduled = False
        # (dialog name, conversation key) -> when its state was last stored (epoch seconds): after
        # a restart, which open dialog a person used last (handlers.common.Dialog)
        self.conversation_used: dict[tuple[str, ConversationKey], float] = {}

    async def _rows(self, prefix: str) -> list[DialogState]:
        async with self.db.session() as session:
            query = select(DialogState).where(col(DialogState.key).startswith(prefix))
            rows = list((await session.exec(query)).all())
        for row in rows:
            self._written[row.key] = json.dumps(row.data, sort_keys=True, ensure_ascii=False)
        return rows

    def _stage(self, key: str, data: Any) -> None:
        self._pending[key] = data
        if not collecting.get() and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().create_task(self.flush())

    @contextmanager
    def updating(self, user_id: int | None) -> Iterator[None]:
        """While an update of `user_id` is handled, their rows wait for that update's `save`."""
        if user_id is None:
            yield
            return
        self._busy[user_id] += 1
        try:
            yield
        finally:
            self._busy[user_id] -= 1
            if not self._busy[user_id]:
                del self._busy[user_id]

    async def save(self, app: Application, user_id: int | None,
                   also: Callable[[AsyncSession], Awaitable[None]] | None = None) -> None:  # fmt: skip
        """Write what changed for `user_id` (their dialog states and their data) and run `also` in
        the same transaction. On failure nothing counts as written: it is tried again next time."""
        async with self.lock:
            token = collecting.set(True)
            try:
                if user_id is not None:  # a job (a dialog's timeout) changes user_data without marking it
                    app.mark_data_for_update_persistence(user_ids=user_id)
                await app.update_persistence()
            finally:
                collecting.reset(token)
            await self._write(lambda key: person_of(key) == user_id, also)

    async def save_idle(self, app: Application, user_id: int) -> None:
        """Save what a job (a dialog's timeout) changed for a person now, unless an update of theirs
        is under way: that update saves it, together with its own step."""
        if user_id not in self._busy:
            await self.save(app, user_id)

    async def flush(self) -> None:
        """Write what changed outside an update (PTB's timer, a job, the shutdown); a person with an
        update under way is written by that update."""
        self._flush_scheduled = False
        async with self.lock:
            try:
                await self._write(lambda key: person_of(key) not in self._busy)
            except Exception as exc:  # kept in memory and written with the next save
                log.warning("writing dialog states failed (%s); will try again", type(exc).__name__)

    async def _write(self, wanted: Callable[[str], bool],
                     also: Callable[[AsyncSession], Awaitable[None]] | None = None) -> None:  # fmt: skip
        batch = {key: data for key, data in self._pending.items() if wanted(key)}
        if not batch and also is None:
            return
        for key in batch:
            del self._pending[key]
        try:
            async with self.db.session() as session:
                stored = await self._write_rows(session, batch)
                if also is not None:
                    await also(session)
        except BaseException:
            for key, data in batch.items():  # unless a newer change came meanwhile
                self._pending.setdefault(key, data)
            raise
        for key, encoded in stored.items():  # committed: now they count as written
            if encoded is None:
                self._written.pop(key, None)
            else:
                self._written[key] = encoded

    async def _write_rows(self, session: AsyncSession, batch: dict[str, Any]) -> dict[str, str | None]:
        """The statements for `batch`, in the caller's transaction; what they store, by key."""
        stored: dict[str, str | None] = {}
        # Every stored row was loaded at start-up, so a key never written has no row to delete.
        gone = [key for key, data in batch.items() if data is None and key in self._written]
        if gone:
            await session.exec(delete(DialogState).where(col(DialogState.key).in_(gone)))
            stored.update(dict.fromkeys(gone))
        changed: list[dict] = []
        for key, data in batch.items():
            if data is None:
                continue
            encoded = json.dumps(data, sort_keys=True, ensure_ascii=False)
            if self._written.get(key) != encoded:
                changed.append({"key": key, "data": data, "updated_at": utcnow()})
                stored[key] = encoded
        if changed:
            # One statement for all rows (a step usually changes the conversation and the user data).
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = insert(DialogState).values(changed)
            stmt = stmt.on_conflict_do_update(index_elements=["key"],
                                              set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
            await session.exec(stmt)
        return stored

    @staticmethod
    def _conv_key(name: str, key: ConversationKey) -> str:
        return f"conv:{name}:{json.dumps(list(key) if isinstance(key, tuple) else key)}"

    async def get_conversations(self, name: str) -> ConversationDict:
        prefix = f"conv:{name}:"
        result: ConversationDict = {}
        for row in await self._rows(prefix):
            raw = json.loads(row.key[len(prefix):])
            key = tuple(raw) if isinstance(raw, list) else raw
            result[key] = row.data.get("state")
            self.conversation_used[(name, key)] = row.updated_at.replace(tzinfo=UTC).timestamp()
        return result

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        self._stage(self._conv_key(name, key), None if new_state is None else {"state": new_state})

    async def get_user_data(self) -> dict[int, dict]:
        return {int(row.key.removeprefix("user:")): dict(row.data) for row in await self._rows("user:")}

    async def update_user_data(self, user_id: int, data: dict) -> None:
        self._stage(f"user:{user_id}", data or None)

    async def drop_user_data(self, user_id: int) -> None:
        self._stage(f"user:{user_id}", None)

    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data: Any) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass
