"""The kit every handler builds its answers with: the typed context, buttons and their data,
answering a press once, replying and refusing.

- `Context`: PTB's CallbackContext with the bot's dependencies as `context.deps`
  (`CONTEXT_TYPES` is what the application is built with).
- Button data is `prefix:action[:word][:number]` (`Buttons`, `Button`; the action may have two
  parts, `rep:photos:done`): made and read in one place, at most 64 bytes (Telegram's limit). Data
  comes back from the person's Telegram client and can be forged: a word outside the button's words
  or a number outside its range (a row id no column can hold) never matches the button, so no
  handler sees it; the dialog it belongs to answers it as a stale button (`handlers.dialog`), and
  outside a dialog the general fallback does.
- `keyboard(rows of (label, data))`, `grid(...)`: the only way inline buttons are made.
- `answer_once`, `reply`, `refuse`, `close_pressed`: every press is answered exactly once (keyed by
  the callback query's id, `bot.telegram.presses`), every message goes to the chat the update came from.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.core.refusals import AskAgain
from bot.telegram import presses
from bot.telegram.deps import Deps
from models.base import MAX_ROW_ID

DEPS_KEY = "deps"  # where the application keeps the dependencies (bot_data)
MAX_DATA_BYTES = 64  # Telegram's limit for callback data

ROW_IDS = range(1, MAX_ROW_ID + 1)  # a row id: ids start at 1 and fit a 4-byte column
OFFSETS = range(0, MAX_ROW_ID + 1)  # a page offset or an index into a list shown


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


# ------------------------------------------------------------------ button data


class StaleButton(AskAgain):
    """A press whose data no longer fits (or never did): answered like any old button."""

    def __init__(self) -> None:
        super().__init__("common.stale_button")


@dataclass(frozen=True)
class Press:
    """What a pressed button carries besides its kind: its word and its number (when it has them)."""

    word: str = ""
    number: int = 0


_WORD = re.compile(r"[^:\s]{1,48}")


@dataclass(frozen=True)
class Button:
    """One kind of button: `prefix:action` (or just `prefix`), then a word if `word` (one of
    `words` when given), then a number if `numbers` (a range). Calling it makes the data; `matches`
    is its handler's pattern; `read` takes a press apart."""

    prefix: str
    action: str
    word: bool = False
    words: frozenset[str] | None = None
    numbers: range | None = None

    @property
    def _head(self) -> str:
        return f"{self.prefix}:{self.action}" if self.action else self.prefix

    def __call__(self, *values: str | int) -> str:
        """The data of this button with `values` (its word, then its number)."""
        parts = list(values)
        data = self._head
        if self.word:
            word = str(parts.pop(0)) if parts else ""
            if not self._word_ok(word):
                raise ValueError(f"{self._head}: {word!r} cannot be a button's word")
            data += f":{word}"
        if self.numbers is not None:
            number = parts.pop(0) if parts else None
            if not isinstance(number, int) or number not in self.numbers:
                raise ValueError(f"{self._head}: {number!r} is outside {self.numbers}")
            data += f":{number}"
        if parts:
            raise ValueError(f"{self._head}: unexpected {parts!r}")
        if len(data.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"{data!r} is longer than Telegram's {MAX_DATA_BYTES} bytes")
        return data

    def _word_ok(self, word: str) -> bool:
        return bool(_WORD.fullmatch(word)) and (self.words is None or word in self.words)

    def parse(self, data: object) -> Press | None:
        """What `data` carries, or None when it is not this button's or does not fit."""
        if not isinstance(data, str) or len(data.encode()) > MAX_DATA_BYTES:
            return None
        if data == self._head:
            parts = []
        elif data.startswith(self._head + ":"):
            parts = data[len(self._head) + 1 :].split(":")
        else:
            return None
        if len(parts) != int(self.word) + int(self.numbers is not None):
            return None
        word = parts.pop(0) if self.word else ""
        if self.word and not self._word_ok(word):
            return None
        if self.numbers is None:
            return Press(word)
        raw = parts.pop(0)
        if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(self.numbers.stop)):
            return None  # a number no column can hold is refused before int() and the database see it
        number = int(raw)
        return Press(word, number) if number in self.numbers else None

    def matches(self, data: object) -> bool:
        """The pattern of this button's handler (CallbackQueryHandler(..., pattern=button.matches))."""
        return self.parse(data) is not None

    def pressed(self, update: Update) -> bool:
        """Whether the update is a press of this button (with data that fits)."""
        return update.callback_query is not None and self.matches(update.callback_query.data)

    def read(self, update: Update) -> Press:
        """The press behind `update`; a press that does not fit raises StaleButton (a dialog asks
        its step again, member_only/staff_only refuse it)."""
        query = update.callback_query
        press = self.parse(query.data if query is not None else None)
        if press is None:
            raise StaleButton
        return press


class Buttons:
    """The buttons of one feature, all under one prefix (a dialog answers any old button of its
    prefix as stale)."""

    def __init__(self, prefix: str) -> None:
        if not re.fullmatch(r"[a-z]{1,8}", prefix):
            raise ValueError(f"button prefix {prefix!r}: a few lowercase letters")
        self.prefix = prefix

    def __call__(
        self, action: str = "", *, word: bool = False, words: Collection[str] | None = None,
        numbers: range | None = None,
    ) -> Button:  # fmt: skip
        if not re.fullmatch(r"([a-z]{1,8}(:[a-z]{1,8})?)?", action):  # "ok", "photos:done" or none
            raise ValueError(f"{self.prefix}: action {action!r}")
        return Button(
            self.prefix, action, word or words is not None, frozenset(words) if words else None, numbers
        )

    def owns(self, data: object) -> bool:
        """Whether `data` is one of this feature's buttons (of any kind, valid or not)."""
        return isinstance(data, str) and (data == self.prefix or data.startswith(self.prefix + ":"))


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
