"""Benchmark: N simulated members each run the whole /report dialog concurrently through the Bot
API emulator (type → 今天 → description → photo → 完成 → 确认提交, 7 updates each), on SQLite and
PostgreSQL, next to a bare python-telegram-bot echo bot on the same emulator in the same run.

    .venv/bin/python bench/report_throughput.py [--members 300] [--db sqlite|postgres|both] [--rate 50] [--rounds 3]

As in production, where Telegram is another machine, the emulator AND the simulated members (the
load generator, driven by emulator listeners on the emulator's own event loop) run in a child
process (bench/_emuproc.py); the bot under test runs alone in this process, so the two do not
compete for one GIL. Latency per update is measured in the child: update injected → the bot's
answer seen by the emulator.

Prints updates/s and p50/p99 latency per update for a saturating run, the ratio to the echo bot,
p50/p99 at a paced `--rate` updates/s, CPU time per update of the bot's and the emulator's processes,
and the bot's longest garbage-collector pause. On a 2-core machine one run's throughput moves by
±15 % (the echo bot's most of all), so the bots take turns for `--rounds` rounds: the table shows
each bot's median round, the ratio is of the medians, every round's ratio is listed, and the paced
p99 is the worst round's. The echo bot is bare PTB with lvzhi's update processor and HTTP pool; lvzhi's
long-poll batching (bot/telegram/http.py) is lvzhi's own and not copied into it.
Targets: ≥0.75 of echo throughput on SQLite, ≥0.6 on PostgreSQL, p99 < 100 ms at 50 updates/s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._emuproc import STOP, EmulatorProcess  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
PG_ADMIN = os.environ.get("LVZHI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
STEPS_PER_MEMBER = 7
RUN_TIMEOUT = 180.0  # seconds; the script never runs unbounded


# --------------------------------------------------------------------------- the child process:
# emulator + simulated members. Everything below runs on the emulator's event loop, where the
# emulator also calls its listeners, so the load generator adds no thread of its own.


class Replies:
    """Counts the bot's messages per chat as the emulator handles them, and wakes waiters."""

    def __init__(self, emu: Any) -> None:
        self.counts: dict[int, int] = defaultdict(int)
        self.events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.methods: Counter[str] = Counter()  # every API call the bot made, by method
        emu.add_listener(self._on_call)

    def _on_call(self, call: Any) -> None:  # emulator loop: the call was handled, not yet answered
        self.methods[call.method] += 1
        if call.status != 200 or call.method.lower() not in ("sendmessage", "sendphoto", "sendmediagroup"):
            return
        try:
            chat = int(call.params.get("chat_id"))
        except (TypeError, ValueError):
            return
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
    replies: Replies, user: Any, action: Callable[[], object], more: int, latencies: list[float], pacer: Pacer
) -> None:
    await pacer.slot()
    target = replies.counts[user.id] + more
    start = time.perf_counter()
    action()
    await replies.wait(user.id, target)
    latencies.append(time.perf_counter() - start)


# Each dialog as its updates: (what the member does, its text or button data, replies it waits for).
# The echo bot gets the same shape (texts, presses, a photo), each answered once.
Step = tuple[str, str, int]
STEPS: dict[str, tuple[Step, ...]] = {
    "report": (  # one member's whole /report dialog: 7 updates
        ("text", "/report", 1), ("press", "rep:type:research", 1), ("press", "rep:day:0", 1), ("text", TEXT, 1),
        ("photo", "", 1), ("press", "rep:photos:done", 1), ("press", "rep:ok", 2),
    ),
    "echo": (
        ("text", "/report", 1), ("press", "x", 1), ("press", "y", 1), ("text", TEXT, 1), ("photo", "", 1),
        ("press", "z", 1), ("press", "w", 1),
    ),
}  # fmt: skip


def _action(user: Any, kind: str, value: str, photo: bytes) -> Callable[[], object]:
    if kind == "text":
        return lambda: user.send_text(value)
    if kind == "photo":
        return lambda: user.send_photo(photo)
    return lambda: user.press(value)


def _walker(steps: tuple[Step, ...]) -> Callable[[Replies, Any, list[float], Pacer, bytes], Awaitable[None]]:
    async def walk(replies: Replies, user: Any, latencies: list[float], pacer: Pacer, photo: bytes) -> None:
        for kind, value, more in steps:
            await timed(replies, user, _action(user, kind, value, photo), more, latencies, pacer)

    return walk


DIALOGS = {name: _walker(steps) for name, steps in STEPS.items()}


