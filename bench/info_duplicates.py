"""Benchmark: the 社情民意 duplicate check (bot.services.info.find_duplicate) against a full window of 500
items of 3,000 characters: how long the check takes, the longest stall of the event loop while it
runs (beside the longest stall of an idle loop over the same time, which is the machine's own), and
how long a submission holds the year's numbering row (from taking the number to its commit).

    .venv/bin/python bench/info_duplicates.py [--db sqlite|postgres|both] [--runs 5]

The query is a lightly edited copy of one stored item, so the check must find that item's number.
PostgreSQL is LVZHI_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres); a database
of its own is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.rules import load_rules  # noqa: E402
from bot.services import info  # noqa: E402
from models import InfoItem, InfoSequence, Member  # noqa: E402
from models.db import Database, upgrade  # noqa: E402

PG_ADMIN = os.environ.get("LVZHI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 12, 8, 1, 0, tzinfo=UTC)
ITEMS, LENGTH = 500, 3000
COMMON = [chr(0x4E00 + i) for i in range(2500)]  # a pool the size of everyday written Chinese


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(COMMON) for _ in range(LENGTH))


async def _fill(db: Database) -> tuple[str, str, str]:
    """500 items in the 90-day window; returns a near copy (title, body) of one and its number."""
    rng = random.Random(7)
    async with db.session() as session:
        author = Member(name="基准委员", sector="民建", committee="经济委员会")
        session.add(author)
        await session.flush()
        bodies = []
        for n in range(1, ITEMS + 1):
            title, body = f"基准信息第{n}号标题", _text(rng)
            bodies.append((title, body))
            at = NOW - timedelta(hours=n)
            kept = info.fingerprint(title, body)  # what a submission stores
            session.add(InfoItem(number=info.format_number(2025, n), year=2025, seq=n, author_id=author.id,
                                 title=title, body=body, category="民生保障", submitted_at=at,
                                 last_submitted_at=at, updated_at=at, bigrams=kept.text,
                                 signature=kept.signature))
        session.add(InfoSequence(year=2025, value=ITEMS))
        await session.flush()
    target = 123
    title, body = bodies[target - 1]
    near = body[:1000] + "建议有关部门重视" + body[1000:2900]  # an edit of one passage, shortened a little
    return title, near, info.format_number(2025, target)


class StallMeter:
    """The longest time the event loop did not get to run a 1 ms ticker."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, time.perf_counter() - start - 0.001)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _lock_held(db: Database, title: str, body: str) -> float:
    """Seconds from taking the year's number to the commit, in one real submission."""
    taken: list[float] = []
    original = info.next_sequence

    async def timed(session, year):  # type: ignore[no-untyped-def]
        value = await original(session, year)
        taken.append(time.perf_counter())
        return value

    info.next_sequence = timed  # type: ignore[assignment]
    try:
        async with db.session() as session:
            author = (await session.exec(info.select(Member))).first()
            await info.submit(session, author_id=author.id, title=title, category="民生保障", body=body, now=NOW,
                              tz=ZONE, rules=load_rules(ROOT / "bot" / "core" / "rules.default.toml"))
        return time.perf_counter() - taken[0]
    finally:
        info.next_sequence = original  # type: ignore[assignment]


async def measure(url: str, runs: int) -> dict[str, float]:
    upgrade(url)
    db = Database(url)
    try:
        title, body, expected = await _fill(db)
        times, stalls = [], []
        for _ in range(runs):
            with StallMeter() as meter:
                start = time.perf_counter()
                async with db.session() as session:
                    found = await info.find_duplicate(session, title, body, NOW)
                times.append(time.perf_counter() - start)
            stalls.append(meter.longest)
            assert found == expected, (found, expected)
        with StallMeter() as idle:  # the same time with nothing to do: what the machine itself adds
            await asyncio.sleep(sum(times))
        lock = await _lock_held(db, title, body)
    finally:
        await db.dispose()
    return {"check_median_ms": statistics.median(times) * 1000, "check_max_ms": max(times) * 1000,
            "stall_max_ms": max(stalls) * 1000, "idle_stall_ms": idle.longest * 1000, "lock_held_ms": lock * 1000}


def _pg_database() -> tuple[str, str]:
    name = f"lvzhi_bench_dup_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{ITEMS} items of {LENGTH} characters in the window; {args.runs} checks each")
    print(f"{'database':<10} {'check median':>13} {'check max':>10} {'loop stall max':>15} {'idle stall':>11} "
          f"{'number held':>12}")
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        if kind == "sqlite":
            folder = tempfile.mkdtemp(prefix="lvzhi-bench-dup-")
            result = asyncio.run(measure(f"sqlite:///{folder}/bench.db", args.runs))
        else:
            name, url = _pg_database()
            _pg_exec(f'CREATE DATABASE "{name}"')
            try:
                result = asyncio.run(measure(url, args.runs))
            finally:
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"{kind:<10} {result['check_median_ms']:>10.1f} ms {result['check_max_ms']:>7.1f} ms "
              f"{result['stall_max_ms']:>12.1f} ms {result['idle_stall_ms']:>8.1f} ms {result['lock_held_ms']:>9.1f} ms")


if __name__ == "__main__":
    main()
