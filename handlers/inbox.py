"""The secretariat's `/inbox` of 社情民意信息: the queue by state (oldest first), a card per item
with a button for each legal move, and the short follow-up each move needs (a reason, a level,
a date, a department, an edited title or body).

Every press is checked twice: the role on every call (staff_only) and the move against the
item's state in the database (bot.services.info.apply_move), so stale and forged buttons change nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.core.dates import parse_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import INFO_LEVELS
from bot.services import info
from handlers.button_data import button_number
from handlers.common import (
    MENU_BUTTONS,
    PRIVATE,
    Context,
    Prompt,
    PromptFor,
    answer_once,
    close_card,
    close_pressed,
    deps,
    dialog,
    grid,
    keyboard,
    lang_of,
    menu_pattern,
    refuse,
    staff_only,
)
from handlers.info import send
from models import Member

log = logging.getLogger(__name__)

KEY = "inbox"
SEARCH_KEY = "inbox_search"  # what /inbox was last asked to find, for its next page
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
    return keyboard([labels[i : i + 3] for i in range(0, len(labels), 3)])


async def _card(update: Update, context: Context, view: info.ItemView, lang: str) -> None:
    d = deps(context)
    today = today_in(d.clock.now(), d.settings.tz)
    text = info.render_card(view, lang, d.settings.tz, staff=True, full_body=True, today=today)
    await send(update, text, move_buttons(view, lang))


# --------------------------------------------------------------------------- the queue


@staff_only
async def inbox(update: Update, context: Context, member: Member) -> int:
    """/inbox: the items waiting for the secretariat, newest first, with a filter per workflow
    step; /inbox SQ-2026-0042 or /inbox 电梯 finds items by number or by a word of the title."""
    _clear(context)
    assert context.user_data is not None
    lang = lang_of(member, context)
    view, offset, search = "pending", 0, None
    if update.callback_query is not None:
        parts = (update.callback_query.data or "").split(":")  # ib:q:<view>:<offset> | ib:s:<offset>
        first = button_number(update, minimum=0)
        if parts[1:2] == ["q"] and len(parts) == 4 and parts[2] in info.INBOX_VIEWS and first is not None:
            view, offset = parts[2], first
        elif parts[1:2] == ["s"] and len(parts) == 3 and first is not None and context.user_data.get(SEARCH_KEY):
            search, offset = context.user_data[SEARCH_KEY], first
        else:
            await refuse(update, t("common.stale_button", lang))
            return END
    elif context.args:
        wanted = " ".join(context.args)
        if wanted in info.INBOX_VIEWS:
            view = wanted
        else:
            search = context.user_data[SEARCH_KEY] = wanted[:40]
    async with deps(context).db.session() as session:
        counts = await info.view_counts(session)
        if search is not None:
            views, total = await info.find_items(session, search, offset=offset, limit=PAGE)
        else:
            views, total = await info.queue(session, view, offset=offset, limit=PAGE)
    filters_row = [(f"{t(f'inbox.view.{v}', lang)} {counts[v]}", f"ib:q:{v}:0") for v in info.INBOX_VIEWS]
    span = {"total": total, "first": min(offset + 1, total), "last": offset + len(views)}
    if search is not None:
        head = t("inbox.found", lang, text=search, **span) if total else t("inbox.found_none", lang, text=search)
    else:
        head = t("inbox.header", lang, view=t(f"inbox.view.{view}", lang), **span)
    await send(update, head + "\n" + t("inbox.how_to_find", lang), grid(filters_row, 2))
    if not views:
        if search is None:
            await send(update, t("inbox.empty", lang))
        return END
    for item_view in views:
        await _card(update, context, item_view, lang)
    if offset + PAGE < total:
        more = f"ib:s:{offset + PAGE}" if search is not None else f"ib:q:{view}:{offset + PAGE}"
        await send(
            update,
            t("inbox.more", lang, left=total - offset - PAGE),
            reply_markup=keyboard([[(t("inbox.btn_more", lang), more)]]),
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
        raise info.InfoError("no_item")
    if move not in info.legal_moves(view.item.state):
        raise info.InfoError(f"illegal_{move}", number=view.item.number)
    await answer_once(update)
    _clear(context)
    card = update.callback_query.message
    _pending(context).update(
        item=view.item.id, number=view.item.number, move=move, reported=sorted(view.reported_levels),
        card=card.message_id if card is not None else None,
    )  # fmt: skip
    state = FIRST_STEP.get(move, LEVEL)
    await _ask(update, context, state, lang)
    return state


# The first follow-up of each move (report and instruction start with the level).
FIRST_STEP = {"accept": ACCEPT, "return": TEXT, "reject": TEXT, "feedback": TEXT, "transfer": TARGET}


async def _ask(update: Update, context: Context, state: str, lang: str) -> None:
    text, markup = await PROMPTS[state](update, context, lang)
    await send(update, text, markup)


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
            [(t("inbox.btn_confirm_accept", lang), "ib:do")],
            [
                (t("inbox.btn_edit_title", lang), "ib:edit:title"),
                (t("inbox.btn_edit_body", lang), "ib:edit:body"),
            ],
            [(t("inbox.btn_abort", lang), "ib:x")],
        ]
    )


async def _edit_title_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_edit_title", lang), None


async def _edit_body_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_edit_body", lang), None


async def _text_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = _pending(context)
    if pending.get("move") == "instruction":
        return t("inbox.ask_instruction_text", lang), keyboard([[(t("inbox.btn_skip", lang), "ib:skip")]])
    return t(f"inbox.ask_{pending.get('move', 'return')}", lang, number=pending.get("number", "")), None


async def _level_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = _pending(context)
    move = pending.get("move", "report")
    done = set(pending.get("reported") or [])
    levels = [lv for lv in INFO_LEVELS if move != "report" or lv not in done]
    return t(f"inbox.ask_level_{move}", lang, number=pending.get("number", "")), keyboard(
        [[(t(f"info.level.{lv}", lang), f"ib:lvl:{lv}") for lv in levels]]
    )


async def _target_prompt(update: Update, context: Context, lang: str) -> Prompt:
    number = _pending(context).get("number", "")
    return t("inbox.ask_target", lang, number=number), keyboard(
        [[(t("inbox.btn_hotline", lang), "ib:hotline")]]
    )


async def _date_prompt(update: Update, context: Context, lang: str) -> Prompt:
    return t("inbox.ask_date", lang), keyboard([[(t("inbox.btn_today", lang), "ib:today")]])


PROMPTS: dict[str, PromptFor] = {
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
async def edited(update: Update, context: Context, member: Member) -> str | None:
    """The new title or body; checked like the member's (a refusal hands a long one back)."""
    assert update.message is not None
    text = update.message.text or ""
    pending = _pending(context)
    is_title = pending.get("edit") == "title"
    value = info.check_title(text) if is_title else info.check_body(text)
    pending["title" if is_title else "body"] = value
    await _ask(update, context, ACCEPT, lang_of(member, context))
    return ACCEPT


