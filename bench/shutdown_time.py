"""Benchmark: Ctrl-C during a big reminder fan-out. How long does `lvzhi run` take to exit, and is
anything lost or repeated?

Queues N reminders (default 3,000, one per member), starts `python -m bot run` against the Bot API
emulator, sends SIGINT once `--after` messages have gone out, and measures the time to exit. That
is repeated `--trials` times on the same backlog (each start carries on where the last stopped).
Prints one line per trial, then whether every delivered message went once and no row was left in
flight. Target: exit in < 3 s.

    .venv/bin/python bench/shutdown_time.py [--members 3000] [--trials 5] [--after 30]
        [--latency 0] [--database-url sqlite:///…]

`--latency` (seconds) delays every answer of the emulator, like a real network's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select  # noqa: E402

from bench._botproc import TOKEN, start_bot, until  # noqa: E402
from bot.devtools.emulator import BotApiEmulator  # noqa: E402
from bot.services.outbox import Queued, enqueue_many  # noqa: E402
from models import Member, Outbox  # noqa: E402
from models.db import Database, upgrade  # noqa: E402

FIRST_CHAT = 730_000_000


def delivered(emu: BotApiEmulator) -> Counter[str]:
    return Counter(c.params.get("text") for c in emu.calls_of("sendMessage") if c.status == 200)


async def main(members: int, trials: int, after: int, latency: float, url: str) -> None:
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    async with db.session() as session:
        session.add_all([Member(name=f"委员{i:04d}", telegram_user_id=FIRST_CHAT + i) for i in range(members)])
    async with db.session() as session:
        ids = dict((await session.exec(select(Member.telegram_user_id, Member.id))).all())
        await enqueue_many(session, [
            Queued(f"bench-fanout:{i}", FIRST_CHAT + i, f"⏰ 活动提醒 {i}", ids[FIRST_CHAT + i], "reminder",
                   now - timedelta(seconds=1), now + timedelta(days=1))
            for i in range(members)
        ], now=now)  # fmt: skip
    log = Path(tempfile.mkdtemp(prefix="lvzhi-shutdown-")) / "bot.log"
    print(f"{members} reminders queued; Ctrl-C after {after} more sent; emulator latency "
          f"{latency * 1000:.0f} ms; database {url.split(':', 1)[0]}")  # fmt: skip
    print(f"{'trial':>5} | {'exit after Ctrl-C':>17} | {'sent so far':>11} | {'left in flight':>14}")
    with BotApiEmulator(token=TOKEN) as emu:
        emu.delay = latency
        for i in range(members):
            emu.user(FIRST_CHAT + i, f"委员{i:04d}")
        for trial in range(1, trials + 1):
            target = sum(delivered(emu).values()) + after
            proc = start_bot(url, emu, log)
            await until(lambda target=target: sum(delivered(emu).values()) >= target, "the fan-out under way")
            asked = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                code = await asyncio.to_thread(proc.wait, 300)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise SystemExit("the bot did not exit within 300 s") from None
            took = time.monotonic() - asked
            async with db.session() as session:
                statuses = Counter((await session.exec(select(Outbox.status))).all())
            print(f"{trial:>5} | {took:>15.2f} s | {statuses['sent']:>11} | {statuses['sending']:>14}"
                  + ("" if code == 0 else f"  (exit code {code})"))  # fmt: skip
        counts = delivered(emu)
    await db.dispose()
    repeated = sum(1 for n in counts.values() if n > 1)
    print(f"delivered {len(counts)} distinct messages, {repeated} more than once; "
          f"{statuses['pending']} still queued for the next start")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--after", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    database = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='lvzhi-shutdown-db-')}/bench.db"
    asyncio.run(main(args.members, args.trials, args.after, args.latency, database))
