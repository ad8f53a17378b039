"""What each step of a paper dialog asks (its prompts and buttons), going to a step, the card,
and the member's list of papers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.telegram.ui import Context, Prompt, Row, grid, keyboard, reply
from handlers.common import lang_of
from handlers.dialog import PromptFor, State, ask, step_label
from handlers.paper.spec import ATTACH, CATEGORY, CONFIRM, TITLE, Paper
from models import Member


def next_button(paper: Paper, lang: str, data: str) -> InlineKeyboardMarkup:
    return keyboard([[(t(f"{paper.cat}.btn_next", lang), data)]])


def text_buttons(paper: Paper, lang: str, part: str) -> InlineKeyboardMarkup:
    return keyboard([[(t(f"{paper.cat}.btn_done", lang), paper.texts.data(paper.texts.done, part)),
                      (t(f"{paper.cat}.btn_clear", lang), paper.texts.data(paper.texts.clear, part))]])  # fmt: skip


def confirm_buttons(paper: Paper, lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t(f"{paper.cat}.btn_submit", lang), paper.submit_button())],
            [(t(f"{paper.cat}.btn_edit", lang), paper.edit_button()),
             (t(f"{paper.cat}.btn_cancel", lang), paper.cancel_button())],
        ]
    )  # fmt: skip


def _prompt_for(paper: Paper, step: State) -> PromptFor:
    async def prompt(update: Update, context: Context, lang: str) -> Prompt:
        data = paper.draft_of(context)
        data["step"] = step  # asked: this is the current step
        if step == CONFIRM:
            return t(f"{paper.cat}.confirm_question", lang), confirm_buttons(paper, lang)

        def question(key: str, **params: object) -> str:
            label = step_label(paper.step_numbers[step], len(paper.step_numbers), lang)
            return label + t(f"{paper.cat}.{key}", lang, **params)

        if step == TITLE:
            return question("ask_title", min=paper.title.min, max=paper.title.max), None
        if step == CATEGORY:
            cats = paper.categories(context.deps.rules)
            buttons = [(name, paper.category_button(i)) for i, name in enumerate(cats)]
            return question("ask_category"), grid(buttons, paper.category_columns)
        if step in paper.texts.parts:
            text = question(f"ask_{step}", min=paper.texts.min, max=paper.texts.max, **paper.texts.extra)
            if data.get(step):
                text += "\n" + t(f"{paper.cat}.{paper.texts.stem}_so_far", lang, length=len(data[step]))
            return text, text_buttons(paper, lang, step)
        if step == ATTACH:
            return question("ask_files", count=len(data["attachments"])), next_button(
                paper, lang, paper.attach_done()
            )
        return question(f"ask_{paper.people.name}", names=paper.names(data, lang)), next_button(
            paper, lang, paper.people_done()
        )

    return prompt


def prompts(paper: Paper) -> dict[object, PromptFor]:
    return {step: _prompt_for(paper, step) for step in paper.states}


async def goto(paper: Paper, update: Update, context: Context, member: Member, step: State) -> State:
    """Ask `step` and make it the current one; the summary card for CONFIRM."""
    if step == CONFIRM:
        await show_card(paper, update, context, member)
        return step
    return await ask(update, context, step, lang_of(member, context))


async def after(paper: Paper, update: Update, context: Context, member: Member, step: State) -> State:
    """After a step: the following one, or straight back to the card when editing from it."""
    return await goto(
        paper, update, context, member, CONFIRM if paper.draft_of(context).get("editing") else step
    )


async def show_card(paper: Paper, update: Update, context: Context, member: Member) -> None:
    """The summary card (the dialog's own), then the question with 确认 / 修改 / 取消."""
    lang = lang_of(member, context)
    data = paper.draft_of(context)
    data["step"] = CONFIRM
    await paper.card(update, context, data, lang)
    await reply(update, t(f"{paper.cat}.confirm_question", lang), confirm_buttons(paper, lang))


V = TypeVar("V")


async def show_mine(
    paper: Paper,
    update: Update,
    context: Context,
    member: Member,
    load: Callable[[AsyncSession, int], Awaitable[Sequence[V]]],
    card: Callable[[V, str, date], tuple[str, list[Row]]],
) -> None:
    """The member's papers (/myinfo, /myproposals): a header, then each as its card (`card`: its
    text and button rows in a language, on a day), or that there are none."""
    assert member.id is not None
    lang = lang_of(member, context)
    d = context.deps
    async with d.db.session() as session:
        views = await load(session, member.id)
    if not views:
        await reply(update, t(f"{paper.cat}.my_none", lang))
        return
    await reply(update, t(f"{paper.cat}.my_header", lang, count=len(views)))
    today = today_in(d.clock.now(), d.settings.tz)
    for view in views:
        text, rows = card(view, lang, today)
        await reply(update, text, keyboard(rows) if rows else None)
