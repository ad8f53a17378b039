"""The secretariat's proposals (/proposals): the inbox by view and a card per proposal (queue.py),
the moves and the short follow-up each needs (moves.py: the steps; states.py: what each asks);
here: the wiring."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.telegram.ui import App
from handlers.common import PRIVATE, TYPED
from handlers.dialog import Callback, Dialog, Handlers, dialog, typed_or, ways_out
from handlers.proposal_review import moves, queue, states


def build_dialog(persistent: bool = True) -> Dialog:
    def units(state: str, pressed: Callback) -> Handlers:
        """A step choosing a unit: a few letters of its name typed, or its button."""
        return [MessageHandler(TYPED, moves.search_step(state)),
                CallbackQueryHandler(pressed, pattern=states.UNIT_BUTTON.matches)]  # fmt: skip

    return dialog(
        "proposal_review",
        persistent=persistent,
        prompts=states.PROMPTS,
        buttons=queue.BUTTONS,
        data_key=queue.KEY,
        entry_points=[
            CommandHandler("proposals", queue.inbox, filters=PRIVATE),
            CallbackQueryHandler(queue.inbox, pattern=queue.VIEW.matches),
            CallbackQueryHandler(queue.open_card, pattern=queue.OPEN.matches),
            CallbackQueryHandler(moves.move_start, pattern=queue.MOVE.matches),
            CallbackQueryHandler(moves.unit_move_start, pattern=queue.UNIT_MOVE.matches),
        ],
        states={
            states.REASON: [CallbackQueryHandler(moves.got_reason, pattern=states.REASON_BUTTON.matches)],
            states.REASON_TEXT: typed_or(moves.got_reason_text, states.SKIP),
            states.MERGE: typed_or(moves.got_target, states.TARGET_BUTTON),
            states.NOTE: [MessageHandler(TYPED, moves.got_note)],
            states.MODE: [CallbackQueryHandler(moves.got_mode, pattern=states.MODE_BUTTON.matches)],
            states.MAIN_UNIT: units(states.MAIN_UNIT, moves.got_main),
            states.MORE_UNITS: [
                *units(states.MORE_UNITS, moves.got_more),
                CallbackQueryHandler(moves.units_done, pattern=states.DONE.matches),
            ],
            states.CONFIRM: [CallbackQueryHandler(moves.confirmed, pattern=states.OK.matches)],
            states.LEADER: [MessageHandler(TYPED, moves.got_leader)],
            states.REASSIGN: units(states.REASSIGN, moves.got_new_unit),
        },
        fallbacks=ways_out(moves.abort, states.ABORT),
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
