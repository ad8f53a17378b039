"""Button data, made and read in one place: `prefix:action[:word][:number]` (`Buttons`,
`Button`; the action may have two parts, `rep:photos:done`), at most 64 bytes (Telegram's limit).
Data comes back from the person's Telegram client and can be forged: a word outside the button's
words or a number outside its range (a row id no column can hold) never matches the button, so no
handler sees it (the dialog it belongs to answers it as a stale button).

Pure data, no Telegram: services use the same buttons on the messages they queue
(`inline_markup`), handlers match and read presses with them (bot.telegram.ui re-exports them).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.refusals import AskAgain

MAX_DATA_BYTES = 64  # Telegram's limit for callback data
MAX_ROW_ID = 2**31 - 1  # row ids are INTEGER columns (4 bytes on PostgreSQL)

ROW_IDS = range(1, MAX_ROW_ID + 1)  # a row id: ids start at 1 and fit a 4-byte column
OFFSETS = range(0, MAX_ROW_ID + 1)  # a page offset or an index into a list shown


class _Query(Protocol):
    data: Any


class _Update(Protocol):
    """What a button needs of an update (telegram.Update has it)."""

    @property
    def callback_query(self) -> _Query | None: ...


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

    def pressed(self, update: _Update) -> bool:
        """Whether the update is a press of this button (with data that fits)."""
        return update.callback_query is not None and self.matches(update.callback_query.data)

    def read(self, update: _Update) -> Press:
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


def inline_markup(rows: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """A reply markup as plain data (for messages queued in the outbox) from rows of (label, data)."""
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows if row
        ]
    }
