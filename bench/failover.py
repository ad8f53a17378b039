"""Failover and webhook throughput (issue 16).

1. Failover: two real `lvzhi run` processes on one PostgreSQL database (long polling, and webhook
   behind a proxy that routes by /readyz); the active one is SIGKILLed and a member sends /help at
   once: the time until the standby's answer arrives. Median of --rounds (5) kills; target < 5 s.
2. Throughput: the whole /report dialog for --members concurrent members (PostgreSQL, or --db
   sqlite), the bot in this process,
   the emulator in a child process (bench/report_throughput.py's load), taking updates by webhook
   and by long polling in turns for --turns rounds; updates/s of each and the ratio of the medians
   (webhook / polling; target >= 0.9).

    .venv/bin/python bench/failover.py [--rounds 5] [--members 200] [--turns 3] [--db postgres|sqlite]
                                       [--skip failover|throughput]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._emuproc import EmulatorProcess  # noqa: E402
from bench.report_throughput import PG_ADMIN, check_stored, make_database, seed, serve_members  # noqa: E402
from bot.devtools.ports import free_port  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
SECRET = "bench-secret"


async def status_of(url: str) -> int | None:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url)).status_code
    except httpx.HTTPError:
        return None


async def until(check, what: str, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- failover


def start_process(url: str, emu, port: int, log: Path, webhook_url: str | None) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": emu.base_url,
           "TELEGRAM_API_FILE_URL": emu.base_file_url, "BOT_USERNAME": "lvzhi_bench_bot", "LOG_LEVEL": "WARNING",
           "QUIET_HOURS": "off", "LISTEN": f"127.0.0.1:{port}"}  # fmt: skip
    if webhook_url:
        env |= {"WEBHOOK_URL": webhook_url, "WEBHOOK_SECRET": SECRET}
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=log.parent,
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip


async def failover(mode: str, rounds: int) -> list[float]:
    from bot.devtools.emulator import BotApiEmulator
    from models.db import Database, upgrade
    from tests.readyz_proxy import ReadyzProxy

    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, BotApiEmulator(token=TOKEN) as emu:
        url, drop = make_database("postgres", Path(tmp))
        ports = [free_port(), free_port()]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        proxy = ReadyzProxy(bases, free_port()) if mode == "webhook" else None
        procs: list[subprocess.Popen | None] = [None, None]
        try:
            upgrade(url)
            db = Database(url)
            await seed(db, [990_001])
            await db.dispose()
            user = emu.user(990_001, "委员")
            if proxy is not None:
                await proxy.__aenter__()
            log = Path(tmp) / "bot.log"
            hook = proxy.url if proxy is not None else None

            async def ready(i: int) -> bool:
                return await status_of(bases[i] + "/readyz") == 200

            async def alive(i: int) -> bool:
                return await status_of(bases[i] + "/healthz") == 200

            procs[0] = start_process(url, emu, ports[0], log, hook)
            await until(lambda: ready(0), "the first process to be ready")
            procs[1] = start_process(url, emu, ports[1], log, hook)
            await until(lambda: alive(1), "the standby to be alive")
            active = 0
            for _ in range(rounds):
                answered = len(user.messages())
                user.send_text("/help")  # warm: the active one answers
                await until(lambda n=answered: _more(user, n), "the active process to answer")
                proc = procs[active]
                assert proc is not None
                answered = len(user.messages())
                started = time.monotonic()
                proc.send_signal(signal.SIGKILL)
                user.send_text("/help")
                await until(lambda n=answered: _more(user, n), "the standby to answer", 60)
                times.append(time.monotonic() - started)
                proc.wait(10)
                standby = active
                active = 1 - active
                await until(lambda i=active: ready(i), "the new active process to be ready")
                procs[standby] = start_process(url, emu, ports[standby], log, hook)
                await until(lambda i=standby: alive(i), "the restarted process to be the standby")
        finally:
            for proc in procs:
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(15)
            if proxy is not None:
                await proxy.__aexit__()
            drop()
    return times


async def _more(user, count: int) -> bool:  # type: ignore[no-untyped-def]
    return len(user.messages()) > count


# --------------------------------------------------------------------------- throughput


async def throughput(mode: str, members: int, kind: str = "postgres") -> tuple[float, float]:
    """Updates per second of the whole /report dialog for `members` members at once, and the bot's
    CPU milliseconds per update (less sensitive to a busy machine than the rate)."""
    from bot.assemble import make_deps, running
    from bot.core.config import load_settings
    from bot.telegram.health import Health
    from bot.telegram.web import Web
    from models.db import Database, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = make_database(kind, Path(tmp))
        try:
            upgrade(url)
            db = Database(url)
            ids = list(range(800_001, 800_001 + members))
            await seed(db, ids)
            with EmulatorProcess(token=TOKEN, serve=serve_members) as emu:
                extra: dict[str, str] = {}
                if mode == "webhook":
                    port = free_port()
                    extra = {"webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_secret": SECRET,
                             "listen": f"127.0.0.1:{port}"}  # fmt: skip
                settings = load_settings(_env_file=None, database_url=url, telegram_bot_token=TOKEN,
                                         telegram_api_base_url=emu.base_url, telegram_api_file_url=emu.base_file_url,
                                         bot_username="lvzhi_bench_bot", log_level="WARNING", **extra)  # fmt: skip
                deps = make_deps(settings, db)
                web = Web(settings, Health(db)) if mode == "webhook" else None
                if web is not None:
                    await web.start()
                try:
                    async with running(deps, poll_timeout=1, web=web):
                        await asyncio.to_thread(emu.call, "users", ids)
                        cpu = time.process_time()
                        elapsed, latencies, *_ = await asyncio.to_thread(emu.call, "drive", "report", ids, None)
                        cpu = time.process_time() - cpu
                finally:
                    if web is not None:
                        await web.stop()
            await check_stored(db, ids)
            await db.dispose()
        finally:
            drop()
    return len(latencies) / elapsed, cpu * 1000 / len(latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--skip", choices=["failover", "throughput"])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres",
                        help="database of the throughput part (webhook mode is the PostgreSQL set-up)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.skip != "failover":
        print(f"failover on PostgreSQL ({PG_ADMIN.rsplit('@', 1)[-1]}): SIGKILL of the active process → the standby's answer")
        for mode in ("polling", "webhook"):
            times = await failover(mode, args.rounds)
            print(f"  {mode:8} median {statistics.median(times):.2f} s over {len(times)} kills "
                  f"(each: {', '.join(f'{x:.2f}' for x in times)}); target < 5 s")  # fmt: skip
    if args.skip != "throughput":
        print(f"/report throughput, {args.members} members at once, {args.db}, {args.turns} turns each")
        rates: dict[str, list[float]] = {"webhook": [], "polling": []}
        cpus: dict[str, list[float]] = {"webhook": [], "polling": []}
        for _ in range(args.turns):
            for mode in rates:
                rate, cpu = await throughput(mode, args.members, args.db)
                rates[mode].append(rate)
                cpus[mode].append(cpu)
        for mode, values in rates.items():
            print(f"  {mode:8} median {statistics.median(values):.0f} updates/s "
                  f"(each: {', '.join(f'{x:.0f}' for x in values)}), "
                  f"bot CPU {statistics.median(cpus[mode]):.2f} ms/update")  # fmt: skip
        ratio = statistics.median(rates["webhook"]) / statistics.median(rates["polling"])
        print(f"  ratio webhook / polling {ratio:.3f}; target >= 0.9")


if __name__ == "__main__":
    asyncio.run(main())
