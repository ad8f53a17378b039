"""社情民意信息 in chat: the `/info` dialog (title, category, body in several messages, files,
co-authors, a summary card), revising a returned item, and `/myinfo`.

The draft lives in `context.user_data["info"]` (JSON values only) and the dialog is a persistent
ConversationHandler, so a restart in the middle loses nothing.
"""

from __future__ import annotations

import logging
import uuid

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.core.dates import today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import info
from handlers import uploads
from handlers.button_data import button_number
from handlers.common import (
    MENU_BUTTONS,
    PRIVATE,
    Context,
    Prompt,
    PromptFor,
    answer_once,
    close_pressed,
    deps,
    dialog,
    grid,
    keyboard,
    lang_of,
    member_only,
    menu_pattern,
    refuse,
    step_label,
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
    """Names the chat draft: it becomes one item, however often it is confirmed (bot.services.info.submit)."""
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


# --------------------------------------------------------------------------- step prompts

STEP_NUMBERS = {TITLE: 1, CATEGORY: 2, BODY: 3, ATTACH: 4, COAUTHORS: 5}


def _prompt_for(step: str) -> PromptFor:
    async def prompt(update: Update, context: Context, lang: str) -> Prompt:
        _draft(context)["step"] = step  # asked again: this is the current step
        return await _prompt(update, context, step, lang)

    return prompt


async def _prompt(update: Update, context: Context, step: str, lang: str) -> Prompt:
    """The question of `step`, with its buttons."""
    draft = _draft(context)
    if step == CONFIRM:
        return t("info.confirm_question", lang), _confirm_buttons(lang)
    label = step_label(STEP_NUMBERS[step], len(STEP_NUMBERS), lang)
    if step == TITLE:
        return label + t("info.ask_title", lang, min=info.TITLE_MIN, max=info.TITLE_MAX), None
    if step == CATEGORY:
        cats = deps(context).rules.info.categories
        return label + t("info.ask_category", lang), grid([(name, f"info:cat:{i}") for i, name in enumerate(cats)], 3)
    if step == BODY:
        text = t("info.ask_body", lang, min=info.BODY_MIN, max=info.BODY_MAX, advised=info.ADVISED_MAX)
        if draft.get("body"):
            text += "\n" + t("info.body_so_far", lang, length=len(draft["body"]))
        return label + text, _body_buttons(lang)
    if step == ATTACH:
        return label + t("info.ask_files", lang, count=len(draft["attachments"])), _next_button(lang, "att")
    return label + t("info.ask_coauthors", lang, names=_names(draft, lang)), _next_button(lang, "co")


def _next_button(lang: str, step: str) -> InlineKeyboardMarkup:
    return keyboard([[(t("info.btn_next", lang), f"info:{step}:done")]])


def _confirm_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            [(t("info.btn_submit", lang), "info:ok")],
            [(t("info.btn_edit", lang), "info:edit"), (t("info.btn_cancel", lang), "info:cancel")],
        ]
    )


async def _ask(update: Update, context: Context, member: Member, step: str) -> str:
    """Show the prompt of `step` and make it the current one."""
    lang = lang_of(member, context)
    _draft(context)["step"] = step
    if step == CONFIRM:
        await _show_card(update, context, member)
    else:
        await _send(update, *await _prompt(update, context, step, lang))
    return step


PROMPTS: dict[object, PromptFor] = {step: _prompt_for(step) for step in (TITLE, CATEGORY, BODY, ATTACH, COAUTHORS, CONFIRM)}