async def drive(emu: Any, replies: Replies, dialog: str, user_ids: list[int], rate: float | None) -> tuple:
    """All members run `dialog` concurrently; returns (elapsed s, latencies, this process's CPU s,
    the bot's API calls by method)."""
    from bot.devtools.emulator import _make_png

    member = DIALOGS[dialog]
    latencies: list[float] = []
    pacer = Pacer(rate)
    users = [emu.user(uid, f"委员{uid}") for uid in user_ids]
    photos = [_make_png(1 + i % 50, 1 + i // 50) for i in range(len(users))]
    start, cpu, methods = time.perf_counter(), time.process_time(), Counter(replies.methods)
    await asyncio.wait_for(
        asyncio.gather(
            *(member(replies, u, latencies, pacer, p) for u, p in zip(users, photos, strict=True))
        ),
        RUN_TIMEOUT,
    )
    return time.perf_counter() - start, latencies, time.process_time() - cpu, replies.methods - methods


def serve_members(emu: Any, conn: Any) -> None:
    """Child process: answer the parent's commands ("users", "drive") until "stop"."""
    replies = Replies(emu)
    while (message := conn.recv()) != STOP:
        command, *args = message
        if command == "users":  # create the chats before the bot sends to them
            for uid in args[0]:
                emu.user(uid, f"委员{uid}")
            conn.send(("ok", None))
        elif command == "drive":  # (dialog, user ids, rate) -> (elapsed, latencies)
            conn.send(("ok", emu.run_coroutine(drive(emu, replies, *args)).result()))
        else:
            conn.send(("error", f"unknown command {command!r}"))


# --------------------------------------------------------------------------- this process: the bot


def figures(elapsed: float, latencies: list[float], *_: object) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


class GcPauses:
    """The longest garbage-collector pause in this process while the block runs (it stops the loop)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def _callback(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)


async def measure(
    emu: EmulatorProcess, dialog: str, members: list[int], paced: list[int], rate: float
) -> dict:
    """The saturating run, then the paced one; the bot's CPU time is taken over the first."""
    with GcPauses() as pauses:
        cpu = time.process_time()
        full = await asyncio.to_thread(emu.call, "drive", dialog, members, None)
        cpu = time.process_time() - cpu
        paced_run = await asyncio.to_thread(emu.call, "drive", dialog, paced, rate)
    per_update = 1000 / len(full[1])
    return {"full": figures(*full), "paced": figures(*paced_run), "cpu_ms": cpu * per_update,
            "emu_cpu_ms": full[2] * per_update, "gc_ms": pauses.longest * 1000,
            "calls": {m: n / len(full[1]) for m, n in full[3].most_common()}}  # fmt: skip


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


async def seed(db: Any, ids: list[int]) -> None:
    from models import Member

    async with db.session() as session:
        session.add_all([Member(name=f"委员{uid}", telegram_user_id=uid) for uid in ids])


async def check_stored(db: Any, ids: list[int]) -> None:
    """Every simulated member has exactly one stored report, with the description they typed."""
    from sqlalchemy import func
    from sqlmodel import select

    from models import ActivityReport, Member

    async with db.session() as session:
        rows = (
            await session.exec(
                select(Member.telegram_user_id, func.count(ActivityReport.id))  # type: ignore[call-overload]
                .join(ActivityReport, ActivityReport.member_id == Member.id)
                .where(ActivityReport.description == TEXT)
                .group_by(Member.telegram_user_id)
            )
        ).all()
    per_member = dict(rows)
    missing = [uid for uid in ids if per_member.get(uid) != 1]
    if missing or len(per_member) != len(ids):
        raise SystemExit(
            f"expected one stored report for each of {len(ids)} members; wrong for {len(missing)}, "
            f"e.g. {[(uid, per_member.get(uid, 0)) for uid in missing[:5]]}"
        )


async def bench_lvzhi(kind: str, members: int, rate: float, paced_members: int) -> dict:
    from bot.assemble import make_deps, running
    from bot.core.config import load_settings
    from models.db import Database, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = make_database(kind, Path(tmp))
        try:
            upgrade(url)
            db = Database(url)
            ids = list(range(700_001, 700_001 + members + paced_members))
            await seed(db, ids)
            with EmulatorProcess(token=TOKEN, serve=serve_members) as emu:
                settings = load_settings(
                    _env_file=None,
                    database_url=url,
                    telegram_bot_token=TOKEN,
                    telegram_api_base_url=emu.base_url,
                    telegram_api_file_url=emu.base_file_url,
                    bot_username="lvzhi_bench_bot",
                    log_level="WARNING",
                )
                async with running(make_deps(settings, db), poll_timeout=1):
                    result = await measure(emu, "report", ids[:members], ids[members:], rate)
            await check_stored(db, ids)
            await db.dispose()
        finally:
            drop()
    return result


@asynccontextmanager
async def polling(app: Any) -> AsyncIterator[Any]:
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()  # cancels the pending long poll
            await app.stop()


async def bench_echo(members: int, rate: float, paced_members: int) -> dict:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

    from bot.telegram.processing import PerUserUpdateProcessor

    with EmulatorProcess(token=TOKEN, serve=serve_members) as emu:
        # configured like lvzhi (bot.telegram.app.new_application): same update processor (concurrent
        # across members, in order per member), HTTP pool and poll timeout — a fair baseline
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(emu.base_url)
            .base_file_url(emu.base_file_url)
            .concurrent_updates(PerUserUpdateProcessor())
            .connection_pool_size(64)
            .get_updates_read_timeout(35)
            .build()
        )

        async def echo(update: Update, context: Any) -> None:
            await update.effective_chat.send_message(update.effective_message.text or "收到")

        async def pressed(update: Update, context: Any) -> None:
            await update.callback_query.answer()
            await update.effective_chat.send_message(update.callback_query.data or "")

        app.add_handler(MessageHandler(filters.ALL, echo))
        app.add_handler(CallbackQueryHandler(pressed))
        ids = list(range(800_001, 800_001 + members + paced_members))
        await asyncio.to_thread(emu.call, "users", ids)
        async with polling(app):
            for uid in ids:  # a message to press buttons on
                await app.bot.send_message(uid, "按钮")
            return await measure(emu, "echo", ids[:members], ids[members:], rate)


def median_round(rounds: list[dict]) -> dict:
    """The round with the median throughput, with the worst paced p99 and GC pause of all rounds."""
    ordered = sorted(rounds, key=lambda r: r["full"][0])
    result = dict(ordered[len(ordered) // 2])
    worst = max(rounds, key=lambda r: r["paced"][2])
    result["paced"] = worst["paced"]
    result["gc_ms"] = max(r["gc_ms"] for r in rounds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50.0, help="updates/s of the paced run")
    parser.add_argument(
        "--paced-members", type=int, default=60, help="members in the paced run (7 updates each)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds in which the bots take turns")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("httpx", "apscheduler", "telegram", "bot", "handlers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    updates = args.members * STEPS_PER_MEMBER
    print(
        f"{args.members} members × {STEPS_PER_MEMBER} updates = {updates} updates per saturating run; "
        f"paced run: {args.paced_members} members at {args.rate:g} updates/s; {args.rounds} rounds"
    )
    rounds: dict[str, list[dict]] = defaultdict(list)
    for number in range(1, args.rounds + 1):
        rounds["echo"].append(asyncio.run(bench_echo(args.members, args.rate, args.paced_members)))
        for kind in kinds:
            rounds[kind].append(asyncio.run(bench_lvzhi(kind, args.members, args.rate, args.paced_members)))
        line = ", ".join(f"{name} {r[-1]['full'][0]:.1f}" for name, r in rounds.items())
        print(f"round {number}: updates/s {line}", flush=True)
    results = {name: median_round(r) for name, r in rounds.items()}
    echo_rate = results["echo"]["full"][0]
    targets = {"echo": None, "sqlite": 0.75, "postgres": 0.6}
    print(
        f"{'bot':<16}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'target':>8}   "
        f"{'p50 ms @' + format(args.rate, 'g') + '/s':>14}{'p99 ms':>9}     {'CPU ms/update: bot':>18}"
        f"{'emulator':>9}{'GC pause ms':>13}"
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
            f" {'ok' if paced99 < 100 else 'MISS':<4}{result['cpu_ms']:>18.2f}{result['emu_cpu_ms']:>9.2f}"
            f"{result['gc_ms']:>13.1f}"
        )
    for kind in kinds:
        ratios = [lv["full"][0] / echo["full"][0] for lv, echo in zip(rounds[kind], rounds["echo"], strict=True)]
        print(f"ratio per round, {kind}: " + ", ".join(f"{r:.2f}" for r in ratios))
    for name, result in results.items():
        calls = ", ".join(f"{method} {n:.2f}" for method, n in result["calls"].items())
        print(f"API calls per update, {name}: {calls}")
    print(
        "Where it ran: the emulator and the simulated members in a child process (spawned, one per bot, "
        f"on the emulator's event loop); each bot under test alone in this process; {os.cpu_count()} CPUs."
    )
    print("Every simulated member's report was checked to be stored in the database.")


if __name__ == "__main__":
    main()
