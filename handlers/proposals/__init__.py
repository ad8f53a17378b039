"""提案 in chat, the members' part: the `/proposal` dialog (案由 with similar proposals shown,
category, 情况分析 and 具体建议 in several messages, files, co-proposers, a summary card), the
co-proposers' cards (同意联名 / 不同意), revising a returned proposal, `/myproposals`, and the
rating of an answer (rating.py).

The draft lives in `context.user_data["proposal"]` and the dialog is a persistent
ConversationHandler, so a restart in the middle loses nothing. The co-signing time of a proposal
is closed by a sweep that runs at start-up and every few minutes (`start_jobs`).

The dialog is a paper (handlers.paper). steps.py: its spec and what is its own (the similar
proposals, the returned proposal, the card, submitting); here: /myproposals, the co-proposers'
cards, the sweep and the wiring.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services.proposals import submission as service
from bot.services.proposals.common import RATE_BUTTON
from bot.telegram.sweeps import sweep_at_start_and_every
from bot.telegram.ui import App, Context, Row, close_pressed, deps_of, refuse, reply
from handlers import paper
from handlers.common import PRIVATE, lang_of, member_only
from handlers.dialog import Dialog
from handlers.proposals import rating
from handlers.proposals.steps import PAPER
from models import Member

log = logging.getLogger(__name__)

SWEEP_MINUTES = 10

__all__ = ["build_dialog", "register", "start_jobs", "sweep"]


@member_only
async def my_proposals(update: Update, context: Context, member: Member) -> None:
    """/myproposals: the member's proposals, each as a card with its state and history; a returned
    one (the lead's) with 修改后重新提交, an answered one not yet rated with 评价."""
    tz = context.deps.settings.tz

    def card(view: service.ProposalView, lang: str, today: date) -> tuple[str, list[Row]]:
        p = view.proposal
        assert p.id is not None
        rows: list[Row] = []
        if p.state == "returned" and p.lead_id == member.id:
            rows.append([(t("proposals_submit.btn_revise", lang), PAPER.revise_button(p.id))])
        if view.may_rate:
            rows.append([(t("proposals_submit.btn_rate", lang), RATE_BUTTON(p.id))])
        return service.render_card(view, lang, tz, today=today), rows

    await paper.show_mine(
        PAPER, update, context, member, lambda s, mid: service.member_proposals(s, mid, limit=10), card
    )


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
    deps_of(app)  # the application is assembled
    sweep_at_start_and_every(app, sweep, "cosign-sweep", minutes=SWEEP_MINUTES)


def build_dialog(persistent: bool = True) -> Dialog:
    return paper.build_dialog(PAPER, persistent)


def register(app: App) -> None:
    persistent = app.persistence is not None
    app.add_handler(build_dialog(persistent=persistent))
    app.add_handler(rating.build_dialog(persistent=persistent))
    app.add_handler(CommandHandler("myproposals", my_proposals, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(cosign_yes, pattern=service.COSIGN_YES.matches))
    app.add_handler(CallbackQueryHandler(cosign_no, pattern=service.COSIGN_NO.matches))
