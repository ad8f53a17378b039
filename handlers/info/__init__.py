"""社情民意信息 in chat: the `/info` dialog (title, category, body in several messages, files,
co-authors, a summary card), revising a returned item, and `/myinfo`.

The dialog is a paper (handlers.paper: the draft in `context.user_data["info"]`, persistent, no
timeout). steps.py: its spec and what is its own (the returned item, the card with the advice on
the body, submitting); here: /myinfo and the wiring.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.services import info
from bot.telegram.ui import App, Context, keyboard, reply
from handlers import paper
from handlers.common import PRIVATE, lang_of, member_only
from handlers.dialog import Dialog
from handlers.info.steps import BODY, COAUTHORS, KEY, PAPER
from handlers.paper import ATTACH, CATEGORY, CONFIRM, TITLE
from models import Member

__all__ = ["ATTACH", "BODY", "CATEGORY", "COAUTHORS", "CONFIRM", "KEY", "TITLE", "build_dialog", "register"]


@member_only
async def my_info(update: Update, context: Context, member: Member) -> None:
    """/myinfo: the member's last items, each as a card; a returned one with a button to revise it."""
    assert member.id is not None
    lang = lang_of(member, context)
    d = context.deps
    async with d.db.session() as session:
        views = await info.member_items(session, member.id, limit=10)
    if not views:
        await reply(update, t("info.my_none", lang))
        return
    await reply(update, t("info.my_header", lang, count=len(views)))
    today = today_in(d.clock.now(), d.settings.tz)
    for view in views:
        markup = None
        if view.item.state == "returned" and view.item.id is not None:
            markup = keyboard([[(t("info.btn_revise", lang), PAPER.revise_button(view.item.id))]])
        await reply(update, info.render_card(view, lang, d.settings.tz, today=today), markup)


def build_dialog(persistent: bool = True) -> Dialog:
    return paper.build_dialog(PAPER, persistent)


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
    app.add_handler(CommandHandler("myinfo", my_info, filters=PRIVATE))
