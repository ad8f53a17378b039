"""Which updates reach the features at all, decided once, before any feature sees them.

- Private chats get everything. An *edited* message is not a new answer (a dialog would take an
  edit of an old message as the reply to its current step): it gets one polite note and nothing
  else happens.
- The secretariat group (SECRETARIAT_CHAT_ID) gets only the commands meant for it, from staff.
- Any other group or channel gets nothing: no digest naming members who are behind, no refusal,
  no stranger text. A button press there is answered silently, so no client keeps spinning.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.core.i18n import t
from bot.services.proposals.common import STAFF_OPEN_BUTTON
from bot.telegram.ui import App, Context, reply
from handlers.common import lang_of, load_member
from handlers.digest import BUTTONS as DIGEST_BUTTONS

log = logging.getLogger(__name__)

GROUP = -100  # before every feature
SECRETARIAT_GROUP_COMMANDS = frozenset({"digest"})
SECRETARIAT_GROUP_BUTTONS = (DIGEST_BUTTONS,)  # the digest's 上周 / 本周至今 choice that /digest offers there
# 📄 on a proposal notice posted there: the card goes to the secretary's private chat (handlers.proposal_review)
SECRETARIAT_GROUP_OPEN = (STAFF_OPEN_BUTTON,)


def _command(update: Update, bot_username: str | None) -> str | None:
    """The command a message starts with (`/digest@lvzhi_bot 2025-W47` → digest), if it is for us."""
    message = update.message
    text = (message.text or "") if message is not None else ""
    if not text.startswith("/"):
        return None
    name, _, addressee = text.split(maxsplit=1)[0][1:].partition("@")
    if addressee and addressee.lower() != (bot_username or "").lower():
        return None  # meant for another bot in the group
    return name.lower()


async def _stop(update: Update, context: Context) -> None:
    """End the update here. It still counts as handled (the application saves every update's id
    after its handlers, bot/assemble.py), and a press is answered there if no one did."""
    raise ApplicationHandlerStop


async def gate(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is None:
        return  # inline queries and the like: no feature handles them anyway
    if chat.type == chat.PRIVATE:
        if update.edited_message is not None:
            member = await load_member(update, context)
            await reply(update, t("common.edit_ignored", lang_of(member, context, update)))
            await _stop(update, context)
        return
    if chat.id == context.deps.settings.secretariat_chat_id and update.edited_message is None:
        query = update.callback_query
        pressed = query is not None and (
            any(buttons.owns(query.data) for buttons in SECRETARIAT_GROUP_BUTTONS)
            or any(button.matches(query.data) for button in SECRETARIAT_GROUP_OPEN)
        )
        if pressed or _command(update, context.bot.username) in SECRETARIAT_GROUP_COMMANDS:
            member = await load_member(update, context)
            if member is not None and member.is_staff:
                return
    log.debug("update %s from a %s chat not handled", update.update_id, chat.type)
    await _stop(update, context)


def register(app: App) -> None:
    app.add_handler(TypeHandler(Update, gate), group=GROUP)
