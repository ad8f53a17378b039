"""The report dialog's states, buttons, draft and prompts (the steps are in steps.py and
photos.py; the registration in __init__.py).

The draft lives in `context.user_data["report"]` (JSON values only).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.core.dates import format_day
from bot.core.i18n import t
from bot.core.rules import Rules
from bot.services import activities
from bot.services.activities import MAX_DESCRIPTION, MAX_PHOTOS
from bot.telegram.ui import Buttons, Context, Prompt, Row, keyboard, rows_of
from handlers import days
from handlers.dialog import PromptFor, State, ask, step_label

KEY = "report"
TYPE, DATE, DESCRIPTION, PHOTOS = "type", "date", "description", "photos"
SUMMARY, RESUME = "summary", "resume"

BUTTONS = Buttons("rep")
TYPE_BUTTON = BUTTONS("type", word=True)  # an activity code of the rules
DAY = days.day_button(BUTTONS)
KEEP_FIRST, SEND_AGAIN = BUTTONS("desc:keep"), BUTTONS("desc:again")
PHOTOS_DONE, PHOTOS_CLEAR = BUTTONS("photos:done"), BUTTONS("photos:clear")
SUBMIT, FIX, CANCEL = BUTTONS("ok"), BUTTONS("fix"), BUTTONS("cancel")
FIX_PART = BUTTONS("fix", words=("type", "date", "desc", "photos", "back"))
RESUME_BUTTON, RESTART = BUTTONS("resume"), BUTTONS("restart")
EDIT = activities.EDIT_BUTTON  # ✏️ under a pending or returned report (/myreports, a notice)
# A quantity with the report (走访 N 户), for types the rules allow: handlers/report/quantities.py.
QUANTITY = "quantity"  # the state that takes the number
QUANTITY_BUTTON = BUTTONS("qty", word=True)  # a [[quantity]] code of the rules


def new_draft() -> dict[str, Any]:
    # "key" names this draft: its report is stored once, however often it is confirmed
    # (bot.services.activities)
    return {
        "type": None,
        "date": None,
        "description": None,
        "photos": [],
        "report_id": None,
        "fixing": False,
        "key": uuid.uuid4().hex,
    }


def has_content(draft: dict[str, Any]) -> bool:
    return bool(
        draft.get("type") or draft.get("description") or draft.get("photos") or draft.get("long_text")
    )


def draft_of(context: Context) -> dict[str, Any]:
    """The dialog's draft (the dialog makes sure a step has one)."""
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data[KEY]
    draft.setdefault("key", uuid.uuid4().hex)  # a draft kept from before drafts had keys
    return draft


def type_label(context: Context, code: str | None, lang: str) -> str:
    activity = context.deps.rules.activities.get(code or "")
    return activity.label(lang) if activity else "—"


def allowed(rules: Rules, type_code: str | None) -> list[str]:
    """The quantities a report of this type may carry (rules: [[quantity]] report_types)."""
    return [code for code, q in rules.review.quantities.items() if type_code and type_code in q.report_types]


def card_lines(draft: dict[str, Any], rules: Rules, lang: str) -> str:
    """The summary card's lines for the quantities given ("" when none)."""
    lines = []
    for code in allowed(rules, draft.get("type")):
        amount = (draft.get("quantities") or {}).get(code)
        if amount:
            q = rules.review.quantities[code]
            lines.append(t("outcomes.line_quantity", lang, label=q.label(lang), amount=amount, unit=q.unit(lang)))
    return "".join("\n" + line for line in lines)


def card_rows(draft: dict[str, Any], rules: Rules, lang: str) -> list[Row]:
    buttons = [(t("outcomes.report.btn_quantity", lang, label=rules.review.quantities[c].button(lang)),
                QUANTITY_BUTTON(c)) for c in allowed(rules, draft.get("type"))]  # fmt: skip
    return rows_of(buttons, 2)


