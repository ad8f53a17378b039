"""The tags and organiser of an event in /newevent: two buttons on the summary card open a choice
(tags toggled on and off; one organiser: 机关, 党组, 主席会议 or a 专委会 of the roster), then the
card comes back with them. Kept apart from the dialog's other steps (handlers/event_admin.py), which
wires them in with `steps()`; names and codes come from the rules file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.review_rules import ReviewRules
from bot.services import outcomes
from handlers.common import Context, Prompt, deps, grid, keyboard, lang_of, reply, staff_only
from models import Member

TAGS, ORGANISER = "ne_tags", "ne_organiser"  # states of the /newevent dialog
MAX_ORGANISERS = 24  # committee buttons shown at once

Back = Callable[[Update, Context, str], Awaitable[object]]


def card_lines(data: dict, review: ReviewRules, lang: str) -> str:
    """The summary card's lines for what was chosen ("" when nothing was)."""
    joiner = "、" if lang == "zh" else ", "
    lines = []
    tags = [review.tags[c].label(lang) for c in data.get("tags", []) if c in review.tags]
    if tags:
        lines.append(t("outcomes.line_tags", lang, tags=joiner.join(tags)))
    organiser = data.get("organiser_unit") or (
        review.organisers[data["organiser"]].label(lang) if data.get("organiser") in review.organisers else "")  # fmt: skip
    if organiser:
        lines.append(t("outcomes.line_organiser", lang, organiser=organiser))
    return "".join("\n" + line for line in lines)


def card_buttons(lang: str) -> list[tuple[str, str]]:
    return [(t("outcomes.btn_tags", lang), "ne:tags"), (t("outcomes.btn_organiser", lang), "ne:org")]


def details(data: dict) -> dict:
    """What `bot.services.outcomes.set_details` takes, from the dialog's data."""
    return {
        "tags": tuple(data.get("tags", [])),
        "organiser": outcomes.Organiser(data.get("organiser"), data.get("organiser_unit")),
    }


async def tags_prompt(context: Context, data: dict, lang: str) -> Prompt:
    chosen = set(data.get("tags", []))
    review = deps(context).rules.review
    buttons = [(("✓ " if code in chosen else "") + tag.button(lang), f"ne:tg:{code}") for code, tag in review.tags.items()]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)] + [[(t("outcomes.btn_done", lang), "ne:tg:done")]]
    return t("outcomes.ask_tags", lang), keyboard(rows)


async def organiser_prompt(context: Context, data: dict, lang: str) -> Prompt:
    review = deps(context).rules.review
    async with deps(context).db.session() as session:
        committees = (await outcomes.committees(session))[:MAX_ORGANISERS]
    data["committees"] = committees
    buttons = [(o.button(lang), f"ne:og:{code}") for code, o in review.organisers.items() if not o.committee]
    buttons += [(name, f"ne:og:c{i}") for i, name in enumerate(committees)]
    buttons.append((t("outcomes.btn_no_organiser", lang), "ne:og:none"))
    return t("outcomes.ask_organiser", lang), grid(buttons, 2)


def steps(data_key: str, back: Back) -> tuple[list[BaseHandler], dict[object, list[BaseHandler]], dict]:
    """The summary card's two buttons, the two states, and their prompts, for /newevent."""

    def data_of(context: Context) -> dict:
        assert context.user_data is not None
        return context.user_data.setdefault(data_key, {})

    @staff_only
    async def open_tags(update: Update, context: Context, member: Member) -> str:
        lang = lang_of(member, context)
        text, markup = await tags_prompt(context, data_of(context), lang)
        await reply(update, text, reply_markup=markup)
        return TAGS

    @staff_only
    async def open_organiser(update: Update, context: Context, member: Member) -> str:
        lang = lang_of(member, context)
        text, markup = await organiser_prompt(context, data_of(context), lang)
        await reply(update, text, reply_markup=markup)
        return ORGANISER

    @staff_only
    async def got_tag(update: Update, context: Context, member: Member) -> object:
        lang = lang_of(member, context)
        data = data_of(context)
        code = (update.callback_query.data or "").removeprefix("ne:tg:") if update.callback_query else ""
        if code == "done":
            return await back(update, context, lang)
        if code not in deps(context).rules.review.tags:
            raise AskAgain("common.stale_button")
        chosen = list(data.get("tags", []))
        data["tags"] = [c for c in chosen if c != code] if code in chosen else [*chosen, code]
        text, markup = await tags_prompt(context, data, lang)
        query = update.callback_query
        assert query is not None
        await query.edit_message_reply_markup(reply_markup=markup)  # the ✓ moves on the same card
        return TAGS

    @staff_only
    async def got_organiser(update: Update, context: Context, member: Member) -> object:
        lang = lang_of(member, context)
        data = data_of(context)
        review = deps(context).rules.review
        code = (update.callback_query.data or "").removeprefix("ne:og:") if update.callback_query else ""
        committees = list(data.get("committees") or [])
        committee_code = next((c for c, o in review.organisers.items() if o.committee), None)
        if code == "none":
            data["organiser"], data["organiser_unit"] = None, None
        elif code in review.organisers and not review.organisers[code].committee:
            data["organiser"], data["organiser_unit"] = code, None
        elif code.startswith("c") and code[1:].isdigit() and int(code[1:]) < len(committees) and committee_code:
            data["organiser"], data["organiser_unit"] = committee_code, committees[int(code[1:])]
        else:
            raise AskAgain("common.stale_button")
        return await back(update, context, lang)

    async def ask_tags(update: Update, context: Context, lang: str) -> Prompt:
        return await tags_prompt(context, data_of(context), lang)

    async def ask_organiser(update: Update, context: Context, lang: str) -> Prompt:
        return await organiser_prompt(context, data_of(context), lang)

    openers: list[BaseHandler] = [
        CallbackQueryHandler(open_tags, pattern=r"^ne:tags$"),
        CallbackQueryHandler(open_organiser, pattern=r"^ne:org$"),
    ]
    states: dict[object, list[BaseHandler]] = {
        TAGS: [CallbackQueryHandler(got_tag, pattern=r"^ne:tg:")],
        ORGANISER: [CallbackQueryHandler(got_organiser, pattern=r"^ne:og:")],
    }
    return openers, states, {TAGS: ask_tags, ORGANISER: ask_organiser}
