"""The steps of a paper dialog: starting (or going back to the draft in progress), revising a
returned paper, title, category (a button or typed), the text parts in several messages, files,
co-authors found by part of a name, the edit menu, submit and cancel. `Steps(paper)` has one
method per step (a handler callback taking the member: handlers.common.member_only)."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import info
from bot.telegram.ui import Button, Context, close_pressed, keyboard, refuse, reply
from handlers import uploads
from handlers.common import lang_of, typed_text
from handlers.dialog import END, Next, State, leave
from handlers.paper.asks import after, goto, next_button, text_buttons
from handlers.paper.spec import ATTACH, CATEGORY, CONFIRM, TITLE, Paper
from models import Member


def file_entry(message: Message) -> dict[str, Any]:
    """The draft's entry of a photo, PDF or Word file sent (its declared kind and size checked;
    the content is checked by handlers.uploads). Anything else is refused."""
    if message.photo:
        photo = message.photo[-1]
        info.check_size(photo.file_size)
        return {"kind": "photo", "file_id": photo.file_id, "file_unique_id": photo.file_unique_id,
                "file_name": None, "mime_type": "image/jpeg", "file_size": photo.file_size}  # fmt: skip
    if message.document:
        doc = message.document
        info.check_document(doc.file_name, doc.mime_type, doc.file_size)
        return {"kind": "document", "file_id": doc.file_id, "file_unique_id": doc.file_unique_id,
                "file_name": doc.file_name, "mime_type": doc.mime_type, "file_size": doc.file_size}  # fmt: skip
    raise info.InfoError("file_kind")


FILE_FIELDS = ("kind", "file_id", "file_unique_id", "file_name", "mime_type", "file_size")


def stored_file(row: Any, caption: bool = False) -> dict[str, Any]:
    """The draft's entry of a stored attachment (a returned paper's), with its caption if asked."""
    entry = {name: getattr(row, name) for name in FILE_FIELDS}
    if caption:
        entry["caption"] = row.caption
    return entry


class Steps:
    """The steps of `paper`'s dialog."""

    def __init__(self, paper: Paper) -> None:
        self.paper = paper

    def _t(self, key: str, lang: str, **params: object) -> str:
        return t(f"{self.paper.cat}.{key}", lang, **params)

    async def _goto(self, update: Update, context: Context, member: Member, step: State) -> State:
        return await goto(self.paper, update, context, member, step)

    async def _after(self, update: Update, context: Context, member: Member, step: State) -> State:
        return await after(self.paper, update, context, member, step)

    # ------------------------------------------------------------------ entry

    async def start(self, update: Update, context: Context, member: Member) -> Next:
        """The command or the menu button: a new draft, or back to the step of the one in progress."""
        paper, lang = self.paper, lang_of(member, context)
        data = paper.draft_of(context)
        if data.get("step") and not data.get("resubmit"):
            async with context.deps.db.session() as session:  # a crash came before its end was saved
                if await paper.stored_draft(session, paper.draft_key(update, data)) is not None:
                    data = {}
        if data.get("step"):
            await reply(update, self._t("resume", lang))
            return await self._goto(update, context, member, data["step"])
        paper.new_draft(context)
        await reply(update, self._t("intro", lang))
        return await self._goto(update, context, member, TITLE)

    async def revise(self, update: Update, context: Context, member: Member) -> Next:
        """The button under a returned paper in the member's list: load it into a draft, show the card."""
        paper, lang = self.paper, lang_of(member, context)
        paper_id = paper.revise_button.read(update).number
        loaded = await paper.load_returned(update, context, member, paper_id)
        if loaded is None:
            return None
        fields, intro = loaded
        data = paper.draft_of(context)
        if data.get("step") and data.get("resubmit") != paper_id:
            await refuse(update, self._t("draft_open", lang))
            return None
        paper.new_draft(context).update(fields, resubmit=paper_id, editing=True)
        await reply(update, intro)
        return await self._goto(update, context, member, CONFIRM)

    # ------------------------------------------------------------------ title, category

    async def got_title(self, update: Update, context: Context, member: Member) -> Next:
        data = self.paper.draft_of(context)
        data[TITLE] = self.paper.title.check(typed_text(update))  # a long one is handed back
        if self.paper.titled is not None:
            await self.paper.titled(update, context, data, lang_of(member, context))
        return await self._after(update, context, member, CATEGORY)

    async def got_category(self, update: Update, context: Context, member: Member) -> Next:
        paper, lang = self.paper, lang_of(member, context)
        rules = context.deps.rules
        if update.callback_query is not None:
            index = paper.category_button.read(update).number
            cats = paper.categories(rules)
            if index >= len(cats):
                raise AskAgain("common.stale_button")
            choice = cats[index]
        else:
            choice = paper.check_category(typed_text(update), rules)
        data = paper.draft_of(context)
        data[CATEGORY] = choice
        if data.get("editing"):
            return await self._goto(update, context, member, CONFIRM)
        await reply(update, self._t("category_set", lang, category=choice))
        return await self._goto(update, context, member, paper.texts.parts[0])

    # ------------------------------------------------------------------ the text parts

    def _pressed_part(self, update: Update, data: dict[str, Any], button: Button) -> str:
        """The text part a 完成 / 清空 press is for: an old press for another part is stale."""
        if not button.word:
            button.read(update)
            return self.paper.text_step(data)
        part = str(button.read(update).word)
        if part != data.get("step"):
            raise AskAgain("common.stale_button")
        return part

    async def text_part(self, update: Update, context: Context, member: Member) -> Next:
        """A piece of a text part: appended, with the running length shown."""
        paper, lang = self.paper, lang_of(member, context)
        data = paper.draft_of(context)
        step = paper.text_step(data)
        part = typed_text(update)
        if not part:
            return None
        joined = f"{data[step]}\n{part}" if data[step] else part
        total = len(joined) + len(paper.other_text(data, step))
        if total > paper.texts.max:
            raise AskAgain(f"{paper.cat}.{paper.texts.stem}_over", hand_back=True, length=total, max=paper.texts.max,
                           current=len(data[step]))  # fmt: skip
        data[step] = joined
        progress = self._t(f"{paper.texts.stem}_progress", lang, length=len(joined), total=total, min=paper.texts.min,
                           max=paper.texts.max)  # fmt: skip
        await reply(update, progress, text_buttons(paper, lang, step))
        return None

    async def text_done(self, update: Update, context: Context, member: Member) -> Next:
        paper = self.paper
        data = paper.draft_of(context)
        step = self._pressed_part(update, data, paper.texts.done)
        data[step] = paper.texts.check(data[step], paper.other_text(data, step))
        parts = paper.texts.parts
        following = parts.index(step) + 1
        return await self._after(
            update, context, member, parts[following] if following < len(parts) else ATTACH
        )

    async def text_clear(self, update: Update, context: Context, member: Member) -> Next:
        data = self.paper.draft_of(context)
        step = self._pressed_part(update, data, self.paper.texts.clear)
        old = data[step]
        data[step] = ""
        await reply(update, self._t(f"{self.paper.texts.stem}_cleared", lang_of(member, context)))
        if old:
            await reply(update, old)  # the cleared text, so it can be copied back in parts
        return None

    # ------------------------------------------------------------------ files

    async def attachment(self, update: Update, context: Context, member: Member) -> Next:
        """A photo, PDF or Word file of at most 20 MB, checked by its content; anything else is
        refused politely (the step is asked again; a caption is handed back: Dialog.refused)."""
        msg = update.message
        assert msg is not None
        paper, lang = self.paper, lang_of(member, context)
        data = paper.draft_of(context)
        if len(data["attachments"]) >= paper.max_files:
            raise AskAgain(f"{paper.cat}.files_max", max=paper.max_files)
        entry = file_entry(msg)
        # the declared type is not trusted: the file itself must be a picture, a PDF or a Word file
        want = uploads.IMAGE if entry["kind"] == "photo" else uploads.DOCUMENT
        if problem := await uploads.problem(context, entry["file_id"], entry["file_size"], want):
            raise AskAgain(problem, max=uploads.MAX_MEGABYTES)
        if paper.captions:
            entry["caption"] = msg.caption
        data["attachments"].append(entry)
        count = len(data["attachments"])
        if paper.texts.files_too and data.get("step") in paper.texts.parts:
            step = str(data["step"])
            await reply(
                update, self._t(f"file_in_{step}", lang, count=count), text_buttons(paper, lang, step)
            )
        else:
            await reply(
                update, self._t("file_ok", lang, count=count), next_button(paper, lang, paper.attach_done())
            )
        return None

    async def wrong_file(self, update: Update, context: Context, member: Member) -> Next:
        raise info.InfoError("file_kind")

    async def attach_done(self, update: Update, context: Context, member: Member) -> Next:
        if not self.paper.people.on_resubmit and self.paper.draft_of(context).get("resubmit"):
            return await self._goto(update, context, member, CONFIRM)  # the people stay those who agreed
        return await self._after(update, context, member, self.paper.people.name)

    # ------------------------------------------------------------------ co-authors

    async def person_search(self, update: Update, context: Context, member: Member) -> Next:
        assert member.id is not None
        paper, lang = self.paper, lang_of(member, context)
        data = paper.draft_of(context)
        exclude = [member.id] + [cid for cid, _ in data[paper.people.name]]
        async with context.deps.db.session() as session:
            found, total = await info.search_members(session, typed_text(update), exclude=exclude)
        if not found:
            raise AskAgain(f"{paper.cat}.{paper.people.one}_none")
        rows = [[(f"{m.name}（{m.sector}）" if m.sector else m.name, paper.person_button(m.id))]
                for m in found if m.id is not None]  # fmt: skip
        rows.append([(self._t("btn_next", lang), paper.people_done())])
        text = self._t(f"{paper.people.one}_found", lang)
        if total > len(found):  # the rest are not hidden silently: say so, and how to narrow it
            more = self._t(
                f"{paper.people.one}_more", lang, total=total, shown=len(found), more=total - len(found)
            )
            text = more + "\n" + text
        await reply(update, text, keyboard(rows))
        return None

    async def person_pick(self, update: Update, context: Context, member: Member) -> Next:
        paper, lang = self.paper, lang_of(member, context)
        data = paper.draft_of(context)
        picked = paper.person_button.read(update).number
        async with context.deps.db.session() as session:
            other = await session.get(Member, picked)
        if other is None or not paper.people.may_join(other) or other.id == member.id:
            raise AskAgain("common.stale_button")
        if len(data[paper.people.name]) >= paper.people.max:
            raise AskAgain(f"{paper.cat}.{paper.people.one}_max", max=paper.people.max)
        if picked not in [cid for cid, _ in data[paper.people.name]]:
            data[paper.people.name].append([picked, other.name])
        await reply(update, self._t(f"{paper.people.one}_added", lang, names=paper.names(data, lang)),
                    next_button(paper, lang, paper.people_done()))  # fmt: skip
        return None

    async def people_done(self, update: Update, context: Context, member: Member) -> Next:
        return await self._goto(update, context, member, CONFIRM)

    # ------------------------------------------------------------------ the card's buttons

    def _people_fixed(self, context: Context) -> bool:
        return not self.paper.people.on_resubmit and bool(self.paper.draft_of(context).get("resubmit"))

    async def edit_menu(self, update: Update, context: Context, member: Member) -> Next:
        paper, lang = self.paper, lang_of(member, context)
        fixed = self._people_fixed(context)
        parts = [p for p in paper.parts if not (p == paper.people.name and fixed)]
        rows = [
            [(self._t(f"edit_{p}", lang), paper.edit_part_button(p)) for p in parts[i : i + 3]]
            for i in (0, 3)
        ]
        await reply(update, self._t("edit_which", lang), keyboard(rows))
        return None

    async def edit_part(self, update: Update, context: Context, member: Member) -> Next:
        paper, lang = self.paper, lang_of(member, context)
        part = paper.edit_part_button.read(update).word
        data = paper.draft_of(context)
        data["editing"] = True
        if part in paper.texts.parts:
            # the old text is shown once more so it can be copied and revised; then it is replaced
            if data[part]:
                await reply(update, self._t(f"{paper.texts.stem}_replace", lang))
                await reply(update, data[part])
            data[part] = ""
            return await self._goto(update, context, member, part)
        if part == "files":
            data["attachments"] = []
            await reply(update, self._t("files_cleared", lang))
            return await self._goto(update, context, member, ATTACH)
        if part == paper.people.name:
            if self._people_fixed(context):
                raise AskAgain("common.stale_button")
            data[paper.people.name] = []
            return await self._goto(update, context, member, paper.people.name)
        return await self._goto(update, context, member, TITLE if part == TITLE else CATEGORY)

    async def submit(self, update: Update, context: Context, member: Member) -> Next:
        paper = self.paper
        text = await paper.submit(update, context, member, paper.draft_of(context), lang_of(member, context))
        paper.drop_draft(context)
        await close_pressed(update)
        await reply(update, text)
        return END

    async def cancel(self, update: Update, context: Context, member: Member) -> Next:
        return await leave(update, context, self.paper.key, f"{self.paper.cat}.cancelled", member)
