"""The outbox dispatcher against the Bot API emulator: Telegram's limits (429s), blocked users,
refused messages, timeouts, network errors, restarts with overdue rows, quiet hours, and a
SIGKILL in the middle of a batch. Business time is a frozen clock; only the rate limits and the
emulator's own delays run on real time, as they do against Telegram."""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.clock import Clock, to_db
from bot.core.schedule import QuietHours
from bot.devtools.emulator import BotApiEmulator
from bot.services.outbox import Queued, enqueue, enqueue_many, notify_member
from bot.telegram.dispatcher import Dispatcher, RateLimiter
from models import Member, Outbox
from models.db import Database
from tests.conftest import TOKEN, add_member
from tests.launcher import Launched, launch

NOW = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ROOT = Path(__file__).resolve().parent.parent


def make_bot(emu: BotApiEmulator, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout, write_timeout=read_timeout)
    return Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url, request=request)


async def queue_texts(
    db: Database, items: list[tuple[int, str]], *, kind: str = "notice", now: datetime = NOW, **kwargs: object
) -> None:
    async with db.session() as session:
        for chat_id, key in items:
            await enqueue(
                session, dedupe_key=key, chat_id=chat_id, text=f"msg {key}", now=now, kind=kind, **kwargs
            )  # type: ignore[arg-type]


async def rows(db: Database) -> dict[str, Outbox]:
    async with db.session() as session:
        return {r.dedupe_key: r for r in (await session.exec(select(Outbox))).all()}


def delivered(emu: BotApiEmulator) -> list[str]:
    return [c.params["text"] for c in emu.calls_of("sendMessage") if c.status == 200]


@pytest.fixture
def limited_emu():  # type: ignore[no-untyped-def]
    with BotApiEmulator(token=TOKEN, enforce_limits=True) as emulator:
        yield emulator


async def test_paced_within_both_limits_in_order_and_once(db, limited_emu):
    emu = limited_emu
    many = [(5000 + i, f"one-{i}") for i in range(45)]
    chatty = [(4000, f"same-{i}") for i in range(4)]
    for chat_id, _ in many + chatty:
        emu.user(chat_id, f"u{chat_id}")
    await queue_texts(db, chatty + many)
    async with make_bot(emu) as bot:
        sent = await Dispatcher(db, bot, Clock(frozen=NOW)).drain()
    assert sent == 49
    assert emu.stats["429"] == 0
    texts = delivered(emu)
    assert sorted(texts) == sorted(f"msg {k}" for _, k in many + chatty)  # each exactly once
    same = [c for c in emu.calls_of("sendMessage") if c.params["chat_id"] == 4000]
    assert [c.params["text"] for c in same] == [f"msg same-{i}" for i in range(4)]  # in order
    assert all(b.ts - a.ts >= 1.0 for a, b in zip(same, same[1:], strict=False))  # ≤ 1/s per chat
    assert {r.status for r in (await rows(db)).values()} == {"sent"}


async def test_429_waits_retry_after_then_sends_once(db, emu):
    emu.user(6001, "a")
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await queue_texts(db, [(6001, "k1")])
    async with make_bot(emu) as bot:
        sent = await Dispatcher(db, bot, Clock(frozen=NOW)).drain()
    calls = emu.calls_of("sendMessage")
    assert sent == 1 and [c.status for c in calls] == [429, 200]
    assert calls[1].ts - calls[0].ts >= 1.0
    assert (await rows(db))["k1"].status == "sent"


async def test_stricter_server_limit_429s_are_retried_without_loss_or_duplicates(db):
    with BotApiEmulator(token=TOKEN, enforce_limits=True, global_rate=8) as emu:
        for i in range(20):
            emu.user(7000 + i, "u")
        await queue_texts(db, [(7000 + i, f"s{i}") for i in range(20)])
        async with make_bot(emu) as bot:
            sent = await Dispatcher(db, bot, Clock(frozen=NOW)).drain()
        assert emu.stats["429"] > 0  # our limiter allows 30/s, the server only 8/s
        assert sent == 20 and sorted(delivered(emu)) == sorted(f"msg s{i}" for i in range(20))


