"""A failure can be diagnosed from the log without leaking what members wrote: the error handler
logs the traceback with message bodies and phone numbers scrubbed, and the member gets an apology."""

from __future__ import annotations

import logging

import pytest
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.core.i18n import t
from bot.core.redact import redact
from tests.conftest import add_member

# the error handler and its log, not SQL: SQLite only (tests/conftest.py)
pytestmark = pytest.mark.one_database

PHONE = "13812345678"
BODY = "我家楼下的路灯坏了三个月，晚上孩子放学很危险"


def parse_complaint(text: str) -> None:
    raise ValueError(f"cannot file {text!r} for caller {PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}")


async def failing_handler(update: Update, _context: object) -> None:
    assert update.message is not None and update.message.text is not None
    try:
        parse_complaint(update.message.text)
    except ValueError as exc:
        raise RuntimeError(f"complaint step failed on {update.message.text[:12]}") from exc


async def test_a_failing_handler_logs_the_traceback_without_body_or_phone(emu, bot_app, db, caplog):
    await add_member(db, "苏建华", telegram_user_id=5301, phone=PHONE)
    bot_app.add_handler(MessageHandler(filters.Regex("路灯"), failing_handler), group=-50)
    user = emu.user(5301, "苏建华")
    with caplog.at_level(logging.INFO):
        user.send_text(f"{BODY}，请回电 {PHONE}")
        apology = t("common.error", "zh")
        await emu.wait_for(lambda: apology in user.texts(), what="the apology")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback" in logged and "parse_complaint" in logged and "failing_handler" in logged
    assert "ValueError" in logged and "RuntimeError" in logged  # the chain, with its types
    for secret in (PHONE, "1381234", "5678", BODY, BODY[:12], "路灯", "孩子"):
        assert secret not in logged, secret


def test_redact_keeps_the_shape_of_an_error_and_drops_what_was_typed():
    text = "KeyError: 'photos' in update 4242; caller +86 138-1234-5678; said: hello there neighbour"
    out = redact(text, secrets=["hello there neighbour"])
    assert "KeyError: 'photos'" in out and "4242" in out
    assert "5678" not in out and "hello there" not in out and "neighbour" not in out
    assert redact("备注：请联系王先生") == "[text]"


async def test_with_log_format_json_each_event_is_one_json_line_and_the_traceback_stays_scrubbed(emu, bot_app, db):
    import io
    import json

    from bot.core.logs import JsonFormatter

    await add_member(db, "苏建华", telegram_user_id=5302, phone=PHONE)
    bot_app.add_handler(MessageHandler(filters.Regex("路灯"), failing_handler), group=-50)
    user = emu.user(5302, "苏建华")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        user.send_text(f"{BODY}，请回电 {PHONE}")
        await emu.wait_for(lambda: t("common.error", "zh") in user.texts(), what="the apology")
    finally:
        root.removeHandler(handler)
    events = [json.loads(line) for line in out.getvalue().splitlines()]  # every line is one event
    (failed,) = [e for e in events if e["logger"] == "handlers.errors"]
    assert failed["level"] == "ERROR" and "Traceback" in failed["msg"] and "parse_complaint" in failed["msg"]
    for secret in (PHONE, "1381234", BODY, "路灯"):
        assert secret not in out.getvalue(), secret
