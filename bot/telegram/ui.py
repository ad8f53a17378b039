"""The kit every handler builds its answers with: the typed context, buttons and their data,
answering a press once, replying and refusing.

- `Context`: PTB's CallbackContext with the bot's dependencies as `context.deps`
  (`CONTEXT_TYPES` is what the application is built with).
- Button data (`Buttons`, `Button`, re-exported from bot.core.buttons, where services find them
  too): made and read in one place, at most 64 bytes, forged data never matches a button; the dialog
  it belongs to answers it as a stale button (`handlers.dialog`), and outside a dialog the general
  fallback does.
- `keyboard(rows of (label, data))`, `grid(...)`: the only way inline buttons are made.
- `answer_once`, `reply`, `refuse`, `close_pressed`: every press is answered exactly once (keyed by
  the callback query's id, `bot.telegram.presses`), every message goes to the chat the update came from.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.core.buttons import MAX_DATA_BYTES as MAX_DATA_BYTES
from bot.core.buttons import OFFSETS as OFFSETS
from bot.core.buttons import ROW_IDS as ROW_IDS
from bot.core.buttons import Button as Button
from bot.core.buttons import Buttons as Buttons
from bot.core.buttons import Press as Press
from bot.core.buttons import StaleButton as StaleButton
from bot.telegram import presses
from bot.telegram.deps import Deps

DEPS_KEY = "deps"  # where the application keeps the dependencies (bot_data)


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context of every handler and job: PTB's, with the bot's dependencies."""

    @property
    def deps(self) -> Deps:
        return deps_of(self.application)


CONTEXT_TYPES = ContextTypes(context=Context)
App = Application[Any, Any, Any, Any, Any, Any]  # the application, as handlers and jobs see it


def deps_of(app: App) -> Deps:
    """The dependencies of `app` (for code that has the application, not a context)."""
    return cast(Deps, app.bot_data[DEPS_KEY])


# ------------------------------------------------------------------ button data (bot.core.buttons)


def read_code(update: Update, button: Button, known: Container[str]) -> str:
    """The code (of the rules) a press of `button` carries, if `known` still has it: the rules may
    have changed since the buttons were shown; an unknown code raises StaleButton."""
    code = button.read(update).word
    if code not in known:
        raise StaleButton
    return code


# ------------------------------------------------------------------ keyboards

Row = list[tuple[str, str]]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup
Prompt = tuple[str, InlineKeyboardMarkup | None]  # what a step asks: its question and its buttons


def keyboard(rows: list[Row]) -> InlineKeyboardMarkup:
    """Inline buttons from rows of (label, callback data); empty rows are left out."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows if row]
    )


def grid(buttons: Row, columns: int) -> InlineKeyboardMarkup:
    """Buttons laid out `columns` to a row (short labels fit two or three to a row on a phone)."""
    return keyboard(rows_of(buttons, columns))


def rows_of(buttons: Row, columns: int) -> list[Row]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


# ------------------------------------------------------------------ answering


async def answer_once(update: Update, text: str | None = None, alert: bool = False) -> bool:
    """Answer the button press behind `update` unless it was answered already; True if this call
    answered it. A press nobody answers is answered when its update ends (bot/telegram/presses.py)."""
    query = update.callback_query
    return query is not None and await presses.answer(query, text, alert)


async def reply(update: Update, text: str, markup: Markup | None = None) -> Message | None:
    """Say `text` in the chat the update came from (a press is answered first, silently)."""
    await answer_once(update)
    chat = update.effective_chat
    return await chat.send_message(text, reply_markup=markup) if chat is not None else None


async def show(update: Update, prompt: Prompt) -> Message | None:
    """Ask a step's question: its text and its buttons."""
    text, markup = prompt
    return await reply(update, text, markup)


async def refuse(update: Update, text: str) -> None:
    """A polite refusal: an alert on a button press, a message otherwise (or when the press was
    answered already)."""
    if update.callback_query is not None and await answer_once(update, text, alert=True):
        return
    if update.effective_chat is not None:
        await update.effective_chat.send_message(text)


async def close_pressed(update: Update, text: str | None = None) -> None:
    """Take the buttons off the message that was pressed (a handled card cannot be pressed again);
    `text` replaces its text (e.g. the card with its outcome)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    await close_card(query.get_bot(), query.message.chat.id, query.message.message_id, text)


async def close_card(bot: Any, chat_id: int, message_id: int, text: str | None = None) -> None:
    """The same for a card handled after a later step (退回 takes a reason; a 社情民意 move a date)."""
    try:
        if text is not None:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        else:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
    except BadRequest:
        pass  # already edited, or too old to edit: nothing is lost


def pressed_text(update: Update) -> str:
    """The text of the message whose button was pressed ("" when there is none)."""
    message = update.callback_query.message if update.callback_query is not None else None
    return (message.text or "") if isinstance(message, Message) else ""
