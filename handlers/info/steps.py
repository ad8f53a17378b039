"""The /info dialog's steps: starting (or going back to the draft in progress), revising a returned
item, title, category, body in several messages, files, co-authors, the summary card."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import info
from bot.telegram.ui import Context, close_pressed, keyboard, refuse, reply
from handlers import uploads
from handlers.common import lang_of, member_only, typed_text
from handlers.dialog import END, Next
from handlers.info.states import (
    ATTACH,
    ATTACH_DONE,
    BODY,
    CATEGORY,
    CATEGORY_BUTTON,
    COAUTHOR,
    COAUTHORS,
    COAUTHORS_DONE,
    CONFIRM,
    EDIT_PART,
    REVISE,
    TITLE,
    after,
    body_buttons,
    draft_key,
    draft_of,
    drop_draft,
    goto,
    names,
    new_draft,
    next_button,
)
from models import Member

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ entry


@member_only
async def start(update: Update, context: Context, member: Member) -> Next:
    """/info or the menu button: a new draft, or back to the step of the one in progress."""
    lang = lang_of(member, context)
    draft = draft_of(context)
    if draft.get("step") and not draft.get("resubmit"):
        async with context.deps.db.session() as session:  # a crash came before its end was saved
            if await info.number_of_draft(session, draft_key(update, draft)) is not None:
                draft = {}
    if draft.get("step"):
        await reply(update, t("info.resume", lang))
        return await goto(update, context, member, draft["step"])
    new_draft(context)
    await reply(update, t("info.intro", lang))
    return await goto(update, context, member, TITLE)


def _attachment_of(a: Any) -> dict[str, Any]:
    return {
        "kind": a.kind,
        "file_id": a.file_id,
        "file_unique_id": a.file_unique_id,
        "file_name": a.file_name,
        "mime_type": a.mime_type,
        "file_size": a.file_size,
        "caption": a.caption,
    }


@member_only
async def revise(update: Update, context: Context, member: Member) -> Next:
    """The button under a returned item in /myinfo: load it into a draft and show the card."""
    lang = lang_of(member, context)
    item_id = REVISE.read(update).number
    async with context.deps.db.session() as session:
        view = await info.item_view(session, item_id)
    if view is None or member.id not in [m.id for m in view.authors]:
        await refuse(update, t("info.err.not_yours", lang))
        return None
    if view.item.state != "returned":
        await refuse(update, t("info.err.illegal_resubmit", lang, number=view.item.number))
        return None
    draft = draft_of(context)
    if draft.get("step") and draft.get("resubmit") != item_id:
        await refuse(update, t("info.draft_open", lang))
        return None
    item = view.item
    new_draft(context).update(
        title=item.title,
        category=item.category,
        body=item.body,
        resubmit=item_id,
        editing=True,
        attachments=[_attachment_of(a) for a in view.attachments],
        coauthors=[[m.id, m.name] for m in view.authors if m.id != item.author_id],
    )
    reason = next((e.text for e in reversed(view.events) if e.kind == "returned"), "") or ""
    await reply(update, t("info.revise_intro", lang, number=item.number, reason=reason))
    return await goto(update, context, member, CONFIRM)


# ------------------------------------------------------------------ steps


@member_only
async def got_title(update: Update, context: Context, member: Member) -> Next:
    draft_of(context)["title"] = info.check_title(typed_text(update))  # a long one is handed back
    return await after(update, context, member, CATEGORY)


@member_only
async def got_category(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    cats = context.deps.rules.info.categories
    if update.callback_query is not None:
        index = CATEGORY_BUTTON.read(update).number
        if index >= len(cats):
            raise AskAgain("common.stale_button")
        choice = cats[index]
    else:
        choice = typed_text(update)
        if choice not in cats:
            raise info.InfoError("category")
    draft = draft_of(context)
    draft["category"] = choice
    if draft.get("editing"):
        return await goto(update, context, member, CONFIRM)
    await reply(update, t("info.category_set", lang, category=choice))
    return await goto(update, context, member, BODY)


@member_only
async def body_part(update: Update, context: Context, member: Member) -> Next:
    """A piece of the body: appended, with the running length shown."""
    lang = lang_of(member, context)
    draft = draft_of(context)
    part = typed_text(update)
    if not part:
        return None
    joined = f"{draft['body']}\n{part}" if draft["body"] else part
    if len(joined) > info.BODY_MAX:
        raise AskAgain(
            "info.body_over",
            hand_back=True,
            length=len(joined),
            max=info.BODY_MAX,
            current=len(draft["body"]),
        )
    draft["body"] = joined
    progress = t("info.body_progress", lang, length=len(joined), min=info.BODY_MIN, max=info.BODY_MAX)
    await reply(update, progress, body_buttons(lang))
    return None


@member_only
async def body_done(update: Update, context: Context, member: Member) -> Next:
    draft = draft_of(context)
    draft["body"] = info.check_body(draft["body"])
    return await after(update, context, member, ATTACH)


@member_only
async def body_clear(update: Update, context: Context, member: Member) -> Next:
    draft = draft_of(context)
    old = draft["body"]
    draft["body"] = ""
    await reply(update, t("info.body_cleared", lang_of(member, context)))
    if old:
        await reply(update, old)  # the cleared text, so it can be copied back in parts
    return None


@member_only
async def attachment(update: Update, context: Context, member: Member) -> Next:
    """A photo, PDF or Word file, checked by its content; anything else, or anything over 20 MB,
    is refused politely."""
    msg = update.message
    assert msg is not None
    lang = lang_of(member, context)
    draft = draft_of(context)
    if len(draft["attachments"]) >= info.MAX_ATTACHMENTS:
        raise AskAgain("info.files_max", max=info.MAX_ATTACHMENTS)
    # a refused file (kind, size) asks the step again; its caption is handed back (Dialog.refused)
    if msg.photo:
        photo = msg.photo[-1]
        info.check_size(photo.file_size)
        entry: dict[str, Any] = {
            "kind": "photo",
            "file_id": photo.file_id,
            "file_unique_id": photo.file_unique_id,
            "file_name": None,
            "mime_type": "image/jpeg",
            "file_size": photo.file_size,
        }
    elif msg.document:
        doc = msg.document
        info.check_document(doc.file_name, doc.mime_type, doc.file_size)
        entry = {
            "kind": "document",
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "file_name": doc.file_name,
            "mime_type": doc.mime_type,
            "file_size": doc.file_size,
        }
    else:
        raise info.InfoError("file_kind")
    # the declared type is not trusted: the file itself must be a picture, a PDF or a Word file
    want = uploads.IMAGE if entry["kind"] == "photo" else uploads.DOCUMENT
    if problem := await uploads.problem(context, entry["file_id"], entry["file_size"], want):
        raise AskAgain(problem, max=uploads.MAX_MEGABYTES)
    entry["caption"] = msg.caption
    draft["attachments"].append(entry)
    count = len(draft["attachments"])
    if draft.get("step") == BODY:
        await reply(update, t("info.file_in_body", lang, count=count), body_buttons(lang))
    else:
        await reply(update, t("info.file_ok", lang, count=count), next_button(lang, ATTACH_DONE()))
    return None


@member_only
async def wrong_file(update: Update, context: Context, member: Member) -> Next:
    raise info.InfoError("file_kind")


@member_only
async def attach_done(update: Update, context: Context, member: Member) -> Next:
    return await after(update, context, member, COAUTHORS)


@member_only
async def coauthor_search(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None
    lang = lang_of(member, context)
    draft = draft_of(context)
    exclude = [member.id] + [cid for cid, _ in draft["coauthors"]]
    async with context.deps.db.session() as session:
        found, total = await info.search_members(session, typed_text(update), exclude=exclude)
    if not found:
        raise AskAgain("info.coauthor_none")
    rows = [
        [(f"{m.name}（{m.sector}）" if m.sector else m.name, COAUTHOR(m.id))]
        for m in found
        if m.id is not None
    ]
    rows.append([(t("info.btn_next", lang), COAUTHORS_DONE())])
    text = t("info.coauthor_found", lang)
    if total > len(found):  # the rest are not hidden silently: say so, and how to narrow it
        more = t("info.coauthor_more", lang, total=total, shown=len(found), more=total - len(found))
        text = more + "\n" + text
    await reply(update, text, keyboard(rows))
    return None


@member_only
async def coauthor_pick(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    draft = draft_of(context)
    picked = COAUTHOR.read(update).number
    async with context.deps.db.session() as session:
        other = await session.get(Member, picked)
    if other is None or not other.active or other.id == member.id:
        raise AskAgain("common.stale_button")
    if len(draft["coauthors"]) >= info.MAX_COAUTHORS:
        raise AskAgain("info.coauthor_max", max=info.MAX_COAUTHORS)
    if picked not in [cid for cid, _ in draft["coauthors"]]:
        draft["coauthors"].append([picked, other.name])
    await reply(
        update, t("info.coauthor_added", lang, names=names(draft, lang)), next_button(lang, COAUTHORS_DONE())
    )
    return None


@member_only
async def coauthors_done(update: Update, context: Context, member: Member) -> Next:
    return await goto(update, context, member, CONFIRM)


@member_only
async def edit_menu(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    rows = [[(t(f"info.edit_{part}", lang), EDIT_PART(part)) for part in parts]
            for parts in (("title", "category", "body"), ("files", "coauthors"))]  # fmt: skip
    await reply(update, t("info.edit_which", lang), keyboard(rows))
    return None


@member_only
async def edit_part(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    part = EDIT_PART.read(update).word
    draft = draft_of(context)
    draft["editing"] = True
    if part == "body":
        # The old body is shown once more so it can be copied and revised; then it is replaced.
        if draft["body"]:
            await reply(update, t("info.body_replace", lang))
            await reply(update, draft["body"])
        draft["body"] = ""
        return await goto(update, context, member, BODY)
    if part == "files":
        draft["attachments"] = []
        await reply(update, t("info.files_cleared", lang))
        return await goto(update, context, member, ATTACH)
    if part == "coauthors":
        draft["coauthors"] = []
        return await goto(update, context, member, COAUTHORS)
    return await goto(update, context, member, TITLE if part == "title" else CATEGORY)


@member_only
async def submit(update: Update, context: Context, member: Member) -> Next:
    assert member.id is not None
    lang = lang_of(member, context)
    d = context.deps
    draft = draft_of(context)
    files = [info.AttachmentIn.from_dict(a) for a in draft["attachments"]]
    coauthors = [cid for cid, _ in draft["coauthors"]]
    shared: dict[str, Any] = {
        "title": draft["title"],
        "category": draft["category"],
        "body": draft["body"],
        "now": d.clock.now(),
        "rules": d.rules,
        "attachments": files,
        "coauthor_ids": coauthors,
        "default_lang": d.settings.locale,
        "staff_chat_id": d.settings.secretariat_chat_id,
    }
    try:
        async with d.db.session() as session:
            if draft.get("resubmit"):
                item = await info.resubmit(session, item_id=int(draft["resubmit"]), actor=member, **shared)
            else:
                item = await info.submit(session, author_id=member.id, tz=d.settings.tz,
                                         draft_key=draft_key(update, draft), **shared)  # fmt: skip
            number = item.number
    except info.AlreadySubmitted as exc:
        number = exc.number
    log.info("member %s submitted info %s", member.id, number)
    key = "info.resubmitted" if draft.get("resubmit") else "info.submitted"
    drop_draft(context)
    await close_pressed(update)
    await reply(update, t(key, lang, number=number))
    return END


@member_only
async def cancel(update: Update, context: Context, member: Member) -> Next:
    drop_draft(context)
    await close_pressed(update)
    await reply(update, t("info.cancelled", lang_of(member, context)))
    return END
