"""The outbox: every message the bot sends on its own initiative is a row with a unique
dedupe key, delivered by `Dispatcher` within Telegram's limits, once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.clock import Clock, to_db
from bot.i18n import t
from bot.members import mark_unreachable
from models import Member, Outbox
from models.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


async def enqueue(session: AsyncSession, *, dedupe_key: str, chat_id: int, text: str, now: datetime,
                  kind: str = "notice", member_id: int | None = None, send_after: datetime | None = None,
                  expires_at: datetime | None = None, reply_markup: dict | None = None,
                  method: str = "sendMessage", extra: dict[str, Any] | None = None) -> bool:
    """Queue one message; a second row with the same dedupe key is ignored. True if queued."""
    payload: dict[str, Any] = {"method": method, "text": text}
    if reply_markup:
        payload["reply_markup"] = reply_markup
    if extra:
        payload.update(extra)
    values = {
        "dedupe_key": dedupe_key, "kind": kind, "chat_id": chat_id, "member_id": member_id,
        "payload": payload, "status": "pending", "send_after": to_db(send_after or now),
        "expires_at": to_db(expires_at) if expires_at else None, "attempts": 0, "created_at": to_db(now),
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Outbox).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.exec(stmt)  # type: ignore[call-overload]
    return bool(result.rowcount)


async def notify_member(session: AsyncSession, member: Member, key: str, *, dedupe_key: str, now: datetime,
                        default_lang: str = "zh", kind: str = "notice", reply_markup: dict | None = None,
                        send_after: datetime | None = None, expires_at: datetime | None = None,
                        **params: object) -> bool:
    """Queue catalogue message `key` for a member, in their language. Skips the unbound and unreachable."""
    if member.telegram_user_id is None or not member.reachable or not member.active:
        return False
    text = t(key, member.language or default_lang, **params)
    return await enqueue(session, dedupe_key=dedupe_key, chat_id=member.telegram_user_id, text=text, now=now,
                         kind=kind, member_id=member.id, reply_markup=reply_markup, send_after=send_after,
                         expires_at=expires_at)


def _input_file(value: str) -> str | bytes:
    """Payloads are JSON: a file is a Telegram file_id or `file:<path>` of a file the bot wrote."""
    if value.startswith("file:"):
        return Path(value[5:]).read_bytes()
    return value


class RateLimiter:
    """Paces sends: at most `per_second` overall and one per `chat_interval` seconds per chat."""

    def __init__(self, per_second: float = 30, chat_interval: float = 1.0) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self._recent: deque[float] = deque()
        self._last_by_chat: dict[int, float] = {}

    def delay_for(self, chat_id: int) -> float:
        """Seconds to wait before a send to `chat_id` fits both limits (0 = now)."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        wait_global = 0.0 if len(self._recent) < self.per_second else 1.0 - (now - self._recent[0])
        last = self._last_by_chat.get(chat_id)
        wait_chat = 0.0 if last is None else max(0.0, self.chat_interval - (now - last))
        return max(wait_global, wait_chat)

    def record(self, chat_id: int) -> None:
        now = time.monotonic()
        self._recent.append(now)
        self._last_by_chat[chat_id] = now


