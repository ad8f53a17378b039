"""What makes one paper dialog (/info, /proposal): `Paper`, a frozen spec of its names, buttons,
text parts, people and service calls; its draft (JSON values only, under `Paper.key` in user_data).

The states are strings stored with the dialog: TITLE, CATEGORY, one per text part (`Paper.texts`,
also the part's entry in the draft), ATTACH, the people (`Paper.people`: the state and the draft's
list of [member id, name]) and CONFIRM. `draft["step"]` is the step asked last, so the command in
the middle goes back to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.core.i18n import t
from bot.core.rules import Rules
from bot.telegram.ui import OFFSETS, ROW_IDS, Button, Buttons, Context
from handlers import dialog
from models import Member

TITLE, CATEGORY, ATTACH, CONFIRM = "title", "category", "attach", "confirm"

Draft = dict[str, Any]
# A returned paper loaded for revising: what goes into the new draft and the text introducing it;
# None when the loader refused (it says why itself).
Revision = tuple[Draft, str] | None
Hook = Callable[[Update, Context, Draft, str], Awaitable[None]]  # (update, context, draft, lang)


@dataclass(frozen=True)
class Paper:
    """One paper dialog. Catalogue keys are `<cat>.<name>`: intro, resume, draft_open, ask_title,
    ask_category, category_set, ask_<text part>, <text_stem>_so_far / _progress / _over / _cleared /
    _replace, ask_files, file_ok, files_max, files_cleared, ask_<people>, <person>_found / _none /
    _more / _added / _max, none, confirm_question, edit_which, edit_<part>, btn_*, cancelled."""

    name: str  # the dialog's name (its stored states are under it)
    key: str  # the draft's entry in user_data
    command: str  # "/info"
    menu: str  # the main-menu button's catalogue key
    cat: str  # the catalogue prefix
    buttons: Buttons
    texts: tuple[str, ...]  # the long text parts, collected over several messages
    text_done: Button  # a text part's 完成 (its data carries the part's name if the button has a word)
    text_clear: Button  # a text part's 清空重写
    text_stem: str  # catalogue stem of the text messages ("body": info.body_progress)
    text_min: int  # shown in the questions and the progress
    text_max: int  # all text parts together
    people: str  # co-authors: the state and the draft's entry
    person: str  # catalogue stem for one of them ("coauthor": info.coauthor_found)
    max_people: int
    max_files: int
    title_min: int
    title_max: int
    categories: Callable[[Rules], Sequence[str]]
    category_columns: int
    fields: Mapping[str, str]  # a refusal's field -> the state asking for it
    draft_prefix: str  # before "<telegram id>:<token>" in the draft's key (the service stores it)
    # the services
    check_title: Callable[[str], str]
    check_category: Callable[[str, Rules], str]  # a typed category
    check_text: Callable[[str, str], str]  # a text part, the other parts' text
    stored_draft: Callable[[AsyncSession, str], Awaitable[object | None]]  # what a draft's key became
    may_join: Callable[[Member], bool]  # a person found may be added
    load_returned: Callable[[Update, Context, Member, int], Awaitable[Revision]]
    card: Hook  # the summary card before the confirm question
    submit: Callable[[Update, Context, Member, Draft, str], Awaitable[str]]  # stores it; the answer
    titled: Hook | None = None  # after the title is taken (proposals: similar ones)
    ask_extra: Mapping[str, object] = field(default_factory=dict)  # more placeholders of ask_<part>
    files_in_text: bool = False  # files are taken while a text part is written too
    captions: bool = False  # a file's caption is kept
    people_on_resubmit: bool = True  # the people may change when a returned paper is revised

    # ------------------------------------------------------------------ states and buttons

    @cached_property
    def step_numbers(self) -> dict[str, int]:
        steps = (TITLE, CATEGORY, *self.texts, ATTACH, self.people)
        return {step: number for number, step in enumerate(steps, 1)}

    @cached_property
    def states(self) -> tuple[str, ...]:
        return (*self.step_numbers, CONFIRM)

    @cached_property
    def parts(self) -> tuple[str, ...]:
        """What 修改 offers."""
        return (TITLE, CATEGORY, *self.texts, "files", self.people)

    @cached_property
    def category_button(self) -> Button:
        return self.buttons("cat", numbers=OFFSETS)  # by its place in the rules' list

    @cached_property
    def attach_done(self) -> Button:
        return self.buttons("att:done")

    @cached_property
    def person_button(self) -> Button:
        return self.buttons("co", numbers=ROW_IDS)  # a member found by the search

    @cached_property
    def people_done(self) -> Button:
        return self.buttons("co:done")

    @cached_property
    def submit_button(self) -> Button:
        return self.buttons("ok")

    @cached_property
    def edit_button(self) -> Button:
        return self.buttons("edit")

    @cached_property
    def cancel_button(self) -> Button:
        return self.buttons("cancel")

    @cached_property
    def edit_part_button(self) -> Button:
        return self.buttons("edit", words=self.parts)

    @cached_property
    def revise_button(self) -> Button:
        return self.buttons("rev", numbers=ROW_IDS)  # under a returned paper in the member's list

    def text_data(self, button: Button, part: str) -> str:
        return button(part) if button.word else button()

    # ------------------------------------------------------------------ the draft

    def draft_of(self, context: Context) -> Draft:
        return dialog.draft(context, self.key)

    def new_draft(self, context: Context) -> Draft:
        assert context.user_data is not None
        data: Draft = {TITLE: None, CATEGORY: None}
        data.update({part: "" for part in self.texts})
        data.update({"attachments": [], self.people: [], "resubmit": None, "editing": False, "step": TITLE,
                     "token": uuid.uuid4().hex})  # fmt: skip
        context.user_data[self.key] = data
        return data

    def drop_draft(self, context: Context) -> None:
        dialog.drop_draft(context, self.key)

    def draft_key(self, update: Update, data: Draft) -> str:
        """Names the chat draft: it becomes one paper, however often it is confirmed."""
        assert update.effective_user is not None
        return f"{self.draft_prefix}{update.effective_user.id}:{data.get('token')}"

    def names(self, data: Draft, lang: str) -> str:
        found = [name for _id, name in data[self.people]]
        if not found:
            return t(f"{self.cat}.none", lang)
        return "、".join(found) if lang == "zh" else ", ".join(found)

    def other_text(self, data: Draft, part: str) -> str:
        """The text parts but `part`, together (their length counts against text_max)."""
        return "".join(str(data.get(other) or "") for other in self.texts if other != part)

    def text_step(self, data: Draft) -> str:
        """The text part being written (the step asked last)."""
        step = str(data.get("step"))
        return step if step in self.texts else self.texts[0]
