"""The secretariat's `/inbox` of 社情民意信息: the queue by state (oldest first), a card per item
with a button for each legal move, and the short follow-up each move needs (a reason, a level,
a date, a department, an edited title or body).

Every press is checked twice: the role on every call (staff_only) and the move against the
item's state in the database (bot.info.apply_move), so stale and forged buttons change nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
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
from bot.rules import INFO_LEVELS
from handlers.button_data import button_number
from handlers.common import (
    MENU_BUTTONS,
    PRIVATE,
    Context,
    answer_once,
    deps,
    dialog,
    lang_of,
    refuse,
    staff_only,
)
from handlers.info import send
from models import Member

log = logging.getLogger(__name__)

KEY = "inbox"
PAGE = 5
ACCEPT, EDIT_TITLE, EDIT_BODY, TEXT, LEVEL, DATE, TARGET = (
    "accept",
    "edit_title",
    "edit_body",
    "text",
    "level",
    "date",
    "target",
)
END = ConversationHandler.END
MOVE_PATTERN = r"^ib:m:(" + "|".join(info.STAFF_MOVES) + r"):\d+$"


def _buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows if row]
    )


def _pending(context: Context) -> dict:
    assert context.user_data is not None
    return context.user_data.setdefault(KEY, {})


def _clear(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


def move_buttons(view: info.ItemView, lang: str) -> InlineKeyboardMarkup | None:
    moves = info.legal_moves(view.item.state)
    if "report" in moves and set(INFO_LEVELS) <= view.reported_levels:
        moves.remove("report")
    labels = [(t(f"inbox.btn_{move}", lang), f"ib:m:{move}:{view.item.id}") for move in moves]
    if not labels:
        return None
    return _buttons([labels[i : i + 3] for i in range(0, len(labels), 3)])


async def _card(update: Update, context: Context, view: info.ItemView, lang: str) -> None:
    text = info.render_card(view, lang, deps(context).settings.tz, staff=True, full_body=True)
    await send(update, text, move_buttons(view, lang))


# --------------------------------------------------------------------------- the queue


@staff_only
async def inbox(update: Update, context: Context, member: Member) -> int:
    """/inbox [state] or a filter button: counts per state and the oldest items of one state."""
    _clear(context)
    lang = lang_of(member, context)
    state, offset = "submitted", 0
    if update.callback_query is not None:
        parts = (update.callback_query.data or "").split(":")  # ib:q:<state>:<offset>
        first = button_number(update, minimum=0)
        if len(parts) != 4 or parts[2] not in info.STATES or first is None:
            await refuse(update, t("common.stale_button", lang))
            return END
        state, offset = parts[2], first
    elif context.args and context.args[0] in info.STATES:
        state = context.args[0]
    async with deps(context).db.session() as session:
        counts = await info.state_counts(session)
        views, total = await info.queue(session, state, offset=offset, limit=PAGE)
    filters_row = [(f"{t(f'info.state.{s}', lang)} {counts[s]}", f"ib:q:{s}:0") for s in info.STATES]
    head = t(
        "inbox.header",
        lang,
        state=t(f"info.state.{state}", lang),
        total=total,
        first=min(offset + 1, total),
        last=offset + len(views),
    )
    await send(update, head, _buttons([filters_row[:2], filters_row[2:]]))
    if not views:
        await send(update, t("inbox.empty", lang))
        return END
    for view in views:
        await _card(update, context, view, lang)
    if offset + PAGE < total:
        await send(
            update,
            t("inbox.more", lang, left=total - offset - PAGE),
            reply_markup=_buttons([[(t("inbox.btn_more", lang), f"ib:q:{state}:{offset + PAGE}")]]),
        )
    return END


# --------------------------------------------------------------------------- starting a move


@staff_only
async def move_start(update: Update, context: Context, member: Member) -> str | int | None:
    """A move button under a card: checked against the item's state now, then the follow-up."""
    assert update.callback_query is not None
    lang = lang_of(member, context)
    move = (update.callback_query.data or "").split(":")[2]
    item_id = button_number(update)
    if item_id is None:
        await refuse(update, t("common.stale_button", lang))
        return END
    async with deps(context).db.session() as session:
        view = await info.item_view(session, item_id)
    if view is None:
        await refuse(update, t("info.err.no_item", lang))
        return END
    if move not in info.legal_moves(view.item.state):
        await refuse(update, t(f"info.err.illegal_{move}", lang, number=view.item.number))
        return END
    await answer_once(update)
    _clear(context)
    pending = _pending(context)
    pending.update(item=item_id, number=view.item.number, move=move)
    if move == "accept":
        return await _ask_accept(update, context, lang)
    if move in ("return", "reject", "feedback"):
        await send(update, t(f"inbox.ask_{move}", lang, number=view.item.number))
        return TEXT
    if move == "transfer":
        await send(
            update,
            t("inbox.ask_target", lang, number=view.item.number),
            reply_markup=_buttons([[(t("inbox.btn_hotline", lang), "ib:hotline")]]),
        )
        return TARGET
    levels = [lv for lv in INFO_LEVELS if move != "report" or lv not in view.reported_levels]
    await send(
        update,
        t(f"inbox.ask_level_{move}", lang, number=view.item.number),
        reply_markup=_buttons([[(info.level_label(lv, lang), f"ib:lvl:{lv}") for lv in levels]]),
    )
    return LEVEL


