"""提案 in chat, the members' part: the `/proposal` dialog (案由 with similar proposals shown,
category, 情况分析 and 具体建议 in several messages, files, co-proposers, a summary card), the
co-proposers' cards (同意联名 / 不同意), revising a returned proposal, `/myproposals`, and the
rating of an answer (rating.py).

The draft lives in `context.user_data["proposal"]` and the dialog is a persistent
ConversationHandler, so a restart in the middle loses nothing. The co-signing time of a proposal
is closed by a sweep that runs at start-up and every few minutes (`start_jobs`).

states.py: states, buttons, draft, prompts; steps.py: the steps; here: /myproposals, the
co-proposers' cards, the sweep and the wiring.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services.proposals import submission as service
from bot.services.proposals.common import RATE_BUTTON
from bot.telegram.ui import App, Context, close_pressed, deps_of, keyboard, refuse, reply
from handlers.common import PRIVATE, TYPED, lang_of, member_only, menu_button
from handlers.dialog import Dialog, dialog
from handlers.proposals import rating, steps
from handlers.proposals.states import (
    ANALYSIS,
    ATTACH,
    ATTACH_DONE,
    BUTTONS,
    CANCEL,
    CATEGORY,
    CATEGORY_BUTTON,
    CONFIRM,
    COPROPOSER,
    COPROPOSERS,
    COPROPOSERS_DONE,
    EDIT,
    EDIT_PART,
    KEY,
    PROMPTS,
    REVISE,
    SUBMIT,
    SUGGESTION,
    TEXT_CLEAR,
    TEXT_DONE,
    TITLE,
)
from models import Member

log = logging.getLogger(__name__)

SWEEP_MINUTES = 10

__all__ = ["build_dialog", "register", "start_jobs", "sweep"]


@member_only
async def my_proposals(update: Update, context: Context, member: Member) -> None:
    """/myproposals: the member's proposals, each as a card with its state and history; a returned
    one (the lead's) with 修改后重新提交, an answered one not yet rated with 评价."""
    assert member.id is not None
    lang = lang_of(member, context)
    d = context.deps
    async with d.db.session() as session:
        views = await service.member_proposals(session, member.id, limit=10)
    if not views:
        await reply(update, t("proposals_submit.my_none", lang))
        return
    await reply(update, t("proposals_submit.my_header", lang, count=len(views)))
    today = today_in(d.clock.now(), d.settings.tz)
    for view in views:
        p = view.proposal
        assert p.id is not None
        rows = []
        if p.state == "returned" and p.lead_id == member.id:
            rows.append([(t("proposals_submit.btn_revise", lang), REVISE(p.id))])
        if view.may_rate:
            rows.append([(t("proposals_submit.btn_rate", lang), RATE_BUTTON(p.id))])
        await reply(update, service.render_card(view, lang, d.settings.tz, today=today), keyboard(rows) if rows else None)


async def _cosign(update: Update, context: Context, member: Member, agree: bool) -> None:
    button = service.COSIGN_YES if agree else service.COSIGN_NO
    proposal_id = button.read(update).number
    lang = lang_of(member, context)
    d = context.deps
    try:
        async with d.db.session() as session:
            proposal = await service.answer_cosign(session, proposal_id=proposal_id, member=member, agree=agree,
                                                   now=d.clock.now(), default_lang=d.settings.locale,
                                                   staff_chat_id=d.settings.secretariat_chat_id)  # fmt: skip
            title = proposal.title
    except Refusal as refusal:  # not invited, answered already, closed, no such proposal
        await refuse(update, refusal.text(lang))
        return
    key = "proposals_submit.cosign_agreed" if agree else "proposals_submit.cosign_declined"
    await close_pressed(update)
    await reply(update, t(key, lang, title=title))


@member_only
async def cosign_yes(update: Update, context: Context, member: Member) -> None:
    await _cosign(update, context, member, True)


@member_only
async def cosign_no(update: Update, context: Context, member: Member) -> None:
    await _cosign(update, context, member, False)


async def sweep(context: Context) -> None:
    """The job: proposals whose co-signing time is over go on with those who agreed."""
    d = context.deps
    async with d.db.session() as session:
        closed = await service.close_due_cosigning(session, now=d.clock.now(), default_lang=d.settings.locale,
                                                   staff_chat_id=d.settings.secretariat_chat_id)  # fmt: skip
    if closed:
        log.info("co-signing closed for %d proposal(s)", closed)


async def start_jobs(app: App) -> None:
    """Start-up hook: the co-signing sweep once now (what came due while the bot was down) and
    then every SWEEP_MINUTES (idempotent: missed runs coalesce)."""
    assert app.job_queue is not None
    deps_of(app)  # the application is assembled
    # a late start (a loaded machine) still runs: APScheduler would skip it after 1 s
    app.job_queue.run_once(sweep, when=1, name="cosign-sweep-start", job_kwargs={"misfire_grace_time": None})
    app.job_queue.run_repeating(sweep, interval=SWEEP_MINUTES * 60, first=SWEEP_MINUTES * 60, name="cosign-sweep",
                                job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})  # fmt: skip


def build_dialog(persistent: bool = True) -> Dialog:
    files = PRIVATE & (filters.PHOTO | filters.Document.ALL)
    other_media = PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    return dialog(
        "proposal",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        fields={"title": TITLE, "category": CATEGORY},
        entry_points=[
            CommandHandler("proposal", steps.start, filters=PRIVATE),
            MessageHandler(menu_button("menu.proposal"), steps.start),
            CallbackQueryHandler(steps.revise, pattern=REVISE.matches),
        ],
        states={
            TITLE: [MessageHandler(TYPED, steps.got_title)],
            CATEGORY: [
                CallbackQueryHandler(steps.got_category, pattern=CATEGORY_BUTTON.matches),
                MessageHandler(TYPED, steps.got_category),
            ],
            ANALYSIS: [
                MessageHandler(TYPED, steps.text_part),
                CallbackQueryHandler(steps.text_done, pattern=TEXT_DONE.matches),
                CallbackQueryHandler(steps.text_clear, pattern=TEXT_CLEAR.matches),
            ],
            SUGGESTION: [
                MessageHandler(TYPED, steps.text_part),
                CallbackQueryHandler(steps.text_done, pattern=TEXT_DONE.matches),
                CallbackQueryHandler(steps.text_clear, pattern=TEXT_CLEAR.matches),
            ],
            ATTACH: [
                MessageHandler(files, steps.attachment),
                CallbackQueryHandler(steps.attach_done, pattern=ATTACH_DONE.matches),
                MessageHandler(other_media, steps.wrong_file),
            ],
            COPROPOSERS: [
                MessageHandler(TYPED, steps.coproposer_search),
                CallbackQueryHandler(steps.coproposer_pick, pattern=COPROPOSER.matches),
                CallbackQueryHandler(steps.coproposers_done, pattern=COPROPOSERS_DONE.matches),
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
    persistent = app.persistence is not None
    app.add_handler(build_dialog(persistent=persistent))
    app.add_handler(rating.build_dialog(persistent=persistent))
    app.add_handler(CommandHandler("myproposals", my_proposals, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(cosign_yes, pattern=service.COSIGN_YES.matches))
    app.add_handler(CallbackQueryHandler(cosign_no, pattern=service.COSIGN_NO.matches))
