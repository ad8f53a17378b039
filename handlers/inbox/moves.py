"""/inbox: a move on an item (a button under its card), checked against the item's state now, then
the short follow-up it needs (a reason, a level, a date, a department, an edited title or body).

Every press is checked twice: the role on every call (staff_only) and the move against the item's
state in the database (bot.services.info.apply_move), so stale and forged buttons change nothing.
"""

from __future__ import annotations

import logging
from datetime import date

from telegram import Update

from bot.core.dates import parse_day, today_in
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.core.rules import INFO_LEVELS
from bot.services import info
from bot.telegram.ui import Context, Prompt, close_card, close_pressed, keyboard, reply
from handlers.common import lang_of, staff_only, typed_text
from handlers.dialog import END, Next, PromptFor, State, ask, draft, drop_draft, leaving
from handlers.inbox.queue import BUTTONS, KEY, MOVE, card
from models import Member

log = logging.getLogger(__name__)

ACCEPT, EDIT_TITLE, EDIT_BODY, TEXT = "accept", "edit_title", "edit_body", "text"
LEVEL, DATE, TARGET = "level", "date", "target"

DO_ACCEPT, EDIT_TITLE_BUTTON, EDIT_BODY_BUTTON = BUTTONS("do"), BUTTONS("edit:title"), BUTTONS("edit:body")
ABORT, SKIP, HOTLINE, TODAY = BUTTONS("x"), BUTTONS("skip"), BUTTONS("hotline"), BUTTONS("today")
LEVEL_BUTTON = BUTTONS("lvl", words=INFO_LEVELS)


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
    drop_draft(context, KEY)
    card = update.callback_query.message
    draft(context, KEY).update(
        item=view.item.id, number=view.item.number, move=move, reported=sorted(view.reported_levels),
        card=card.message_id if card is not None else None,
    )  # fmt: skip
    return await ask(update, context, FIRST_STEP.get(move, LEVEL), lang_of(member, context))


# The first follow-up of each move (report and instruction start with the level).
FIRST_STEP = {"accept": ACCEPT, "return": TEXT, "reject": TEXT, "feedback": TEXT, "transfer": TARGET}


# --------------------------------------------------------------------------- what each step asks


async def _accept_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = draft(context, KEY)
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
    pending = draft(context, KEY)
    if pending.get("move") == "instruction":
        return t("inbox.ask_instruction_text", lang), keyboard([[(t("inbox.btn_skip", lang), SKIP())]])
    return t(f"inbox.ask_{pending.get('move', 'return')}", lang, number=pending.get("number", "")), None


async def _level_prompt(update: Update, context: Context, lang: str) -> Prompt:
    pending = draft(context, KEY)
    move = pending.get("move", "report")
    done = set(pending.get("reported") or [])
    levels = [lv for lv in INFO_LEVELS if move != "report" or lv not in done]
    return t(f"inbox.ask_level_{move}", lang, number=pending.get("number", "")), keyboard(
        [[(t(f"info.level.{lv}", lang), LEVEL_BUTTON(lv)) for lv in levels]]
    )


async def _target_prompt(update: Update, context: Context, lang: str) -> Prompt:
    number = draft(context, KEY).get("number", "")
    return t("inbox.ask_target", lang, number=number), keyboard([[(t("inbox.btn_hotline", lang), HOTLINE())]])


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
    pending = draft(context, KEY)
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
    draft(context, KEY)["edit"] = part
    return await ask(update, context, EDIT_TITLE if part == "title" else EDIT_BODY, lang_of(member, context))


@staff_only
async def got_level(update: Update, context: Context, member: Member) -> Next:
    pending = draft(context, KEY)
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
    draft(context, KEY)["target"] = target
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
    draft(context, KEY)["date"] = on_date.isoformat()
    return await _apply(update, context, member)


@staff_only
async def got_text(update: Update, context: Context, member: Member) -> Next:
    """A reason (return/reject), a feedback text, or the gist of an instruction (or skip)."""
    pending = draft(context, KEY)
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
    pending = draft(context, KEY)
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
    drop_draft(context, KEY)
    # the card the move was pressed on, and the last question, are handled: their buttons go
    await close_pressed(update)
    if pending.get("card") and update.effective_chat is not None:
        await close_card(context.bot, update.effective_chat.id, pending["card"])
    await reply(update, t(f"inbox.done_{pending['move']}", lang, number=pending["number"]))
    async with d.db.session() as session:
        view = await info.item_view(session, int(pending["item"]))
    if view is not None:
        await card(update, context, view, lang)
    return END


abort = leaving(KEY, "inbox.aborted", staff_only)  # 取消 or /cancel: the item stays as it was
