"""The one error handler: log without message bodies or phone numbers, apologise, keep running."""

from __future__ import annotations

import logging

from telegram import Update

from bot.i18n import t
from handlers.common import Context, lang_of, load_member, refuse

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    # The exception text may quote what the member typed, so the detail goes to DEBUG only.
    log.error("update %s failed: %s", update_id, type(context.error).__name__)
    log.debug("update %s failure detail", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        member = await load_member(update, context)
        text = t("common.error", lang_of(member, context, update))
        await refuse(update, text)
    except Exception:  # the apology itself failed (e.g. the database is down): nothing more to do
        log.exception("could not tell the user about update %s failing", update_id)
