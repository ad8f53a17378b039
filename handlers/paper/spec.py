"""What makes one paper dialog (/info, /proposal): `Paper`, a frozen spec of its names, buttons,
text parts, people and service calls; its draft (JSON values only, under `Paper.key` in user_data).

The states are strings stored with the dialog: TITLE, CATEGORY, one per text part (`Texts.parts`,
also the part's entry in the draft), ATTACH, the people (`People.name`: the state and the draft's
list of [member id, name]) and CONFIRM. `draft["step"]` is the step asked last, so the command in
the middle goes back to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
class Title:
    """A paper's title: its length and the service's check (a long one is handed back)."""

    min: int
    max: int
    check: Callable[[str], str]


@dataclass(frozen=True)
class Texts:
    """A paper's long text parts, collected over several messages (each its own step and draft entry)."""

    parts: tuple[str, ...]
    done: Button  # 完成 (its data carries the part's name if the button has a word)
    clear: Button  # 清空重写
    stem: str  # catalogue stem of the text messages ("body": info.body_progress)
    min: int  # shown in the questions and the progress
    max: int  # all parts together
    check: Callable[[str, str], str]  # a part when done, the other parts' text
    extra: Mapping[str, object] = field(default_factory=dict)  # more placeholders of ask_<part>
    files_too: bool = False  # files are taken while a part is written too

    def data(self, button: Button, part: str) -> str:
        """The data of `done` or `clear` for `part`."""
        return button(part) if button.word else button()


@dataclass(frozen=True)
class People:
    """The co-authors a member adds, found by part of a name: [member id, name] in the draft."""

    name: str  # the state and the draft's entry
    one: str  # catalogue stem for one of them ("coauthor": info.coauthor_found)
    max: int
    may_join: Callable[[Member], bool]  # a person found may be added
    on_resubmit: bool = True  # they may change when a returned paper is revised


@dataclass(frozen=True)
class Paper:
    """One paper dialog. Catalogue keys are `<cat>.<name>`: intro, resume, draft_open, ask_title,
    ask_category, category_set, ask_<text part>, <texts.stem>_so_far / _progress / _over / _cleared
    / _replace, ask_files, file_ok, files_max, files_cleared, ask_<people.name>, <people.one>_found
    / _none / _more / _added / _max, none, confirm_question, edit_which, edit_<part>, btn_*, cancelled.
    Its buttons are `buttons` with the actions below (made once, in __post_init__)."""

    name: str  # the dialog's name (its stored states are under it), its command and menu.<name> button
    key: str  # the draft's entry in user_data
    cat: str  # the catalogue prefix
    buttons: Buttons
    texts: Texts
    people: People
    title: Title
    categories: Callable[[Rules], Sequence[str]]
    check_category: Callable[[str, Rules], str]  # a typed category
    category_columns: int
    max_files: int
    captions: bool  # a file's caption is kept
    fields: Mapping[str, str]  # a refusal's field -> the state asking for it
    draft_prefix: str  # before "<telegram id>:<token>" in the draft's key (the service stores it)
    stored_draft: Callable[[AsyncSession, str], Awaitable[object | None]]  # what a draft's key became
    load_returned: Callable[[Update, Context, Member, int], Awaitable[Revision]]
    card: Hook  # the summary card before the confirm question
    submit: Callable[[Update, Context, Member, Draft, str], Awaitable[str]]  # stores it; the answer
    titled: Hook | None = None  # after the title is taken (proposals: similar ones)
    # the buttons (prefix:action), made from `buttons`
    category_button: Button = field(init=False)  # cat:<place in the rules' list>
    attach_done: Button = field(init=False)  # att:done
    person_button: Button = field(init=False)  # co:<member id>, a member found by the search
    people_done: Button = field(init=False)  # co:done
    submit_button: Button = field(init=False)  # ok
    edit_button: Button = field(init=False)  # edit
    edit_part_button: Button = field(init=False)  # edit:<part>
    cancel_button: Button = field(init=False)  # cancel
    revise_button: Button = field(init=False)  # rev:<id>, under a returned paper in the member's list

    def __post_init__(self) -> None:
        b = self.buttons
        made = {
            "category_button": b("cat", numbers=OFFSETS), "attach_done": b("att:done"),
            "person_button": b("co", numbers=ROW_IDS), "people_done": b("co:done"), "submit_button": b("ok"),
            "edit_button": b("edit"), "edit_part_button": b("edit", words=self.parts), "cancel_button": b("cancel"),
            "revise_button": b("rev", numbers=ROW_IDS),
        }  # fmt: skip
        for name, button in made.items():
            object.__setattr__(self, name, button)  # a frozen dataclass sets its own fields so

    # ------------------------------------------------------------------ states

    @property
    def step_numbers(self) -> dict[str, int]:
        steps = (TITLE, CATEGORY, *self.texts.parts, ATTACH, self.people.name)
        return {step: number for number, step in enumerate(steps, 1)}

    @property
    def states(self) -> tuple[str, ...]:
        return (*self.step_numbers, CONFIRM)

    @property
    def parts(self) -> tuple[str, ...]:
        """What 修改 offers."""
        return (TITLE, CATEGORY, *self.texts.parts, "files", self.people.name)

    # ------------------------------------------------------------------ the draft

    def draft_of(self, context: Context) -> Draft:
        return dialog.draft(context, self.key)

    def new_draft(self, context: Context) -> Draft:
        assert context.user_data is not None
        data: Draft = {TITLE: None, CATEGORY: None}
        data.update({part: "" for part in self.texts.parts})
        data.update({"attachments": [], self.people.name: [], "resubmit": None, "editing": False, "step": TITLE,
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
        found = [name for _id, name in data[self.people.name]]
        if not found:
            return t(f"{self.cat}.none", lang)
        return "、".join(found) if lang == "zh" else ", ".join(found)

    def other_text(self, data: Draft, part: str) -> str:
        """The text parts but `part`, together (their length counts against texts.max)."""
        return "".join(str(data.get(other) or "") for other in self.texts.parts if other != part)

    def text_step(self, data: Draft) -> str:
        """The text part being written (the step asked last)."""
        step = str(data.get("step"))
        return step if step in self.texts.parts else self.texts.parts[0]
