"""Benchmark: one member floods the bot with 1,000 updates (a stuck client, an album storm) and
another member sends /help right after; how long until the other member is answered, and how
much of the flood was still waiting then.

    .venv/bin/python bench/flood.py [--flood 1000] [--db sqlite|postgres] [--rounds 3]

As in bench/report_throughput.py, the emulator and the simulated members run in a child process
(bench/_emuproc.py) and the bot alone in this one. Two ways of ordering an update's waits are run
in turns: lvzhi's (the member's own lane first, then one of 256 processing slots) and the earlier
one, where PTB's 256 slots were taken before the member's lane, so a flooding member held them all.
Target: the other member is answered within 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._emuproc import STOP, EmulatorProcess  # noqa: E402
from bench.report_throughput import make_database, seed  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
FLOODER, OTHER = 900_001, 900_002
TARGET_S = 1.0


# --------------------------------------------------------------------------- the child process


async def flood(emu: Any, count: int) -> tuple[float, int, float]:
    """Inject `count` /help from the flooder, then one from the other member; returns (seconds until
    the other was answered, flood answers sent by then, seconds until the whole flood was answered)."""
    answered = {FLOODER: 0, OTHER: 0}
    done = {OTHER: asyncio.Event(), FLOODER: asyncio.Event()}

    def on_call(call: Any) -> None:  # on the emulator's loop
        chat = call.params.get("chat_id")
        if call.method == "sendMessage" and chat in answered:
            answered[chat] += 1
            if chat == OTHER or answered[FLOODER] == count:
                done[chat].set()

    emu.add_listener(on_call)
    try:
        flooder, other = emu.user(FLOODER, "刷屏"), emu.user(OTHER, "委员")
        start = time.perf_counter()
        for _ in range(count):
            flooder.send_text("/help")
        asked = time.perf_counter()
        other.send_text("/help")
        await asyncio.wait_for(done[OTHER].wait(), 300)
        latency, flood_answered = time.perf_counter() - asked, answered[FLOODER]
        await asyncio.wait_for(done[FLOODER].wait(), 300)
        return latency, flood_answered, time.perf_counter() - start
    finally:
        emu.remove_listener(on_call)


def serve(emu: Any, conn: Any) -> None:
    while (message := conn.recv()) != STOP:
        command, *args = message
        if command == "flood":
            conn.send(("ok", emu.run_coroutine(flood(emu, *args)).result()))
        else:
            conn.send(("error", f"unknown command {command!r}"))


# --------------------------------------------------------------------------- this process: the bot


def slots_before_lane() -> type:
    """The earlier order, for comparison: PTB's 256 slots taken first, then the member's lane."""
    from telegram import Update
    from telegram.ext import SimpleUpdateProcessor

    class SlotsFirst(SimpleUpdateProcessor):
        def __init__(self, max_concurrent_updates: int = 256) -> None:
            super().__init__(max_concurrent_updates)
            self._lanes: dict[int, asyncio.Lock] = {}

        async def do_process_update(self, update: object, coroutine: Any) -> None:
            user = update.effective_user if isinstance(update, Update) else None
            if user is None:
                await coroutine
                return
            async with self._lanes.setdefault(user.id, asyncio.Lock()):
                await coroutine

    return SlotsFirst


async def one_round(kind: str, count: int, order: str) -> tuple[float, int, float]:
    import bot.telegram.app
    from bot.assemble import make_deps, running
    from bot.core.config import load_settings
    from bot.telegram.processing import PerUserUpdateProcessor
    from models.db import Database, upgrade

    bot.telegram.app.PerUserUpdateProcessor = slots_before_lane() if order == "slots first" else PerUserUpdateProcessor  # type: ignore[misc]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = make_database(kind, Path(tmp))
            try:
                upgrade(url)
                db = Database(url)
                await seed(db, [FLOODER, OTHER])
                with EmulatorProcess(token=TOKEN, serve=serve) as emu:
                    settings = load_settings(
                        _env_file=None, database_url=url, telegram_bot_token=TOKEN,
                        telegram_api_base_url=emu.base_url, telegram_api_file_url=emu.base_file_url,
                        bot_username="lvzhi_bench_bot", log_level="WARNING",
                    )  # fmt: skip
                    async with running(make_deps(settings, db), poll_timeout=1):
                        result = await asyncio.to_thread(emu.call, "flood", count)
                await db.dispose()
            finally:
                drop()
    finally:
        bot.telegram.app.PerUserUpdateProcessor = PerUserUpdateProcessor  # type: ignore[misc]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=1000, help="updates the flooding member sends")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("httpx", "apscheduler", "telegram", "bot", "handlers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    orders = ["lane first", "slots first"]
    results: dict[str, list[tuple[float, int, float]]] = {order: [] for order in orders}
    print(f"one member sends {args.flood} × /help, another member /help right after; {args.db}, {args.rounds} rounds")
    for number in range(1, args.rounds + 1):
        for order in orders:
            results[order].append(asyncio.run(one_round(args.db, args.flood, order)))
        line = ", ".join(f"{order} {r[-1][0]:.3f} s" for order, r in results.items())
        print(f"round {number}: other member answered after {line}", flush=True)
    print(f"{'order of waits':<32}{'answered after (median, worst)':>32}{'flood answered by then':>24}"
          f"{'whole flood':>13}")  # fmt: skip
    for order, rounds in results.items():
        latencies = [r[0] for r in rounds]
        worst = max(latencies)
        label = "lvzhi: own lane, then a slot" if order == "lane first" else "before: PTB's slot, then lane"
        verdict = "ok" if worst <= TARGET_S else "MISS"
        print(f"{label:<32}{statistics.median(latencies):>16.3f} s{worst:>9.3f} s {verdict:<4}"
              f"{statistics.median(r[1] for r in rounds):>18.0f}/{args.flood}"
              f"{statistics.median(r[2] for r in rounds):>11.1f} s")  # fmt: skip
    print(f"target: the other member answered within {TARGET_S:g} s (lvzhi)")


if __name__ == "__main__":
    main()
