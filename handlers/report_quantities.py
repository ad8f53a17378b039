"""A quantity with a member's own report (走访慰问 12 户, 办实事 3 件): on the /report summary card,
a button for each quantity the rules file allows for the report's type; the member types the
number and the card comes back with it. Stored with the report when it is submitted. Kept apart
from the dialog's other steps (handlers/report.py), which wires them in with `steps()`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import Rules
from bot.services import outcomes
from handlers.common import TYPED, Context, Prompt, deps, reply
from models import ActivityReport, Member

QUANTITY = "rep_quantity"  # a state of the /report dialog

Step = Callable[..., Callable[[Update, Context], Awaitable[int]]]
Back = Callable[[Update, Context, dict, str], Awaitable[int]]


def allowed(rules: Rules, type_code: str | None) -> list[str]:
    """The quantities a report of this type may carry (rules: [[quantity]] report_types)."""
    return [code for code, q in rules.review.quantities.items() if type_code and type_code in q.report_types]


def card_lines(draft: dict, rules: Rules, lang: str) -> str:
    lines = []
    for code in allowed(rules, draft.get("type")):
        amount = (draft.get("quantities") or {}).get(code)
        if amount:
            q = rules.review.quantities[code]
            lines.append(t("outcomes.line_quantity", lang, label=q.label(lang), amount=amount, unit=q.unit(lang)))
    return "".join("\n" + line for line in lines)


def card_rows(draft: dict, rules: Rules, lang: str) -> list[list[tuple[str, str]]]:
    buttons = [(t("outcomes.report.btn_quantity", lang, label=rules.review.quantities[c].button(lang)), f"rep:qty:{c}")
               for c in allowed(rules, draft.get("type"))]  # fmt: skip
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


async def save(session: AsyncSession, report: ActivityReport, draft: dict, rules: Rules, now: datetime) -> None:
    """The draft's quantities onto the stored report (those its type allows; 0 clears one)."""
    wanted = draft.get("quantities") or {}
    for code in allowed(rules, report.type_code):
        if code in wanted:
            await outcomes.set_quantity(session, code=code, amount=int(wanted[code]), rules=rules, now=now,
                                        report_id=report.id, actor_id=report.member_id)  # fmt: skip


def steps(step: Step, back: Back, data_key: str) -> tuple[list[BaseHandler], dict[object, list[BaseHandler]], dict]:
    """The summary card's quantity buttons, the state that takes the number, and its prompt."""

    @step
    async def open_quantity(update: Update, context: Context, member: Member, draft: dict, lang: str) -> object:
        code = (update.callback_query.data or "").removeprefix("rep:qty:") if update.callback_query else ""
        if code not in allowed(deps(context).rules, draft.get("type")):
            raise AskAgain("common.stale_button")
        draft["quantity"] = code
        text, markup = await ask(update, context, lang)
        await reply(update, text, reply_markup=markup)
        return QUANTITY

    @step
    async def got_quantity(update: Update, context: Context, member: Member, draft: dict, lang: str) -> object:
        text = (update.message.text or "") if update.message else ""
        amount = outcomes.parse_amount(text)
        draft.setdefault("quantities", {})[draft.pop("quantity", "")] = amount
        return await back(update, context, draft, lang)

    async def ask(update: Update, context: Context, lang: str) -> Prompt:
        draft = (context.user_data or {}).get(data_key) or {}
        q = deps(context).rules.review.quantities.get(draft.get("quantity", ""))
        label, unit = (q.label(lang), q.unit(lang)) if q else ("", "")
        return t("outcomes.report.ask_quantity", lang, label=label, unit=unit), None

    openers: list[BaseHandler] = [CallbackQueryHandler(open_quantity, pattern=r"^rep:qty:")]
    states: dict[object, list[BaseHandler]] = {QUANTITY: [MessageHandler(TYPED, got_quantity)]}
    return openers, states, {QUANTITY: ask}
