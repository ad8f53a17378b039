"""The /proposal dialog's states, buttons, draft and prompts (the steps are in steps.py, the
wiring in __init__.py).

The draft lives in `context.user_data["proposal"]` (JSON values only); `draft["step"]` is the step
asked last, so /proposal in the middle goes back to it.
"""

from __future__ import annotations

import uuid
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.core.i18n import t
from bot.services.proposals import submission as service
from bot.telegram.ui import OFFSETS, ROW_IDS, Buttons, Context, Prompt, grid, keyboard, reply
from handlers.common import lang_of
from handlers.dialog import PromptFor, State, ask, draft, numbered
from models import Member

KEY = "proposal"
TITLE, CATEGORY, ANALYSIS, SUGGESTION, ATTACH, COPROPOSERS, CONFIRM = (
    "title", "category", "analysis", "suggestion", "attach", "coproposers", "confirm",
)  # fmt: skip
STEP_NUMBERS = {TITLE: 1, CATEGORY: 2, ANALYSIS: 3, SUGGESTION: 4, ATTACH: 5, COPROPOSERS: 6}
PARTS = ("title", "category", "analysis", "suggestion", "files", "coproposers")  # what 修改 offers
TEXTS = (ANALYSIS, SUGGESTION)  # collected over several messages

BUTTONS = Buttons("prop")
CATEGORY_BUTTON = BUTTONS("cat", numbers=OFFSETS)  # by its place in the rules' list
TEXT_DONE = BUTTONS("done", words=TEXTS)
TEXT_CLEAR = BUTTONS("clear", words=TEXTS)
ATTACH_DONE = BUTTONS("att:done")
COPROPOSER = BUTTONS("co", numbers=ROW_IDS)  # a member found by the search
COPROPOSERS_DONE = BUTTONS("co:done")
SUBMIT, EDIT, CANCEL = BUTTONS("ok"), BUTTONS("edit"), BUTTONS("cancel")
EDIT_PART = BUTTONS("edit", words=PARTS)
REVISE = BUTTONS("rev", numbers=ROW_IDS)  # under a returned proposal in /myproposals


def draft_of(context: Context) -> dict[str, Any]:
    return draft(context, KEY)


def new_draft(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    data = context.user_data[KEY] = {
        "title": None, "category": None, "analysis": "", "suggestion": "", "attachments": [], "coproposers": [],
        "resubmit": None, "editing": False, "step": TITLE, "token": uuid.uuid4().hex,
    }  # fmt: skip
    return data


def drop_draft(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


def draft_key(update: Update, data: dict[str, Any]) -> str:
    """Names the chat draft: it becomes one proposal, however often it is confirmed."""
    assert update.effective_user is not None
    return f"p:{update.effective_user.id}:{data.get('token')}"


def names(data: dict[str, Any], lang: str) -> str:
    found = [name for _id, name in data["coproposers"]]
    if not found:
        return t("proposals_submit.none", lang)
    return "、".join(found) if lang == "zh" else ", ".join(found)


def other_text(data: dict[str, Any], step: str) -> str:
    return str(data[SUGGESTION if step == ANALYSIS else ANALYSIS] or "")


# ------------------------------------------------------------------ what each step asks


def next_button(lang: str, button: str) -> InlineKeyboardMarkup:
    return keyboard([[(t("proposals_submit.btn_next", lang), button)]])


def text_buttons(lang: str, step: str) -> InlineKeyboardMarkup:
    return keyboard([[(t("proposals_submit.btn_done", lang), TEXT_DONE(step)),
                      (t("proposals_submit.btn_clear", lang), TEXT_CLEAR(step))]])  # fmt: skip


def confirm_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t("proposals_submit.btn_submit", lang), SUBMIT())],
            [(t("proposals_submit.btn_edit", lang), EDIT()), (t("proposals_submit.btn_cancel", lang), CANCEL())],
        ]
    )


def _prompt_for(step: State) -> PromptFor:
    async def prompt(update: Update, context: Context, lang: str) -> Prompt:
        data = draft_of(context)
        data["step"] = step  # asked: this is the current step
        if step == CONFIRM:
            return t("proposals_submit.confirm_question", lang), confirm_buttons(lang)
        if step == TITLE:
            return numbered(STEP_NUMBERS, step, "proposals_submit.ask_title", lang,
                            min=service.TITLE_MIN, max=service.TITLE_MAX), None  # fmt: skip
        if step == CATEGORY:
            cats = context.deps.rules.proposal.categories
            return numbered(STEP_NUMBERS, step, "proposals_submit.ask_category", lang), grid(
                [(name, CATEGORY_BUTTON(i)) for i, name in enumerate(cats)], 2
            )
        if step in TEXTS:
            text = numbered(STEP_NUMBERS, step, f"proposals_submit.ask_{step}", lang,
                            min=service.PART_MIN, max=service.TEXT_MAX)  # fmt: skip
            if data.get(step):
                text += "\n" + t("proposals_submit.text_so_far", lang, length=len(data[step]))
            return text, text_buttons(lang, step)
        if step == ATTACH:
            return numbered(STEP_NUMBERS, step, "proposals_submit.ask_files", lang,
                            count=len(data["attachments"])), next_button(lang, ATTACH_DONE())  # fmt: skip
        return numbered(STEP_NUMBERS, step, "proposals_submit.ask_coproposers", lang,
                        names=names(data, lang)), next_button(lang, COPROPOSERS_DONE())  # fmt: skip

    return prompt


PROMPTS: dict[object, PromptFor] = {
    step: _prompt_for(step) for step in (TITLE, CATEGORY, ANALYSIS, SUGGESTION, ATTACH, COPROPOSERS, CONFIRM)
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
    """The summary card: the proposal as it will be submitted, then 确认 / 修改 / 取消."""
    lang = lang_of(member, context)
    data = draft_of(context)
    data["step"] = CONFIRM
    text = t(
        "proposals_submit.summary",
        lang,
        title=data["title"],
        category=data["category"],
        files=len(data["attachments"]),
        coproposers=names(data, lang),
    )
    await reply(update, text)
    await reply(update, t("proposals_submit.summary_analysis", lang) + "\n" + data["analysis"])
    await reply(update, t("proposals_submit.summary_suggestion", lang) + "\n" + data["suggestion"])
    await reply(update, t("proposals_submit.confirm_question", lang), confirm_buttons(lang))
