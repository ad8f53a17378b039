"""The tags and organiser of an event in /newevent: two buttons on the summary card open a choice
(tags toggled on and off; one organiser: 机关, 党组, 主席会议 or a 专委会 of the roster), then the
card comes back with them. Wired into the dialog by newevent.py (`steps()`); names and codes come
from the rules file's [[tag]] and [[organiser]] lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.review_rules import ReviewRules
from bot.services import outcomes
from bot.telegram.ui import OFFSETS, Buttons, Context, Prompt, Row, grid, keyboard, read_code, rows_of
from handlers.common import lang_of, staff_only
from handlers.dialog import Handlers, Next, PromptFor, State, asking, draft
from models import Member

TAGS, ORGANISER = "tags", "organiser"  # states of the /newevent dialog
MAX_ORGANISERS = 24  # committee buttons shown at once

BUTTONS = Buttons("ne")  # the /newevent dialog's prefix
OPEN_TAGS, OPEN_ORGANISER = BUTTONS("tags"), BUTTONS("org")
TAG = BUTTONS("tg", word=True)  # a [[tag]] code, toggled
TAGS_DONE = BUTTONS("tgdone")
ORGANISER_BUTTON = BUTTONS("og", word=True)  # an [[organiser]] code that is no committee
COMMITTEE = BUTTONS("ou", numbers=OFFSETS)  # a committee, by its place in the list shown
NO_ORGANISER = BUTTONS("onone")

Back = Callable[[Update, Context, str], Awaitable[Next]]


def card_lines(data: dict[str, Any], review: ReviewRules, lang: str) -> str:
    """The summary card's lines for what was chosen ("" when nothing was)."""
    joiner = "、" if lang == "zh" else ", "
    lines = []
    tags = [review.tags[c].label(lang) for c in data.get("tags", []) if c in review.tags]
    if tags:
        lines.append(t("outcomes.line_tags", lang, tags=joiner.join(tags)))
    code = data.get("organiser")
    organiser = data.get("organiser_unit") or (
        review.organisers[code].label(lang) if code in review.organisers else ""
    )
    if organiser:
        lines.append(t("outcomes.line_organiser", lang, organiser=organiser))
    return "".join("\n" + line for line in lines)


def card_row(lang: str) -> Row:
    return [
        (t("outcomes.btn_tags", lang), OPEN_TAGS()),
        (t("outcomes.btn_organiser", lang), OPEN_ORGANISER()),
    ]


def details(data: dict[str, Any]) -> dict[str, Any]:
    """What `bot.services.outcomes.set_details` takes, from the dialog's data."""
    return {
        "tags": tuple(data.get("tags", [])),
        "organiser": outcomes.Organiser(data.get("organiser"), data.get("organiser_unit")),
    }


def steps(data_key: str, back: Back) -> tuple[Handlers, dict[object, Handlers], dict[object, PromptFor]]:
    """The card's two buttons, the two states with their steps, and their prompts."""

    def data_of(context: Context) -> dict[str, Any]:
        return draft(context, data_key)

    async def tags_prompt(update: Update, context: Context, lang: str) -> Prompt:
        chosen = set(data_of(context).get("tags", []))
        buttons = [(("✓ " if code in chosen else "") + tag.button(lang), TAG(code))
                   for code, tag in context.deps.rules.review.tags.items()]  # fmt: skip
        return t("outcomes.ask_tags", lang), keyboard(
            [*rows_of(buttons, 2), [(t("outcomes.btn_done", lang), TAGS_DONE())]]
        )

    async def organiser_prompt(update: Update, context: Context, lang: str) -> Prompt:
        review = context.deps.rules.review
        async with context.deps.db.session() as session:
            committees = (await outcomes.committees(session))[:MAX_ORGANISERS]
        data_of(context)["committees"] = committees
        buttons = [
            (o.button(lang), ORGANISER_BUTTON(code))
            for code, o in review.organisers.items()
            if not o.committee
        ]
        buttons += [(name, COMMITTEE(i)) for i, name in enumerate(committees)]
        buttons.append((t("outcomes.btn_no_organiser", lang), NO_ORGANISER()))
        return t("outcomes.ask_organiser", lang), grid(buttons, 2)

    @staff_only
    async def got_tag(update: Update, context: Context, member: Member) -> Next:
        code = read_code(update, TAG, context.deps.rules.review.tags)
        data = data_of(context)
        chosen = list(data.get("tags", []))
        data["tags"] = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        _text, markup = await tags_prompt(update, context, lang_of(member, context))
        if update.callback_query is not None:
            await update.callback_query.edit_message_reply_markup(
                reply_markup=markup
            )  # the ✓ moves on the card
        return None

    @staff_only
    async def tags_done(update: Update, context: Context, member: Member) -> Next:
        return await back(update, context, lang_of(member, context))

    @staff_only
    async def got_organiser(update: Update, context: Context, member: Member) -> Next:
        data, review = data_of(context), context.deps.rules.review
        if NO_ORGANISER.pressed(update):
            data["organiser"], data["organiser_unit"] = None, None
        elif ORGANISER_BUTTON.pressed(update):
            code = ORGANISER_BUTTON.read(update).word
            if code not in review.organisers or review.organisers[code].committee:
                raise AskAgain("common.stale_button")
            data["organiser"], data["organiser_unit"] = code, None
        else:
            committees = list(data.get("committees") or [])
            index = COMMITTEE.read(update).number
            committee_code = next((c for c, o in review.organisers.items() if o.committee), None)
            if index >= len(committees) or committee_code is None:
                raise AskAgain("common.stale_button")
            data["organiser"], data["organiser_unit"] = committee_code, committees[index]
        return await back(update, context, lang_of(member, context))

    openers: Handlers = [
        CallbackQueryHandler(asking(TAGS, staff_only), pattern=OPEN_TAGS.matches),
        CallbackQueryHandler(asking(ORGANISER, staff_only), pattern=OPEN_ORGANISER.matches),
    ]
    states: dict[object, Handlers] = {
        TAGS: [
            CallbackQueryHandler(got_tag, pattern=TAG.matches),
            CallbackQueryHandler(tags_done, pattern=TAGS_DONE.matches),
        ],
        ORGANISER: [
            CallbackQueryHandler(got_organiser, pattern=ORGANISER_BUTTON.matches),
            CallbackQueryHandler(got_organiser, pattern=COMMITTEE.matches),
            CallbackQueryHandler(got_organiser, pattern=NO_ORGANISER.matches),
        ],
    }
    prompts: dict[object, PromptFor] = {TAGS: tags_prompt, ORGANISER: organiser_prompt}
    return openers, states, prompts


__all__ = ["ORGANISER", "TAGS", "State", "card_lines", "card_row", "details", "steps"]
