"""Dialog state in the database: a member half-way through a report continues after a restart
or a SIGKILL. PTB flushes persistence on a timer; `flush_after_update` writes after every
update instead, so each completed step is on disk before the next message arrives."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput, TypeHandler
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.clock import utcnow
from handlers.common import Context
from models import DialogState
from models.db import Database

FLUSH_GROUP = 101  # after handlers.dedupe.LAST_GROUP


class DatabasePersistence(BasePersistence[dict, dict, dict]):
    """Conversation states and user_data as JSON rows of `dialog_state`.

    bot_data holds live objects (the database engine) and chat_data is unused, so neither is stored.
    """

    def __init__(self, db: Database) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                                     callback_data=False), update_interval=60)
        self.db = db
        self._written: dict[str, str] = {}  # key -> JSON last written, to skip writes that change nothing

    async def _rows(self, prefix: str) -> list[DialogState]:
        async with self.db.session() as session:
            query = select(DialogState).where(col(DialogState.key).startswith(prefix))
            rows = list((await session.exec(query)).all())
        for row in rows:
            self._written[row.key] = json.dumps(row.data, sort_keys=True, ensure_ascii=False)
        return rows

    async def _put(self, key: str, data: Any) -> None:
        encoded = json.dumps(data, sort_keys=True, ensure_ascii=False)
        if self._written.get(key) == encoded:
            return
        async with self.db.session() as session:
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            stmt = insert(DialogState).values(key=key, data=data, updated_at=utcnow())
            stmt = stmt.on_conflict_do_update(index_elements=["key"],
                                              set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
            await session.exec(stmt)  # type: ignore[call-overload]
        self._written[key] = encoded

    async def _drop(self, key: str) -> None:
        # Every stored row was loaded at start-up, so a key never written has no row to delete.
        if key in self._written:
            async with self.db.session() as session:
                await session.exec(delete(DialogState).where(col(DialogState.key) == key))  # type: ignore[call-overload]
        self._written.pop(key, None)

    @staticmethod
    def _conv_key(name: str, key: ConversationKey) -> str:
        return f"conv:{name}:{json.dumps(list(key) if isinstance(key, tuple) else key)}"

    async def get_conversations(self, name: str) -> ConversationDict:
        prefix = f"conv:{name}:"
        result: ConversationDict = {}
        for row in await self._rows(prefix):
            raw = json.loads(row.key[len(prefix):])
            result[tuple(raw) if isinstance(raw, list) else raw] = row.data.get("state")
        return result

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        row_key = self._conv_key(name, key)
        if new_state is None:
            await self._drop(row_key)
        else:
            await self._put(row_key, {"state": new_state})

    async def get_user_data(self) -> dict[int, dict]:
        return {int(row.key.removeprefix("user:")): dict(row.data) for row in await self._rows("user:")}

    async def update_user_data(self, user_id: int, data: dict) -> None:
        if data:
            await self._put(f"user:{user_id}", data)
        else:
            await self._drop(f"user:{user_id}")

    async def drop_user_data(self, user_id: int) -> None:
        await self._drop(f"user:{user_id}")

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
        pass  # every write already went to the database


async def flush_after_update(update: Update, context: Context) -> None:
    """Write the dialog step that just completed."""
    await context.application.update_persistence()


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, flush_after_update), group=FLUSH_GROUP)
