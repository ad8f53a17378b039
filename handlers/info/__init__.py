"""社情民意信息 in chat: the `/info` dialog (title, category, body in several messages, files,
co-authors, a summary card), revising a returned item, and `/myinfo`.

The draft lives in `context.user_data["info"]` (JSON values only) and the dialog is a persistent
ConversationHandler, so a restart in the middle loses nothing. No timeout: a half-written item
waits as a draft until the member finishes or cancels it.

states.py: states, buttons, draft, prompts; steps.py: the steps; here: /myinfo and the wiring.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.services import info
from bot.telegram.ui import App, Context, keyboard, reply
from handlers.common import PRIVATE, TYPED, lang_of, member_only, menu_button
from handlers.dialog import Dialog, dialog
from handlers.info import steps
from handlers.info.states import (
    ATTACH,
    ATTACH_DONE,
    BODY,
    BODY_CLEAR,
    BODY_DONE,
    BUTTONS,
    CANCEL,
    CATEGORY,
    CATEGORY_BUTTON,
    COAUTHOR,
    COAUTHORS,
    COAUTHORS_DONE,
    CONFIRM,
    EDIT,
    EDIT_PART,
    KEY,
    PROMPTS,
    REVISE,
    SUBMIT,
    TITLE,
)
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
            markup = keyboard([[(t("info.btn_revise", lang), REVISE(view.item.id))]])
        await reply(update, info.render_card(view, lang, d.settings.tz, today=today), markup)


def build_dialog(persistent: bool = True) -> Dialog:
    files = PRIVATE & (filters.PHOTO | filters.Document.ALL)
    other_media = PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    return dialog(
        "info",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        fields={"title": TITLE, "body": BODY, "category": CATEGORY},
        entry_points=[
            CommandHandler("info", steps.start, filters=PRIVATE),
            MessageHandler(menu_button("menu.info"), steps.start),
            CallbackQueryHandler(steps.revise, pattern=REVISE.matches),
        ],
        states={
            TITLE: [MessageHandler(TYPED, steps.got_title)],
            CATEGORY: [
                CallbackQueryHandler(steps.got_category, pattern=CATEGORY_BUTTON.matches),
                MessageHandler(TYPED, steps.got_category),
            ],
            BODY: [
                MessageHandler(TYPED, steps.body_part),
                MessageHandler(files, steps.attachment),
                CallbackQueryHandler(steps.body_done, pattern=BODY_DONE.matches),
                CallbackQueryHandler(steps.body_clear, pattern=BODY_CLEAR.matches),
            ],
            ATTACH: [
                MessageHandler(files, steps.attachment),
                CallbackQueryHandler(steps.attach_done, pattern=ATTACH_DONE.matches),
                MessageHandler(other_media, steps.wrong_file),
            ],
            COAUTHORS: [
                MessageHandler(TYPED, steps.coauthor_search),
                CallbackQueryHandler(steps.coauthor_pick, pattern=COAUTHOR.matches),
                CallbackQueryHandler(steps.coauthors_done, pattern=COAUTHORS_DONE.matches),
            ],
            CONFIRM: [
                CallbackQueryHandler(steps.submit, pattern=SUBMIT.matches),
                CallbackQueryHandler(steps.edit_menu, pattern=EDIT.matches),
                CallbackQueryHandler(steps.edit_part, pattern=EDIT_PART.matches),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", steps.cancel, filters=PRIVATE),
            CallbackQueryHandler(steps.cancel, pattern=CANCEL.matches),
        ],
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
    app.add_handler(CommandHandler("myinfo", my_info, filters=PRIVATE))
