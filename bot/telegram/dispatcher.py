"""The outbox's dispatcher: delivers the rows `bot.services.outbox` queued (every message the bot
sends on its own initiative, each with a unique dedupe key) within Telegram's limits, once.

Row statuses: pending → sending (claimed, request in flight) → sent; or failed (403, other 400s,
too many network errors), dropped (expired, withdrawn, recipient blocked the bot), uncertain (the
request timed out after reaching Telegram: maybe delivered, so not repeated).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Update, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col, select
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

from bot.core.clock import Clock, from_db, to_db
from bot.core.schedule import QuietHours
from bot.services.members import mark_unreachable
from bot.telegram import metrics
from models import Outbox
from models.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RUN_SECONDS = 0.9  # a scheduled run starts sends this long; the job comes back every second
CATCH_UP = 4  # sends a late start may catch up on (the window check still bounds every second)
NEVER_SENT = (httpx.ConnectTimeout, httpx.PoolTimeout)  # a timeout before the request left: safe to repeat


def _seconds(exc: RetryAfter) -> float:
    """retry_after in seconds (PTB is moving it from int to timedelta and warns on reading it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return float(value) if isinstance(value, int | float) else value.total_seconds()


def _input_file(value: str) -> str | bytes:
    """Payloads are JSON: a file is a Telegram file_id or `file:<path>` of a file the bot wrote."""
    if value.startswith("file:"):
        return Path(value[5:]).read_bytes()
    return value


@dataclass
class _Slot:
    chat_id: int
    start: float
    end: float | None = None  # None while the request is in flight


class RateLimiter:
    """Paces sends to ≤ `per_second` overall and one per `chat_interval` per chat.

    Telegram (and the emulator) count a message when they process it, somewhere between our
    request's start and its answer. So the limits are kept against *answers*: a send may start
    only `window` seconds after the send `per_second` places before it was answered, and a
    chat's next send only `chat_interval` after its previous one was answered. Sends are also
    spread evenly (1/per_second apart) rather than fired in bursts. Monotonic time, in seconds.
    """

    def __init__(
        self,
        per_second: float = 30,
        chat_interval: float = 1.0,
        *,
        window: float = 1.0,
        margin: float = 0.002,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.window = window
        self.margin = margin
        self.clock = clock
        self.spacing = 1.0 / per_second
        self._recent: deque[_Slot] = deque(maxlen=max(1, int(per_second)))
        self._next_start = -math.inf  # the even-spacing schedule
        self._chat_end: dict[int, float] = {}
        self._busy: set[int] = set()
        self._paused_until = -math.inf

    def ready_at(self, chat_id: int) -> float | None:
        """Earliest moment a send to `chat_id` fits; None while it must wait for a send in flight."""
        if chat_id in self._busy:
            return None
        moment = max(self._paused_until, self._next_start)
        last = self._chat_end.get(chat_id)
        if last is not None:
            moment = max(moment, last + self.chat_interval + self.margin)
        if len(self._recent) == self._recent.maxlen:
            oldest = self._recent[0]
            if oldest.end is None:
                return None
            moment = max(moment, oldest.end + self.window + self.margin)
        return moment

    def start(self, chat_id: int) -> _Slot:
        slot = _Slot(chat_id, self.clock())
        self._recent.append(slot)
        # Keep to the schedule: a send started a little late (claiming its row took a few ms, the
        # loop was busy) does not push every later one back; the window check bounds any second.
        late = slot.start - self._next_start
        self._next_start = (self._next_start if late < CATCH_UP * self.spacing else slot.start) + self.spacing
        self._busy.add(chat_id)
        return slot

    def finish(self, slot: _Slot) -> None:
        slot.end = self.clock()
        self._busy.discard(slot.chat_id)
        self._chat_end[slot.chat_id] = slot.end
        if len(self._chat_end) > 10_000:  # forget chats whose interval has long passed
            horizon = slot.end - self.chat_interval - 1
            self._chat_end = {c: t for c, t in self._chat_end.items() if t > horizon}

    def pause(self, seconds: float) -> None:
        """After a 429: nothing starts for `seconds`, as Telegram asks."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def delay_for(self, chat_id: int) -> float:
        """Seconds to wait before a send to `chat_id` fits (0 = now; a guess while one is in flight)."""
        ready = self.ready_at(chat_id)
        if ready is None:
            return self.chat_interval
        return max(0.0, ready - self.clock())

    def record(self, chat_id: int) -> None:
        """A send that has already been answered (for callers that send on their own)."""
        self.finish(self.start(chat_id))


class OwnConnection:
    """The dispatcher's own database connection, in autocommit: each statement commits by itself in
    one round trip (no BEGIN/COMMIT, no pool checkout or ping; on PostgreSQL without waiting for the
    disk). Marking a row sent is all that stands between Telegram's answer and safety from a kill
    that would repeat the message, so it is one statement on a connection that is already open.
    Statements take turns (one connection); one whose connection broke is tried once more on a new
    one (the updates are idempotent)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._conn: AsyncConnection | None = None
        self._turn = asyncio.Lock()

    async def execute(self, statement: Update) -> int:
        """Run `statement`; the number of rows it changed."""
        async with self._turn:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = await self._connect()
                try:
                    return int((await self._conn.execute(statement)).rowcount or 0)
                except DBAPIError as exc:
                    if not exc.connection_invalidated or attempt == 2:
                        raise
                    broken, self._conn = self._conn, None
                    with contextlib.suppress(Exception):
                        await broken.close()
            raise AssertionError("unreachable")

    async def _connect(self) -> AsyncConnection:
        conn = await self._engine.connect()
        if conn.dialect.name == "postgresql":
            # Do not wait for the WAL to reach the disk: what is guarded against is the bot dying,
            # and the server has the change then. Should PostgreSQL itself crash, the last marks can
            # be lost, and a row whose mark was lost is at most sent again, never lost.
            await conn.exec_driver_sql("SET synchronous_commit = off")
        return conn

    async def close(self) -> None:
        async with self._turn:
            if self._conn is not None:
                if self._conn.dialect.name == "postgresql":  # back to the pool as it came
                    try:
                        await self._conn.exec_driver_sql("RESET synchronous_commit")
                    except DBAPIError:
                        await self._conn.invalidate()
                await self._conn.close()
                self._conn = None


class Dispatcher:
    """Sends due outbox rows. One instance per process; `run_once` is the APScheduler job.

    A run fetches due rows in batches and starts each send when the `RateLimiter` allows, with up
    to `max_in_flight` requests under way at once (different chats are sent concurrently; one
    chat's messages go one after another, in order). A scheduled run starts sends for about
    `run_seconds` and returns (the job comes back every second; sends under way finish on their
    own), so a backlog of thousands never holds up a shutdown: `request_stop()` ends a run at once
    and `stop()` waits only for the sends under way, which are recorded. Each row is claimed
    (pending → sending, compare-and-set) just before its request and marked sent in a statement of
    its own as soon as Telegram answers: after a SIGKILL only rows still 'sending' can repeat —
    the sends under way, up to `max_in_flight` — and `recover()` at start-up sends them again
    rather than losing them.
    """

    def __init__(
        self,
        db: Database,
        bot: Bot,
        clock: Clock,
        limiter: RateLimiter | None = None,
        batch: int = 200,
        *,
        max_in_flight: int = 8,
        quiet: QuietHours | None = None,
        zone: tzinfo | None = None,
        refetch_seconds: float = 1.0,
        run_seconds: float = RUN_SECONDS,
    ) -> None:
        self.db = db
        self.bot = bot
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self.batch = batch
        self.max_in_flight = max_in_flight
        self.quiet = quiet
        self.zone = zone or UTC
        self.refetch_seconds = refetch_seconds
        self.run_seconds = run_seconds
        self.delivered = 0  # sends answered by Telegram since start
        self.last_run: float | None = None  # monotonic time the job last came (readiness: it is alive)
        self._lock = asyncio.Lock()
        self._own = OwnConnection(db.engine)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._queue: list[Outbox] | None = None  # the rows of the run under way
        self._stopping = asyncio.Event()

    async def recover(self) -> int:
        """At start-up: rows left 'sending' were in flight when the process died; send them again
        (at most those repeat) rather than lose them."""
        async with self.db.session() as session:
            result = await session.exec(
                update(Outbox).where(col(Outbox.status) == "sending").values(status="pending")
            )
            return int(result.rowcount or 0)

    async def _due(self, exclude: set[int]) -> list[Outbox]:
        """Due pending rows, oldest first; expired ones are dropped (and logged) instead."""
        now = to_db(self.clock.now())
        async with self.db.session() as session:
            query = (
                select(Outbox)
                .where(col(Outbox.status) == "pending", col(Outbox.send_after) <= now)
                .order_by(col(Outbox.send_after), col(Outbox.id))
                .limit(self.batch)
            )
            if exclude:
                query = query.where(col(Outbox.id).not_in(exclude))
            rows = list((await session.exec(query)).all())
            expired = [r for r in rows if r.expires_at is not None and r.expires_at <= now]
            for row in expired:
                row.status, row.last_error = "dropped", "expired before it could be sent"
                session.add(row)
                metrics.OUTBOX.labels("dropped").inc()
                log.info(
                    "outbox %s dropped: fell due while the bot was down and is no longer useful",
                    row.dedupe_key,
                )
            return [r for r in rows if r not in expired]

    async def run_once(self) -> int:
        """The job: start what is due for about `run_seconds`; returns the sends answered meanwhile."""
        self.last_run = time.monotonic()
        if self._lock.locked() or self._stopping.is_set():
            return 0  # the previous run is still sending, or the bot is stopping
        async with self._lock:
            return await self._run(until=time.monotonic() + self.run_seconds)

    async def drain(self) -> int:
        """Wait for a run under way, then send everything due and wait for the answers (the sandbox,
        after moving the clock; tools and tests). Returns the sends answered."""
        async with self._lock:
            before = self.delivered
            await self._run(until=None)
            while self._in_flight:
                await asyncio.wait(set(self._in_flight))
            await self._own.close()
            return self.delivered - before

    def request_stop(self) -> None:
        """Shutdown: start no more sends; a run under way returns at once."""
        self._stopping.set()

    async def stop(self) -> None:
        """Shutdown: start no more sends and wait for those under way (they are recorded, not repeated)."""
        self.request_stop()
        while self._in_flight:
            await asyncio.wait(set(self._in_flight))
        await self._own.close()

    async def _run(self, until: float | None) -> int:
        """Start due sends until `until` (monotonic; None: until nothing is due). Sends still under
        way at the end go on by themselves."""
        before = self.delivered
        queue: list[Outbox] = []
        self._queue = queue
        more = True  # the last fetch may have left due rows behind
        last_fetch = -math.inf
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                if until is not None and now >= until:
                    break
                if len(queue) < self.batch // 2 and (more or now - last_fetch >= self.refetch_seconds):
                    fetched = await self._due({r.id for r in queue if r.id is not None})
                    last_fetch = time.monotonic()
                    more = len(fetched) >= self.batch
                    queue.extend(fetched)
                if not queue and (until is not None or not self._in_flight):
                    break  # all due rows started (draining: and answered; a 429 puts its row back)
                room = len(self._in_flight) < self.max_in_flight
                row, wake = self._next(queue) if room else (None, None)
                if row is None:
                    timeout = self.refetch_seconds if wake is None else max(0.0, wake - time.monotonic())
                    if until is not None:
                        timeout = min(timeout, max(0.0, until - time.monotonic()))
                    await self._wait(seconds=timeout)
                    continue
                queue.remove(row)
                if not await self._ready_to_send(row):
                    continue
                slot = self.limiter.start(row.chat_id)
                task = asyncio.create_task(self._send(row, slot))
                self._in_flight.add(task)
                task.add_done_callback(self._sent)
        finally:
            self._queue = None
        return self.delivered - before

    async def _wait(self, *, seconds: float) -> None:
        """Until a send is answered, `seconds` pass or a stop is asked for."""
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({stop, *self._in_flight}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox: a send failed unexpectedly", exc_info=task.exception())

    def _requeue(self, row: Outbox) -> None:
        """A row put back as due (429): first of its chat in the run under way, which keeps the
        chat's order; without a run, the next one fetches it."""
        if self._queue is not None and all(r.id != row.id for r in self._queue):
            self._queue.insert(0, row)

    def _next(self, queue: list[Outbox]) -> tuple[Outbox | None, float | None]:
        """The first row that may start now, else None and when to look again."""
        now = time.monotonic()
        wake: float | None = None
        held: set[int] = set()  # chats with an earlier row still waiting: keep their order
        for row in queue:
            if row.chat_id in held:
                continue
            ready = self.limiter.ready_at(row.chat_id)
            if ready is not None and ready <= now:
                return row, None
            held.add(row.chat_id)
            if ready is not None:
                wake = ready if wake is None else min(wake, ready)
        return None, wake

    async def _ready_to_send(self, row: Outbox) -> bool:
        """Last checks, then claim the row (pending → sending). False: not now or not by us."""
        assert row.id is not None
        now = self.clock.now()
        if row.expires_at is not None and to_db(now) >= row.expires_at:
            await self._mark(row.id, status="dropped", last_error="expired before it could be sent")
            log.info("outbox %s dropped: expired", row.dedupe_key)
            return False
        if row.kind == "reminder" and self.quiet is not None and self.quiet.contains(now, self.zone):
            later = self.quiet.end_after(now, self.zone)
            expires = from_db(row.expires_at)
            if expires is None or later < expires:
                # Fell due in quiet hours (e.g. after a restart at night): wait for the morning.
                await self._mark(row.id, send_after=to_db(later))
                return False
            # Waiting would make it useless (the event starts before the quiet hours end): send now.
        # FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite has one writer anyway): a row another dispatcher
        # is claiming at this moment is skipped, not waited for and then re-checked.
        free = (
            select(col(Outbox.id))
            .where(col(Outbox.id) == row.id, col(Outbox.status) == "pending")
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claimed = await self._execute(
            update(Outbox)
            .where(col(Outbox.id) == free, col(Outbox.status) == "pending")
            .values(status="sending", claimed_at=to_db(now), attempts=col(Outbox.attempts) + 1)
        )
        if claimed:
            row.attempts += 1
        return claimed > 0

    async def _mark(self, row_id: int, **values: Any) -> None:
        await self._execute(update(Outbox).where(col(Outbox.id) == row_id).values(**values))
        if outcome := metrics.outbox_outcome(values.get("status"), values.get("last_error")):
            metrics.OUTBOX.labels(outcome).inc()

    async def _execute(self, statement: Update) -> int:
        return await self._own.execute(statement)

    async def _send(self, row: Outbox, slot: _Slot) -> None:
        assert row.id is not None
        try:
            await self._call(row)
        except Exception as exc:
            self.limiter.finish(slot)
            await self._not_sent(row, exc)
            return
        except BaseException:
            self.limiter.finish(slot)
            raise  # e.g. cancelled at shutdown: the row stays 'sending' and recover() sends it again
        # Delivered: record it before anything else (a kill from here on until this commit repeats it).
        await self._mark(row.id, status="sent", sent_at=to_db(self.clock.now()), last_error=None)
        self.delivered += 1
        self.limiter.finish(slot)

    async def _not_sent(self, row: Outbox, exc: Exception) -> None:
        """What a failed send means for its row: wait and repeat, give up, or leave it uncertain."""
        assert row.id is not None
        if isinstance(exc, RetryAfter):
            wait = _seconds(exc)
            self.limiter.pause(float(wait))
            log.warning("outbox: Telegram asked to wait %ss (429); pausing all sends", wait)
            await self._mark(row.id, status="pending", last_error=f"429 retry after {wait}")
            self._requeue(row)  # sent again once the pause is over
        elif isinstance(exc, Forbidden):
            await self._forbidden(row, str(exc))
        elif isinstance(exc, TimedOut) and isinstance(exc.__cause__, NEVER_SENT):
            await self._retry_later(row, f"timeout before sending: {exc}")  # never reached Telegram
        elif isinstance(exc, TimedOut):
            # The request reached Telegram and may well have been delivered: do not repeat it blindly.
            log.warning("outbox %s timed out after sending; not repeated (status uncertain)", row.dedupe_key)
            await self._mark(row.id, status="uncertain", last_error=f"timeout: {exc}")
        elif isinstance(exc, BadRequest):
            log.warning("outbox %s refused by Telegram: %s", row.dedupe_key, exc.message)
            await self._mark(row.id, status="failed", last_error=f"400 {exc.message}")
        elif isinstance(exc, TelegramError):  # NetworkError and the rest: try again later
            await self._retry_later(row, f"network: {exc}")
        elif isinstance(exc, OSError):  # a `file:` payload whose file is gone: retrying cannot help
            log.warning("outbox %s: attached file unreadable (%s)", row.dedupe_key, exc.strerror)
            await self._mark(row.id, status="failed", last_error=f"file: {exc.strerror}")
        else:
            raise exc

    async def _retry_later(self, row: Outbox, error: str) -> None:
        assert row.id is not None
        if row.attempts >= MAX_ATTEMPTS:
            log.warning("outbox %s failed after %d attempts", row.dedupe_key, row.attempts)
            await self._mark(row.id, status="failed", last_error=error)
            return
        backoff = timedelta(seconds=min(600, 2**row.attempts))
        await self._mark(
            row.id, status="pending", last_error=error, send_after=to_db(self.clock.now() + backoff)
        )

    async def _forbidden(self, row: Outbox, reason: str) -> None:
        async with self.db.session() as session:
            await session.exec(
                update(Outbox)
                .where(col(Outbox.id) == row.id)
                .values(status="failed", last_error=f"403 {reason}")
            )
            withdrawn = await session.exec(
                update(Outbox)
                .where(
                    col(Outbox.chat_id) == row.chat_id,
                    col(Outbox.status) == "pending",
                )
                .values(status="dropped", last_error="recipient blocked the bot")
            )
            await mark_unreachable(session, row.chat_id)
        metrics.OUTBOX.labels("403").inc()
        metrics.OUTBOX.labels("dropped").inc(int(withdrawn.rowcount or 0))
        log.info("outbox: chat of member %s blocked the bot; marked unreachable", row.member_id)

    async def _call(self, row: Outbox) -> None:
        payload = dict(row.payload)
        method = payload.pop("method", "sendMessage")
        text = payload.pop("text", "")
        raw_markup = payload.pop("reply_markup", None)
        markup = InlineKeyboardMarkup.de_json(raw_markup, self.bot) if raw_markup else None
        if method == "sendPhoto":
            await self.bot.send_photo(
                row.chat_id, photo=_input_file(payload["photo"]), caption=text or None, reply_markup=markup
            )
        elif method == "sendDocument":
            await self.bot.send_document(
                row.chat_id,
                document=_input_file(payload["document"]),
                caption=text or None,
                filename=payload.get("filename"),
                reply_markup=markup,
            )
        else:
            await self.bot.send_message(
                row.chat_id, text, reply_markup=markup, parse_mode=payload.get("parse_mode")
            )
