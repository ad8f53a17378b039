"""Dialog state in the database: a member half-way through a report continues after a restart
or a SIGKILL.

PTB flushes persistence on a timer; here the state of every update is written when the update has
been handled, together with the update's id (handlers/dedupe.py), in one transaction, so each
completed step is on disk before the member's next message is processed.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from datetime import UTC
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.clock import utcnow
from models import DialogState
from models.db import Database

# Set while an update's end collects its changes; outside it (PTB's timer, a conversation timeout
# job) changes are written straight away.
collecting: contextvars.ContextVar[bool] = contextvars.ContextVar("collecting", default=False)


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Conversation states and user_data as JSON rows of `dialog_state`.

    bot_data holds live objects (the database engine) and chat_data is unused, so neither is stored.
    Changes are buffered and written by `write_pending`; `lock` orders those writes so that an older
    state can never overwrite a newer one.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                     callback_data=False), update_interval=60)
        self.db = db
        self.lock = asyncio.Lock()
        self._written: dict[str, str] = {}  # key -> JSON last written, to skip writes that change nothing
        self._pending: dict[str, Any] = {}  # key -> data to write, None to delete
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
        if not collecting.get():
            asyncio.get_running_loop().create_task(self.flush())

    async def write_pending(self, session: AsyncSession) -> None:
        """Write what changed since the last call, in the caller's transaction."""
        pending, self._pending = self._pending, {}
        gone = [key for key, data in pending.items() if data is None and self._written.pop(key, None) is not None]
        # Every stored row was loaded at start-up, so a key never written has no row to delete.
        if gone:
            await session.exec(delete(DialogState).where(col(DialogState.key).in_(gone)))  # type: ignore[call-overload]
        changed: list[dict] = []
        for key, data in pending.items():
            if data is None:
                continue
            encoded = json.dumps(data, sort_keys=True, ensure_ascii=False)
            if self._written.get(key) != encoded:
                changed.append({"key": key, "data": data, "updated_at": utcnow()})
                self._written[key] = encoded
        if changed:
            # One statement for all rows (a step usually changes the conversation and the user data).
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = insert(DialogState).values(changed)
            stmt = stmt.on_conflict_do_update(index_elements=["key"],
                                              set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
            await session.exec(stmt)  # type: ignore[call-overload]

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

    async def flush(self) -> None:
        """Write anything still buffered (PTB calls this at shutdown)."""
        async with self.lock:
            if self._pending:
                async with self.db.session() as session:
                    await self.write_pending(session)
