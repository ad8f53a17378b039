"""Active and standby on PostgreSQL: two real `lvzhi run` processes, the emulator, by long polling
and by webhook (behind a proxy that routes by /readyz). The active one is SIGKILLed in the middle
of a member's /report and in the middle of a 300-member reminder fan-out: the standby takes over,
the member's next message continues the same step, no reminder is lost, and repeats are at most the
rows that were in flight. On SQLite a second `lvzhi run` refuses to start with one line."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from bot.core.clock import Clock
from bot.core.i18n import t
from bot.devtools.emulator import Call
from bot.services.outbox import Queued, enqueue_many
from handlers.report import DESCRIPTION
from models import ActivityReport, DialogState
from tests.conftest import (
    TOKEN,
    WAIT,
    WEBHOOK_SECRET,
    add_member,
    expect_reply,
    free_port,
    start_bot_process,
    stop_bot_process,
    until,
)
from tests.readyz_proxy import CaddyProxy, ReadyzProxy

TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
MAX_IN_FLIGHT = 8  # the dispatcher's sends under way at once (bot.telegram.dispatcher)


async def status_of(base: str, path: str) -> int | None:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(base + path)).status_code
    except httpx.HTTPError:
        return None


class Pair:
    """Two bot processes on one database, each with its own LISTEN port; in webhook mode the
    public URL is the proxy's."""

    def __init__(self, db_url: str, emu, tmp_path, mode: str) -> None:  # type: ignore[no-untyped-def]
        self.db_url, self.emu, self.tmp_path, self.mode = db_url, emu, tmp_path, mode
        self.ports = [free_port(), free_port()]
        self.bases = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.proxy: ReadyzProxy | CaddyProxy | None = None
        if mode == "webhook":
            self.proxy = ReadyzProxy(self.bases, free_port())
        elif mode == "webhook-caddy":
            self.proxy = CaddyProxy(self.bases, free_port(), tmp_path)
        self.procs: list[subprocess.Popen] = []

    def env(self, i: int) -> dict[str, str]:
        env = {"LISTEN": f"127.0.0.1:{self.ports[i]}", "QUIET_HOURS": "off"}
        if self.proxy is not None:
            env |= {"WEBHOOK_URL": self.proxy.url, "WEBHOOK_SECRET": WEBHOOK_SECRET}
        return env

    async def start(self) -> None:
        """The first becomes active, the second waits as the standby (alive, not ready)."""
        if self.proxy is not None:
            await self.proxy.__aenter__()
        self.procs.append(start_bot_process(self.db_url, self.emu, self.tmp_path, wait_polling=False, **self.env(0)))
        await until(lambda: self._is(0, "/readyz", 200), "the first process to be ready", timeout=WAIT)
        self.procs.append(start_bot_process(self.db_url, self.emu, self.tmp_path, wait_polling=False, **self.env(1)))
        await until(lambda: self._is(1, "/healthz", 200), "the standby to be alive", timeout=WAIT)
        async with httpx.AsyncClient(timeout=3) as client:
            body = (await client.get(self.bases[1] + "/readyz")).json()
        assert body["role"] == "standby" and not body["ready"]
        assert await status_of(self.bases[1], "/readyz") == 503

    async def _is(self, i: int, path: str, code: int) -> bool:
        return await status_of(self.bases[i], path) == code

    async def kill_active(self) -> None:
        self.procs[0].send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.procs[0].wait, 15)

    async def standby_took_over(self) -> None:
        await until(lambda: self._is(1, "/readyz", 200), "the standby to take over", timeout=WAIT)

    async def stop(self) -> None:
        for proc in self.procs:
            stop_bot_process(proc)
        if self.proxy is not None:
            await self.proxy.__aexit__()


async def _report_state(db, user_id: int) -> int | None:  # type: ignore[no-untyped-def]
    key = f"conv:report:{json.dumps([user_id, user_id])}"
    async with db.session() as session:
        row = await session.get(DialogState, key)
        return None if row is None else row.data.get("state")


