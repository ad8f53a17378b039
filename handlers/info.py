"""社情民意信息 in chat: the `/info` dialog (title, category, body in several messages, files,
co-authors, a summary card), revising a returned item, and `/myinfo`.

The draft lives in `context.user_data["info"]` (JSON values only) and the dialog is a persistent
ConversationHandler, so a restart in the middle loses nothing.
"""

from __future__ import annotations

import logging
import uuid

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import info
from bot.i18n import t
from handlers import uploads
from handlers.button_data import button_number
from handlers.common import (
    MENU_BUTTONS,
    PRIVATE,
    Context,
    answer_once,
    deps,
    dialog,
    lang_of,
    member_only,
    menu_pattern,
    refuse,
)
from models import Member

log = logging.getLogger(__name__)

KEY = "info"
TITLE, CATEGORY, BODY, ATTACH, COAUTHORS, CONFIRM = (
    "title",
    "category",
    "body",
    "attach",
    "coauthors",
    "confirm",
)
END = ConversationHandler.END


def _buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _draft(context: Context) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(KEY, {})


def _new_draft(context: Context) -> dict:
    assert context.user_data is not None
    context.user_data[KEY] = {
        "title": None,
        "category": None,
        "body": "",
        "attachments": [],
        "coauthors": [],
        "resubmit": None,
        "editing": False,
        "step": TITLE,
        "token": uuid.uuid4().hex,
    }
    return context.user_data[KEY]


def _draft_key(update: Update, draft: dict) -> str:
    """Names the chat draft: it becomes one item, however often it is confirmed (bot.info.submit)."""
    assert update.effective_user is not None
    return f"{update.effective_user.id}:{draft.get('token')}"


