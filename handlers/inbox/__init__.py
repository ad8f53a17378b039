"""The secretariat's `/inbox` of 社情民意信息: the queue by state (queue.py), a card per item with a
button for each legal move, and the short follow-up each move needs (moves.py); here: the wiring."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.telegram.ui import App
from handlers.common import PRIVATE, TYPED, menu_button
from handlers.dialog import Dialog, dialog, typed_or, ways_out
from handlers.inbox import moves, queue


def build_dialog(persistent: bool = True) -> Dialog:
    return dialog(
        "inbox",
        persistent=persistent,
        prompts=moves.PROMPTS,
        buttons=queue.BUTTONS,
        data_key=queue.KEY,
        fields={
            "date": moves.DATE,
            "text": moves.TEXT,
            "target": moves.TARGET,
            "level": moves.LEVEL,
            "title": moves.EDIT_TITLE,
            "body": moves.EDIT_BODY,
        },  # fmt: skip
        entry_points=[
            CommandHandler("inbox", queue.inbox, filters=PRIVATE),
            MessageHandler(menu_button("menu.inbox"), queue.inbox),
            CallbackQueryHandler(queue.inbox, pattern=queue.QUEUE.matches),
            CallbackQueryHandler(queue.inbox, pattern=queue.FOUND.matches),
            CallbackQueryHandler(moves.move_start, pattern=queue.MOVE.matches),
        ],
        states={
            moves.ACCEPT: [
                CallbackQueryHandler(moves.do_accept, pattern=moves.DO_ACCEPT.matches),
                CallbackQueryHandler(moves.edit_title_start, pattern=moves.EDIT_TITLE_BUTTON.matches),
                CallbackQueryHandler(moves.edit_body_start, pattern=moves.EDIT_BODY_BUTTON.matches),
            ],
            moves.EDIT_TITLE: [MessageHandler(TYPED, moves.edited)],
            moves.EDIT_BODY: [MessageHandler(TYPED, moves.edited)],
            moves.TEXT: typed_or(moves.got_text, moves.SKIP),
            moves.LEVEL: [CallbackQueryHandler(moves.got_level, pattern=moves.LEVEL_BUTTON.matches)],
            moves.TARGET: typed_or(moves.got_target, moves.HOTLINE),
            moves.DATE: typed_or(moves.got_date, moves.TODAY),
        },
        fallbacks=ways_out(moves.abort, moves.ABORT),
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
