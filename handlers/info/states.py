"""The /info dialog's states, buttons, draft and prompts (the steps are in steps.py, the wiring in
__init__.py).

The draft lives in `context.user_data["info"]` (JSON values only); `draft["step"]` is the step
asked last, so /info in the middle goes back to it.
"""

from __future__ import annotations

import uuid
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.core.i18n import t
from bot.services import info
from bot.telegram.ui import OFFSETS, ROW_IDS, Buttons, Context, Prompt, grid, keyboard, reply
from handlers import dialog
from handlers.common import lang_of
from handlers.dialog import PromptFor, State, ask, step_label
from models import Member

KEY = "info"
TITLE, CATEGORY, BODY, ATTACH, COAUTHORS, CONFIRM = (
    "title",
    "category",
    "body",
    "attach",
    "coauthors",
    "confirm",
)
STEP_NUMBERS = {TITLE: 1, CATEGORY: 2, BODY: 3, ATTACH: 4, COAUTHORS: 5}
PARTS = ("title", "category", "body", "files", "coauthors")  # what 修改 offers

BUTTONS = Buttons("info")
CATEGORY_BUTTON = BUTTONS("cat", numbers=OFFSETS)  # by its place in the rules' list
BODY_DONE, BODY_CLEAR = BUTTONS("body:done"), BUTTONS("body:clear")
ATTACH_DONE = BUTTONS("att:done")
COAUTHOR = BUTTONS("co", numbers=ROW_IDS)  # a member found by the search
COAUTHORS_DONE = BUTTONS("co:done")
SUBMIT, EDIT, CANCEL = BUTTONS("ok"), BUTTONS("edit"), BUTTONS("cancel")
EDIT_PART = BUTTONS("edit", words=PARTS)
REVISE = BUTTONS("rev", numbers=ROW_IDS)  # under a returned item in /myinfo


def draft_of(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(KEY, {})
    return draft


def new_draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    draft = context.user_data[KEY] = {
        "title": None, "category": None, "body": "", "attachments": [], "coauthors": [], "resubmit": None,
        "editing": False, "step": TITLE, "token": uuid.uuid4().hex,
    }  # fmt: skip
    return draft


def drop_draft(context: Context) -> None:
    dialog.drop_draft(context, KEY)


def draft_key(update: Update, draft: dict[str, Any]) -> str:
    """Names the chat draft: it becomes one item, however often it is confirmed (bot.services.info.submit)."""
    assert update.effective_user is not None
    return f"{update.effective_user.id}:{draft.get('token')}"


def names(draft: dict[str, Any], lang: str) -> str:
    found = [name for _id, name in draft["coauthors"]]
    if not found:
        return t("info.none", lang)
    return "、".join(found) if lang == "zh" else ", ".join(found)


# ------------------------------------------------------------------ what each step asks


def next_button(lang: str, button: str) -> InlineKeyboardMarkup:
    return keyboard([[(t("info.btn_next", lang), button)]])


def body_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard([[(t("info.btn_done", lang), BODY_DONE()), (t("info.btn_clear", lang), BODY_CLEAR())]])


def confirm_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t("info.btn_submit", lang), SUBMIT())],
            [(t("info.btn_edit", lang), EDIT()), (t("info.btn_cancel", lang), CANCEL())],
        ]
    )


def _prompt_for(step: State) -> PromptFor:
    async def prompt(update: Update, context: Context, lang: str) -> Prompt:
        draft = draft_of(context)
        draft["step"] = step  # asked: this is the current step
        if step == CONFIRM:
            return t("info.confirm_question", lang), confirm_buttons(lang)
        label = step_label(STEP_NUMBERS[step], len(STEP_NUMBERS), lang)
        if step == TITLE:
            return label + t("info.ask_title", lang, min=info.TITLE_MIN, max=info.TITLE_MAX), None
        if step == CATEGORY:
            cats = context.deps.rules.info.categories
            return label + t("info.ask_category", lang), grid(
                [(name, CATEGORY_BUTTON(i)) for i, name in enumerate(cats)], 3
            )
        if step == BODY:
            text = t("info.ask_body", lang, min=info.BODY_MIN, max=info.BODY_MAX, advised=info.ADVISED_MAX)
            if draft.get("body"):
                text += "\n" + t("info.body_so_far", lang, length=len(draft["body"]))
            return label + text, body_buttons(lang)
        if step == ATTACH:
            return label + t("info.ask_files", lang, count=len(draft["attachments"])), next_button(
                lang, ATTACH_DONE()
            )
        return label + t("info.ask_coauthors", lang, names=names(draft, lang)), next_button(
            lang, COAUTHORS_DONE()
        )

    return prompt


PROMPTS: dict[object, PromptFor] = {
    step: _prompt_for(step) for step in (TITLE, CATEGORY, BODY, ATTACH, COAUTHORS, CONFIRM)
}


async def goto(update: Update, context: Context, member: Member, step: State) -> State:
    """Ask `step` and make it the current one; the summary card for CONFIRM."""
    if step == CONFIRM:
        await show_card(update, context, member)
        return step
    return await ask(update, context, step, lang_of(member, context))


async def after(update: Update, context: Context, member: Member, step: State) -> State:
    """After a step: the following one, or straight back to the card when editing from it."""
    return await goto(update, context, member, CONFIRM if draft_of(context).get("editing") else step)


async def show_card(update: Update, context: Context, member: Member) -> None:
    """The summary card: the item as it will be submitted, advice if any, the question."""
    lang = lang_of(member, context)
    draft = draft_of(context)
    draft["step"] = CONFIRM
    body = draft["body"]
    text = t(
        "info.summary",
        lang,
        title=draft["title"],
        category=draft["category"],
        length=len(body),
        files=len(draft["attachments"]),
        coauthors=names(draft, lang),
    )
    notes = [t(key, lang, advised=info.ADVISED_MAX) for key in info.advice(draft["title"], body)]
    await reply(update, text + "\n\n" + body)
    if notes:
        await reply(update, t("info.advice_header", lang) + "\n" + "\n".join("· " + n for n in notes))
    await reply(update, t("info.confirm_question", lang), confirm_buttons(lang))