def summary_text(context: Context, draft: dict[str, Any], lang: str) -> str:
    activity = context.deps.rules.activities.get(draft.get("type") or "")
    day = date.fromisoformat(draft["date"]) if draft.get("date") else None
    review = t("report.needs_review" if (activity is None or activity.review) else "report.no_review", lang)
    header = t("report.summary_edit_header" if draft.get("report_id") else "report.summary_header", lang)
    return t(
        "report.summary",
        lang,
        header=header,
        type=type_label(context, draft.get("type"), lang),
        date=format_day(day, lang, days.today(context)) if day else "—",
        description=draft.get("description") or "—",
        photos=len(draft.get("photos") or []),
        points=f"{activity.points if activity else 0:g}",
        review=review,
    ) + card_lines(draft, context.deps.rules, lang)


# ------------------------------------------------------------------ what each step asks


def resume_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [[(t("report.btn_resume", lang), RESUME_BUTTON()), (t("report.btn_restart", lang), RESTART())]]
    )


def photos_buttons(lang: str, count: int) -> InlineKeyboardMarkup:
    done = (t("report.btn_photos_done" if count else "report.btn_photos_skip", lang), PHOTOS_DONE())
    return keyboard([[done, (t("report.btn_photos_clear", lang), PHOTOS_CLEAR())] if count else [done]])


async def _type_prompt(update: Update, context: Context, lang: str) -> Prompt:
    types = [(a.button(lang), TYPE_BUTTON(a.code)) for a in context.deps.rules.activities.values()]
    rows = [*rows_of(types, 2), [(t("report.btn_cancel", lang), CANCEL())]]
    return t("report.title", lang) + "\n" + step_label(1, 4, lang) + t("report.ask_type", lang), keyboard(
        rows
    )


async def _date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [days.day_row(DAY, lang), [(t("report.btn_cancel", lang), CANCEL())]]
    return step_label(2, 4, lang) + t("report.ask_date", lang), keyboard(rows)


async def _description_prompt(update: Update, context: Context, lang: str) -> Prompt:
    text = t("report.ask_description", lang, min=activities.MIN_DESCRIPTION, max=MAX_DESCRIPTION)
    return step_label(3, 4, lang) + text, None


async def _photos_prompt(update: Update, context: Context, lang: str) -> Prompt:
    count = len(draft_of(context).get("photos") or [])
    if count:
        return t("report.ask_photos_again", lang, max=MAX_PHOTOS, count=count), photos_buttons(lang, count)
    return step_label(4, 4, lang) + t("report.ask_photos", lang, max=MAX_PHOTOS), photos_buttons(lang, 0)


async def _summary_prompt(update: Update, context: Context, lang: str) -> Prompt:
    rows = [
        [(t("report.btn_submit", lang), SUBMIT())],
        *card_rows(draft_of(context), context.deps.rules, lang),
        [(t("report.btn_fix", lang), FIX()), (t("report.btn_cancel", lang), CANCEL())],
    ]
    return summary_text(context, draft_of(context), lang), keyboard(rows)


async def _resume_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("report.resume_hint", lang), resume_buttons(lang)


PROMPTS: dict[object, PromptFor] = {
    RESUME: _resume_prompt,
    TYPE: _type_prompt,
    DATE: _date_prompt,
    DESCRIPTION: _description_prompt,
    PHOTOS: _photos_prompt,
    SUMMARY: _summary_prompt,
}


async def show_summary(update: Update, context: Context, lang: str) -> State:
    draft_of(context)["fixing"] = False
    return await ask(update, context, SUMMARY, lang)


async def next_missing(update: Update, context: Context, lang: str) -> State:
    """Go on with the first step that still has no answer (or to the summary when fixing one)."""
    draft = draft_of(context)
    for state, field in ((TYPE, "type"), (DATE, "date"), (DESCRIPTION, "description")):
        if not draft.get(field):
            return await ask(update, context, state, lang)
    if draft.get("fixing") or draft.get("photos_done"):
        return await show_summary(update, context, lang)
    return await ask(update, context, PHOTOS, lang)
