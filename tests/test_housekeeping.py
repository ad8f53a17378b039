"""Housekeeping: handled update ids, done outbox rows and wrong invite codes are pruned, what still
matters stays; the retention setting is validated; staff see failed and uncertain deliveries in
plain words (`lvzhi outbox failed`) without message bodies or phone numbers.

The update-id restart risk: after a week without updates Telegram may start update ids afresh.
An id still on record as handled would make the new update with that id be skipped silently, so
the record is pruned — also at start-up, before it is read."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.assemble import running
from bot.core.clock import Clock, to_db
from bot.core.config import ConfigError
from bot.core.i18n import t
from bot.services.housekeeping import prune
from bot.services.outbox import enqueue
from models import BindFailure, Outbox, ProcessedUpdate
from tests.conftest import add_member, make_deps, make_settings, run_cli

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RETENTION = timedelta(days=90)


async def outbox_row(db, key: str, status: str, *, days_ago: float, expires_in: float | None = None,  # type: ignore[no-untyped-def]
                     member_id: int | None = None, error: str | None = None, text: str = "x",
                     kind: str = "notice") -> None:  # fmt: skip
    at = NOW - timedelta(days=days_ago)
    async with db.session() as session:
        await enqueue(session, dedupe_key=key, chat_id=4242, text=text, now=at, member_id=member_id, kind=kind,
                      expires_at=NOW + timedelta(days=expires_in) if expires_in is not None else None)  # fmt: skip
        row = (await session.exec(select(Outbox).where(Outbox.dedupe_key == key))).one()
        row.status, row.claimed_at, row.last_error = status, to_db(at), error
        row.sent_at = to_db(at) if status == "sent" else None
        session.add(row)


async def test_prune_removes_what_is_done_with_and_keeps_what_still_matters(db):
    async with db.session() as session:
        session.add_all([ProcessedUpdate(update_id=100 + i, processed_at=to_db(NOW - timedelta(days=d)))
                         for i, d in enumerate([10, 3, 1.9, 0.1])])  # fmt: skip
        session.add_all([BindFailure(telegram_user_id=7, at=to_db(NOW - timedelta(hours=h))) for h in (30, 0.5)])
    await outbox_row(db, "old-sent", "sent", days_ago=100)
    await outbox_row(db, "old-dropped", "dropped", days_ago=95)
    await outbox_row(db, "old-failed", "failed", days_ago=91)
    await outbox_row(db, "recent-sent", "sent", days_ago=10)
    await outbox_row(db, "recent-uncertain", "uncertain", days_ago=2)
    await outbox_row(db, "old-pending", "pending", days_ago=200)  # never sent yet: stays
    # an open deadline's reminder, sent long ago: its dedupe key keeps the sweep from queuing it again
    await outbox_row(db, "deadline:1:2025-11-13:5", "sent", days_ago=120, expires_in=3)
    await outbox_row(db, "event-past", "sent", days_ago=120, expires_in=-100)
    async with db.session() as session:
        pruned = await prune(session, now=NOW, outbox_retention=RETENTION)
    assert (pruned.handled_updates, pruned.outbox_rows, pruned.bind_failures) == (2, 4, 1)
    async with db.session() as session:
        kept = set((await session.exec(select(Outbox.dedupe_key))).all())
        ids = set((await session.exec(select(ProcessedUpdate.update_id))).all())
        failures = (await session.exec(select(BindFailure))).all()
    assert kept == {"recent-sent", "recent-uncertain", "old-pending", "deadline:1:2025-11-13:5"}
    assert ids == {102, 103}  # handled within the last 2 days
    assert len(failures) == 1
    async with db.session() as session:  # nothing more to do the second time
        again = await prune(session, now=NOW, outbox_retention=RETENTION)
    assert (again.handled_updates, again.outbox_rows, again.bind_failures) == (0, 0, 0)


async def test_an_update_id_handed_out_afresh_is_not_skipped_after_a_long_silence(db_url, db, emu):
    # handled long ago; then a week and more without updates, and Telegram starts ids afresh
    old = datetime.now(UTC) - timedelta(days=9)
    async with db.session() as session:
        session.add_all([ProcessedUpdate(update_id=500 + i, processed_at=to_db(old)) for i in range(5)])
    emu.restart_update_ids(502)
    await add_member(db, "苏建华", telegram_user_id=5401)
    user = emu.user(5401, "苏建华")
    deps = make_deps(make_settings(db_url, emu), db, Clock())
    async with running(deps, poll_timeout=1) as app:
        user.send_text("/help")  # gets the id of an update handled nine days ago
        await emu.wait_for(lambda: bool(user.texts()), what="the answer to /help")
        jobs = {job.name for job in app.job_queue.jobs()}
    assert "housekeeping" in jobs
    async with db.session() as session:
        assert len((await session.exec(select(ProcessedUpdate))).all()) == 1  # only the new one


def test_the_retention_setting_is_validated(sqlite_url):
    with pytest.raises(ConfigError, match="OUTBOX_RETENTION_DAYS"):
        make_settings(sqlite_url, outbox_retention_days=3)
    assert make_settings(sqlite_url, outbox_retention_days=30).outbox_retention_days == 30


async def test_staff_see_failed_and_uncertain_deliveries_in_plain_words(db, db_url, tmp_path):
    member = await add_member(db, "廖艳", telegram_user_id=4242, phone="13912345678")
    body = "您的履职报告被退回，原因：请补充照片，电话 13912345678"
    await outbox_row(db, "report:7:returned:1", "failed", days_ago=1, member_id=member.id,
                     error="403 Forbidden: bot was blocked by the user", text=body, kind="report")  # fmt: skip
    await outbox_row(db, "event:3:v1:r1d:1", "uncertain", days_ago=0.5, member_id=member.id,
                     error="timeout: Timed out", text=body, kind="reminder")  # fmt: skip
    await outbox_row(db, "digest:2026-W09:-1001", "failed", days_ago=2, error="file: No such file", text=body)
    await outbox_row(db, "fine", "sent", days_ago=1, member_id=member.id, text=body)
    env = {**os.environ, "DATABASE_URL": db_url, "LOCALE": "zh", "TIMEZONE": "Asia/Shanghai"}
    result = run_cli(["outbox", "failed"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    lines = stdout.strip().splitlines()
    assert lines[0] == t("outbox.failed_header", "zh", count=3, days=90)
    assert "廖艳" in lines[1] and t("outbox.what.event_reminder", "zh") in lines[1]
    assert t("outbox.why.uncertain", "zh") in lines[1] and "不确定是否送达" in lines[1]
    assert "廖艳" in lines[2] and t("outbox.why.blocked", "zh") in lines[2]
    assert t("outbox.what.report", "zh") in lines[2]
    assert t("outbox.not_a_member", "zh") in lines[3] and t("outbox.why.file_missing", "zh") in lines[3]
    when = (NOW - timedelta(days=1)).astimezone(make_settings(db_url).tz).strftime("%Y-%m-%d %H:%M")
    assert when in lines[2]
    assert "13912345678" not in stdout and "请补充照片" not in stdout and "403" not in stdout