async def test_blocked_member_is_marked_unreachable_and_nothing_more_is_queued(db, emu):
    blocked = await add_member(db, "廖艳", telegram_user_id=6101)
    other = await add_member(db, "朱宇浩", telegram_user_id=6102)
    emu.user(6101, "廖艳").block()
    emu.user(6102, "朱宇浩")
    async with db.session() as session:
        for key, member in (("b1", blocked), ("b2", blocked), ("o1", other)):
            await enqueue(
                session,
                dedupe_key=key,
                chat_id=member.telegram_user_id,
                text="hello",
                now=NOW,
                member_id=member.id,
            )
        await enqueue(
            session,
            dedupe_key="later-for-blocked",
            chat_id=6101,
            text="later",
            now=NOW,
            member_id=blocked.id,
            send_after=NOW + timedelta(days=1),
        )
    async with make_bot(emu) as bot:
        await Dispatcher(db, bot, Clock(frozen=NOW)).drain()
    assert len([c for c in emu.calls_of("sendMessage") if c.status == 403]) == 1  # not tried twice
    assert delivered(emu) == ["hello"]
    stored = await rows(db)
    assert sorted(r.status for r in stored.values() if r.chat_id == 6101) == ["dropped", "dropped", "failed"]
    async with db.session() as session:
        member = await session.get(Member, blocked.id)
        assert member.reachable is False
        assert not await notify_member(session, member, "common.cancelled", dedupe_key="after", now=NOW)


async def one_text_whose_first_send_fails(
    db: Database, emu: BotApiEmulator, chat_id: int, key: str, status: int, description: str
) -> Clock:
    """One text queued for `chat_id` (dedupe key `key`) whose first sendMessage Telegram answers with
    `status` and `description`; returns the dispatcher's clock, frozen at NOW."""
    emu.user(chat_id, "a")
    emu.fail_next("sendMessage", status, description)
    await queue_texts(db, [(chat_id, key)])
    return Clock(frozen=NOW)


async def test_other_400_is_recorded_and_not_retried(db, emu):
    clock = await one_text_whose_first_send_fails(
        db, emu, 6201, "bad", 400, "Bad Request: message text is empty"
    )
    async with make_bot(emu) as bot:
        dispatcher = Dispatcher(db, bot, clock)
        assert await dispatcher.drain() == 0
        clock.advance(timedelta(hours=1))
        assert await dispatcher.drain() == 0
    row = (await rows(db))["bad"]
    assert row.status == "failed" and "400" in (row.last_error or "")
    assert len(emu.calls_of("sendMessage")) == 1


async def test_timed_out_send_is_not_blindly_repeated(db, emu):
    emu.user(6301, "a")
    emu.delay_next("sendMessage", 1.0)  # answers after the bot gave up; the message did arrive
    await queue_texts(db, [(6301, "slow")])
    clock = Clock(frozen=NOW)
    async with make_bot(emu, read_timeout=0.3) as bot:
        dispatcher = Dispatcher(db, bot, clock)
        await dispatcher.drain()
        clock.advance(timedelta(hours=1))
        await dispatcher.drain()
    await asyncio.sleep(0)
    assert (await rows(db))["slow"].status == "uncertain"
    assert len(emu.calls_of("sendMessage")) == 1 and len(emu.sent_to(6301)) == 1


async def test_network_error_backs_off_then_sends(db, emu):
    clock = await one_text_whose_first_send_fails(db, emu, 6401, "net", 502, "Bad Gateway")
    async with make_bot(emu) as bot:
        dispatcher = Dispatcher(db, bot, clock)
        assert await dispatcher.drain() == 0
        row = (await rows(db))["net"]
        assert row.status == "pending" and row.send_after > to_db(NOW)  # backed off
        assert await dispatcher.drain() == 0  # not due yet: no new call
        assert len(emu.calls_of("sendMessage")) == 1
        clock.advance(timedelta(seconds=5))
        assert await dispatcher.drain() == 1
    assert delivered(emu) == ["msg net"]


