"""Each update is handled once: ids of handled updates are recorded, a redelivery is skipped.

After a crash Telegram delivers again every update whose offset was not confirmed yet.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.clock import to_db
from handlers.common import Context, deps
from models import ProcessedUpdate

FIRST_GROUP = -100
LAST_GROUP = 100


async def skip_seen(update: Update, context: Context) -> None:
    """Stop here if this update id was handled before."""
    async with deps(context).db.session() as session:
        seen = await session.get(ProcessedUpdate, update.update_id)
    if seen is not None:
        raise ApplicationHandlerStop


async def mark_handled(update: Update, context: Context) -> None:
    """Runs after every other group, so an update is marked only once its handlers ran."""
    d = deps(context)
    async with d.db.session() as session:
        insert = sqlite_insert if d.db.is_sqlite else pg_insert
        stmt = insert(ProcessedUpdate).values(update_id=update.update_id, processed_at=to_db(d.clock.now()))
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["update_id"]))  # type: ignore[call-overload]


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, skip_seen), group=FIRST_GROUP)
    app.add_handler(TypeHandler(Update, mark_handled), group=LAST_GROUP)
