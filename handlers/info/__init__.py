"""社情民意信息 in chat: the `/info` dialog (title, category, body in several messages, files,
co-authors, a summary card), revising a returned item, and `/myinfo`.

The dialog is a paper (handlers.paper: the draft in `context.user_data["info"]`, persistent, no
timeout). steps.py: its spec and what is its own (the returned item, the card with the advice on
the body, submitting); here: /myinfo and the wiring.
"""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import CommandHandler

from bot.core.i18n import t
from bot.services import info
from bot.telegram.ui import App, Context, Row
from handlers import paper
from handlers.common import PRIVATE, member_only
from handlers.dialog import Dialog
from handlers.info.steps import BODY, COAUTHORS, KEY, PAPER
from handlers.paper import ATTACH, CATEGORY, CONFIRM, TITLE
from models import Member

__all__ = ["ATTACH", "BODY", "CATEGORY", "COAUTHORS", "CONFIRM", "KEY", "TITLE", "build_dialog", "register"]


@member_only
async def my_info(update: Update, context: Context, member: Member) -> None:
    """/myinfo: the member's last items, each as a card; a returned one with a button to revise it."""
    tz = context.deps.settings.tz

    def card(view: info.ItemView, lang: str, today: date) -> tuple[str, list[Row]]:
        rows: list[Row] = []
        if view.item.state == "returned" and view.item.id is not None:
            rows.append([(t("info.btn_revise", lang), PAPER.revise_button(view.item.id))])
        return info.render_card(view, lang, tz, today=today), rows

    await paper.show_mine(
        PAPER, update, context, member, lambda s, mid: info.member_items(s, mid, limit=10), card
    )


def build_dialog(persistent: bool = True) -> Dialog:
    return paper.build_dialog(PAPER, persistent)


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
    app.add_handler(CommandHandler("myinfo", my_info, filters=PRIVATE))
