"""The one error handler: log the traceback with message bodies and phone numbers taken out
(`bot.core.redact`), apologise, keep running. A refusal (`bot.core.refusals.Refusal`) raised outside a
dialog is no error: it is answered with its text, like a dialog answers it."""

from __future__ import annotations

import logging

from telegram import Message, Update

from bot.core.i18n import t
from bot.core.redact import redacted_traceback
from bot.core.refusals import Refusal
from bot.telegram import metrics
from bot.telegram.ui import Context, refuse
from handlers.common import lang_of, load_member

log = logging.getLogger(__name__)


def typed_texts(update: object) -> list[str]:
    """What the update carries that a person wrote or that shows their data: texts, captions,
    a shared contact, and the text of the message a pressed button was on."""
    if not isinstance(update, Update):
        return []
    found: list[str | None] = []
    messages: list[Message | None] = [update.effective_message]
    if update.callback_query is not None and isinstance(update.callback_query.message, Message):
        messages.append(update.callback_query.message)
    for message in messages:
        if message is None:
            continue
        found += [message.text, message.caption]
        if message.contact is not None:
            found += [message.contact.phone_number, message.contact.first_name, message.contact.last_name]
    return [text for text in found if text]


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Refusal) and isinstance(update, Update):
        log.info("update %s refused: %s", update_id, error.code)
        await refuse(update, error.text(lang_of(await load_member(update, context), context, update)))
        return
    detail = redacted_traceback(error, typed_texts(update)) if error is not None else "no exception"
    log.error("update %s failed: %s\n%s", update_id, type(error).__name__, detail)
    metrics.UPDATE_ERRORS.inc()
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        member = await load_member(update, context)
        text = t("common.error", lang_of(member, context, update))
        await refuse(update, text)
    except Exception:  # the apology itself failed (e.g. the database is down): nothing more to do
        log.exception("could not tell the user about update %s failing", update_id)
