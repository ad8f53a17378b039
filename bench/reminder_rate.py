"""Benchmark: one event reminder to N members (default 3,000) through the Bot API emulator enforcing
Telegram's limits (30 messages/s overall, 1/s per chat).

Prints the time to plan the rows (publishing the event: invitations, reminders and check-in
notices for everyone), then the dispatcher's achieved rate, its ratio to the 30/s limit (target
≥ 0.95), 429s received (target 0), duplicates (0) and lost messages (0).

    .venv/bin/python bench/reminder_rate.py [--members 3000] [--database-url sqlite:///…]

3,000 messages at 30/s take about 100 s; use --members to shrink it. The emulator runs in a
process of its own, as Telegram would (in-process, its threads would compete with the bot for the GIL).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import update  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bench._emuproc import EmulatorProcess  # noqa: E402
from bot.core.clock import Clock  # noqa: E402
from bot.core.rules import load_rules  # noqa: E402
from bot.core.schedule import NO_QUIET  # noqa: E402
from bot.devtools.emulator import BotApiEmulator  # noqa: E402
from bot.services import events  # noqa: E402
from bot.services.reminders import ReminderPolicy
from bot.telegram.app import DISPATCH_INTERVAL_SECONDS  # noqa: E402
from bot.telegram.dispatcher import Dispatcher  # noqa: E402
from models import Member, Outbox  # noqa: E402
from models.db import Database, upgrade  # noqa: E402

TOKEN = "123456:BENCH"
LIMIT = 30
FIRST_CHAT = 700_000_000
RULES_FILE = Path(__file__).resolve().parent.parent / "bot" / "core" / "rules.default.toml"


def add_members(members: int, emu: BotApiEmulator) -> None:
    """In the emulator process (Telegram's stand-in, limits on): the members' chats."""
    for i in range(members):
        emu.user(FIRST_CHAT + i, f"委员{i:04d}")


def sends_seen(emu: BotApiEmulator) -> tuple[list[tuple[int, float]], int]:
    """In the emulator process, at the end: accepted sends (chat, time) and 429s answered."""
    ok = [(c.params["chat_id"], c.ts) for c in emu.calls_of("sendMessage") if c.status == 200]
    return ok, emu.stats["429"]


async def main(members: int, url: str) -> int:
    upgrade(url)
    db = Database(url)
    rules = load_rules(RULES_FILE)
    from zoneinfo import ZoneInfo

    policy = ReminderPolicy(zone=ZoneInfo("Asia/Shanghai"), quiet=NO_QUIET)
    now = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)
    start = now + timedelta(days=2)
    async with db.session() as session:
        session.add_all(
            [
                Member(name=f"委员{i:04d}", telegram_user_id=FIRST_CHAT + i, committee="经济委员会")
                for i in range(members)
            ]
        )

    server = EmulatorProcess(
        token=TOKEN,
        emu_kwargs={"enforce_limits": True, "global_rate": LIMIT, "per_chat_rate": 1.0},
        setup=partial(add_members, members),
        collect=sends_seen,
    ).start()
    base_url = server.base_url

    planned_at = time.perf_counter()
    async with db.session() as session:
        event = await events.create_event(
            session,
            title="学习会：民法典",
            kind="study",
            starts_at=start,
            place="政协三楼会议室",
            offsets=["24h"],
            now=now,
            rules=rules,
        )
        await events.publish_event(session, event, now=now, policy=policy)
    plan_seconds = time.perf_counter() - planned_at
    async with db.session() as session:
        total_rows = len((await session.exec(select(Outbox.id))).all())
        # Only the reminder is measured: the invitations and check-in notices are set aside.
        await session.exec(
            update(Outbox)
            .where(col(Outbox.kind) != "reminder")  # type: ignore[call-overload]
            .values(status="dropped", last_error="bench: not measured")
        )

    clock = Clock(frozen=start - timedelta(hours=24))
    request = HTTPXRequest(connection_pool_size=32)
    async with Bot(TOKEN, base_url=base_url, request=request) as bot:
        dispatcher = Dispatcher(db, bot, clock)
        began = time.perf_counter()
        # as the bot's job does: a short run every second (each carries on where the last stopped)
        while dispatcher.delivered < members and time.perf_counter() - began < 3 * members / LIMIT + 60:
            tick = time.perf_counter()
            await dispatcher.run_once()
            await asyncio.sleep(max(0.0, tick + DISPATCH_INTERVAL_SECONDS - time.perf_counter()))
        await dispatcher.stop()
        sent = dispatcher.delivered
        elapsed = time.perf_counter() - began
    ok, too_many = server.stop()

    per_chat = Counter(chat for chat, _ts in ok)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = sum(1 for i in range(members) if per_chat.get(FIRST_CHAT + i, 0) == 0)
    span = ok[-1][1] - ok[0][1] if len(ok) > 1 else elapsed
    rate = (len(ok) - 1) / span if span > 0 else 0.0
    async with db.session() as session:
        unsent = len(
            (
                await session.exec(
                    select(Outbox.id).where(Outbox.kind == "reminder", Outbox.status != "sent")
                )
            ).all()
        )
    print(f"members:               {members}")
    print(
        f"rows planned:          {total_rows} (invitation, reminder, check-in notice each) in {plan_seconds:.2f} s"
        f" ({total_rows / plan_seconds:.0f} rows/s)"
    )
    print(f"reminders sent:        {sent} in {elapsed:.1f} s")
    print(f"achieved rate:         {rate:.2f} msg/s (first to last send, as the emulator saw them)")
    print(f"ratio to {LIMIT}/s limit:   {rate / LIMIT:.3f} (target >= 0.95)")
    print(f"429s received:         {too_many} (target 0)")
    print(f"duplicates:            {duplicates} (target 0)")
    print(f"lost:                  {lost} (target 0); rows not marked sent: {unsent}")
    await db.dispose()
    good = rate / LIMIT >= 0.95 and too_many == 0 and duplicates == 0 and lost == 0
    return 0 if good else 1


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    if args.members < 2:
        parser.error("--members must be at least 2")
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        sys.exit(asyncio.run(main(args.members, url)))


if __name__ == "__main__":
    cli()
