"""Benchmark: how long after a notice reaches Telegram can a SIGKILL still make it repeat?

A real `python -m bot run` process polls the Bot API emulator. Each round queues one notice (an
outbox row, as a 退回 or an event reminder is) for a chat of its own; the emulator SIGKILLs the bot
`delay` ms after it received that notice's sendMessage (0 = before it answers), and the bot is
started again. At the end every row has settled and each notice's deliveries are counted: a
notice delivered twice is a repeat. Prints one line per delay.

    .venv/bin/python bench/kill_window.py [--kills 20] [--delays 0,5,10,20,50,100,200]
        [--latency 0] [--database-url sqlite:///…]

`--latency` (seconds) makes the emulator answer every call that much later (a real round trip);
the message still counts as received when the request arrives. Each kill costs a bot start
(~2 s), so the default 140 kills take several minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from bench._botproc import TOKEN, start_bot, until  # noqa: E402
from bot.devtools.emulator import BotApiEmulator  # noqa: E402
from bot.services.outbox import enqueue  # noqa: E402
from models import Outbox  # noqa: E402
from models.db import Database, upgrade  # noqa: E402

FIRST_CHAT = 710_000_000
FINAL = ("sent", "failed", "dropped", "uncertain")


def kill_on_receipt(emu: BotApiEmulator, proc: subprocess.Popen, text: str, delay: float) -> None:
    """SIGKILL `proc` `delay` s after the emulator received `text` (on its loop, before answering)."""

    def kill() -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)

    def listener(call) -> None:  # type: ignore[no-untyped-def]
        if call.method == "sendMessage" and call.params.get("text") == text:
            emu.remove_listener(listener)
            if delay <= 0:
                kill()
            else:
                asyncio.get_running_loop().call_later(delay, kill)

    emu.add_listener(listener)


async def settled(db: Database) -> bool:
    async with db.session() as session:
        return not (await session.exec(select(Outbox.id).where(col(Outbox.status).not_in(FINAL)))).first()


async def main(kills: int, delays: list[int], latency: float, url: str) -> None:
    upgrade(url)
    db = Database(url)
    work = Path(tempfile.mkdtemp(prefix="lvzhi-kill-"))
    log = work / "bot.log"
    texts: dict[str, int] = {}  # notice text -> delay (ms)
    started = time.monotonic()
    with BotApiEmulator(token=TOKEN) as emu:
        emu.delay = latency
        proc = start_bot(url, emu, log)
        try:
            for round_no, delay in enumerate(d for d in delays for _ in range(kills)):
                chat = FIRST_CHAT + round_no
                emu.user(chat, f"委员{round_no:03d}")
                text = f"↩️ 您的履职报告被退回（第 {round_no} 次）"
                texts[text] = delay
                kill_on_receipt(emu, proc, text, delay / 1000)
                async with db.session() as session:
                    await enqueue(session, dedupe_key=f"bench-kill:{round_no}", chat_id=chat, text=text,
                                  now=datetime.now(UTC) - timedelta(seconds=1))  # fmt: skip
                await until(lambda proc=proc: proc.poll() is not None, "the kill")
                proc = start_bot(url, emu, log)
            await until(lambda: settled(db), "every notice sent")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        delivered = Counter(
            c.params.get("text") for c in emu.calls_of("sendMessage") if c.status == 200
        )
    await db.dispose()
    print(f"kills per delay: {kills}; emulator latency per call: {latency * 1000:.0f} ms; "
          f"database: {url.split(':', 1)[0]}; {time.monotonic() - started:.0f} s")  # fmt: skip
    print(f"{'delay after receipt':>20} | {'kills':>5} | {'repeated':>8} | {'lost':>4}")
    for delay in delays:
        mine = [text for text, d in texts.items() if d == delay]
        repeated = sum(1 for text in mine if delivered[text] > 1)
        lost = sum(1 for text in mine if delivered[text] == 0)
        print(f"{delay:>17} ms | {len(mine):>5} | {repeated:>8} | {lost:>4}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--delays", default="0,5,10,20,50,100,200")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    database = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='lvzhi-kill-db-')}/bench.db"
    asyncio.run(main(args.kills, [int(d) for d in args.delays.split(",")], args.latency, database))