async def _ask_accept(update: Update, context: Context, lang: str) -> str:
    pending = _pending(context)
    notes = []
    if pending.get("title"):
        notes.append(t("inbox.new_title", lang, title=pending["title"]))
    if pending.get("body"):
        notes.append(t("inbox.new_body", lang, length=len(pending["body"])))
    text = t("inbox.ask_accept", lang, number=pending["number"]) + ("\n" + "\n".join(notes) if notes else "")
    await send(
        update,
        text,
        _buttons(
            [
                [(t("inbox.btn_confirm_accept", lang), "ib:do")],
                [
                    (t("inbox.btn_edit_title", lang), "ib:edit:title"),
                    (t("inbox.btn_edit_body", lang), "ib:edit:body"),
                ],
                [(t("inbox.btn_abort", lang), "ib:x")],
            ]
        ),
    )
    return ACCEPT


# --------------------------------------------------------------------------- follow-ups


@staff_only
async def edited(update: Update, context: Context, member: Member) -> str | None:
    """The new title or body; checked like the member's, handed back if too long."""
    assert update.message is not None
    lang = lang_of(member, context)
    text = update.message.text or ""
    pending = _pending(context)
    is_title = pending.get("edit") == "title"
    try:
        value = info.check_title(text) if is_title else info.check_body(text)
    except info.InfoError as exc:
        await send(update, exc.text(lang))
        if exc.code.endswith("_long"):
            await send(update, text)
        return None
    pending["title" if is_title else "body"] = value
    return await _ask_accept(update, context, lang)


@staff_only
async def edit_title_start(update: Update, context: Context, member: Member) -> str | None:
    return await _edit(update, context, member, "title")


@staff_only
async def edit_body_start(update: Update, context: Context, member: Member) -> str | None:
    return await _edit(update, context, member, "body")


async def _edit(update: Update, context: Context, member: Member, part: str) -> str:
    _pending(context)["edit"] = part
    await send(update, t(f"inbox.ask_edit_{part}", lang_of(member, context)))
    return EDIT_TITLE if part == "title" else EDIT_BODY


@staff_only
async def got_level(update: Update, context: Context, member: Member) -> str | int | None:
    assert update.callback_query is not None
    lang = lang_of(member, context)
    level = (update.callback_query.data or "").rsplit(":", 1)[1]
    if level not in INFO_LEVELS:
        await refuse(update, t("common.stale_button", lang))
        return None
    pending = _pending(context)
    pending["level"] = level
    if pending.get("move") == "instruction":
        await send(
            update,
            t("inbox.ask_instruction_text", lang),
            reply_markup=_buttons([[(t("inbox.btn_skip", lang), "ib:skip")]]),
        )
        return TEXT
    return await _ask_date(update, lang)


