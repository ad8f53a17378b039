"""The secretariat's `/inbox` of 社情民意信息: the queue by state (oldest first), a card per item
with a button for each legal move, and the short follow-up each move needs (a reason, a level,
a date, a department, an edited title or body).

Every press is checked twice: the role on every call (staff_only) and the move against the
item's state in the database (bot.services.info.apply_move), so stale and forged buttons change nothing.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler

from bot.core.dates import parse_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import INFO_LEVELS
from bot.services import info
from bot.telegram.ui import (
    OFFSETS,
    ROW_IDS,
    Buttons,
    Context,
    Prompt,
    close_card,
    close_pressed,
    grid,
    keyboard,
    reply,
)
from handlers.common import PRIVATE, TYPED, lang_of, menu_button, staff_only, typed_text
from handlers.dialog import END, Next, PromptFor, State, ask, dialog
from models import Member

log = logging.getLogger(__name__)

KEY = "inbox"
SEARCH_KEY = "inbox_search"  # what /inbox was last asked to find, for its next page
PAGE = 5
ACCEPT, EDIT_TITLE, EDIT_BODY, TEXT = "accept", "edit_title", "edit_body", "text"
LEVEL, DATE, TARGET = "level", "date", "target"

BUTTONS = Buttons("ib")
QUEUE = BUTTONS("q", words=info.INBOX_VIEWS, numbers=OFFSETS)  # a view of the queue from an offset
FOUND = BUTTONS("s", numbers=OFFSETS)  # the items found by the last search, from an offset
MOVE = BUTTONS("m", words=info.STAFF_MOVES, numbers=ROW_IDS)  # a move on an item
DO_ACCEPT, EDIT_TITLE_BUTTON, EDIT_BODY_BUTTON = BUTTONS("do"), BUTTONS("edit:title"), BUTTONS("edit:body")
ABORT, SKIP, HOTLINE, TODAY = BUTTONS("x"), BUTTONS("skip"), BUTTONS("hotline"), BUTTONS("today")
LEVEL_BUTTON = BUTTONS("lvl", words=INFO_LEVELS)


def _pending(context: Context) -> dict[str, Any]:
    assert context.user_data is not None
    pending: dict[str, Any] = context.user_data.setdefault(KEY, {})
    return pending


def _clear(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(KEY, None)


def move_buttons(view: info.ItemView, lang: str) -> InlineKeyboardMarkup | None:
    moves = info.legal_moves(view.item.state)
    if "report" in moves and set(INFO_LEVELS) <= view.reported_levels:
        moves.remove("report")
    assert view.item.id is not None
    labels = [(t(f"inbox.btn_{move}", lang), MOVE(move, view.item.id)) for move in moves]
    return grid(labels, 3) if labels else None


async def _card(update: Update, context: Context, view: info.ItemView, lang: str) -> None:
    d = context.deps
    today = today_in(d.clock.now(), d.settings.tz)
    text = info.render_card(view, lang, d.settings.tz, staff=True, full_body=True, today=today)
    await reply(update, text, move_buttons(view, lang))


# --------------------------------------------------------------------------- the queue


@staff_only
async def inbox(update: Update, context: Context, member: Member) -> Next:
    """/inbox: the items waiting for the secretariat, newest first, with a filter per workflow
    step; /inbox SQ-2026-0042 or /inbox 电梯 finds items by number or by a word of the title."""
    assert context.user_data is not None
    lang = lang_of(member, context)
    view, offset, search = "pending", 0, None
    if QUEUE.pressed(update):
        press = QUEUE.read(update)
        view, offset = press.word, press.number
    elif FOUND.pressed(update):
        search, offset = context.user_data.get(SEARCH_KEY), FOUND.read(update).number
        if not search:
            raise AskAgain("common.stale_button")  # nothing was searched for (or it was forgotten)
    elif context.args:
        wanted = " ".join(context.args)
        if wanted in info.INBOX_VIEWS:
            view = wanted
        else:
            search = context.user_data[SEARCH_KEY] = wanted[:40]
    _clear(context)  # /inbox leaves a move half-way
    async with context.deps.db.session() as session:
        counts = await info.view_counts(session)
        if search is not None:
            views, total = await info.find_items(session, search, offset=offset, limit=PAGE)
        else:
            views, total = await info.queue(session, view, offset=offset, limit=PAGE)
    filters_row = [(f"{t(f'inbox.view.{v}', lang)} {counts[v]}", QUEUE(v, 0)) for v in info.INBOX_VIEWS]
    span = {"total": total, "first": min(offset + 1, total), "last": offset + len(views)}
    if search is not None:
        head = t("inbox.found", lang, text=search, **span) if total else t("inbox.found_none", lang, text=search)
    else:
        head = t("inbox.header", lang, view=t(f"inbox.view.{view}", lang), **span)
    await reply(update, head + "\n" + t("inbox.how_to_find", lang), grid(filters_row, 2))
    if not views:
        if search is None:
            await reply(update, t("inbox.empty", lang))
        return END
    for item_view in views:
        await _card(update, context, item_view, lang)
    if offset + PAGE < total:
        more = FOUND(offset + PAGE) if search is not None else QUEUE(view, offset + PAGE)
        await reply(update, t("inbox.more", lang, left=total - offset - PAGE), keyboard([[(t("inbox.btn_more", lang), more)]]))
    return END


# --------------------------------------------------------------------------- starting a move


@staff_only
async def move_start(update: Update, context: Context, member: Member) -> Next:
    """A move button under a card: checked against the item's state now, then the follow-up."""
    assert update.callback_query is not None
    press = MOVE.read(update)
    move, item_id = press.word, press.number
    async with context.deps.db.session() as session:
        view = await info.item_view(session, item_id)
    if view is None:
        raise info.InfoError("no_item")
    if move not in info.legal_moves(view.item.state):
        raise info.InfoError(f"illegal_{move}", number=view.item.number)
    _clear(context)
    card = update.callback_query.message
    _pending(context).update(
        item=view.item.id, number=view.item.number, move=move, reported=sorted(view.reported_levels),
        card=card.message_id if card is not None else None,
    )  # fmt: skip
    return await ask(update, context, FIRST_STEP.get(move, LEVEL), lang_of(member, context))


