"""A quantity with a member's own report (走访慰问 12 户, 办实事 3 件): on the summary card, a
button for each quantity the rules file allows for the report's type; the member types the number
and the card comes back with it. Stored with the report when it is submitted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import Rules
from bot.services import outcomes
from bot.telegram.ui import Context, Prompt
from handlers.common import lang_of, member_only, typed_text
from handlers.dialog import Next, ask
from handlers.report.states import QUANTITY, QUANTITY_BUTTON, allowed, draft_of, show_summary
from models import ActivityReport, Member


async def save(session: AsyncSession, report: ActivityReport, draft: dict[str, Any], rules: Rules, now: datetime) -> None:
    """The draft's quantities onto the stored report (those its type allows; 0 clears one)."""
    wanted = draft.get("quantities") or {}
    for code in allowed(rules, report.type_code):
        if code in wanted:
            await outcomes.set_quantity(session, code=code, amount=int(wanted[code]), rules=rules, now=now,
                                        report_id=report.id, actor_id=report.member_id)  # fmt: skip


async def quantity_prompt(update: Update, context: Context, lang: str) -> Prompt:
    q = context.deps.rules.review.quantities.get(draft_of(context).get("quantity") or "")
    label, unit = (q.label(lang), q.unit(lang)) if q else ("", "")
    return t("outcomes.report.ask_quantity", lang, label=label, unit=unit), None


@member_only
async def open_quantity(update: Update, context: Context, member: Member) -> Next:
    """➕ 走访 on the summary card: ask for the number."""
    draft = draft_of(context)
    code = QUANTITY_BUTTON.read(update).word
    if code not in allowed(context.deps.rules, draft.get("type")):
        raise AskAgain("common.stale_button")
    draft["quantity"] = code
    return await ask(update, context, QUANTITY, lang_of(member, context))


@member_only
async def got_quantity(update: Update, context: Context, member: Member) -> Next:
    draft = draft_of(context)
    amount = outcomes.parse_amount(typed_text(update))
    draft.setdefault("quantities", {})[draft.pop("quantity", "")] = amount
    return await show_summary(update, context, lang_of(member, context))
