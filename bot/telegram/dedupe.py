"""Each update is handled once, and what it changed is saved with it.

After a crash Telegram delivers again every update whose offset was not confirmed yet, so the ids
of handled updates are recorded and a repeat is skipped. The id and the dialog states and data the
update produced for its person are written in one transaction at the update's end (`finish_update`,
called by `bot.telegram.app.LvzhiApplication` once the handlers ran): one write per update. Which
ids were handled is kept by `bot.telegram.journal.UpdateJournal` (`deps.journal`).
"""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import Application

from bot.core.clock import to_db
from bot.telegram.deps import Deps
from bot.telegram.persistence import DatabasePersistence
from models import ProcessedUpdate

log = logging.getLogger(__name__)

async def finish_update(app: Application, update: Update) -> None:
    """Save the dialog states and data of the update's person and mark the update handled, together.
    A failed save is logged and kept: it is written with the person's next update."""
    d: Deps = app.bot_data["deps"]
    persistence = app.persistence
    assert isinstance(persistence, DatabasePersistence)

    async def mark_handled(session: AsyncSession) -> None:
        insert = sqlite_insert if d.db.is_sqlite else pg_insert
        stmt = insert(ProcessedUpdate).values(update_id=update.update_id, processed_at=to_db(d.clock.now()))
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["update_id"]))

    user = update.effective_user
    try:
        await persistence.save(app, user.id if user else None, also=mark_handled)
    except Exception as exc:
        log.warning("update %s: saving its dialog state failed (%s); it is saved with the next one",
                    update.update_id, type(exc).__name__)  # fmt: skip
        return
    d.journal.remember(update.update_id)