async def test_restart_sends_overdue_reminders_before_the_event_and_drops_stale_ones(db, emu):
    emu.user(6501, "a")
    start = NOW + timedelta(hours=1)
    # Planned while the bot was up; it was down when they fell due.
    for key, due, expires in (
        ("still-useful", NOW - timedelta(hours=1), start),
        ("too-late", NOW - timedelta(hours=3), NOW - timedelta(hours=2)),
    ):
        await queue_texts(
            db, [(6501, key)], kind="reminder", now=NOW - timedelta(days=1), send_after=due, expires_at=expires
        )
    await queue_texts(db, [(6501, "in-flight")], now=NOW - timedelta(days=1))
    async with db.session() as session:
        row = (await session.exec(select(Outbox).where(Outbox.dedupe_key == "in-flight"))).one()
        row.status = "sending"  # the process died during this one's request
        session.add(row)
    async with make_bot(emu) as bot:
        dispatcher = Dispatcher(db, bot, Clock(frozen=NOW))
        assert await dispatcher.recover() == 1
        assert await dispatcher.drain() == 2
    stored = await rows(db)
    assert stored["still-useful"].status == "sent" and stored["in-flight"].status == "sent"
    assert stored["too-late"].status == "dropped"
    assert sorted(delivered(emu)) == ["msg in-flight", "msg still-useful"]


async def test_quiet_hours_hold_reminders_not_notices(db, emu):
    emu.user(6601, "a")
    zone = ZoneInfo("Asia/Shanghai")
    night = datetime(2025, 11, 3, 22, 30, tzinfo=zone).astimezone(UTC)
    await queue_texts(
        db, [(6601, "reminder")], kind="reminder", now=night, expires_at=night + timedelta(days=1)
    )
    await queue_texts(db, [(6601, "notice")], now=night)
    await queue_texts(
        db, [(6601, "urgent")], kind="reminder", now=night, expires_at=night + timedelta(hours=2)
    )
    clock = Clock(frozen=night)
    async with make_bot(emu) as bot:
        dispatcher = Dispatcher(db, bot, clock, quiet=QuietHours(), zone=zone)
        assert await dispatcher.drain() == 2  # the notice, and the reminder that cannot wait
        stored = await rows(db)
        assert stored["reminder"].status == "pending"
        assert stored["reminder"].send_after == to_db(datetime(2025, 11, 4, 8, 0, tzinfo=zone))
        clock.advance(datetime(2025, 11, 4, 8, 0, tzinfo=zone) - night)
        assert await dispatcher.drain() == 1
    assert sorted(delivered(emu)) == ["msg notice", "msg reminder", "msg urgent"]


def test_rate_limiter_spaces_sends_by_answers():
    now = [0.0]
    limiter = RateLimiter(per_second=3, chat_interval=1.0, margin=0.0, clock=lambda: now[0])
    assert limiter.ready_at(1) is not None and limiter.ready_at(1) <= 0
    slot = limiter.start(1)
    assert limiter.ready_at(1) is None  # the chat's previous request is still in flight
    now[0] = 0.2
    limiter.finish(slot)
    assert limiter.ready_at(1) == pytest.approx(1.2)  # one second after the answer
    for chat in (2, 3):
        now[0] = limiter.ready_at(chat)
        limiter.finish(limiter.start(chat))
    # the 4th send overall waits one second after the answer to the 1st
    assert limiter.ready_at(4) == pytest.approx(1.2)
    limiter.pause(5)
    assert limiter.ready_at(4) >= now[0] + 5