CADDY = pytest.param("webhook-caddy", marks=pytest.mark.skipif(
    shutil.which("caddy") is None, reason="caddy is not installed (apt-get install caddy): the shipped Caddyfile is not run"))  # fmt: skip


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("mode", ["polling", "webhook", CADDY])
async def test_the_standby_takes_over_in_the_middle_of_a_report(emu, db, db_url, tmp_path, mode):
    await add_member(db, "苏建华", telegram_user_id=5601)
    user = emu.user(5601, "建华")
    pair = Pair(db_url, emu, tmp_path, mode)
    try:
        await pair.start()
        await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(user, lambda: user.press("rep:type:research"), t("report.ask_date", "zh"))
        await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")), "第 3 步")

        async def stored() -> bool:
            return await _report_state(db, 5601) == DESCRIPTION

        await until(stored, "the step stored")
        await pair.kill_active()
        # the member goes on as if nothing happened: the standby answers in the same step
        await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步", timeout=WAIT)
        await pair.standby_took_over()
        await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：调研")
        await expect_reply(user, lambda: user.press_button(t("report.btn_submit", "zh")), t("report.after_submit", "zh"))
    finally:
        await pair.stop()
    async with db.session() as session:
        (report,) = (await session.exec(select(ActivityReport))).all()
    assert report.description == TEXT


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_the_standby_finishes_a_300_member_reminder_fan_out(emu, db, db_url, tmp_path, mode):
    chats = [7_000_000 + i for i in range(300)]
    for chat_id in chats:
        emu.user(chat_id, f"委员{chat_id % 1000}")
    pair = Pair(db_url, emu, tmp_path, mode)
    try:
        await pair.start()
        sent: Counter[int] = Counter()
        killed_at: list[int] = []

        def listener(call: Call) -> None:
            if call.method == "sendMessage" and call.status == 200 and call.params.get("chat_id") in chats:
                sent[call.params["chat_id"]] += 1
                if not killed_at and sum(sent.values()) >= 100 and pair.procs[0].poll() is None:
                    pair.procs[0].send_signal(signal.SIGKILL)
                    killed_at.append(sum(sent.values()))

        emu.add_listener(listener)
        now = Clock().now()
        async with db.session() as session:
            await enqueue_many(session, [Queued(dedupe_key=f"fanout-{c}", chat_id=c, text="明天 9:00 学习会",
                                                kind="reminder") for c in chats], now=now)  # fmt: skip
        await asyncio.to_thread(pair.procs[0].wait, WAIT)
        assert killed_at, "the active process was not killed in the middle"
        await until(lambda: _all_sent(sent, chats), "every member reminded", timeout=WAIT * 2)
        await pair.standby_took_over()
    finally:
        await pair.stop()
    repeats = sum(sent.values()) - len(chats)
    assert all(sent[c] >= 1 for c in chats)  # none lost
    assert repeats <= MAX_IN_FLIGHT, f"{repeats} repeated; at most the rows in flight may be"


async def _all_sent(sent: Counter[int], chats: list[int]) -> bool:
    return all(sent[c] for c in chats)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_second_run_on_the_same_sqlite_file_refuses_with_one_line(emu, db, db_url, tmp_path):
    await add_member(db, "苏建华", telegram_user_id=5602)
    user = emu.user(5602, "建华")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华", timeout=WAIT)
        env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": emu.base_url, "LOG_LEVEL": "WARNING"}  # fmt: skip
        second = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "run"], env=env,
                                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert second.returncode == 2
        assert second.stderr.strip().count("\n") == 0 and "lvzhi run" in second.stderr, second.stderr
        # the first one goes on
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华", timeout=WAIT)
    finally:
        stop_bot_process(proc)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_an_active_process_that_loses_its_lock_connection_stops_and_the_standby_takes_over(
    emu, db, db_url, tmp_path
):
    from sqlalchemy import text

    await add_member(db, "苏建华", telegram_user_id=5603)
    user = emu.user(5603, "建华")
    pair = Pair(db_url, emu, tmp_path, "polling")
    try:
        await pair.start()
        async with db.session() as session:  # the server ends the connection that holds the lock
            ended = (await session.exec(text(  # type: ignore[call-overload]
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ))).all()  # fmt: skip
        assert ended == [(True,)]
        code = await asyncio.to_thread(pair.procs[0].wait, WAIT)
        assert code == 1
        assert t("cli.lost_leadership", "zh") in (tmp_path / "bot.log").read_text()
        await pair.standby_took_over()
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华", timeout=WAIT)
    finally:
        await pair.stop()
