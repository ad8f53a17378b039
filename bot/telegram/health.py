"""What /healthz and /readyz report: the process is alive; it is ready to take Telegram's updates
when the database answers, the schema is at head, this process is the active one and its outbox
dispatcher ran within the last READY_DISPATCH_SECONDS. A standby is alive and not ready, so a proxy
routing by /readyz sends Telegram's requests to the active process only."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import func, text
from sqlmodel import col, select

from bot.core.clock import Clock, to_db
from models import Outbox
from models.db import Database, alembic_config

READY_DISPATCH_SECONDS = 10.0
PROBE_TIMEOUT = 3.0  # a database that takes longer than this to answer is not answering


@dataclass
class Readiness:
    ready: bool
    role: str  # "active", "standby" or "starting"
    database: bool
    schema_at_head: bool
    dispatcher_ran_seconds_ago: float | None
    outbox_backlog: int | None  # rows due (or being sent) and not sent yet
    oldest_due_seconds: float | None  # how long the oldest of them has been due

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Health:
    """Readiness of this process; `role` is set by the runtime (standby → active)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or Clock()
        self.role = "starting"
        self.dispatcher: Any = None  # bot.telegram.dispatcher.Dispatcher of the active process
        self._heads: set[str] | None = None  # read on the first probe, not at every start

    async def readiness(self) -> Readiness:
        database = schema = False
        backlog: int | None = None
        oldest: float | None = None
        try:
            async with asyncio.timeout(PROBE_TIMEOUT), self.db.session() as session:
                revisions = {r for (r,) in (await session.exec(text("SELECT version_num FROM alembic_version"))).all()}  # type: ignore[call-overload]
                database = True
                if self._heads is None:
                    self._heads = set(ScriptDirectory.from_config(alembic_config(self.db.url)).get_heads())
                schema = revisions == self._heads
                now = to_db(self.clock.now())
                due = (col(Outbox.status) == "sending") | (
                    (col(Outbox.status) == "pending") & (col(Outbox.send_after) <= now)
                )
                count, first = (await session.exec(
                    select(func.count(), func.min(col(Outbox.send_after))).where(due)
                )).one()  # fmt: skip
                backlog = int(count)
                oldest = max(0.0, (now - first).total_seconds()) if first is not None else None
        except Exception:  # any failure to answer: not ready (the body says which part)
            pass
        ran = self.dispatcher.last_run if self.dispatcher is not None else None
        ago = None if ran is None else round(time.monotonic() - ran, 3)
        ready = (database and schema and self.role == "active" and ago is not None
                 and ago <= READY_DISPATCH_SECONDS)  # fmt: skip
        return Readiness(ready, self.role, database, schema, ago, backlog, oldest)