async def test_enqueue_many_is_idempotent(db):
    messages = [Queued(dedupe_key=f"bulk-{i}", chat_id=100 + i, text="x") for i in range(1200)]
    async with db.session() as session:
        assert await enqueue_many(session, messages, now=NOW) == 1200
    async with db.session() as session:
        assert await enqueue_many(session, messages[:10], now=NOW) == 0
        assert len((await session.exec(select(Outbox.id))).all()) == 1200


DISPATCH_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime, UTC
    from telegram import Bot
    from bot.core.clock import Clock
    from bot.telegram.dispatcher import Dispatcher
    from models.db import Database

    async def main():
        db = Database(sys.argv[1])
        async with Bot(sys.argv[2], base_url=sys.argv[3]) as bot:
            dispatcher = Dispatcher(db, bot, Clock(frozen=datetime(2025, 11, 3, 2, 0, tzinfo=UTC)))
            print("recovered", await dispatcher.recover(), flush=True)
            print("sent", await dispatcher.drain(), flush=True)
        await db.dispose()

    asyncio.run(main())
    """
)


async def test_missing_attachment_file_fails_the_row_and_the_run_goes_on(db, emu, tmp_path):
    emu.user(6301, "a")
    async with db.session() as session:
        await enqueue(session, dedupe_key="gone", chat_id=6301, text="chart", now=NOW, method="sendPhoto",
                      extra={"photo": f"file:{tmp_path / 'deleted.png'}"})
    await queue_texts(db, [(6301, "after")], now=NOW + timedelta(seconds=1))
    clock = Clock(frozen=NOW + timedelta(minutes=1))
    async with make_bot(emu) as bot:
        assert await Dispatcher(db, bot, clock).drain() == 1
    got = await rows(db)
    assert got["gone"].status == "failed" and "file" in (got["gone"].last_error or "")
    assert got["after"].status == "sent" and delivered(emu) == ["msg after"]


@pytest.mark.parametrize("latency", [0.0, 0.1, 0.3])
async def test_sigkill_with_real_round_trips_repeats_at_most_the_sends_under_way(db_url, db, latency, tmp_path):
    """A SIGKILL in the middle of a batch repeats the sends under way whose request had arrived,
    never more, and loses nothing. With instant answers that is about one; with 100–300 ms round
    trips several are under way at once, up to `max_in_flight`."""
    total, kill_at = 40, 15
    with BotApiEmulator(token=TOKEN, delay=latency) as emu:
        for i in range(total):
            emu.user(8100 + i, "u")
        await queue_texts(db, [(8100 + i, f"r{i}") for i in range(total)])
        launched: list[Launched] = []
        pid_known = threading.Event()

        def kill_on_arrival(call) -> None:  # noqa: ANN001 - emulator Call
            if call.method == "sendMessage" and len(delivered(emu)) == kill_at:
                pid_known.wait(10)  # the fork may send before launch() has returned its pid
                os.kill(launched[0].pid, signal.SIGKILL)

        emu.add_listener(kill_on_arrival)
        args = [db_url, TOKEN, emu.base_url]
        out, err = tmp_path / "out.txt", tmp_path / "err.txt"
        # `python -c DISPATCH_SCRIPT …` as a process of its own (tests/launcher.py)
        launched.append(launch(args, script=DISPATCH_SCRIPT, cwd=ROOT, stdout=out, stderr=err))
        pid_known.set()
        first = launched[0]
        await asyncio.to_thread(first.wait, 60)
        emu.remove_listener(kill_on_arrival)
        assert first.returncode == -signal.SIGKILL, (out.read_text(), err.read_text())
        under_way = {r.payload["text"] for r in (await rows(db)).values() if r.status == "sending"}
        arrived = set(delivered(emu))
        second = launch(args, script=DISPATCH_SCRIPT, cwd=ROOT, stdout=out, stderr=err)
        await asyncio.to_thread(second.wait, 60)
        assert second.returncode == 0, err.read_text()
        texts = delivered(emu)
    assert set(texts) == {f"msg r{i}" for i in range(total)}  # nothing lost
    repeated = {text for text in texts if texts.count(text) > 1}
    # only sends under way at the kill repeat: those whose request had arrived and was not answered
    assert repeated == under_way & arrived
    assert len(texts) - total == len(repeated) <= 8  # Dispatcher.max_in_flight
    assert {r.status for r in (await rows(db)).values()} == {"sent"}
    print(f"latency {latency * 1000:.0f} ms: {len(under_way)} under way at the kill, {len(repeated)} repeated")


async def test_scheduled_runs_are_short_and_carry_on_where_the_last_one_stopped(db, limited_emu):
    """The job: each run starts sends for `run_seconds` only; run after run, everything goes once,
    one chat's messages in order, within Telegram's limits."""
    emu = limited_emu
    chatty = [(4100, f"same-{i}") for i in range(3)]
    many = [(5100 + i, f"one-{i}") for i in range(30)]
    for chat_id, _ in chatty + many:
        emu.user(chat_id, f"u{chat_id}")
    await queue_texts(db, chatty + many)
    async with make_bot(emu) as bot:
        dispatcher = Dispatcher(db, bot, Clock(frozen=NOW), run_seconds=0.2)
        first = await dispatcher.run_once()
        pending = [r for r in (await rows(db)).values() if r.status == "pending"]
        assert first < len(chatty + many) and pending  # one short run did not empty the backlog
        runs = 1
        while len(delivered(emu)) < len(chatty + many):
            await dispatcher.run_once()
            runs += 1
            assert runs < 100, "the backlog is not moving"
        await dispatcher.stop()
    assert emu.stats["429"] == 0
    assert sorted(delivered(emu)) == sorted(f"msg {k}" for _, k in chatty + many)
    same = [c.params["text"] for c in emu.calls_of("sendMessage") if c.params["chat_id"] == 4100]
    assert same == [f"msg same-{i}" for i in range(3)]
    assert {r.status for r in (await rows(db)).values()} == {"sent"}


async def test_a_stop_ends_a_run_at_once_and_waits_only_for_the_sends_under_way(db):
    with BotApiEmulator(token=TOKEN, delay=0.2) as emu:
        for i in range(60):
            emu.user(5200 + i, "u")
        await queue_texts(db, [(5200 + i, f"s{i}") for i in range(60)])
        async with make_bot(emu) as bot:
            dispatcher = Dispatcher(db, bot, Clock(frozen=NOW), run_seconds=60)
            run = asyncio.create_task(dispatcher.run_once())
            await emu.wait_for(lambda: "msg s9" in delivered(emu), what="sends under way")
            await dispatcher.stop()
            assert run.done()  # the run returned when asked to stop, long before its 60 s
            assert await dispatcher.run_once() == 0  # and no run starts after a stop
    statuses = [r.status for r in (await rows(db)).values()]
    assert "sending" not in statuses  # the sends under way were answered and recorded
    assert statuses.count("sent") == len(delivered(emu)) and statuses.count("pending") > 0


async def test_two_dispatchers_on_one_table_never_send_a_row_twice(db_url, db, emu):
    """A second dispatcher by mistake (two processes both thinking they are active): each row is
    claimed by one of them (FOR UPDATE SKIP LOCKED on PostgreSQL), so every message goes once."""
    items = [(6000 + i, f"both-{i}") for i in range(120)]
    for chat_id, _ in items:
        emu.user(chat_id, f"u{chat_id}")
    await queue_texts(db, items)
    other = Database(db_url)
    try:
        async with make_bot(emu) as bot_a, make_bot(emu) as bot_b:
            sent = await asyncio.gather(Dispatcher(db, bot_a, Clock(frozen=NOW), max_in_flight=16).drain(),
                                        Dispatcher(other, bot_b, Clock(frozen=NOW), max_in_flight=16).drain())  # fmt: skip
    finally:
        await other.dispose()
    assert sum(sent) == 120 and all(sent)  # both took part
    assert sorted(delivered(emu)) == sorted(f"msg {k}" for _, k in items)  # each exactly once
