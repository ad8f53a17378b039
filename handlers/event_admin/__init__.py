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
    tag_openers, tag_states, tag_prompts = tags.steps(
        newevent.KEY, back=lambda u, c, lang: ask(u, c, newevent.CONFIRM, lang)
    )
    return timed_dialog(
        app,
        "event_admin",
        prompts={**newevent.PROMPTS, **tag_prompts},
        buttons=newevent.BUTTONS,
        data_key=newevent.KEY,
        fields={"start": newevent.START, "end": newevent.FINISH, "audience": newevent.AUDIENCE_VALUE},
        entry_points=[
            CommandHandler("newevent", newevent.new_event, filters=PRIVATE),
            MessageHandler(menu_button("menu.newevent"), newevent.new_event),
        ],
        states={
            newevent.TITLE: [MessageHandler(TYPED, newevent.got_title)],
            newevent.KIND: [CallbackQueryHandler(newevent.got_kind, pattern=newevent.KIND_BUTTON.matches)],
            newevent.START: [MessageHandler(TYPED, newevent.got_start)],
            newevent.FINISH: typed_or(newevent.got_end, newevent.SKIP),
            newevent.PLACE: typed_or(newevent.got_place, newevent.SKIP),
            newevent.AUDIENCE: [
                CallbackQueryHandler(newevent.got_audience, pattern=newevent.AUDIENCE_BUTTON.matches)
            ],
            newevent.AUDIENCE_VALUE: typed_or(newevent.got_audience_value, newevent.CHOICE),
            newevent.REMIND: typed_or(newevent.got_remind, newevent.SKIP),
            newevent.CONFIRM: [
                CallbackQueryHandler(newevent.publish, pattern=newevent.PUBLISH.matches),
                CallbackQueryHandler(newevent.publish, pattern=newevent.DRAFT.matches),
                CallbackQueryHandler(newevent.toggle_checkin, pattern=newevent.TOGGLE_CHECKIN.matches),
                CallbackQueryHandler(newevent.cancel, pattern=newevent.CANCEL.matches),
                *tag_openers,
            ],
            **tag_states,
        },
        fallbacks=[CommandHandler("cancel", newevent.cancel_command)],
    )


def deadline_dialog(app: App) -> Dialog:
    return timed_dialog(
        app,
        "deadline_admin",
        prompts=deadline.PROMPTS,
        buttons=deadline.BUTTONS,
        data_key=deadline.KEY,
        fields={"due": deadline.DUE},
        entry_points=[CommandHandler("deadline", deadline.new_deadline, filters=PRIVATE)],
        states={
            deadline.TITLE: [MessageHandler(TYPED, deadline.got_title)],
            deadline.DUE: [MessageHandler(TYPED, deadline.got_due)],
            deadline.REQUIREMENT: [
                CallbackQueryHandler(deadline.got_requirement, pattern=deadline.REQUIREMENT_BUTTON.matches)
            ],
            deadline.TYPE: [CallbackQueryHandler(deadline.got_type, pattern=deadline.TYPE_BUTTON.matches)],
            deadline.VALUE: [MessageHandler(TYPED, deadline.got_value)],
            deadline.CONFIRM: [
                CallbackQueryHandler(deadline.save, pattern=deadline.SAVE.matches),
                CallbackQueryHandler(deadline.cancel_pressed, pattern=deadline.CANCEL.matches),
            ],
        },
        fallbacks=[CommandHandler("cancel", deadline.cancel)],
    )


def register(app: App) -> None:
    app.add_handler(newevent_dialog(app))
    app.add_handler(deadline_dialog(app))
