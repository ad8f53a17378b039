"""Benchmark: how far the secretariat pages through /inbox to reach an item for a later 报送 or 办理反馈,
over a year of 社情民意 (issue 13: 113 items took 10 pages on average, 19 at worst).

    .venv/bin/python bench/inbox_reach.py [--items 113] [--seed 13]

A year is replayed in time order on a fresh SQLite database through the real services (bot.services.info):
items are submitted every few days, most are adopted, many are reported upward weeks later, some
are transferred and answered. At the moment of each later 报送 or 反馈 it counts the pages (5 cards a
page) needed to reach that item:

- before: the old queue — state 已采用, oldest first (every adopted item stays there for good);
- views: the workflow view the step belongs to (已采用待报送 for a 报送, 已报送待反馈 for a 反馈), newest first;
- by number: `/inbox SQ-2025-0042` — always one message.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ZONE = ZoneInfo("Asia/Shanghai")
PAGE = 5
START = datetime(2025, 1, 6, 9, 0, tzinfo=ZONE).astimezone(UTC)
BODY = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。建议区住建局牵头简化审批流程，设立专项补贴。"


@dataclass(order=True)
class Step:
    at: datetime
    kind: str  # submit / accept / report / transfer / feedback
    item: int  # index in the year's items


def plan(items: int, rng: random.Random) -> list[Step]:
    """A year of steps: a new item every ~3 days; 80 % adopted within a week; of those, 60 % reported
    upward 1–8 weeks later (some twice), 30 % transferred 1–3 weeks later and answered 2–10 weeks after."""
    steps: list[Step] = []
    for n in range(items):
        submitted = START + timedelta(days=n * 350 / items, hours=rng.randint(0, 8))
        steps.append(Step(submitted, "submit", n))
        if rng.random() > 0.8:
            continue
        accepted = submitted + timedelta(days=rng.randint(1, 7))
        steps.append(Step(accepted, "accept", n))
        if rng.random() < 0.6:
            steps.append(Step(accepted + timedelta(days=rng.randint(7, 56)), "report", n))
        if rng.random() < 0.3:
            transferred = accepted + timedelta(days=rng.randint(7, 21))
            steps.append(Step(transferred, "transfer", n))
            steps.append(Step(transferred + timedelta(days=rng.randint(14, 70)), "feedback", n))
    return sorted(steps)


async def old_queue_page(session, item_id: int) -> int:  # type: ignore[no-untyped-def]
    """The page of the item in the queue as it was: 已采用, oldest first."""
    from sqlmodel import col, select

    from models import InfoItem

    ids = (
        await session.exec(
            select(InfoItem.id)
            .where(InfoItem.state == "accepted")
            .order_by(col(InfoItem.last_submitted_at), col(InfoItem.id))
        )
    ).all()
    return list(ids).index(item_id) // PAGE + 1


async def view_page(session, view: str, item_id: int) -> int:  # type: ignore[no-untyped-def]
    """The page of the item in a workflow view (bot.services.info.queue), paging as /inbox does."""
    from bot.services import info

    offset = 0
    while True:
        views, total = await info.queue(session, view, offset=offset, limit=PAGE)
        if any(v.item.id == item_id for v in views):
            return offset // PAGE + 1
        offset += PAGE
        if offset >= total:
            raise AssertionError(f"item {item_id} not in {view}")


async def run(items: int, seed: int) -> dict[str, list[int]]:
    from bot.core.rules import load_rules
    from bot.services import info
    from models import Member
    from models.db import Database, upgrade

    rng = random.Random(seed)
    rules = load_rules(ROOT / "bot" / "core" / "rules.default.toml")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        async with db.session() as session:
            author = Member(name="苏建华", sector="民建", committee="经济委员会")
            staff = Member(name="王秘书", role="secretariat")
            session.add_all([author, staff])
            await session.flush()
            await session.refresh(author)
            await session.refresh(staff)
        ids: dict[int, int] = {}
        pages: dict[str, list[int]] = {"before": [], "views": [], "by number": []}
        for step in plan(items, rng):
            async with db.session() as session:
                if step.kind == "submit":
                    item = await info.submit(session, author_id=author.id, title=f"第{step.item + 1}条：加装电梯推进难",
                                             category="民生保障", body=BODY + str(step.item), now=step.at, tz=ZONE,
                                             rules=rules)  # fmt: skip
                    ids[step.item] = item.id  # type: ignore[assignment]
                    continue
                item_id = ids[step.item]
                if step.kind in ("report", "feedback"):  # a later step: the item has to be found first
                    pages["before"].append(await old_queue_page(session, item_id))
                    view = "to_report" if step.kind == "report" else "to_feedback"
                    pages["views"].append(await view_page(session, view, item_id))
                    pages["by number"].append(1)
                await info.apply_move(
                    session, item_id=item_id, move=step.kind, actor=staff, now=step.at, tz=ZONE,
                    level="city" if step.kind == "report" else None,
                    target="区住建局" if step.kind == "transfer" else None,
                    text="已办结" if step.kind == "feedback" else None,
                    on_date=step.at.astimezone(ZONE).date(),
                )  # fmt: skip
        await db.dispose()
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=113)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    pages = asyncio.run(run(args.items, args.seed))
    print(f"{args.items} items over a year; {len(pages['before'])} later 报送/反馈 steps (seed {args.seed})")
    print(f"{'way to reach the item':<28}{'mean pages':>12}{'worst':>8}")
    for name, label in (("before", "before (已采用, oldest first)"), ("views", "workflow view, newest first"),
                        ("by number", "/inbox SQ-…-NNNN")):  # fmt: skip
        values = pages[name]
        print(f"{label:<28}{statistics.mean(values):>12.1f}{max(values):>8}")


if __name__ == "__main__":
    main()
