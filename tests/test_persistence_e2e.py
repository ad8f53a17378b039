"""Saving a dialog step can fail (SQLite busy, a PostgreSQL disconnect at COMMIT): the step is not
forgotten — it reaches the database with the member's next update, and the dialog continues at
the right step after a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from bot.assemble import running
from bot.core.i18n import t
from handlers.report import DESCRIPTION
from models import DialogState, ProcessedUpdate
from tests.conftest import add_member, expect_reply, until

NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"


def fail_next_dialog_commit(db) -> None:  # type: ignore[no-untyped-def]
    """The next COMMIT of a transaction that wrote dialog state fails, as a busy or lost database would."""
    armed = [True]

    def wrote(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "dialog_state" in statement and not statement.lstrip().upper().startswith("SELECT"):
            conn.info["wrote_dialog_state"] = True

    def commit(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.info.pop("wrote_dialog_state", False) and armed[0]:
            armed[0] = False
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(db.engine.sync_engine, "before_cursor_execute", wrote)
    event.listen(db.engine.sync_engine, "commit", commit)


async def _until_handled(db, count: int) -> None:  # type: ignore[no-untyped-def]
    async def handled() -> bool:
        async with db.session() as session:
            return (await session.exec(select(func.count()).select_from(ProcessedUpdate))).one() >= count

    await until(handled, f"{count} updates stored as handled")


async def test_a_step_whose_save_failed_is_saved_with_the_next_update(emu, deps, db, clock):
    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=8201)
    user = emu.user(8201, "建华")
    key = f"conv:report:{json.dumps([8201, 8201])}"
    async with running(deps, poll_timeout=1):
        await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(user, lambda: user.press("rep:type:research"), t("report.ask_date", "zh"))
        await _until_handled(db, 2)
        fail_next_dialog_commit(db)
        await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")), "第 3 步")
        # too short: the same step asks again, and nothing in the dialog changes
        too_short = t("report.description_too_short", "zh", length=2, min=10)
        await expect_reply(user, lambda: user.send_text("开会"), too_short)
        await _until_handled(db, 3)  # the failed one is not among them
        async with db.session() as session:
            rows = {r.key: r.data for r in (await session.exec(select(DialogState))).all()}
        assert rows[key]["state"] == DESCRIPTION and rows["user:8201"]["report"]["date"] == "2025-11-04"
        assert t("common.error", "zh") not in user.texts()  # the member's step went through
    async with running(deps, poll_timeout=1):  # as a restarted process would
        await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