def _body_buttons(lang: str) -> InlineKeyboardMarkup:
    return keyboard(
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
    await _send(update, t("info.confirm_question", lang), _confirm_buttons(lang))


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
    _draft(context)["title"] = info.check_title(update.message.text or "")  # a long one is handed back
    return await _next(update, context, member, CATEGORY)


@member_only
async def got_category(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    cats = deps(context).rules.info.categories
    if update.callback_query is not None:
        index = button_number(update, minimum=0, maximum=len(cats) - 1)
        if index is None:
            raise AskAgain("common.stale_button")
        await answer_once(update)
        choice = cats[index]
    else:
        assert update.message is not None
        choice = (update.message.text or "").strip()
        if choice not in cats:
            raise info.InfoError("category")
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
        raise AskAgain(
            "info.body_over", hand_back=True, length=len(joined), max=info.BODY_MAX, current=len(draft["body"])
        )
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
    draft = _draft(context)
    draft["body"] = info.check_body(draft["body"])
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
        raise AskAgain("info.files_max", max=info.MAX_ATTACHMENTS)
    # a refused file (kind, size) asks the step again; its caption is handed back (Dialog.refused)
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
    # the declared type is not trusted: the file itself must be a picture, a PDF or a Word file
    want = uploads.IMAGE if entry["kind"] == "photo" else uploads.DOCUMENT
    if problem := await uploads.problem(context, entry["file_id"], entry["file_size"], want):
        raise AskAgain(problem, max=uploads.MAX_MEGABYTES)
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
        keyboard([[(t("info.btn_next", lang), "info:att:done")]]),
    )
    return None


@member_only
async def wrong_file(update: Update, context: Context, member: Member) -> str | None:
    raise info.InfoError("file_kind")


@member_only
async def attach_done(update: Update, context: Context, member: Member) -> str | None:
    assert update.callback_query is not None
    await answer_once(update)
    return await _next(update, context, member, COAUTHORS)


@member_only
async def coauthor_search(update: Update, context: Context, member: Member) -> str | None:
    assert update.message is not None and member.id is not None
    lang = lang_of(member, context)
    draft = _draft(context)
    exclude = [member.id] + [cid for cid, _ in draft["coauthors"]]
    async with deps(context).db.session() as session:
        found, total = await info.search_members(session, update.message.text or "", exclude=exclude)
    if not found:
        raise AskAgain("info.coauthor_none")
    rows = [[(f"{m.name}（{m.sector}）" if m.sector else m.name, f"info:co:{m.id}")] for m in found]
    rows.append([(t("info.btn_next", lang), "info:co:done")])
    text = t("info.coauthor_found", lang)
    if total > len(found):  # the rest are not hidden silently: say so, and how to narrow it
        more = t("info.coauthor_more", lang, total=total, shown=len(found), more=total - len(found))
        text = more + "\n" + text
    await _send(update, text, keyboard(rows))
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
    if other is None or not other.active or other.id == member.id:
        raise AskAgain("common.stale_button")
    if len(draft["coauthors"]) >= info.MAX_COAUTHORS:
        raise AskAgain("info.coauthor_max", max=info.MAX_COAUTHORS)
    if picked not in [cid for cid, _ in draft["coauthors"]]:
        draft["coauthors"].append([picked, other.name])
    await _send(
        update,
        t("info.coauthor_added", lang, names=_names(draft, lang)),
        keyboard([[(t("info.btn_next", lang), "info:co:done")]]),
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
    await _send(update, t("info.edit_which", lang), keyboard(rows))
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
        raise AskAgain("common.stale_button")
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
    log.info("member %s submitted info %s", member.id, number)
    key = "info.resubmitted" if draft.get("resubmit") else "info.submitted"
    _drop_draft(context)
    await close_pressed(update)
    await _send(update, t(key, lang, number=number))
    return END


@member_only
async def cancel(update: Update, context: Context, member: Member) -> int:
    lang = lang_of(member, context)
    _drop_draft(context)
    await close_pressed(update)
    await _send(update, t("info.cancelled", lang))
    return END


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
            markup = keyboard([[(t("info.btn_revise", lang), f"info:rev:{view.item.id}")]])
        today = today_in(d.clock.now(), d.settings.tz)
        await _send(update, info.render_card(view, lang, d.settings.tz, today=today), markup)


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
        prompts=PROMPTS,
        buttons="info:",
        data_key=KEY,
        fields={"title": TITLE, "body": BODY, "category": CATEGORY},
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
        fallbacks=cancel_handlers,
    )


def register(app: Application) -> None:
    app.add_handler(build_conversation(persistent=app.persistence is not None))
    app.add_handler(CommandHandler("myinfo", my_info, filters=PRIVATE))
