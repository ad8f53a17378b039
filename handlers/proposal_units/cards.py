"""The card of a proposal handed to a unit: what the unit's contact reads in /myunit and after
each step, with the buttons its state allows now."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.core.dates import format_day
from bot.services.proposals import handling as service
from bot.services.proposals.common import UNIT_OBJECT_BUTTON, UNIT_SIGN_BUTTON, contact_label, role_label
from bot.telegram.ui import Context, Row, keyboard, reply
from handlers.proposal_units.states import SUGGESTION_PREVIEW, today_of, unit_t
from models.proposal import A_ASSIGNED, A_SIGNED, ASSIGNED, ASSIST, EXT_REQUESTED


def card_text(item: service.Item, lang: str, context: Context, unit_name: str = "") -> str:
    a, p = item.assignment, item.proposal
    today = today_of(context)
    lines = [
        unit_t(
            "card",
            lang,
            number=p.number or "",
            title=p.title,
            role=role_label(a.role, lang),
            state=unit_t(f"astate.{a.state}", lang),
            due=format_day(a.due_on, lang, today),
        )
    ]
    if p.suggestion and a.state == A_ASSIGNED:
        text = (
            p.suggestion
            if len(p.suggestion) <= SUGGESTION_PREVIEW
            else p.suggestion[:SUGGESTION_PREVIEW] + "…"
        )
        lines.append(unit_t("card_suggestion", lang, text=text))
    if a.contact_on and a.contact_kind:
        lines.append(
            unit_t(
                "card_contact",
                lang,
                day=format_day(a.contact_on, lang, today),
                kind=contact_label(a.contact_kind, lang),
            )
        )
    if a.opinion:
        lines.append(unit_t("card_opinion", lang))
    if a.answer_category:
        found = context.deps.rules.proposal.answer_category(a.answer_category)
        lines.append(
            unit_t("card_answer", lang, category=f"{a.answer_category} {found.label(lang) if found else ''}")
        )
    if a.objection and a.state != A_SIGNED:
        lines.append(unit_t("card_objection", lang, reason=a.objection))
    if a.extension_state == EXT_REQUESTED and a.extension_until:
        lines.append(unit_t("card_extension", lang, until=format_day(a.extension_until, lang, today)))
    if p.state != ASSIGNED and a.state in (A_ASSIGNED, A_SIGNED):
        lines.append(unit_t("card_closed", lang))
    return "\n".join(lines)


def card_buttons(item: service.Item, lang: str, context: Context) -> InlineKeyboardMarkup | None:
    a, p = item.assignment, item.proposal
    assert a.id is not None
    if p.state != ASSIGNED:
        return None
    now = context.deps.clock.now().replace(tzinfo=None)
    rows: list[Row] = []
    if a.state == A_ASSIGNED:
        rows.append([(unit_t("button.sign", lang), UNIT_SIGN_BUTTON(a.id))])
    if a.state == A_SIGNED:
        work = [(unit_t("button.contact", lang), service.CONTACT_BUTTON(a.id))]
        if a.role == ASSIST:
            work.append((unit_t("button.opinion", lang), service.OPINION_BUTTON(a.id)))
        else:
            work.append((unit_t("button.answer", lang), service.ANSWER_BUTTON(a.id)))
        rows.append(work)
        if a.extension_state != EXT_REQUESTED:
            rows.append([(unit_t("button.extend", lang), service.EXTEND_BUTTON(a.id))])
    if a.state in (A_ASSIGNED, A_SIGNED) and now <= a.object_until:
        rows.append([(unit_t("button.object", lang), UNIT_OBJECT_BUTTON(a.id))])
    return keyboard(rows) if rows else None


async def show_card(update: Update, context: Context, item: service.Item, lang: str) -> None:
    await reply(update, card_text(item, lang, context), card_buttons(item, lang, context))