@staff_only
async def got_target(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    if update.callback_query is not None:
        target = t("inbox.hotline", lang)
    else:
        assert update.message is not None
        target = (update.message.text or "").strip()
        if not target or len(target) > info.TARGET_MAX:
            await send(update, t("info.err.text_long", lang, length=len(target), max=info.TARGET_MAX))
            return None
    _pending(context)["target"] = target
    return await _ask_date(update, lang)


async def _ask_date(update: Update, lang: str) -> str:
    await send(update, t("inbox.ask_date", lang), _buttons([[(t("inbox.btn_today", lang), "ib:today")]]))
    return DATE


@staff_only
async def got_date(update: Update, context: Context, member: Member) -> str | int | None:
    lang = lang_of(member, context)
    d = deps(context)
    today = info.local_today(d.clock.now(), d.settings.tz)
    if update.callback_query is not None:
        on_date = today
    else:
        assert update.message is not None
        parsed = info.parse_date(update.message.text or "", today)
        if parsed is None:
            await send(update, t("inbox.bad_date", lang))
            return None
        on_date = parsed
    _pending(context)["date"] = on_date.isoformat()
    return await _apply(update, context, member)


@staff_only
async def got_text(update: Update, context: Context, member: Member) -> str | int | None:
    """A reason (return/reject), a feedback text, or the gist of an instruction (or skip)."""
    pending = _pending(context)
    if update.callback_query is not None:
        if pending.get("move") != "instruction":
            await refuse(update, t("common.stale_button", lang_of(member, context)))
            return None
        pending["text"] = ""
    else:
        assert update.message is not None
        pending["text"] = update.message.text or ""
    return await _apply(update, context, member)


@staff_only
async def do_accept(update: Update, context: Context, member: Member) -> str | int | None:
    return await _apply(update, context, member)


async def _apply(update: Update, context: Context, member: Member) -> str | int | None:
    lang = lang_of(member, context)
    d = deps(context)
    pending = _pending(context)
    try:
        async with d.db.session() as session:
            await info.apply_move(
                session,
                item_id=int(pending["item"]),
                move=pending["move"],
                actor=member,
                now=d.clock.now(),
                tz=d.settings.tz,
                level=pending.get("level"),
                target=pending.get("target"),
                on_date=date.fromisoformat(pending["date"]) if pending.get("date") else None,
                text=pending.get("text"),
                new_title=pending.get("title"),
                new_body=pending.get("body"),
                default_lang=d.settings.locale,
            )
    except info.InfoError as exc:
        text = exc.text(lang)
        if update.callback_query is not None:
            await refuse(update, text)
        else:
            await send(update, text)
        if exc.code in ("reason_missing", "feedback_missing", "text_long"):
            if exc.code == "text_long" and update.message is not None:
                await send(update, update.message.text or "")  # handed back to shorten
            return None  # ask again
        _clear(context)
        return END
    log.info("secretariat %s: %s on info item %s", member.id, pending["move"], pending["item"])
    _clear(context)
    await send(update, t(f"inbox.done_{pending['move']}", lang, number=pending["number"]))
    async with d.db.session() as session:
        view = await info.item_view(session, int(pending["item"]))
    if view is not None:
        await _card(update, context, view, lang)
    return END


@staff_only
async def abort(update: Update, context: Context, member: Member) -> int:
    _clear(context)
    await send(update, t("inbox.aborted", lang_of(member, context)))
    return END


@staff_only
async def stale(update: Update, context: Context, member: Member) -> None:
    await refuse(update, t("common.stale_button", lang_of(member, context)))


@staff_only
async def expect(update: Update, context: Context, member: Member) -> None:
    await send(update, t("inbox.use_buttons", lang_of(member, context)))


def build_conversation(persistent: bool = True) -> ConversationHandler:
    return _conversation(persistent)


def _conversation(persistent: bool) -> ConversationHandler:
    text = PRIVATE & filters.TEXT & ~filters.COMMAND & ~MENU_BUTTONS
    return dialog(
        "inbox",
        persistent=persistent,
        entry_points=[
            CommandHandler("inbox", inbox, filters=PRIVATE),
            CallbackQueryHandler(inbox, pattern=r"^ib:q:"),
            CallbackQueryHandler(move_start, pattern=MOVE_PATTERN),
        ],
        states={
            ACCEPT: [
                CallbackQueryHandler(do_accept, pattern=r"^ib:do$"),
                CallbackQueryHandler(edit_title_start, pattern=r"^ib:edit:title$"),
                CallbackQueryHandler(edit_body_start, pattern=r"^ib:edit:body$"),
            ],
            EDIT_TITLE: [MessageHandler(text, edited)],
            EDIT_BODY: [MessageHandler(text, edited)],
            TEXT: [MessageHandler(text, got_text), CallbackQueryHandler(got_text, pattern=r"^ib:skip$")],
            LEVEL: [CallbackQueryHandler(got_level, pattern=r"^ib:lvl:\w+$")],
            TARGET: [
                MessageHandler(text, got_target),
                CallbackQueryHandler(got_target, pattern=r"^ib:hotline$"),
            ],
            DATE: [MessageHandler(text, got_date), CallbackQueryHandler(got_date, pattern=r"^ib:today$")],
        },
        fallbacks=[
            CommandHandler("cancel", abort, filters=PRIVATE),
            CallbackQueryHandler(abort, pattern=r"^ib:x$"),
            CallbackQueryHandler(stale, pattern=r"^ib:"),
            MessageHandler(PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & ~MENU_BUTTONS, expect),
        ],
    )


def register(app: Application) -> None:
    app.add_handler(build_conversation(persistent=app.persistence is not None))
