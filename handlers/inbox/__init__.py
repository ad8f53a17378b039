"""The secretariat's `/inbox` of 社情民意信息: the queue by state (queue.py), a card per item with a
button for each legal move, and the short follow-up each move needs (moves.py); here: the wiring."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.telegram.ui import App
from handlers.common import PRIVATE, TYPED, menu_button
from handlers.dialog import Dialog, dialog
from handlers.inbox.moves import (
    ABORT,
    ACCEPT,
    DATE,
    DO_ACCEPT,
    EDIT_BODY,
    EDIT_BODY_BUTTON,
    EDIT_TITLE,
    EDIT_TITLE_BUTTON,
    HOTLINE,
    LEVEL,
    LEVEL_BUTTON,
    PROMPTS,
    SKIP,
    TARGET,
    TEXT,
    TODAY,
    abort,
    do_accept,
    edit_body_start,
    edit_title_start,
    edited,
    got_date,
    got_level,
    got_target,
    got_text,
    move_start,
)
from handlers.inbox.queue import BUTTONS, FOUND, KEY, MOVE, QUEUE, inbox


def build_dialog(persistent: bool = True) -> Dialog:
    text = TYPED
    return dialog(
        "inbox",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        fields={
            "date": DATE,
            "text": TEXT,
            "target": TARGET,
            "level": LEVEL,
            "title": EDIT_TITLE,
            "body": EDIT_BODY,
        },  # fmt: skip
        entry_points=[
            CommandHandler("inbox", inbox, filters=PRIVATE),
            MessageHandler(menu_button("menu.inbox"), inbox),
            CallbackQueryHandler(inbox, pattern=QUEUE.matches),
            CallbackQueryHandler(inbox, pattern=FOUND.matches),
            CallbackQueryHandler(move_start, pattern=MOVE.matches),
        ],
        states={
            ACCEPT: [
                CallbackQueryHandler(do_accept, pattern=DO_ACCEPT.matches),
                CallbackQueryHandler(edit_title_start, pattern=EDIT_TITLE_BUTTON.matches),
                CallbackQueryHandler(edit_body_start, pattern=EDIT_BODY_BUTTON.matches),
            ],
            EDIT_TITLE: [MessageHandler(text, edited)],
            EDIT_BODY: [MessageHandler(text, edited)],
            TEXT: [MessageHandler(text, got_text), CallbackQueryHandler(got_text, pattern=SKIP.matches)],
            LEVEL: [CallbackQueryHandler(got_level, pattern=LEVEL_BUTTON.matches)],
            TARGET: [
                MessageHandler(text, got_target),
                CallbackQueryHandler(got_target, pattern=HOTLINE.matches),
            ],
            DATE: [MessageHandler(text, got_date), CallbackQueryHandler(got_date, pattern=TODAY.matches)],
        },
        fallbacks=[
            CommandHandler("cancel", abort, filters=PRIVATE),
            CallbackQueryHandler(abort, pattern=ABORT.matches),
        ],
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