def _drop_draft(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


async def send(update: Update, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """A message in the chat of the update; a button press is answered first."""
    await answer_once(update)
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text, reply_markup=reply_markup)


_send = send


async def _keep(update: Update, note: str, text: str) -> None:
    """Refuse an input but hand it back verbatim, so nothing the member typed is lost."""
    await _send(update, note)
    await _send(update, text)


# --------------------------------------------------------------------------- step prompts


async def _ask(update: Update, context: Context, member: Member, step: str) -> str:
    """Show the prompt of `step` and make it the current one."""
    lang = lang_of(member, context)
    draft = _draft(context)
    draft["step"] = step
    if step == TITLE:
        await _send(update, t("info.ask_title", lang, min=info.TITLE_MIN, max=info.TITLE_MAX))
    elif step == CATEGORY:
        cats = deps(context).rules.info.categories
        rows = [
            [(name, f"info:cat:{i}") for i, name in list(enumerate(cats))[start : start + 3]]
            for start in range(0, len(cats), 3)
        ]
        await _send(update, t("info.ask_category", lang), _buttons(rows))
    elif step == BODY:
        await _send(
            update,
            t("info.ask_body", lang, min=info.BODY_MIN, max=info.BODY_MAX, advised=info.ADVISED_MAX),
            _body_buttons(lang),
        )
    elif step == ATTACH:
        await _send(
            update,
            t("info.ask_files", lang, count=len(draft["attachments"])),
            _buttons([[(t("info.btn_next", lang), "info:att:done")]]),
        )
    elif step == COAUTHORS:
        await _send(
            update,
            t("info.ask_coauthors", lang, names=_names(draft, lang)),
            _buttons([[(t("info.btn_next", lang), "info:co:done")]]),
        )
    else:
        await _show_card(update, context, member)
    return step


def _body_buttons(lang: str) -> InlineKeyboardMarkup:
    return _buttons(
        [[(t("info.btn_done", lang), "info:body:done"), (t("info.btn_clear", lang), "info:body:clear")]]
    )


def _names(draft: dict, lang: str) -> str:
    names = [name for _id, name in draft["coauthors"]]
    if not names:
        return t("info.none", lang)
    return "、".join(names) if lang == "zh" else ", ".join(names)


async def _next(update: Update, context: Context, member: Member, step: str) -> str:
    """After a step: the following one, or straight back to the card when editing from it."""
    if _draft(context).get("editing"):
        return await _ask(update, context, member, CONFIRM)
    return await _ask(update, context, member, step)


async def _show_card(update: Update, context: Context, member: Member) -> None:
    lang = lang_of(member, context)
    draft = _draft(context)
    draft["step"] = CONFIRM
    body = draft["body"]
    text = t(
        "info.summary",
        lang,
        title=draft["title"],
        category=draft["category"],
        length=len(body),
        files=len(draft["attachments"]),
        coauthors=_names(draft, lang),
    )
    notes = [t(key, lang, advised=info.ADVISED_MAX) for key in info.advice(draft["title"], body)]
    await _send(update, text + "\n\n" + body)
    if notes:
        await _send(update, t("info.advice_header", lang) + "\n" + "\n".join("· " + n for n in notes))
    await _send(
        update,
        t("info.confirm_question", lang),
        _buttons(
            [
                [(t("info.btn_submit", lang), "info:ok")],
                [(t("info.btn_edit", lang), "info:edit"), (t("info.btn_cancel", lang), "info:cancel")],
            ]
        ),
    )


# --------------------------------------------------------------------------- entry


@member_only
async def start(update: Update, context: Context, member: Member) -> str | None:
    """/info or the menu button: a new draft, or back to the step of the one in progress."""
    lang = lang_of(member, context)
    draft = _draft(context)
    if draft.get("step") and not draft.get("resubmit"):
        async with deps(context).db.session() as session:  # a crash came before its end was saved
            if await info.number_of_draft(session, _draft_key(update, draft)) is not None:
                draft = {}
    if draft.get("step"):
        await _send(update, t("info.resume", lang))
        return await _ask(update, context, member, draft["step"])
    _new_draft(context)
    await _send(update, t("info.intro", lang))
    return await _ask(update, context, member, TITLE)


@member_only
async def revise(update: Update, context: Context, member: Member) -> str | None:
    """The button under a returned item in /myinfo: load it into a draft and show the card."""
    assert update.callback_query is not None
    lang = lang_of(member, context)
    item_id = button_number(update)
    if item_id is None:
        await refuse(update, t("common.stale_button", lang))
        return None
    async with deps(context).db.session() as session:
        view = await info.item_view(session, item_id)
    if view is None or member.id not in [m.id for m in view.authors]:
        await refuse(update, t("info.err.not_yours", lang))
        return None
    if view.item.state != "returned":
        await refuse(update, t("info.err.illegal_resubmit", lang, number=view.item.number))
        return None
    draft = _draft(context)
    if draft.get("step") and draft.get("resubmit") != item_id:
        await refuse(update, t("info.draft_open", lang))
        return None
    item = view.item
    draft = _new_draft(context)
    draft.update(
        title=item.title,
        category=item.category,
        body=item.body,
        resubmit=item_id,
        editing=True,
        attachments=[
            {
                "kind": a.kind,
                "file_id": a.file_id,
                "file_unique_id": a.file_unique_id,
                "file_name": a.file_name,
                "mime_type": a.mime_type,
                "file_size": a.file_size,
                "caption": a.caption,
            }
            for a in view.attachments
        ],
        coauthors=[[m.id, m.name] for m in view.authors if m.id != item.author_id],
    )
    reason = next((e.text for e in reversed(view.events) if e.kind == "returned"), "") or ""
    await _send(update, t("info.revise_intro", lang, number=item.number, reason=reason))
    return await _ask(update, context, member, CONFIRM)


# --------------------------------------------------------------------------- steps


@member_only
async def got_title(update: Update, context: Context, member: Member) -> str | None:
    assert update.message is not None
    lang = lang_of(member, context)
    text = update.message.text or ""
    try:
        title = info.check_title(text)
    except info.InfoError as exc:
        if exc.code == "title_long":
            await _keep(update, exc.text(lang) + "\n" + t("info.kept_below", lang), text)
        else:
            await _send(update, exc.text(lang))
        return None
    _draft(context)["title"] = title
    return await _next(update, context, member, CATEGORY)


@member_only
async def got_category(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    cats = deps(context).rules.info.categories
    if update.callback_query is not None:
        index = button_number(update, minimum=0, maximum=len(cats) - 1)
        if index is None:
            await refuse(update, t("common.stale_button", lang))
            return None
        await answer_once(update)
        choice = cats[index]
    else:
        assert update.message is not None
        choice = (update.message.text or "").strip()
        if choice not in cats:
            await _send(update, t("info.use_buttons", lang))
            return None
    _draft(context)["category"] = choice
    if _draft(context).get("editing"):
        return await _ask(update, context, member, CONFIRM)
    await _send(update, t("info.category_set", lang, category=choice))
    return await _ask(update, context, member, BODY)


@member_only
async def body_part(update: Update, context: Context, member: Member) -> str | None:
    """A piece of the body: appended, with the running length shown."""
    assert update.message is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    part = (update.message.text or "").strip()
    if not part:
        return None
    joined = f"{draft['body']}\n{part}" if draft["body"] else part
    if len(joined) > info.BODY_MAX:
        await _keep(
            update,
            t("info.body_over", lang, length=len(joined), max=info.BODY_MAX, current=len(draft["body"])),
            part,
        )
        return None
    draft["body"] = joined
    await _send(
        update,
        t("info.body_progress", lang, length=len(joined), min=info.BODY_MIN, max=info.BODY_MAX),
        _body_buttons(lang),
    )
    return None


@member_only
async def body_done(update: Update, context: Context, member: Member) -> str | None:
    assert update.callback_query is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    try:
        draft["body"] = info.check_body(draft["body"])
    except info.InfoError as exc:
        await refuse(update, exc.text(lang))
        return None
    await answer_once(update)
    return await _next(update, context, member, ATTACH)


@member_only
async def body_clear(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    draft = _draft(context)
    old = draft["body"]
    draft["body"] = ""
    await _send(update, t("info.body_cleared", lang))
    if old:
        await _send(update, old)  # the cleared text, so it can be copied back in parts
    return None


@member_only
async def attachment(update: Update, context: Context, member: Member) -> str | None:
    """A photo, PDF or Word file, checked by its content; anything else, or anything over 20 MB,
    is refused politely."""
    assert update.message is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    msg: Message = update.message
    if len(draft["attachments"]) >= info.MAX_ATTACHMENTS:
        await _send(update, t("info.files_max", lang, max=info.MAX_ATTACHMENTS))
        return None
    try:
        if msg.photo:
            photo = msg.photo[-1]
            info.check_size(photo.file_size)
            entry = {
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
    except info.InfoError as exc:
        refusal = exc.text(lang)
    else:
        want = uploads.IMAGE if entry["kind"] == "photo" else uploads.DOCUMENT
        refusal = await uploads.refusal(context, entry["file_id"], entry["file_size"], want, lang)
    if refusal is not None:
        await _send(update, refusal)
        if msg.caption:
            await _send(update, msg.caption)  # a caption is text the member typed: hand it back
        return None
    entry["caption"] = msg.caption
    draft["attachments"].append(entry)
    if draft.get("step") == BODY:
        await _send(
            update, t("info.file_in_body", lang, count=len(draft["attachments"])), _body_buttons(lang)
        )
        return None
    await _send(
        update,
        t("info.file_ok", lang, count=len(draft["attachments"])),
        _buttons([[(t("info.btn_next", lang), "info:att:done")]]),
    )
    return None


@member_only
async def wrong_file(update: Update, context: Context, member: Member) -> str | None:
    await _send(update, t("info.err.file_kind", lang_of(member, context)))
    return None


@member_only
async def attach_done(update: Update, context: Context, member: Member) -> str | None:
    assert update.callback_query is not None
    await answer_once(update)
    return await _next(update, context, member, COAUTHORS)


@member_only
async def attach_text(update: Update, context: Context, member: Member) -> str | None:
    await _send(
        update,
        t("info.files_text", lang_of(member, context)),
        _buttons([[(t("info.btn_next", lang_of(member, context)), "info:att:done")]]),
    )
    return None


@member_only
async def coauthor_search(update: Update, context: Context, member: Member) -> str | None:
    assert update.message is not None and member.id is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    exclude = [member.id] + [cid for cid, _ in draft["coauthors"]]
    async with deps(context).db.session() as session:
        found = await info.search_members(session, update.message.text or "", exclude=exclude)
    rows = [[(f"{m.name}（{m.sector}）" if m.sector else m.name, f"info:co:{m.id}")] for m in found]
    rows.append([(t("info.btn_next", lang), "info:co:done")])
    key = "info.coauthor_found" if found else "info.coauthor_none"
    await _send(update, t(key, lang), _buttons(rows))
    return None


@member_only
async def coauthor_pick(update: Update, context: Context, member: Member) -> str | None:
    assert update.callback_query is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    picked = button_number(update)
    other = None
    if picked is not None:
        async with deps(context).db.session() as session:
            other = await session.get(Member, picked)
    if picked is None or other is None or not other.active or other.id == member.id:
        await refuse(update, t("common.stale_button", lang))
        return None
    if len(draft["coauthors"]) >= info.MAX_COAUTHORS:
        await refuse(update, t("info.coauthor_max", lang, max=info.MAX_COAUTHORS))
        return None
    if picked not in [cid for cid, _ in draft["coauthors"]]:
        draft["coauthors"].append([picked, other.name])
    await _send(
        update,
        t("info.coauthor_added", lang, names=_names(draft, lang)),
        _buttons([[(t("info.btn_next", lang), "info:co:done")]]),
    )
    return None


@member_only
async def coauthors_done(update: Update, context: Context, member: Member) -> str | None:
    assert update.callback_query is not None
    await answer_once(update)
    return await _ask(update, context, member, CONFIRM)


@member_only
async def edit_menu(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    rows = [
        [(t(f"info.edit_{part}", lang), f"info:edit:{part}") for part in ("title", "category", "body")],
        [(t(f"info.edit_{part}", lang), f"info:edit:{part}") for part in ("files", "coauthors")],
    ]
    await _send(update, t("info.edit_which", lang), _buttons(rows))
    return None


@member_only
async def edit_part(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    part = (update.callback_query.data or "").rsplit(":", 1)[1] if update.callback_query else ""
    draft = _draft(context)
    draft["editing"] = True
    if part == "body":
        # The old body is shown once more so it can be copied and revised; then it is replaced.
        if draft["body"]:
            await _send(update, t("info.body_replace", lang))
            await _send(update, draft["body"])
        draft["body"] = ""
        return await _ask(update, context, member, BODY)
    if part == "files":
        draft["attachments"] = []
        await _send(update, t("info.files_cleared", lang))
        return await _ask(update, context, member, ATTACH)
    if part == "coauthors":
        draft["coauthors"] = []
        return await _ask(update, context, member, COAUTHORS)
    step = {"title": TITLE, "category": CATEGORY}.get(part)
    if step is None:
        await refuse(update, t("common.stale_button", lang))
        return None
    return await _ask(update, context, member, step)


@member_only
async def submit(update: Update, context: Context, member: Member) -> str | None:
    assert member.id is not None and update.effective_user is not None
    lang = lang_of(member, context)
    d = deps(context)
    draft = _draft(context)
    files = [info.AttachmentIn.from_dict(a) for a in draft["attachments"]]
    coauthors = [cid for cid, _ in draft["coauthors"]]
    try:
        async with d.db.session() as session:
            if draft.get("resubmit"):
                item = await info.resubmit(
                    session,
                    item_id=int(draft["resubmit"]),
                    actor=member,
                    title=draft["title"],
                    category=draft["category"],
                    body=draft["body"],
                    now=d.clock.now(),
                    rules=d.rules,
                    attachments=files,
                    coauthor_ids=coauthors,
                    default_lang=d.settings.locale,
                    staff_chat_id=d.settings.secretariat_chat_id,
                )
            else:
                item = await info.submit(
                    session,
                    author_id=member.id,
                    title=draft["title"],
                    category=draft["category"],
                    body=draft["body"],
                    now=d.clock.now(),
                    tz=d.settings.tz,
                    rules=d.rules,
                    attachments=files,
                    coauthor_ids=coauthors,
                    default_lang=d.settings.locale,
                    staff_chat_id=d.settings.secretariat_chat_id,
                    draft_key=_draft_key(update, draft),
                )
            number = item.number
    except info.AlreadySubmitted as exc:
        number = exc.number
    except info.InfoError as exc:
        await refuse(update, exc.text(lang))
        if exc.code in ("illegal_resubmit", "not_yours", "no_item"):
            _drop_draft(context)
            return END
        return None
    log.info("member %s submitted info %s", member.id, number)
    key = "info.resubmitted" if draft.get("resubmit") else "info.submitted"
    _drop_draft(context)
    await _send(update, t(key, lang, number=number))
    return END


@member_only
async def cancel(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    _drop_draft(context)
    await _send(update, t("info.cancelled", lang))
    return END


@member_only
async def use_buttons(update: Update, context: Context, member: Member) -> str | None:
    """Something the current step cannot take: say what it needs, keep the step."""
    lang = lang_of(member, context)
    step = _draft(context).get("step") or TITLE
    if update.callback_query is not None:
        await refuse(update, t("common.stale_button", lang))
        return None
    if step == TITLE:
        await _send(update, t("info.ask_title", lang, min=info.TITLE_MIN, max=info.TITLE_MAX))
    elif step == BODY:
        await _send(update, t("info.err.file_kind", lang))
    else:
        await _send(update, t("info.use_buttons", lang))
    return None


# --------------------------------------------------------------------------- /myinfo


@member_only
async def my_info(update: Update, context: Context, member: Member) -> None:
    assert member.id is not None
    lang = lang_of(member, context)
    d = deps(context)
    async with d.db.session() as session:
        views = await info.member_items(session, member.id, limit=10)
    if not views:
        await _send(update, t("info.my_none", lang))
        return
    await _send(update, t("info.my_header", lang, count=len(views)))
    for view in views:
        markup = None
        if view.item.state == "returned":
            markup = _buttons([[(t("info.btn_revise", lang), f"info:rev:{view.item.id}")]])
        await _send(update, info.render_card(view, lang, d.settings.tz), markup)


# --------------------------------------------------------------------------- wiring


def build_conversation(persistent: bool = True) -> ConversationHandler:
    text = PRIVATE & filters.TEXT & ~filters.COMMAND & ~MENU_BUTTONS
    files = PRIVATE & (filters.PHOTO | filters.Document.ALL)
    other_media = PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    cancel_handlers = [
        CommandHandler("cancel", cancel, filters=PRIVATE),
        CallbackQueryHandler(cancel, pattern=r"^info:cancel$"),
    ]
    return _conversation(persistent, text, files, other_media, cancel_handlers)


def _conversation(
    persistent: bool,
    text: filters.BaseFilter,
    files: filters.BaseFilter,
    other_media: filters.BaseFilter,
    cancel_handlers: list,
) -> ConversationHandler:
    # No timeout: a half-written item waits as a draft until the member finishes or cancels it.
    return dialog(
        "info",
        persistent=persistent,
        entry_points=[
            CommandHandler("info", start, filters=PRIVATE),
            MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.info")), start),
            CallbackQueryHandler(revise, pattern=r"^info:rev:\d+$"),
        ],
        states={
            TITLE: [MessageHandler(text, got_title)],
            CATEGORY: [
                CallbackQueryHandler(got_category, pattern=r"^info:cat:\d+$"),
                MessageHandler(text, got_category),
            ],
            BODY: [
                MessageHandler(text, body_part),
                MessageHandler(files, attachment),
                CallbackQueryHandler(body_done, pattern=r"^info:body:done$"),
                CallbackQueryHandler(body_clear, pattern=r"^info:body:clear$"),
            ],
            ATTACH: [
                MessageHandler(files, attachment),
                MessageHandler(text, attach_text),
                CallbackQueryHandler(attach_done, pattern=r"^info:att:done$"),
                MessageHandler(other_media, wrong_file),
            ],
            COAUTHORS: [
                MessageHandler(text, coauthor_search),
                CallbackQueryHandler(coauthor_pick, pattern=r"^info:co:\d+$"),
                CallbackQueryHandler(coauthors_done, pattern=r"^info:co:done$"),
            ],
            CONFIRM: [
                CallbackQueryHandler(submit, pattern=r"^info:ok$"),
                CallbackQueryHandler(edit_menu, pattern=r"^info:edit$"),
                CallbackQueryHandler(edit_part, pattern=r"^info:edit:\w+$"),
            ],
        },
        fallbacks=[
            *cancel_handlers,
            CallbackQueryHandler(use_buttons, pattern=r"^info:"),
            MessageHandler(
                PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & ~MENU_BUTTONS, use_buttons
            ),
        ],
    )


def register(app: Application) -> None:
    app.add_handler(build_conversation(persistent=app.persistence is not None))
    app.add_handler(CommandHandler("myinfo", my_info, filters=PRIVATE))
