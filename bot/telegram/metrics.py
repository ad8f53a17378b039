"""Prometheus metrics of the bot (served on /metrics by `bot.telegram.web`).

Counters and the histogram are counted where things happen (the update's life in
`bot.telegram.app`, the error handler, the outbox dispatcher, a dialog's timeout); the backlog
gauges are read from the database when /metrics is scraped (`bot.telegram.health`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("lvzhi_updates_total", "Updates handled, by type", ["type"])
UPDATE_SECONDS = Histogram(
    "lvzhi_update_seconds", "Time from taking an update to having saved it (handlers and the save)", ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)  # fmt: skip
UPDATE_ERRORS = Counter("lvzhi_update_errors_total", "Updates whose handler raised (logged with a scrubbed traceback)")
OUTBOX = Counter(
    "lvzhi_outbox_total",
    "Outbox rows by outcome: sent, failed, 429 (Telegram asked to wait; the row is sent later), "
    "403 (the member blocked the bot), dropped (expired or withdrawn), uncertain",
    ["outcome"],
)
OUTBOX_BACKLOG = Gauge("lvzhi_outbox_backlog", "Outbox rows due (or being sent) and not sent yet")
OUTBOX_OLDEST_DUE = Gauge("lvzhi_outbox_oldest_due_seconds", "How long the oldest row of the backlog has been due")
DIALOG_TIMEOUTS = Counter("lvzhi_dialog_timeouts_total", "Dialogs ended by their timeout", ["dialog"])
ACTIVE = Gauge("lvzhi_active", "1 while this process is the active one, 0 on a standby")

UPDATE_TYPES = ("message", "callback_query", "edited_message", "my_chat_member", "chat_member")


def update_type(update: object) -> str:
    """The kind of an update, from a short fixed list (a label must not grow without bound)."""
    for kind in UPDATE_TYPES:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


def outbox_outcome(status: str | None, last_error: str | None) -> str | None:
    """The outcome a dispatcher's mark of a row counts as (None: not an outcome, e.g. a retry)."""
    if status in ("sent", "failed", "dropped", "uncertain"):
        return status
    if status == "pending" and (last_error or "").startswith("429"):
        return "429"
    return None
