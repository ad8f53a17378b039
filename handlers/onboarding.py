"""Joining and getting around: /start with an invite code, /help, /lang, the main menu,
and the explanation strangers get."""

from __future__ import annotations

import logging

from telegram import BotCommandScopeChat, Update
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.core import i18n
from bot.core.i18n import t
from bot.services import events, invites, members
from bot.telegram.commands import bot_commands, help_text
from bot.telegram.ui import App, Buttons, Context, keyboard, refuse, reply
from handlers.common import PRIVATE, known_only, lang_of, load_member, main_menu, menu_button
from handlers.events import policy
from models import Member

log = logging.getLogger(__name__)

MAX_CODE_LENGTH = 64
LANGUAGES = {"zh": "中文", "en": "English"}
LANG = Buttons("lang")(words=LANGUAGES)  # lang:zh


async def set_chat_commands(context: Context, member: Member) -> None:
    """The command list a member sees depends on their role and language."""
    assert member.telegram_user_id is not None
    lang = lang_of(member, context)
    await context.bot.set_my_commands(
        bot_commands(member.role, lang), scope=BotCommandScopeChat(member.telegram_user_id)
    )


async def start(update: Update, context: Context) -> None:
    """/start [code]: bind with an invite code, or greet a member who is already bound."""
    assert update.effective_user is not None
    code = context.args[0] if context.args else ""
    member = await load_member(update, context)
    if not code or member is not None:
        if member is None:
            await reply(update, t("onboarding.stranger", lang_of(None, context, update)))
            return
        lang = lang_of(member, context)
        key = "onboarding.already_bound" if code else "onboarding.welcome_back"
        await reply(update, t(key, lang, name=member.name), main_menu(lang, member))
        return
    d = context.deps
    if len(code) > MAX_CODE_LENGTH:
        code = ""  # never valid; still counts as a wrong try
    async with d.db.session() as session:
        # The Telegram app's language becomes the member's unless the roster or /lang set one.
        outcome, member = await invites.bind(
            session,
            code,
            update.effective_user.id,
            now=d.clock.now(),
            language=i18n.supported(update.effective_user.language_code),
        )
        if outcome is invites.BindOutcome.BOUND and member is not None:
            # events published before they joined: invited now, if still ahead and meant for them
            await events.invite_late_member(session, member, now=d.clock.now(), policy=policy(context))
    lang = lang_of(member, context, update)
    if outcome is invites.BindOutcome.BOUND and member is not None:
        log.info("member %s bound a Telegram account", member.id)
        await reply(update, t("onboarding.welcome", lang, name=member.name), main_menu(lang, member))
        await reply(update, help_text(member.role, lang))
        await set_chat_commands(context, member)
        return
    log.info("binding refused: %s", outcome.value)
    await reply(update, t(f"onboarding.bind_{outcome.value}", lang))


async def help_command(update: Update, context: Context) -> None:
    """/help: the commands of the caller's role; strangers learn how to join."""
    member = await load_member(update, context)
    lang = lang_of(member, context, update)
    if member is None:
        await reply(update, t("onboarding.stranger", lang))
        return
    text = t("onboarding.help_header", lang, name=member.name) + "\n\n" + help_text(member.role, lang)
    await reply(update, text, main_menu(lang, member))


@known_only
async def lang_command(update: Update, context: Context, member: Member) -> None:
    """/lang [zh|en]: switch language, directly or with buttons."""
    wanted = context.args[0].lower() if context.args else ""
    if wanted in LANGUAGES:
        await _switch_language(update, context, member, wanted)
        return
    buttons = keyboard([[(label, LANG(code)) for code, label in LANGUAGES.items()]])
    await reply(update, t("onboarding.lang_choose", lang_of(member, context)), buttons)


@known_only
async def lang_button(update: Update, context: Context, member: Member) -> None:
    await _switch_language(update, context, member, LANG.read(update).word)


async def _switch_language(update: Update, context: Context, member: Member, lang: str) -> None:
    async with context.deps.db.session() as session:
        member = await session.merge(member)
        await members.set_language(session, member, lang)
    await reply(update, t("onboarding.lang_set", lang), main_menu(lang, member))
    await set_chat_commands(context, member)


async def fallback(update: Update, context: Context) -> None:
    """Anything no feature handled: strangers learn how to join, members get the menu back."""
    member = await load_member(update, context)
    lang = lang_of(member, context, update)
    if update.callback_query is not None:
        await refuse(update, t("common.stale_button", lang))
        return
    if update.effective_chat is None:
        return
    if member is None:
        await reply(update, t("onboarding.stranger", lang))
        return
    await reply(update, t("common.not_understood", lang), main_menu(lang, member))


async def chat_member_changed(update: Update, context: Context) -> None:
    """A member blocked (or unblocked) the bot: stop or resume queueing messages for them."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status in ("kicked", "left")
    async with context.deps.db.session() as session:
        member = await members.by_telegram_id(session, change.chat.id)
        if member is not None:
            await members.set_reachable(session, member, not blocked)
            log.info("member %s %s the bot", member.id, "blocked" if blocked else "unblocked")


def register(app: App) -> None:
    app.add_handler(ChatMemberHandler(chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CommandHandler("start", start, filters=PRIVATE))
    app.add_handler(CommandHandler("help", help_command, filters=PRIVATE))
    app.add_handler(MessageHandler(menu_button("menu.help"), help_command))
    app.add_handler(CommandHandler("lang", lang_command, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(lang_button, pattern=LANG.matches))


def register_fallback(app: App) -> None:
    """Registered after every feature: in one group only the first matching handler runs."""
    # Only new messages: an edit of an old message is not a new request.
    app.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, fallback)
    )
    app.add_handler(CallbackQueryHandler(fallback))
