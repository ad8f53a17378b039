"""The bot's command list per role: shown by /help and set per chat with setMyCommands.

Descriptions come from the `commands.<name>` catalogue entries.
"""

from __future__ import annotations

from telegram import BotCommand

from bot.core.i18n import t

MEMBER_COMMANDS = ["report", "me", "myreports", "info", "myinfo", "proposal", "myproposals", "events", "checkin", "lang", "help", "cancel"]
STAFF_COMMANDS = ["review", "inbox", "record", "newevent", "outcome", "log", "deadline", "digest", "proposals"]
STRANGER_COMMANDS = ["start", "help"]
UNIT_COMMANDS = ["myunit", "lang", "help", "cancel"]  # a handling unit's contact (role "unit")


def commands_for(role: str | None) -> list[str]:
    """Command names for a role; None is a user who is not (yet) a member."""
    if role is None:
        return STRANGER_COMMANDS
    if role == "unit":
        return UNIT_COMMANDS
    if role in ("secretariat", "admin"):
        return MEMBER_COMMANDS + STAFF_COMMANDS
    return MEMBER_COMMANDS


def bot_commands(role: str | None, lang: str) -> list[BotCommand]:
    return [BotCommand(name, t(f"commands.{name}", lang)) for name in commands_for(role)]


def help_text(role: str | None, lang: str) -> str:
    lines = [f"/{name} — {t(f'commands.{name}', lang)}" for name in commands_for(role)]
    return "\n".join(lines)
