"""/report and the 📝 menu button: a guided dialog — type, date, description, evidence photos,
summary card — that stores a duty activity report. Also corrects a pending or returned report
(the ✏️ buttons of /myreports and of a "returned" notice).

The dialog's data lives in `context.user_data["report"]` (JSON values only) and its state in the
database persistence, so a member continues at the same step after a restart. A dialog left alone
for `DIALOG_TIMEOUT_MINUTES` ends with a notice; what was entered is kept as a draft that /report
offers to resume.

states.py: states, buttons, draft, prompts; steps.py and photos.py: the steps; here: the wiring.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler

from bot.telegram.ui import App, deps_of
from handlers.common import PRIVATE, TYPED, menu_button
from handlers.dialog import TIMEOUT, Dialog, dialog
from handlers.report import photos, quantities, steps
from handlers.report.states import (
    BUTTONS,
    CANCEL,
    DATE,
    DAY,
    DESCRIPTION,
    EDIT,
    FIX,
    FIX_PART,
    KEEP_FIRST,
    KEY,
    PHOTOS,
    PHOTOS_CLEAR,
    PHOTOS_DONE,
    PROMPTS,
    QUANTITY,
    QUANTITY_BUTTON,
    RESTART,
    RESUME,
    RESUME_BUTTON,
    SEND_AGAIN,
    SUBMIT,
    SUMMARY,
    TYPE,
    TYPE_BUTTON,
)

__all__ = [
    "DATE",
    "DESCRIPTION",
    "EDIT",
    "KEY",
    "PHOTOS",
    "RESUME",
    "SUMMARY",
    "TYPE",
    "build_dialog",
    "register",
]


def build_dialog(app: App) -> Dialog:
    return dialog(
        "report",
        prompts={**PROMPTS, QUANTITY: quantities.quantity_prompt},
        buttons=BUTTONS,
        data_key=KEY,
        gone="report.no_dialog",
        fields={"type": TYPE, "date": DATE, "description": DESCRIPTION, "photos": PHOTOS},
        timeout_minutes=deps_of(app).settings.dialog_timeout_minutes,
        entry_points=[
            CommandHandler("report", steps.start, filters=PRIVATE),
            MessageHandler(menu_button("menu.report"), steps.start),
            CallbackQueryHandler(steps.edit_existing, pattern=EDIT.matches),
        ],
        states={
            RESUME: [
                CallbackQueryHandler(steps.resume, pattern=RESUME_BUTTON.matches),
                CallbackQueryHandler(steps.restart, pattern=RESTART.matches),
            ],
            TYPE: [
                CallbackQueryHandler(steps.pick_type, pattern=TYPE_BUTTON.matches),
                MessageHandler(photos.EVIDENCE, photos.early_photo),
            ],
            DATE: [
                CallbackQueryHandler(steps.pick_day, pattern=DAY.matches),
                MessageHandler(TYPED, steps.typed_date),
                MessageHandler(photos.EVIDENCE, photos.early_photo),
            ],
            DESCRIPTION: [
                MessageHandler(TYPED, steps.description),
                CallbackQueryHandler(steps.keep_first_part, pattern=KEEP_FIRST.matches),
                CallbackQueryHandler(steps.send_again, pattern=SEND_AGAIN.matches),
                MessageHandler(photos.EVIDENCE, photos.early_photo),
            ],
            PHOTOS: [
                MessageHandler(photos.EVIDENCE, photos.add_photo),
                CallbackQueryHandler(photos.photos_done, pattern=PHOTOS_DONE.matches),
                CallbackQueryHandler(photos.photos_clear, pattern=PHOTOS_CLEAR.matches),
                MessageHandler(photos.OTHER_FILES, photos.wrong_file),
                MessageHandler(TYPED, photos.photos_hint),
            ],
            SUMMARY: [
                CallbackQueryHandler(steps.submit, pattern=SUBMIT.matches),
                CallbackQueryHandler(steps.fix_menu, pattern=FIX.matches),
                CallbackQueryHandler(steps.fix_part, pattern=FIX_PART.matches),
                CallbackQueryHandler(quantities.open_quantity, pattern=QUANTITY_BUTTON.matches),
            ],
            QUANTITY: [MessageHandler(TYPED, quantities.got_quantity)],
            TIMEOUT: [TypeHandler(Update, steps.timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", steps.cancel),
            CallbackQueryHandler(steps.cancel, pattern=CANCEL.matches),
        ],
    )


def register(app: App) -> None:
    app.add_handler(build_dialog(app))