class Dispatcher:
    """Sends due outbox rows. One instance per process; `run_once` is the APScheduler job."""

    def __init__(self, db: Database, bot: Bot, clock: Clock, limiter: RateLimiter | None = None,
                 batch: int = 200) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self.batch = batch
        self._lock = asyncio.Lock()

    async def recover(self) -> int:
        """After a crash, a row left 'sending' was the one in flight: send it again (at most one repeat)."""
        async with self.db.session() as session:
            result = await session.exec(
                update(Outbox).where(col(Outbox.status) == "sending").values(status="pending")  # type: ignore[call-overload]
            )
            return int(result.rowcount or 0)

    async def _due(self) -> list[Outbox]:
        now = to_db(self.clock.now())
        async with self.db.session() as session:
            query = (select(Outbox).where(col(Outbox.status) == "pending", col(Outbox.send_after) <= now)
                     .order_by(col(Outbox.send_after), col(Outbox.id)).limit(self.batch))
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list((await session.exec(query)).all())
            expired = [r for r in rows if r.expires_at is not None and r.expires_at <= now]
            for row in expired:
                row.status, row.last_error = "dropped", "expired before it could be sent"
                session.add(row)
                log.info("outbox %s dropped: expired", row.dedupe_key)
            return [r for r in rows if r not in expired]

    async def run_once(self) -> int:
        """Send what is due now; returns the number sent."""
        if self._lock.locked():
            return 0  # the previous run is still sending
        async with self._lock:
            sent = 0
            for row in await self._due():
                delay = self.limiter.delay_for(row.chat_id)
                if delay > 0:
                    await asyncio.sleep(delay)
                if await self._send(row):
                    sent += 1
            return sent

    async def _mark(self, row_id: int, **values: Any) -> None:
        async with self.db.session() as session:
            await session.exec(update(Outbox).where(col(Outbox.id) == row_id).values(**values))  # type: ignore[call-overload]

    async def _send(self, row: Outbox) -> bool:
        assert row.id is not None
        now = self.clock.now()
        # Claim before sending: after a SIGKILL only this row can be sent twice.
        await self._mark(row.id, status="sending", claimed_at=to_db(now), attempts=row.attempts + 1)
        self.limiter.record(row.chat_id)
        try:
            await self._call(row)
        except RetryAfter as exc:
            wait = exc.retry_after if isinstance(exc.retry_after, int | float) else exc.retry_after.total_seconds()
            await self._mark(row.id, status="pending", last_error=f"429 retry after {wait}",
                             send_after=to_db(now + timedelta(seconds=float(wait))))
            return False
        except Forbidden as exc:
            await self._forbidden(row, str(exc))
            return False
        except TimedOut as exc:
            # The message may well have arrived: do not repeat it blindly.
            log.warning("outbox %s timed out; not repeated", row.dedupe_key)
            await self._mark(row.id, status="uncertain", last_error=f"timeout: {exc}")
            return False
        except BadRequest as exc:
            log.warning("outbox %s refused: %s", row.dedupe_key, exc.message)
            await self._mark(row.id, status="failed", last_error=f"400 {exc.message}")
            return False
        except (NetworkError, TelegramError) as exc:
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await self._mark(row.id, status="failed", last_error=f"network: {exc}")
            else:
                backoff = timedelta(seconds=min(600, 2**attempts))
                await self._mark(row.id, status="pending", last_error=f"network: {exc}",
                                 send_after=to_db(now + backoff))
            return False
        await self._mark(row.id, status="sent", sent_at=to_db(self.clock.now()), last_error=None)
        return True

    async def _forbidden(self, row: Outbox, reason: str) -> None:
        async with self.db.session() as session:
            await session.exec(update(Outbox).where(col(Outbox.id) == row.id)  # type: ignore[call-overload]
                               .values(status="failed", last_error=f"403 {reason}"))
            await session.exec(update(Outbox).where(col(Outbox.chat_id) == row.chat_id,  # type: ignore[call-overload]
                                                    col(Outbox.status) == "pending")
                               .values(status="dropped", last_error="recipient blocked the bot"))
            await mark_unreachable(session, row.chat_id)
        log.info("outbox: chat of member %s blocked the bot; marked unreachable", row.member_id)

    async def _call(self, row: Outbox) -> None:
        payload = dict(row.payload)
        method = payload.pop("method", "sendMessage")
        text = payload.pop("text", "")
        raw_markup = payload.pop("reply_markup", None)
        markup = InlineKeyboardMarkup.de_json(raw_markup, self.bot) if raw_markup else None
        if method == "sendPhoto":
            await self.bot.send_photo(row.chat_id, photo=_input_file(payload["photo"]), caption=text or None,
                                      reply_markup=markup)
        elif method == "sendDocument":
            await self.bot.send_document(row.chat_id, document=_input_file(payload["document"]),
                                         caption=text or None, filename=payload.get("filename"),
                                         reply_markup=markup)
        else:
            await self.bot.send_message(row.chat_id, text, reply_markup=markup,
                                        parse_mode=payload.get("parse_mode"))