# The first follow-up of each move (report and instruction start with the level).
FIRST_STEP = {"accept": ACCEPT, "return": TEXT, "reject": TEXT, "feedback": TEXT, "transfer": TARGET}


# --------------------------------------------------------------------------- what each step asks


async def _accept_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = _pending(context)
    notes = []
    if pending.get("title"):
        notes.append(t("inbox.new_title", lang, title=pending["title"]))
    if pending.get("body"):
        notes.append(t("inbox.new_body", lang, length=len(pending["body"])))
    text = t("inbox.ask_accept", lang, number=pending.get("number", "")) + (
        "\n" + "\n".join(notes) if notes else ""
    )
    return text, keyboard(
        [
            [(t("inbox.btn_confirm_accept", lang), DO_ACCEPT())],
            [
                (t("inbox.btn_edit_title", lang), EDIT_TITLE_BUTTON()),
                (t("inbox.btn_edit_body", lang), EDIT_BODY_BUTTON()),
            ],
            [(t("inbox.btn_abort", lang), ABORT())],
        ]
    )


async def _edit_title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_edit_title", lang), None


async def _edit_body_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_edit_body", lang), None


async def _text_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = _pending(context)
    if pending.get("move") == "instruction":
        return t("inbox.ask_instruction_text", lang), keyboard([[(t("inbox.btn_skip", lang), SKIP())]])
    return t(f"inbox.ask_{pending.get('move', 'return')}", lang, number=pending.get("number", "")), None


async def _level_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = _pending(context)
    move = pending.get("move", "report")
    done = set(pending.get("reported") or [])
    levels = [lv for lv in INFO_LEVELS if move != "report" or lv not in done]
    return t(f"inbox.ask_level_{move}", lang, number=pending.get("number", "")), keyboard(
        [[(t(f"info.level.{lv}", lang), LEVEL_BUTTON(lv)) for lv in levels]]
    )


async def _target_prompt(update: Update, context: Context, lang: str) -> Prompt:
    number = _pending(context).get("number", "")
    return t("inbox.ask_target", lang, number=number), keyboard(
        [[(t("inbox.btn_hotline", lang), HOTLINE())]]
    )


async def _date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_date", lang), keyboard([[(t("inbox.btn_today", lang), TODAY())]])


PROMPTS: dict[object, PromptFor] = {
    ACCEPT: _accept_prompt,
    EDIT_TITLE: _edit_title_prompt,
    EDIT_BODY: _edit_body_prompt,
    TEXT: _text_prompt,
    LEVEL: _level_prompt,
    TARGET: _target_prompt,
    DATE: _date_prompt,
}


# --------------------------------------------------------------------------- follow-ups


@staff_only
async def edited(update: Update, context: Context, member: Member) -> Next:
    """The new title or body; checked like the member's (a refusal hands a long one back)."""
    assert update.message is not None
    text = update.message.text or ""
    pending = _pending(context)
    is_title = pending.get("edit") == "title"
    value = info.check_title(text) if is_title else info.check_body(text)
    pending["title" if is_title else "body"] = value
    return await ask(update, context, ACCEPT, lang_of(member, context))


@staff_only
async def edit_title_start(update: Update, context: Context, member: Member) -> Next:
    return await _edit(update, context, member, "title")


@staff_only
async def edit_body_start(update: Update, context: Context, member: Member) -> Next:
    return await _edit(update, context, member, "body")


async def _edit(update: Update, context: Context, member: Member, part: str) -> State:
    _pending(context)["edit"] = part
    return await ask(update, context, EDIT_TITLE if part == "title" else EDIT_BODY, lang_of(member, context))


