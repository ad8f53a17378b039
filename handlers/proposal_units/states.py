"""The handling unit's dialogs: their states, buttons and what each step asks (the steps are in
steps.py, the wiring in __init__.py). The draft lives in `context.user_data["punit"]`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from telegram import Update

from bot.core.dates import format_day, today_in
from bot.core.i18n import t
from bot.services.proposals import handling as service
from bot.services.proposals.common import contact_label
from bot.telegram.ui import Buttons, Context, Prompt, keyboard
from handlers.dialog import PromptFor, draft
from models.proposal import CONTACT_KINDS

DATA_KEY = "punit"
OBJ_REASON, C_KIND, C_DAY, OPINION, A_CAT, A_TEXT, A_FILE, X_DAY, X_REASON = (
    "obj_reason",
    "c_kind",
    "c_day",
    "opinion",
    "a_cat",
    "a_text",
    "a_file",
    "x_day",
    "x_reason",
)
MAX_LISTED = 10
SUGGESTION_PREVIEW = 300

# The dialogs' own buttons.
DIALOG = Buttons("pans")
KIND_BUTTON = DIALOG("kind", words=CONTACT_KINDS)
TODAY_BUTTON = DIALOG("today")
CAT_BUTTON = DIALOG("cat", word=True)
SKIP_BUTTON = DIALOG("skip")


def unit_t(key: str, lang: str, **params: object) -> str:
    return t(f"proposals_unit.{key}", lang, **params)


def zone_of(context: Context) -> Any:
    return context.deps.settings.tz


def today_of(context: Context) -> date:
    return today_in(context.deps.clock.now(), zone_of(context))


def day_of(context: Context, key: str) -> date | None:
    value = draft(context, DATA_KEY).get(key)
    return date.fromisoformat(value) if isinstance(value, str) else None


async def prompt_object(update: Update, context: Context, lang: str) -> Prompt:
    until = draft(context, DATA_KEY).get("until")
    shown = ""
    if isinstance(until, str):
        moment = datetime.fromisoformat(until).replace(tzinfo=UTC).astimezone(zone_of(context))
        shown = format_day(moment.date(), lang, today_of(context))
    return unit_t("ask_object_reason", lang, until=shown), None


async def prompt_kind(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_contact_kind", lang), keyboard(
        [[(contact_label(kind, lang), KIND_BUTTON(kind)) for kind in CONTACT_KINDS]]
    )


async def prompt_day(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_contact_day", lang), keyboard([[(unit_t("button.today", lang), TODAY_BUTTON())]])


async def prompt_opinion(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_opinion", lang, max=service.MAX_OPINION), None


async def prompt_category(update: Update, context: Context, lang: str) -> Prompt:
    categories = context.deps.rules.proposal.answer_categories
    return unit_t("ask_category", lang), keyboard(
        [[(f"{c.code} {c.label(lang)}", CAT_BUTTON(c.code))] for c in categories]
    )


async def prompt_answer(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_answer", lang, min=service.MIN_ANSWER, max=service.MAX_ANSWER), None


async def prompt_letter(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_letter", lang), keyboard([[(unit_t("button.skip", lang), SKIP_BUTTON())]])


async def prompt_extension_day(update: Update, context: Context, lang: str) -> Prompt:
    today = today_of(context)
    due, latest = day_of(context, "due"), day_of(context, "latest")
    return unit_t(
        "ask_extension_day",
        lang,
        due=format_day(due, lang, today) if due else "",
        latest=format_day(latest, lang, today) if latest else "",
    ), None


async def prompt_extension_reason(update: Update, context: Context, lang: str) -> Prompt:
    return unit_t("ask_extension_reason", lang), None


PROMPTS: dict[object, PromptFor] = {
    OBJ_REASON: prompt_object,
    C_KIND: prompt_kind,
    C_DAY: prompt_day,
    OPINION: prompt_opinion,
    A_CAT: prompt_category,
    A_TEXT: prompt_answer,
    A_FILE: prompt_letter,
    X_DAY: prompt_extension_day,
    X_REASON: prompt_extension_reason,
}
