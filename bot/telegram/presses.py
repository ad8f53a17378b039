"""Every button press is answered, exactly once: until then the member's Telegram app shows a
spinner on the button.

A handler answers when it has something to say (an alert, a refusal); a press still unanswered
when its update's handlers have run is answered by the update's life (`bot.telegram.app.LvzhiApplication`).
Whether the press was answered is kept for the update being processed (a context variable, keyed
by the callback query's id), so nothing outlives the update. A failed answer never stops a step:
the answer is a courtesy, what the step does and says in the chat is what counts.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, TelegramError

log = logging.getLogger(__name__)


@dataclass
class _Press:
    query_id: str
    answered: bool = False


_current: contextvars.ContextVar[_Press | None] = contextvars.ContextVar("press", default=None)


@contextmanager
def pressing(update: object) -> Iterator[None]:
    """While an update is processed: the press it carries (if any) waits for its answer."""
    query = update.callback_query if isinstance(update, Update) else None
    token = _current.set(_Press(query.id) if query is not None else None)
    try:
        yield
    finally:
        _current.reset(token)


async def answer(query: CallbackQuery, text: str | None = None, alert: bool = False) -> bool:
    """Answer the press being processed unless that was done; True if this call answered it.

    A press of another update (e.g. the last update a dialog's timeout job holds on to) was
    answered with its own update and is left alone."""
    press = _current.get()
    if press is None or press.query_id != query.id or press.answered:
        return False
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:  # too old or unknown: Telegram will not take an answer any more
        press.answered = True
        log.info("button press could not be answered: %s", exc.message)
        return False
    except TelegramError as exc:  # flood control or the network: the next attempt may go through
        log.info("button press not answered yet: %s", type(exc).__name__)
        return False
    press.answered = True
    return True


async def answer_if_unanswered(update: object) -> None:
    """Called once the handlers of `update` have run."""
    if isinstance(update, Update) and update.callback_query is not None:
        await answer(update.callback_query)