@staff_only
async def edit_title_start(update: Update, context: Context, member: Member) -> str | None:
    return await _edit(update, context, member, "title")


@staff_only
async def edit_body_start(update: Update, context: Context, member: Member) -> str | None:
    return await _edit(update, context, member, "body")


async def _edit(update: Update, context: Context, member: Member, part: str) -> str:
    _pending(context)["edit"] = part
    state = EDIT_TITLE if part == "title" else EDIT_BODY
    await _ask(update, context, state, lang_of(member, context))
    return state


@staff_only
async def got_level(update: Update, context: Context, member: Member) -> str | int | None:
    assert update.callback_query is not None
    lang = lang_of(member, context)
    level = (update.callback_query.data or "").rsplit(":", 1)[1]
    if level not in INFO_LEVELS:
        raise AskAgain("common.stale_button")
    pending = _pending(context)
    pending["level"] = level
    state = TEXT if pending.get("move") == "instruction" else DATE
    await _ask(update, context, state, lang)
    return state


@staff_only
async def got_target(update: Update, context: Context, member: Member) -> str | None:
    lang = lang_of(member, context)
    if update.callback_query is not None:
        target = t("inbox.hotline", lang)
    else:
        assert update.message is not None
        target = (update.message.text or "").strip()
        if len(target) > info.TARGET_MAX:
            raise info.InfoError("text_long", length=len(target), max=info.TARGET_MAX)
    _pending(context)["target"] = target
    await _ask(update, context, DATE, lang)
    return DATE


@staff_only
async def got_date(update: Update, context: Context, member: Member) -> str | int | None:
    d = deps(context)
    today = today_in(d.clock.now(), d.settings.tz)
    if update.callback_query is not None:
        on_date = today
    else:
        assert update.message is not None
        answer = parse_day(update.message.text or "", today=today)
        if answer.day is None:
            raise AskAgain("inbox.bad_date")
        on_date = answer.day
    _pending(context)["date"] = on_date.isoformat()
    return await _apply(update, context, member)


@staff_only
async def got_text(update: Update, context: Context, member: Member) -> str | int | None:
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
async def do_accept(update: Update, context: Context, member: Member) -> str | int | None:
    return await _apply(update, context, member)


async def _apply(update: Update, context: Context, member: Member) -> str | int | None:
    """The move, checked by the service; a refused value asks its step again (Dialog.refused)."""
    lang = lang_of(member, context)
    d = deps(context)
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
    await send(update, t(f"inbox.done_{pending['move']}", lang, number=pending["number"]))
    async with d.db.session() as session:
        view = await info.item_view(session, int(pending["item"]))
    if view is not None:
        await _card(update, context, view, lang)
    return END


@staff_only
async def abort(update: Update, context: Context, member: Member) -> int:
    _clear(context)
    await close_pressed(update)
    await send(update, t("inbox.aborted", lang_of(member, context)))
    return END


def build_conversation(persistent: bool = True) -> ConversationHandler:
    text = PRIVATE & filters.TEXT & ~filters.COMMAND & ~MENU_BUTTONS
    return dialog(
        "inbox",
        persistent=persistent,
        prompts=PROMPTS,
        buttons="ib:",
        data_key=KEY,
        fields={"date": DATE, "text": TEXT, "target": TARGET, "level": LEVEL, "title": EDIT_TITLE,
                "body": EDIT_BODY},  # fmt: skip
        entry_points=[
            CommandHandler("inbox", inbox, filters=PRIVATE),
            MessageHandler(PRIVATE & filters.Regex(menu_pattern("menu.inbox")), inbox),
            CallbackQueryHandler(inbox, pattern=r"^ib:[qs]:"),
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
        ],
    )


def register(app: Application) -> None:
    app.add_handler(build_conversation(persistent=app.persistence is not None))
