"""评 — a proposer rates the answer: 办理态度 and 办理结果 (满意 / 基本满意 / 不满意 each), then an
optional comment. Started by the 评价 button (common.RATE_BUTTON) on an answer notice or under an
answered proposal in /myproposals."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.i18n import t
from bot.services.proposals import submission as service
from bot.services.proposals.common import RATE_BUTTON
from bot.telegram.ui import Buttons, Context, Prompt, close_pressed, keyboard, reply
from handlers.common import PRIVATE, TYPED, lang_of, member_only, typed_text
from handlers.dialog import END, Dialog, Next, PromptFor, ask, dialog, draft, leaving
from models import Member
from models.proposal import RATINGS

KEY = "prate"
ATTITUDE, RESULT, COMMENT = "attitude", "result", "comment"
BUTTONS = Buttons("prate")
ATTITUDE_BUTTON = BUTTONS("att", words=RATINGS)
RESULT_BUTTON = BUTTONS("res", words=RATINGS)
SKIP, CANCEL = BUTTONS("skip"), BUTTONS("cancel")


def _choices(lang: str, button: Any) -> InlineKeyboardMarkup:
    return keyboard([[(t(f"proposals.rating.{r}", lang), button(r)) for r in RATINGS],
                     [(t("proposals_submit.btn_cancel", lang), CANCEL())]])  # fmt: skip


def _prompt_for(step: str) -> PromptFor:
    async def prompt(update: Update, context: Context, lang: str) -> Prompt:
        data = draft(context, KEY)
        title = data.get("title", "")
        if step == ATTITUDE:
            return t("proposals_submit.rate_attitude", lang, title=title), _choices(lang, ATTITUDE_BUTTON)
        if step == RESULT:
            return t("proposals_submit.rate_result", lang), _choices(lang, RESULT_BUTTON)
        return t("proposals_submit.rate_comment", lang, max=service.COMMENT_MAX), keyboard(
            [[(t("proposals_submit.btn_skip", lang), SKIP())]]
        )

    return prompt


@member_only
async def start(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None and context.user_data is not None
    proposal_id = RATE_BUTTON.read(update).number
    async with context.deps.db.session() as session:
        proposal = await service.check_may_rate(session, proposal_id, member.id)
    context.user_data[KEY] = {"proposal": proposal_id, "title": proposal.title}
    return await ask(update, context, ATTITUDE, lang_of(member, context))


@member_only
async def got_attitude(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["attitude"] = ATTITUDE_BUTTON.read(update).word
    return await ask(update, context, RESULT, lang_of(member, context))


@member_only
async def got_result(update: Update, context: Context, member: Member) -> Next:
    draft(context, KEY)["result"] = RESULT_BUTTON.read(update).word
    return await ask(update, context, COMMENT, lang_of(member, context))


@member_only
async def got_comment(update: Update, context: Context, member: Member) -> Next:
    comment = service.check_comment(typed_text(update)) if update.callback_query is None else ""
    lang = lang_of(member, context)
    data = draft(context, KEY)
    d = context.deps
    async with d.db.session() as session:
        await service.rate(session, proposal_id=int(data["proposal"]), member=member, attitude=data["attitude"],
                           result=data["result"], comment=comment or None, now=d.clock.now(),
                           default_lang=d.settings.locale, staff_chat_id=d.settings.secretariat_chat_id)  # fmt: skip
    assert context.user_data is not None
    context.user_data.pop(KEY, None)
    await close_pressed(update)
    await reply(update, t("proposals_submit.rated", lang, title=data.get("title", ""),
                          attitude=t(f"proposals.rating.{data['attitude']}", lang),
                          result=t(f"proposals.rating.{data['result']}", lang)))  # fmt: skip
    return END


cancel = leaving(KEY, "proposals_submit.rate_cancelled", member_only)


PROMPTS: dict[object, PromptFor] = {step: _prompt_for(step) for step in (ATTITUDE, RESULT, COMMENT)}


def build_dialog(persistent: bool = True) -> Dialog:
    return dialog(
        "proposal_rating",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        entry_points=[CallbackQueryHandler(start, pattern=RATE_BUTTON.matches)],
        states={
            ATTITUDE: [CallbackQueryHandler(got_attitude, pattern=ATTITUDE_BUTTON.matches)],
            RESULT: [CallbackQueryHandler(got_result, pattern=RESULT_BUTTON.matches)],
            COMMENT: [MessageHandler(TYPED, got_comment), CallbackQueryHandler(got_comment, pattern=SKIP.matches)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel, filters=PRIVATE),
            CallbackQueryHandler(cancel, pattern=CANCEL.matches),
        ],
    )
