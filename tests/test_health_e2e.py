"""/healthz, /readyz and /metrics: a running bot (long polling with LISTEN set, a real `lvzhi run`)
is alive and ready and counts what it does; readiness says why it is not ready (not the active
process, schema behind, dispatcher not running) and carries the outbox backlog."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from bot.core.clock import Clock
from bot.services.outbox import enqueue
from bot.telegram.health import Health
from tests.conftest import (
    WAIT,
    add_member,
    expect_reply,
    free_port,
    start_bot_process,
    stop_bot_process,
    until,
)


def _metric(body: str, name: str) -> float:
    """The value of one sample line (`name{labels} value`) of a /metrics page; 0 when absent."""
    for line in body.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_polling_bot_with_listen_is_alive_ready_and_counts_updates_and_sends(emu, db, db_url, tmp_path):
    await add_member(db, "苏建华", telegram_user_id=5401)
    user = emu.user(5401, "建华")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_bot_process(db_url, emu, tmp_path, LISTEN=f"127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await until(ready, "/readyz to answer 200", timeout=WAIT)
            assert (await client.get("/healthz")).status_code == 200
            state = (await client.get("/readyz")).json()
            assert state["role"] == "active" and state["database"] and state["schema_at_head"]
            assert state["dispatcher_ran_seconds_ago"] <= 10 and state["outbox_backlog"] == 0
            await expect_reply(user, lambda: user.send_text("/help"), "苏建华")
            async with db.session() as session:
                await enqueue(session, dedupe_key="health-test", chat_id=5401, text="通知", now=Clock().now())
            await emu.wait_for(lambda: "通知" in user.texts(), WAIT, what="the outbox row sent")

            async def counted() -> bool:
                page = (await client.get("/metrics")).text
                return (_metric(page, 'lvzhi_updates_total{type="message"}') >= 1
                        and _metric(page, 'lvzhi_outbox_total{outcome="sent"}') >= 1)  # fmt: skip

            await until(counted, "the update and the send counted", timeout=WAIT)
            page = (await client.get("/metrics")).text
            assert _metric(page, 'lvzhi_update_seconds_count{type="message"}') >= 1
            assert _metric(page, "lvzhi_active") == 1 and "lvzhi_outbox_backlog 0.0" in page
    finally:
        stop_bot_process(proc)


async def test_readiness_says_what_is_missing_and_carries_the_backlog(db):
    clock = Clock()
    health = Health(db, clock)
    async with db.session() as session:  # two rows due for 10 minutes, one not due yet
        for key, ago in (("a", 10), ("b", 5), ("c", -60)):
            await enqueue(session, dedupe_key=key, chat_id=1, text="x", now=clock.now(),
                          send_after=clock.now() - timedelta(minutes=ago))  # fmt: skip
    state = await health.readiness()
    assert not state.ready and state.role == "starting" and state.database and state.schema_at_head
    assert state.outbox_backlog == 2 and 590 <= (state.oldest_due_seconds or 0) <= 700

    class Ran:  # the dispatcher of an active process that last ran long ago
        last_run = 0.0

    health.role, health.dispatcher = "active", Ran()
    assert not (await health.readiness()).ready  # its dispatcher did not run in the last 10 s
    Ran.last_run = __import__("time").monotonic()
    assert (await health.readiness()).ready
    async with db.session() as session:
        await session.exec(text("UPDATE alembic_version SET version_num = '0000_old'"))  # type: ignore[call-overload]
    state = await health.readiness()
    assert not state.ready and state.database and not state.schema_at_head
