"""Secretariat dialogs: /newevent (a study session, lecture or meeting, published or kept as a
draft) and /deadline (an assessment deadline). The role is checked on every step, button presses
included; a refused answer asks the same step again (handlers.dialog)."""

from __future__ import annotations

from bot.telegram.ui import App
from handlers.event_admin import deadline, newevent


def register(app: App) -> None:
    app.add_handler(newevent.build_dialog(app))
    app.add_handler(deadline.build_dialog(app))
