"""What every feature's handlers share besides the UI kit (bot/telegram/ui.py): the member behind an
update, role checks on every call (commands and button presses alike), the main menu and the
filters for what a person types."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import filters

from bot.core import i18n
from bot.core.i18n import t
from bot.core.refusals import AskAgain
from bot.services import members
from bot.telegram.ui import Context, refuse
from bot.telegram.ui import answer_once as answer_once  # one kit: the press is answered there
from models import Member, Role

log = logging.getLogger(__name__)

T = TypeVar("T")
MemberCallback = Callable[[Update, Context, Member], Awaitable[T]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, T | None]]

# Main menu rows: catalogue keys of reply-keyboard buttons, each leading to a command. Members get
# what they do; the secretariat gets its own work (a staff member who is also a 委员 gets both).
MEMBER_ROWS = [["menu.report", "menu.info", "menu.proposal"], ["menu.events", "menu.me"]]
STAFF_ROWS = [["menu.review", "menu.inbox"], ["menu.digest", "menu.newevent"]]
UNIT_ROWS = [["menu.myunit"]]  # a handling unit's contact: its proposals only
HELP_ROW = ["menu.help"]
MENU_COMMANDS = {
    "menu.report": "report",
    "menu.info": "info",
    "menu.proposal": "proposal",
    "menu.events": "events",
    "menu.me": "me",
    "menu.help": "help",
    "menu.review": "review",
    "menu.inbox": "inbox",
    "menu.digest": "digest",
    "menu.newevent": "newevent",
    "menu.myunit": "myunit",
}


def lang_of(member: Member | None, context: Context, update: Update | None = None) -> str:
    """The member's language; for strangers, their Telegram app's language if we support it."""
    default = context.deps.settings.locale
    if member is not None:
        return member.language or default
    user = update.effective_user if update else None
    return i18n.normalize(user.language_code if user else None, default)


def main_menu(lang: str, member: Member | None = None) -> ReplyKeyboardMarkup:
    """The reply keyboard of `member`'s role (the member keyboard when unknown)."""
    staff = member is not None and member.is_staff
    keys = (
        (UNIT_ROWS if member is not None and member.role == Role.UNIT.value else [])
        + (STAFF_ROWS if staff else [])
        + (MEMBER_ROWS if members.is_committee_member(member) else [])
        + [HELP_ROW]
    )
    rows = [[KeyboardButton(t(key, lang)) for key in row] for row in keys]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def menu_pattern(key: str) -> str:
    """A regex matching a menu button's text in any language."""
    return "^(" + "|".join(re.escape(text) for text in i18n.all_texts(key)) + ")$"


PRIVATE = filters.ChatType.PRIVATE
# A main-menu button pressed during a dialog leads to its own feature; the dialog's draft stays put.
MENU_BUTTONS = filters.Regex("|".join(menu_pattern(key) for key in MENU_COMMANDS))
# Text typed as an answer in a dialog: not a command, not a menu button.
TYPED = PRIVATE & filters.TEXT & ~filters.COMMAND & ~MENU_BUTTONS


def menu_button(key: str) -> filters.BaseFilter:
    """A main-menu button (its text in any language), in a private chat."""
    return PRIVATE & filters.Regex(menu_pattern(key))


def typed_text(update: Update) -> str:
    """What the person typed, without surrounding blanks ("" for anything that is not text)."""
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


def typed_within(update: Update, limit: int, refusal: str, *, required: bool = True) -> str:
    """What the person typed, at most `limit` characters (and not nothing, if `required`); a
    longer (or empty) answer asks the step again with the catalogue text `refusal` (given `limit`)."""
    text = typed_text(update)
    if len(text) > limit or (required and not text):
        raise AskAgain(refusal, limit=limit)
    return text


async def load_member(update: Update, context: Context) -> Member | None:
    user = update.effective_user
    if user is None:
        return None
    async with context.deps.db.session() as session:
        return await members.by_telegram_id(session, user.id)


def _guarded(
    func: MemberCallback[T], allowed: Callable[[Member], bool], refusal: str, kind: str | None
) -> Callback[T]:
    """`func` for a known person whom `allowed` lets through, checked on every call (button presses
    included); a stranger gets the join explanation, anyone else `refusal` (logged as a refused
    `kind` action when `kind` is given)."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Context) -> T | None:
        member = await load_member(update, context)
        if member is None:
            await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
            return None
        if not allowed(member):
            if kind is not None:
                log.info("refused %s action %s to member %s", kind, func.__name__, member.id)
            await refuse(update, t(refusal, lang_of(member, context)))
            return None
        return await func(update, context, member)

    return wrapper


def member_only(func: MemberCallback[T]) -> Callback[T]:
    """Run the handler only for an active member or staff; strangers get the join explanation, a
    handling unit's contact is told it has the unit commands only."""
    return _guarded(func, lambda member: member.role != Role.UNIT.value, "common.unit_commands_only", None)


def known_only(func: MemberCallback[T]) -> Callback[T]:
    """Anyone the bot knows (a member, staff or a handling unit's contact), e.g. /lang; strangers
    get the join explanation."""
    return _guarded(func, lambda _member: True, "common.not_allowed", None)


def unit_only(func: MemberCallback[T]) -> Callback[T]:
    """A handling unit's contact only (role "unit" with its unit): checked on every call, button
    presses included; members and staff are refused."""
    return _guarded(
        func,
        lambda member: member.role == Role.UNIT.value and member.unit_id is not None,
        "common.units_only",
        "unit",
    )


def staff_only(func: MemberCallback[T]) -> Callback[T]:
    """Secretariat-only: the role is checked on every call, button presses included."""
    return _guarded(func, lambda member: member.is_staff, "common.not_allowed", "staff")
