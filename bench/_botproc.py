"""`python -m bot run` as a real process against the Bot API emulator, for the benchmarks that stop
or kill it (bench/kill_window.py, bench/shutdown_time.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOKEN = "123456:BENCH"


def start_bot(url: str, emu: Any, log: Path) -> subprocess.Popen:
    """The bot, polling `emu`, with its log appended to `log`; quiet hours off (real clock)."""
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": emu.base_url, "TELEGRAM_API_FILE_URL": emu.base_file_url,
           "BOT_USERNAME": "lvzhi_bench_bot", "LOG_LEVEL": "WARNING", "QUIET_HOURS": "off"}  # fmt: skip
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=log.parent,
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip


async def until(predicate: Callable[[], Any], what: str, seconds: float = 600) -> None:
    """Wait for `predicate` (a plain or async callable) to come true; exit the benchmark if it does not."""
    deadline = time.monotonic() + seconds
    while True:
        done = predicate()
        if asyncio.iscoroutine(done):
            done = await done
        if done:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)