@staff_only
async def got_level(update: Update, context: Context, member: Member) -> Next:
    pending = _pending(context)
    pending["level"] = LEVEL_BUTTON.read(update).word
    next_state = TEXT if pending.get("move") == "instruction" else DATE
    return await ask(update, context, next_state, lang_of(member, context))


@staff_only
async def got_target(update: Update, context: Context, member: Member) -> Next:
    lang = lang_of(member, context)
    if update.callback_query is not None:
        target = t("inbox.hotline", lang)
    else:
        target = typed_text(update)
        if len(target) > info.TARGET_MAX:
            raise info.InfoError("text_long", length=len(target), max=info.TARGET_MAX)
    _pending(context)["target"] = target
    return await ask(update, context, DATE, lang)


@staff_only
async def got_date(update: Update, context: Context, member: Member) -> Next:
    d = context.deps
    today = today_in(d.clock.now(), d.settings.tz)
    if update.callback_query is not None:
        on_date = today
    else:
        answer = parse_day(typed_text(update), today=today)
        if answer.day is None:
            raise AskAgain("inbox.bad_date")
        on_date = answer.day
    _pending(context)["date"] = on_date.isoformat()
    return await _apply(update, context, member)


@staff_only
async def got_text(update: Update, context: Context, member: Member) -> Next:
    """A reason (return/reject), a feedback text, or the gist of an instruction (or skip)."""
    pending = _pending(context)
    if update.callback_query is not None:
        if pending.get("move") != "instruction":
            raise AskAgain("common.stale_button")
        pending["text"] = ""
    else:
        assert update.message is not None
        pending["text"] = update.message.text or ""
    return await _apply(update, context, member)


@staff_only
async def do_accept(update: Update, context: Context, member: Member) -> Next:
    return await _apply(update, context, member)


async def _apply(update: Update, context: Context, member: Member) -> Next:
    """The move, checked by the service; a refused value asks its step again (Dialog.refused)."""
    lang = lang_of(member, context)
    d = context.deps
    pending = _pending(context)
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
    log.info("secretariat %s: %s on info item %s", member.id, pending["move"], pending["item"])
    _clear(context)
    # the card the move was pressed on, and the last question, are handled: their buttons go
    await close_pressed(update)
    if pending.get("card") and update.effective_chat is not None:
        await close_card(context.bot, update.effective_chat.id, pending["card"])
    await reply(update, t(f"inbox.done_{pending['move']}", lang, number=pending["number"]))
    async with d.db.session() as session:
        view = await info.item_view(session, int(pending["item"]))
    if view is not None:
        await _card(update, context, view, lang)
    return END


@staff_only
async def abort(update: Update, context: Context, member: Member) -> Next:
    _clear(context)
    await close_pressed(update)
    await reply(update, t("inbox.aborted", lang_of(member, context)))
    return END


def build_dialog(persistent: bool = True) -> Any:
    text = TYPED
    return dialog(
        "inbox",
        persistent=persistent,
        prompts=PROMPTS,
        buttons=BUTTONS,
        data_key=KEY,
        fields={"date": DATE, "text": TEXT, "target": TARGET, "level": LEVEL, "title": EDIT_TITLE,
                "body": EDIT_BODY},  # fmt: skip
        entry_points=[
            CommandHandler("inbox", inbox, filters=PRIVATE),
            MessageHandler(menu_button("menu.inbox"), inbox),
            CallbackQueryHandler(inbox, pattern=QUEUE.matches),
            CallbackQueryHandler(inbox, pattern=FOUND.matches),
            CallbackQueryHandler(move_start, pattern=MOVE.matches),
        ],
        states={
            ACCEPT: [
                CallbackQueryHandler(do_accept, pattern=DO_ACCEPT.matches),
                CallbackQueryHandler(edit_title_start, pattern=EDIT_TITLE_BUTTON.matches),
                CallbackQueryHandler(edit_body_start, pattern=EDIT_BODY_BUTTON.matches),
            ],
            EDIT_TITLE: [MessageHandler(text, edited)],
            EDIT_BODY: [MessageHandler(text, edited)],
            TEXT: [MessageHandler(text, got_text), CallbackQueryHandler(got_text, pattern=SKIP.matches)],
            LEVEL: [CallbackQueryHandler(got_level, pattern=LEVEL_BUTTON.matches)],
            TARGET: [MessageHandler(text, got_target), CallbackQueryHandler(got_target, pattern=HOTLINE.matches)],
            DATE: [MessageHandler(text, got_date), CallbackQueryHandler(got_date, pattern=TODAY.matches)],
        },
        fallbacks=[
            CommandHandler("cancel", abort, filters=PRIVATE),
            CallbackQueryHandler(abort, pattern=ABORT.matches),
        ],
    )


def register(app: Application[Any, Context, Any, Any, Any, Any]) -> None:
    app.add_handler(build_dialog(persistent=app.persistence is not None))
