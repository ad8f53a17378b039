"""Secretariat dialogs: /newevent (a study session, lecture or meeting, published or kept as a
draft; newevent.py, its tags and organiser tags.py) and /deadline (an assessment deadline;
deadline.py); here: the wiring. The role is checked on every step, button presses included; a
refused answer asks the same step again (handlers.dialog)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.telegram.ui import App
from handlers.common import PRIVATE, TYPED, menu_button
from handlers.dialog import Dialog, ask, timed_dialog, typed_or
from handlers.event_admin import deadline, newevent, tags


def newevent_dialog(app: App) -> Dialog:
    ne = newevent
    tag_openers, tag_states, tag_prompts = tags.steps(
        ne.KEY, back=lambda u, c, lang: ask(u, c, ne.CONFIRM, lang)
    )
    return timed_dialog(
        app,
        "event_admin",
        prompts={**ne.PROMPTS, **tag_prompts},
        buttons=ne.BUTTONS,
        data_key=ne.KEY,
        fields={"start": ne.START, "end": ne.FINISH, "audience": ne.AUDIENCE_VALUE},
        entry_points=[
            CommandHandler("newevent", ne.new_event, filters=PRIVATE),
            MessageHandler(menu_button("menu.newevent"), ne.new_event),
        ],
        states={
            ne.TITLE: [MessageHandler(TYPED, ne.got_title)],
            ne.KIND: [CallbackQueryHandler(ne.got_kind, pattern=ne.KIND_BUTTON.matches)],
            ne.START: [MessageHandler(TYPED, ne.got_start)],
            ne.FINISH: typed_or(ne.got_end, ne.SKIP),
            ne.PLACE: typed_or(ne.got_place, ne.SKIP),
            ne.AUDIENCE: [CallbackQueryHandler(ne.got_audience, pattern=ne.AUDIENCE_BUTTON.matches)],
            ne.AUDIENCE_VALUE: typed_or(ne.got_audience_value, ne.CHOICE),
            ne.REMIND: typed_or(ne.got_remind, ne.SKIP),
            ne.CONFIRM: [
                CallbackQueryHandler(ne.publish, pattern=ne.PUBLISH.matches),
                CallbackQueryHandler(ne.publish, pattern=ne.DRAFT.matches),
                CallbackQueryHandler(ne.toggle_checkin, pattern=ne.TOGGLE_CHECKIN.matches),
                CallbackQueryHandler(ne.cancel, pattern=ne.CANCEL.matches),
                *tag_openers,
            ],
            **tag_states,
        },
        fallbacks=[CommandHandler("cancel", ne.cancel_command)],
    )


def deadline_dialog(app: App) -> Dialog:
    dl = deadline
    return timed_dialog(
        app,
        "deadline_admin",
        prompts=dl.PROMPTS,
        buttons=dl.BUTTONS,
        data_key=dl.KEY,
        fields={"due": dl.DUE},
        entry_points=[CommandHandler("deadline", dl.new_deadline, filters=PRIVATE)],
        states={
            dl.TITLE: [MessageHandler(TYPED, dl.got_title)],
            dl.DUE: [MessageHandler(TYPED, dl.got_due)],
            dl.REQUIREMENT: [CallbackQueryHandler(dl.got_requirement, pattern=dl.REQUIREMENT_BUTTON.matches)],
            dl.TYPE: [CallbackQueryHandler(dl.got_type, pattern=dl.TYPE_BUTTON.matches)],
            dl.VALUE: [MessageHandler(TYPED, dl.got_value)],
            dl.CONFIRM: [
                CallbackQueryHandler(dl.save, pattern=dl.SAVE.matches),
                CallbackQueryHandler(dl.cancel_pressed, pattern=dl.CANCEL.matches),
            ],
        },
        fallbacks=[CommandHandler("cancel", dl.cancel)],
    )


def register(app: App) -> None:
    app.add_handler(newevent_dialog(app))
    app.add_handler(deadline_dialog(app))
