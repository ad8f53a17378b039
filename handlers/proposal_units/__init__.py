"""Handling units (承办单位) in chat: /myunit, 签收 / 申请调整 on the 交办 card, the handling
dialog (contact, 协办 opinion, answer, extension) and the 督 sweep (reminders and overdue notices).

states.py: states, buttons, prompts; cards.py: the card; steps.py: the steps; here the wiring and
the sweep's job."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.services.proposals import handling as service
from bot.services.proposals.common import UNIT_OBJECT_BUTTON, UNIT_SIGN_BUTTON
from bot.telegram.sweeps import sweep_at_start_and_hourly
from bot.telegram.ui import App, Context, deps_of
from handlers.common import PRIVATE, TYPED, menu_button
from handlers.dialog import dialog
from handlers.proposal_units import states, steps
from handlers.proposal_units.states import (
    A_CAT,
    A_FILE,
    A_TEXT,
    C_DAY,
    C_KIND,
    DATA_KEY,
    OBJ_REASON,
    OPINION,
    X_DAY,
    X_REASON,
)

SWEEP_JOB = "proposal-unit-sweep"


def register(app: App) -> None:
    minutes = deps_of(app).settings.dialog_timeout_minutes
    handling = dialog(
        "punit",
        prompts=states.PROMPTS,
        buttons=states.DIALOG,
        data_key=DATA_KEY,
        timeout_minutes=minutes,
        entry_points=[
            CallbackQueryHandler(steps.object_start, pattern=UNIT_OBJECT_BUTTON.matches),
            CallbackQueryHandler(steps.contact_start, pattern=service.CONTACT_BUTTON.matches),
            CallbackQueryHandler(steps.opinion_start, pattern=service.OPINION_BUTTON.matches),
            CallbackQueryHandler(steps.answer_start, pattern=service.ANSWER_BUTTON.matches),
            CallbackQueryHandler(steps.extend_start, pattern=service.EXTEND_BUTTON.matches),
        ],
        states={
            OBJ_REASON: [MessageHandler(TYPED, steps.object_reason)],
            C_KIND: [CallbackQueryHandler(steps.contact_kind, pattern=states.KIND_BUTTON.matches)],
            C_DAY: [
                CallbackQueryHandler(steps.contact_today, pattern=states.TODAY_BUTTON.matches),
                MessageHandler(TYPED, steps.contact_day),
            ],
            OPINION: [MessageHandler(TYPED, steps.opinion_text)],
            A_CAT: [CallbackQueryHandler(steps.answer_category, pattern=states.CAT_BUTTON.matches)],
            A_TEXT: [MessageHandler(TYPED, steps.answer_text)],
            A_FILE: [
                MessageHandler(PRIVATE & filters.Document.ALL, steps.answer_file),
                CallbackQueryHandler(steps.answer_skip, pattern=states.SKIP_BUTTON.matches),
            ],
            X_DAY: [MessageHandler(TYPED, steps.extend_day)],
            X_REASON: [MessageHandler(TYPED, steps.extend_reason)],
        },
        fallbacks=[CommandHandler("cancel", steps.cancel)],
    )
    app.add_handler(handling)
    app.add_handler(CommandHandler("myunit", steps.my_unit, filters=PRIVATE))
    app.add_handler(MessageHandler(menu_button("menu.myunit"), steps.my_unit))
    app.add_handler(CallbackQueryHandler(steps.my_unit, pattern=service.MY_BUTTON.matches))
    app.add_handler(CallbackQueryHandler(steps.sign, pattern=UNIT_SIGN_BUTTON.matches))


async def sweep(context: Context) -> None:
    """The 督 job: reminders 30, 7, 1 days before each open assignment's due day and the overdue
    notices whose moment has come, once each (idempotent: a missed run is made up by the next)."""
    d = context.deps
    async with d.db.session() as session:
        await service.sweep(
            session, now=d.clock.now(), policy=d.reminder_policy, staff_chat=d.settings.secretariat_chat_id
        )


async def start_jobs(app: App) -> None:
    """Start-up hook: the sweep runs once now (what came due while the bot was down) and then
    every hour at the minute of DEADLINE_REMIND_TIME, like the deadline sweep."""
    sweep_at_start_and_hourly(app, sweep, SWEEP_JOB, minute=deps_of(app).reminder_policy.deadline_time.minute)
