"""Benchmark: N simulated members each run the whole /report dialog concurrently through the Bot
API emulator (type → 今天 → description → photo → 完成 → 确认提交, 7 updates each), on SQLite and
PostgreSQL, next to a bare python-telegram-bot echo bot on the same emulator in the same run.

    .venv/bin/python bench/report_throughput.py [--members 300] [--db sqlite|postgres|both] [--rate 50]

Prints updates/s and p50/p99 latency per update (update injected → the bot's answer arrived) for a
saturating run, the ratio to the echo bot, and p50/p99 at a paced `--rate` updates/s.
Targets: ≥0.75 of echo throughput on SQLite, ≥0.6 on PostgreSQL, p99 < 100 ms at 50 updates/s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telegram import Update  # noqa: E402
from telegram.ext import CallbackQueryHandler, MessageHandler, filters  # noqa: E402

from bot.app import make_deps, running  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.emulator import BotApiEmulator, EmuUser, _make_png  # noqa: E402
from models import Member  # noqa: E402
from models.db import Database, upgrade  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
PG_ADMIN = os.environ.get("LVZHI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
STEPS_PER_MEMBER = 7
RUN_TIMEOUT = 180.0  # seconds; the script never runs unbounded


class Replies:
    """Counts the bot's messages per chat as the emulator serves them, and wakes waiters."""

    def __init__(self, emu: BotApiEmulator, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.counts: dict[int, int] = defaultdict(int)
        self.events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        emu.add_listener(self._on_call)

    def _on_call(self, call) -> None:  # type: ignore[no-untyped-def]  # emulator thread
        if call.status != 200 or call.method.lower() not in ("sendmessage", "sendphoto", "sendmediagroup"):
            return
        try:
            chat = int(call.params.get("chat_id"))
        except (TypeError, ValueError):
            return
        self.loop.call_soon_threadsafe(self._bump, chat)

    def _bump(self, chat: int) -> None:
        self.counts[chat] += 1
        self.events[chat].set()

    async def wait(self, chat: int, at_least: int) -> None:
        while self.counts[chat] < at_least:
            event = self.events[chat]
            event.clear()
            if self.counts[chat] >= at_least:
                return
            await event.wait()


class Pacer:
    """Hands out send slots at a fixed overall rate (None: as fast as the members go)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = asyncio.Lock()

    async def slot(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            self.next_at = max(self.next_at, now)
            wait = self.next_at - now
            self.next_at += self.interval
        if wait > 0:
            await asyncio.sleep(wait)


async def timed(
    replies: Replies,
    user: EmuUser,
    action: Callable[[], object],
    more: int,
    latencies: list[float],
    pacer: Pacer,
) -> None:
    await pacer.slot()
    target = replies.counts[user.id] + more
    start = time.perf_counter()
    action()
    await replies.wait(user.id, target)
    latencies.append(time.perf_counter() - start)


def _button(user: EmuUser, text: str) -> str:
    message = user.last() or {}
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button["text"] == text:
                return button["callback_data"]
    raise LookupError(text)


async def report_member(
    replies: Replies, user: EmuUser, latencies: list[float], pacer: Pacer, photo: bytes
) -> None:
    """One member's whole /report dialog: 7 updates."""
    await timed(replies, user, lambda: user.send_text("/report"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("rep:type:research"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("rep:day:0"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.send_text(TEXT), 1, latencies, pacer)
    await timed(replies, user, lambda: user.send_photo(photo), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("rep:photos:done"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("rep:ok"), 2, latencies, pacer)


async def echo_member(
    replies: Replies, user: EmuUser, latencies: list[float], pacer: Pacer, photo: bytes
) -> None:
    """The same shape for the echo bot: 7 updates (texts, presses, a photo), each answered once."""
    await timed(replies, user, lambda: user.send_text("/report"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("x"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("y"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.send_text(TEXT), 1, latencies, pacer)
    await timed(replies, user, lambda: user.send_photo(photo), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("z"), 1, latencies, pacer)
    await timed(replies, user, lambda: user.press("w"), 1, latencies, pacer)


Member_ = Callable[[Replies, EmuUser, list[float], Pacer, bytes], Awaitable[None]]


async def drive(
    emu: BotApiEmulator, replies: Replies, user_ids: list[int], member: Member_, rate: float | None
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    pacer = Pacer(rate)
    users = [emu.user(uid, f"委员{uid}") for uid in user_ids]
    photos = [_make_png(1 + i % 50, 1 + i // 50) for i in range(len(users))]
    start = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(
            *(member(replies, u, latencies, pacer, p) for u, p in zip(users, photos, strict=True))
        ),
        RUN_TIMEOUT,
    )
    return time.perf_counter() - start, latencies


def figures(elapsed: float, latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


async def seed(db: Database, ids: list[int]) -> None:
    async with db.session() as session:
        session.add_all([Member(name=f"委员{uid}", telegram_user_id=uid) for uid in ids])


def make_database(kind: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        return url, lambda: None
    import psycopg

    name = f"lvzhi_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


async def bench_lvzhi(kind: str, members: int, rate: float, paced_members: int) -> dict[str, tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = make_database(kind, Path(tmp))
        try:
            upgrade(url)
            db = Database(url)
            ids = list(range(700_001, 700_001 + members + paced_members))
            await seed(db, ids)
            with BotApiEmulator(token=TOKEN) as emu:
                settings = load_settings(
                    _env_file=None,
                    database_url=url,
                    telegram_bot_token=TOKEN,
                    telegram_api_base_url=emu.base_url,
                    telegram_api_file_url=emu.base_file_url,
                    bot_username="lvzhi_bench_bot",
                    log_level="WARNING",
                )
                replies = Replies(emu, asyncio.get_running_loop())
                async with running(make_deps(settings, db), poll_timeout=1):
                    full = await drive(emu, replies, ids[:members], report_member, None)
                    paced = await drive(emu, replies, ids[members:], report_member, rate)
            await check_stored(db, members + paced_members)
            await db.dispose()
        finally:
            drop()
    return {"full": figures(*full), "paced": figures(*paced)}


async def check_stored(db: Database, expected: int) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from models import ActivityReport

    async with db.session() as session:
        stored = (await session.exec(select(func.count()).select_from(ActivityReport))).one()
    if stored != expected:
        raise SystemExit(f"expected {expected} stored reports, found {stored}")


async def bench_echo(members: int, rate: float, paced_members: int) -> dict[str, tuple]:
    with BotApiEmulator(token=TOKEN) as emu:
        # same HTTP pool and concurrency limit as lvzhi (bot.app.build_application): a fair baseline
        app = emu.app_builder().concurrent_updates(True).connection_pool_size(64).build()

        async def echo(update: Update, context) -> None:  # type: ignore[no-untyped-def]
            await update.effective_chat.send_message(update.effective_message.text or "收到")

        async def pressed(update: Update, context) -> None:  # type: ignore[no-untyped-def]
            await update.callback_query.answer()
            await update.effective_chat.send_message(update.callback_query.data or "")

        app.add_handler(MessageHandler(filters.ALL, echo))
        app.add_handler(CallbackQueryHandler(pressed))
        replies = Replies(emu, asyncio.get_running_loop())
        ids = list(range(800_001, 800_001 + members + paced_members))
        for uid in ids:  # a message to press buttons on
            emu.user(uid, "echo")
        async with emu.running(app):
            for uid in ids:
                await app.bot.send_message(uid, "按钮")
            full = await drive(emu, replies, ids[:members], echo_member, None)
            paced = await drive(emu, replies, ids[members:], echo_member, rate)
    return {"full": figures(*full), "paced": figures(*paced)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50.0, help="updates/s of the paced run")
    parser.add_argument(
        "--paced-members", type=int, default=60, help="members in the paced run (7 updates each)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("httpx", "apscheduler", "telegram", "bot", "handlers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    updates = args.members * STEPS_PER_MEMBER
    print(
        f"{args.members} members × {STEPS_PER_MEMBER} updates = {updates} updates per saturating run; "
        f"paced run: {args.paced_members} members at {args.rate:g} updates/s"
    )
    results = {"echo": asyncio.run(bench_echo(args.members, args.rate, args.paced_members))}
    for kind in kinds:
        results[kind] = asyncio.run(bench_lvzhi(kind, args.members, args.rate, args.paced_members))
    echo_rate = results["echo"]["full"][0]
    targets = {"echo": None, "sqlite": 0.75, "postgres": 0.6}
    print(
        f"{'bot':<16}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'target':>8}   "
        f"{'p50 ms @' + format(args.rate, 'g') + '/s':>14}{'p99 ms':>9}"
    )
    for name, result in results.items():
        rate, p50, p99 = result["full"]
        _, paced50, paced99 = result["paced"]
        target = targets[name]
        label = "PTB echo bot" if name == "echo" else f"lvzhi {name}"
        ok = "" if target is None else ("ok" if rate / echo_rate >= target else "MISS")
        print(
            f"{label:<16}{rate:>11.1f}{p50:>9.1f}{p99:>9.1f}{rate / echo_rate:>8.2f}"
            f"{'' if target is None else format(target, '.2f'):>8} {ok:<4}{paced50:>12.1f}{paced99:>9.1f}"
            f" {'ok' if paced99 < 100 else 'MISS'}"
        )
    print("Every simulated member's report was checked to be stored in the database.")


if __name__ == "__main__":
    main()
