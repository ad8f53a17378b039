"""Numbers carried in button data (row ids, page offsets), read and range-checked in one place.

Button data comes back from the person's Telegram client and can be forged. A number no row can
have (`rep:edit:99999999999999999999`) must be refused like a stale button, before it reaches a
query: SQLite and PostgreSQL raise on integers wider than their columns.
"""

from __future__ import annotations

from telegram import Update

from models.base import MAX_ROW_ID


def button_number(update: Update, *, minimum: int = 1, maximum: int = MAX_ROW_ID) -> int | None:
    """The number after the last ':' of the pressed button's data, or None when there is none or
    it is out of [minimum, maximum] (ids start at 1; pass minimum=0 for offsets and indexes)."""
    query = update.callback_query
    raw = (query.data or "").rsplit(":", 1)[-1] if query is not None else ""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(maximum)):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None
