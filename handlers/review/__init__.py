"""Secretariat: /review pending activity reports one card at a time (通过 / 退回 with a reason /
跳过), and /record the attendance of a meeting for many members at once."""

from __future__ import annotations

from bot.telegram.ui import App
from handlers.review import cards, record


def register(app: App) -> None:
    cards.register(app)
    app.add_handler(record.build_dialog(app))
