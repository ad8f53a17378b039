"""The outbox, queueing half: every message the bot sends on its own initiative is a row with a
unique dedupe key; a second row with the same key is ignored. Services queue here (plain data:
text, a reply markup as a dict); `bot.telegram.dispatcher.Dispatcher` delivers the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.i18n import t
from models import Member, Outbox


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    chat_id: int,
    text: str,
    now: datetime,
    kind: str = "notice",
    member_id: int | None = None,
    send_after: datetime | None = None,
    expires_at: datetime | None = None,
    reply_markup: dict | None = None,
    method: str = "sendMessage",
    extra: dict[str, Any] | None = None,
) -> bool:
    """Queue one message; a second row with the same dedupe key is ignored. True if queued."""
    payload: dict[str, Any] = {"method": method, "text": text}
    if reply_markup:
        payload["reply_markup"] = reply_markup
    if extra:
        payload.update(extra)
    values = {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "chat_id": chat_id,
        "member_id": member_id,
        "payload": payload,
        "status": "pending",
        "send_after": to_db(send_after or now),
        "expires_at": to_db(expires_at) if expires_at else None,
        "attempts": 0,
        "created_at": to_db(now),
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Outbox).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.exec(stmt)
    return bool(result.rowcount)


async def notify_member(
    session: AsyncSession,
    member: Member,
    key: str,
    *,
    dedupe_key: str,
    now: datetime,
    default_lang: str = "zh",
    kind: str = "notice",
    reply_markup: dict | None = None,
    send_after: datetime | None = None,
    expires_at: datetime | None = None,
    **params: object,
) -> bool:
    """Queue catalogue message `key` for a member, in their language. Skips the unbound and unreachable."""
    if member.telegram_user_id is None or not member.reachable or not member.active:
        return False
    text = t(key, member.language or default_lang, **params)
    return await enqueue(
        session,
        dedupe_key=dedupe_key,
        chat_id=member.telegram_user_id,
        text=text,
        now=now,
        kind=kind,
        member_id=member.id,
        reply_markup=reply_markup,
        send_after=send_after,
        expires_at=expires_at,
    )


@dataclass
class Queued:
    """One message for `enqueue_many` (many rows in a few statements, e.g. an event's reminders)."""

    dedupe_key: str
    chat_id: int
    text: str
    member_id: int | None = None
    kind: str = "notice"
    send_after: datetime | None = None
    expires_at: datetime | None = None
    reply_markup: dict | None = None


INSERT_CHUNK = 500  # keeps a multi-row INSERT under SQLite's bound-parameter limit


async def enqueue_many(session: AsyncSession, messages: list[Queued], *, now: datetime) -> int:
    """Queue many messages; rows whose dedupe key exists already are ignored. Returns how many were new."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    queued = 0
    for first in range(0, len(messages), INSERT_CHUNK):
        values = []
        for m in messages[first : first + INSERT_CHUNK]:
            payload: dict[str, Any] = {"method": "sendMessage", "text": m.text}
            if m.reply_markup:
                payload["reply_markup"] = m.reply_markup
            values.append(
                {
                    "dedupe_key": m.dedupe_key,
                    "kind": m.kind,
                    "chat_id": m.chat_id,
                    "member_id": m.member_id,
                    "payload": payload,
                    "status": "pending",
                    "send_after": to_db(m.send_after or now),
                    "expires_at": to_db(m.expires_at) if m.expires_at else None,
                    "attempts": 0,
                    "created_at": to_db(now),
                    "claimed_at": None,
                    "sent_at": None,
                    "last_error": None,
                }
            )
        if not values:
            continue
        # executemany (one compiled statement, batched by the driver); rowcount is not reliable
        # for it on every driver, so the new rows are counted by their returned ids
        stmt = insert(Outbox).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(Outbox.id))
        result = await session.exec(stmt, params=values)
        queued += len(result.all())
    return queued


async def drop_pending(
    session: AsyncSession,
    *,
    key_prefix: str,
    reason: str,
    member_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Withdraw queued, not yet sent rows whose dedupe key starts with `key_prefix` (e.g. an
    event's reminders after a cancellation). Returns how many were withdrawn."""
    stmt = update(Outbox).where(
        col(Outbox.status) == "pending", col(Outbox.dedupe_key).startswith(key_prefix, autoescape=True)
    )
    if member_id is not None:
        stmt = stmt.where(col(Outbox.member_id) == member_id)
    if kinds:
        stmt = stmt.where(col(Outbox.kind).in_(kinds))
    result = await session.exec(stmt.values(status="dropped", last_error=reason))
    return int(result.rowcount or 0)
