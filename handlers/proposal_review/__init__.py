"""The secretariat's proposals (/proposals): the inbox by view and a card per proposal (queue.py),
the moves and the short follow-up each needs (moves.py); here: the wiring."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.telegram.ui import App
from handlers.common import PRIVATE, TYPED
from handlers.dialog import Dialog, dialog
from handlers.proposal_review.moves import (
    ABORT,
    CONFIRM,
    DONE,
    LEADER,
    MAIN_UNIT,
    MERGE,
    MODE,
    MODE_BUTTON,
    MORE_UNITS,
    NOTE,
    OK,
    PROMPTS,
    REASON,
    REASON_BUTTON,
    REASON_TEXT,
    REASSIGN,
    SKIP,
    TARGET_BUTTON,
    UNIT_BUTTON,
    abort,
    confirmed,
    got_leader,
    got_main,
    got_mode,
    got_more,
    got_new_unit,
    got_note,
    got_reason,
    got_reason_text,
    got_target,
    move_start,
    search_step,
    unit_move_start,
    units_done,
)
from handlers.proposal_review.queue import BUTTONS, KEY, MOVE, OPEN, UNIT_MOVE, VIEW, inbox, open_card


def build_dialog(persistent: bool = True) -> Dialog:
    text = TYPED
    return dialog(
        "proposal_review",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        entry_points=[
            CommandHandler("proposals", inbox, filters=PRIVATE),
            CallbackQueryHandler(inbox, pattern=VIEW.matches),
            CallbackQueryHandler(open_card, pattern=OPEN.matches),
            CallbackQueryHandler(move_start, pattern=MOVE.matches),
            CallbackQueryHandler(unit_move_start, pattern=UNIT_MOVE.matches),
        ],
        states={
            REASON: [CallbackQueryHandler(got_reason, pattern=REASON_BUTTON.matches)],
            REASON_TEXT: [
                MessageHandler(text, got_reason_text),
                CallbackQueryHandler(got_reason_text, pattern=SKIP.matches),
            ],
            MERGE: [
                MessageHandler(text, got_target),
                CallbackQueryHandler(got_target, pattern=TARGET_BUTTON.matches),
            ],
            NOTE: [MessageHandler(text, got_note)],
            MODE: [CallbackQueryHandler(got_mode, pattern=MODE_BUTTON.matches)],
            MAIN_UNIT: [
                MessageHandler(text, search_step(MAIN_UNIT)),
                CallbackQueryHandler(got_main, pattern=UNIT_BUTTON.matches),
            ],
            MORE_UNITS: [
                MessageHandler(text, search_step(MORE_UNITS)),
                CallbackQueryHandler(got_more, pattern=UNIT_BUTTON.matches),
                CallbackQueryHandler(units_done, pattern=DONE.matches),
            ],
            CONFIRM: [CallbackQueryHandler(confirmed, pattern=OK.matches)],
            LEADER: [MessageHandler(text, got_leader)],
            REASSIGN: [
                MessageHandler(text, search_step(REASSIGN)),
                CallbackQueryHandler(got_new_unit, pattern=UNIT_BUTTON.matches),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", abort, filters=PRIVATE),
            CallbackQueryHandler(abort, pattern=ABORT.matches),
        ],
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
