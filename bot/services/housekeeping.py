"""Housekeeping: the plumbing tables do not grow forever. Run daily (a fixed job) and at start-up.

- Handled update ids are kept 2 days: long enough to skip Telegram's redeliveries after a crash
  (it keeps undelivered updates for 24 hours), short enough that an old id cannot collide with a
  new one — after a week without updates Telegram may start update ids afresh, and an id still on
  record would make the new update be skipped as "handled". The start-up run comes before the
  record is read, so a bot that was down for weeks starts clean.
- Received updates (the inbox) go once handled, and unhandled ones after the same 2 days.
- Outbox rows that are done with (sent, dropped, failed, uncertain) go after OUTBOX_RETENTION_DAYS,
  counted from their last attempt, but never while they can still matter: a row whose `expires_at`
  is ahead (an event's invitation, an open deadline's reminder) stays, because its dedupe key is
  what keeps the message from being queued twice. Pending rows always stay.
- Wrong invite codes count for a lockout within an hour; rows older than a day go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from models import BindFailure, Outbox, ProcessedUpdate, UpdateInbox

log = logging.getLogger(__name__)

HANDLED_IDS_KEPT = timedelta(days=2)
BIND_FAILURES_KEPT = timedelta(days=1)
DONE_STATUSES = ("sent", "dropped", "failed", "uncertain")


@dataclass(frozen=True)
class Pruned:
    handled_updates: int
    outbox_rows: int
    bind_failures: int
    received_updates: int = 0


async def prune(session: AsyncSession, *, now: datetime, outbox_retention: timedelta) -> Pruned:
    """Delete what is no longer needed (see the module docstring); how many rows of each table went."""
    handled = await session.exec(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < to_db(now - HANDLED_IDS_KEPT))
    )
    last_attempt = func.coalesce(col(Outbox.sent_at), col(Outbox.claimed_at), col(Outbox.created_at))
    outbox = await session.exec(
        delete(Outbox).where(
            col(Outbox.status).in_(DONE_STATUSES),
            last_attempt < to_db(now - outbox_retention),
            or_(col(Outbox.expires_at).is_(None), col(Outbox.expires_at) < to_db(now)),
        )
    )
    failures = await session.exec(
        delete(BindFailure).where(col(BindFailure.at) < to_db(now - BIND_FAILURES_KEPT))
    )
    handled_ids = select(col(ProcessedUpdate.update_id))
    received = await session.exec(
        delete(UpdateInbox).where(
            or_(col(UpdateInbox.update_id).in_(handled_ids), col(UpdateInbox.received_at) < to_db(now - HANDLED_IDS_KEPT))
        )
    )
    pruned = Pruned(int(handled.rowcount or 0), int(outbox.rowcount or 0), int(failures.rowcount or 0),
                    int(received.rowcount or 0))
    if any((pruned.handled_updates, pruned.outbox_rows, pruned.bind_failures)):
        log.info(
            "housekeeping: removed %d handled update id(s), %d outbox row(s), %d wrong invite code(s)",
            pruned.handled_updates, pruned.outbox_rows, pruned.bind_failures,
        )  # fmt: skip
    return pruned
