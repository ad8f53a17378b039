"""Helpers every feature's handlers share: dependencies, the member behind an update,
role checks on every call (commands and button presses alike), replies, the main menu."""

from __future__ import annotations

import functools
import logging
import re
import time
import warnings
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
    User,
)
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.ext._handlers.conversationhandler import _ConversationTimeoutContext
from telegram.warnings import PTBUserWarning

from bot.core import i18n
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services import members
from bot.telegram import metrics, presses
from bot.telegram.deps import Deps
from bot.telegram.persistence import DatabasePersistence
from models import Member

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
T = TypeVar("T")
MemberCallback = Callable[[Update, Context, Member], Awaitable[T]]

# Main menu rows: catalogue keys of reply-keyboard buttons, each leading to a command. Members get
# what they do; the secretariat gets its own work (a staff member who is also a 委员 gets both).
MEMBER_ROWS = [["menu.report", "menu.info"], ["menu.events", "menu.me"]]
STAFF_ROWS = [["menu.review", "menu.inbox"], ["menu.digest", "menu.newevent"]]
HELP_ROW = ["menu.help"]
MENU_COMMANDS = {
    "menu.report": "report",
    "menu.info": "info",
    "menu.events": "events",
    "menu.me": "me",
    "menu.help": "help",
    "menu.review": "review",
    "menu.inbox": "inbox",
    "menu.digest": "digest",
    "menu.newevent": "newevent",
}


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline buttons from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows if row]
    )


def grid(buttons: list[tuple[str, str]], columns: int) -> InlineKeyboardMarkup:
    """Buttons laid out `columns` to a row (short labels fit two to a row on a phone)."""
    return keyboard([buttons[i : i + columns] for i in range(0, len(buttons), columns)])


def step_label(number: int, of: int, lang: str) -> str:
    """ "第 2 步，共 4 步：" before a dialog step's question."""
    return t("common.step", lang, n=number, of=of)


def deps(context: Context) -> Deps:
    return context.bot_data["deps"]


def lang_of(member: Member | None, context: Context, update: Update | None = None) -> str:
    """The member's language; for strangers, their Telegram app's language if we support it."""
    default = deps(context).settings.locale
    if member is not None:
        return member.language or default
    user = update.effective_user if update else None
    return i18n.normalize(user.language_code if user else None, default)


def main_menu(lang: str, member: Member | None = None) -> ReplyKeyboardMarkup:
    """The reply keyboard of `member`'s role (the member keyboard when unknown)."""
    staff = member is not None and member.is_staff
    keys = (STAFF_ROWS if staff else []) + (MEMBER_ROWS if members.is_committee_member(member) else []) + [HELP_ROW]
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


Prompt = tuple[str, InlineKeyboardMarkup | None]
# What a step asks, in the person's language: the question and its buttons.
PromptFor = Callable[[Update, "Context", str], Awaitable[Prompt]]

# The state of the dialog handling the current update (set for the duration of one update).
_STATE: ContextVar[object] = ContextVar("dialog_state", default=None)

# Anything typed or sent in a dialog that none of the step's handlers takes.
_UNTAKEN = PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & ~MENU_BUTTONS


class Dialog(ConversationHandler):
    """A ConversationHandler that forgives: every step can be asked again, and is.

    - A step that refuses an answer raises a `bot.core.refusals.Refusal` (a service error or `AskAgain`):
      the person reads why, followed by the same step's question with its buttons (or the step the
      refusal names), and the dialog stays where it was. Only a final refusal (the item is gone,
      someone else already handled it) ends the dialog.
    - Whatever a step does not take (text where a button is wanted, a photo where text is wanted)
      gets the step's question again instead of falling out of the dialog to the bot's general
      "not understood"; an old button of the dialog is answered as stale.
    - A message goes to the person's most recently used open dialog. A person can have several
      dialogs open (a 社情民意 draft waiting for its title while they report an activity; a
      secretary asked for a 退回 reason in the middle of their own report); PTB gives a message to
      the first registered dialog that accepts it, so here a dialog declines a message that a more
      recently used open dialog also accepts. Entry points (/report, /info …) and button presses
      are never declined: they name their dialog themselves. When each dialog was last used
      survives a restart through the stored states (recall_dialog_use).
    """

    __slots__ = ("_used", "peers", "prompts", "fields", "data_key")

    def __init__(
        self,
        *args: Any,
        prompts: dict[object, PromptFor],
        fields: dict[str, object] | None = None,
        data_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._used: dict[object, float] = {}  # conversation key -> when it last handled an update
        self.peers: list[Dialog] = []  # every Dialog of the application (link_dialogs)
        self.prompts = prompts
        self.fields = fields or {}
        self.data_key = data_key

    def check_update(self, update: object) -> Any:
        result = super().check_update(update)
        if result is None or not isinstance(update, Update) or update.callback_query is not None:
            return result
        _state, key, handler, _check = result
        if handler in self.entry_points:
            return result
        mine = self._used.get(key, 0)
        for peer in self.peers:
            if (
                peer is not self
                and peer._used.get(key, 0) > mine
                and peer._conversations.get(key) is not None  # still open for this person
                and ConversationHandler.check_update(peer, update) is not None
            ):
                return None
        return result

    async def handle_update(self, update: Any, application: Any, check_result: Any, context: Any) -> Any:
        self._used[check_result[1]] = time.time()
        token = _STATE.set(check_result[0])
        try:
            return await super().handle_update(update, application, check_result, context)
        finally:
            _STATE.reset(token)

    # ------------------------------------------------------------------ asking again

    async def ask(
        self, update: Update, context: Context, state: object, lang: str, note: str | None = None
    ) -> None:
        """The question of `state`, after `note` (why the last answer was not taken) if any."""
        text, markup = await self.prompts[state](update, context, lang)
        await reply(update, f"{note}\n\n{text}" if note else text, reply_markup=markup)

    async def refused(self, update: Update, context: Context, refusal: Refusal, state: object) -> object:
        """A step refused an answer: say why and ask again (the same step, or the one named)."""
        member = await load_member(update, context)
        lang = lang_of(member, context, update)
        note = refusal.text(lang)
        if refusal.final or state not in self.prompts:
            if refusal.final and self.data_key and context.user_data is not None:
                context.user_data.pop(self.data_key, None)
            await refuse(update, note)
            return ConversationHandler.END if refusal.final else None
        target = self.fields.get(refusal.field or "", state)
        message = update.effective_message
        hand_back = (message.text or message.caption) if refusal.hand_back and message is not None else None
        if hand_back:
            note += "\n" + t("common.handed_back", lang)
        if update.callback_query is not None:
            await answer_once(update, note, alert=True)
            if target != state:  # the pressed question is still on screen unless another step is wanted
                await self.ask(update, context, target, lang)
            return target
        await self.ask(update, context, target, lang, note)
        if hand_back:
            await reply(update, hand_back)  # nothing typed is lost: here it is, to copy and shorten
        return target

    async def again(self, update: Update, context: Context) -> None:
        """Anything the current step does not take: an old button is refused, anything else gets
        the step's question again."""
        state = _STATE.get()
        member = await load_member(update, context)
        lang = lang_of(member, context, update)
        if update.callback_query is not None or state not in self.prompts:
            await refuse(update, t("common.stale_button", lang))
            return
        await self.ask(update, context, state, lang, t("common.step_again", lang))

    def forgiving(self, callback: Callable[..., Awaitable[Any]], state: object) -> Callable[..., Awaitable[Any]]:
        """`callback` with its refusals answered by asking again (`state` None: the current one)."""

        @functools.wraps(callback)
        async def step(update: Update, context: Context) -> Any:
            try:
                return await callback(update, context)
            except Refusal as refusal:
                return await self.refused(update, context, refusal, state if state is not None else _STATE.get())

        return step

    async def _trigger_timeout(self, context: Any) -> None:
        """PTB's timeout (the TIMEOUT handlers, then the end), saved at once: no update follows it."""
        await super()._trigger_timeout(context)
        metrics.DIALOG_TIMEOUTS.labels(self.name or "dialog").inc()
        data = context.job.data
        persistence = data.application.persistence
        if isinstance(persistence, DatabasePersistence):
            await persistence.save_idle(data.application, person_of_conversation(data.conversation_key))

    def rearm_timeouts(self, app: Any) -> int:
        """After a restart: the timeout of every dialog that was open, counted from its last stored
        step (PTB keeps timeouts only in memory). Returns how many were armed."""
        if not self.conversation_timeout or not self.persistent or app.job_queue is None:
            return 0
        timeout = self.conversation_timeout
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        now = time.time()
        armed = 0
        for key, state in list(self._conversations.items()):
            if state is None or key in self.timeout_jobs:
                continue
            update = _stand_in_update(key, app.bot)
            context = app.context_types.context.from_update(update, app)
            delay = max(0.0, self._used.get(key, now) + seconds - now)
            self.timeout_jobs[key] = app.job_queue.run_once(
                self._trigger_timeout, delay, data=_ConversationTimeoutContext(key, update, app, context)
            )
            armed += 1
        return armed


def person_of_conversation(key: Any) -> int:
    """The user of a conversation key ((chat, user) for every dialog here)."""
    return int(key[-1] if isinstance(key, tuple) else key)


def _stand_in_update(key: Any, bot: Any) -> Update:
    """The update a re-armed timeout hands its TIMEOUT handlers: PTB's timeout passes the dialog's
    last update, which did not survive the restart; this one names the same chat and person."""
    user_id = person_of_conversation(key)
    chat_id = int(key[0]) if isinstance(key, tuple) else user_id
    message = Message(message_id=0, date=datetime.now(UTC), chat=Chat(id=chat_id, type=Chat.PRIVATE),
                      from_user=User(id=user_id, first_name="", is_bot=False))  # fmt: skip
    update = Update(update_id=0, message=message)
    update.set_bot(bot)
    return update


def _dialogs(app: Any) -> list[Dialog]:
    return [handler for group in app.handlers.values() for handler in group if isinstance(handler, Dialog)]


def link_dialogs(app: Any) -> None:
    """Let every dialog of the application see the others (call once all features registered)."""
    dialogs = _dialogs(app)
    for one in dialogs:
        one.peers = dialogs


def rearm_dialog_timeouts(app: Any) -> int:
    """After a restart: the timeouts of the dialogs that were open (call after recall_dialog_use)."""
    return sum(one.rearm_timeouts(app) for one in _dialogs(app))


def recall_dialog_use(app: Any) -> None:
    """After a restart: when each open dialog was last used, from the stored states."""
    by_name = {one.name: one for one in _dialogs(app)}
    for (name, key), at in getattr(app.persistence, "conversation_used", {}).items():
        if name in by_name:
            by_name[name]._used.setdefault(key, at)


def dialog(
    name: str,
    *,
    entry_points: list[BaseHandler],
    states: dict[object, list[BaseHandler]],
    fallbacks: list[BaseHandler],
    prompts: dict[object, PromptFor],
    buttons: str | None = None,
    fields: dict[str, object] | None = None,
    data_key: str | None = None,
    timeout_minutes: float | None = None,
    persistent: bool = True,
) -> Dialog:
    """A multi-step dialog: saved at every step (bot/telegram/persistence.py), restarted by its entry points,
    ended after `timeout_minutes` without an answer. It follows the person, not one message's
    buttons (per_message=False is intended, so PTB's warning about it is silenced).

    `prompts` asks each state's question (every state must have one: any step can be asked again);
    `buttons` is the prefix of the dialog's callback data (its old buttons are answered as stale);
    `fields` maps a refusal's field to the state that asks for it; `data_key` is the dialog's entry
    in user_data, dropped when a final refusal ends the dialog."""
    steps = {state: handlers for state, handlers in states.items() if state != ConversationHandler.TIMEOUT}
    missing = [state for state in steps if state not in prompts]
    if missing:
        raise ValueError(f"dialog {name!r}: no prompt for state(s) {missing}")
    catch_all: list[BaseHandler] = [MessageHandler(_UNTAKEN, _placeholder)]
    if buttons:
        catch_all.append(CallbackQueryHandler(_placeholder, pattern="^" + re.escape(buttons)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        one = Dialog(
            name=name,
            persistent=persistent,
            allow_reentry=True,
            conversation_timeout=timeout_minutes * 60 if timeout_minutes else None,
            entry_points=entry_points,
            states=states,
            fallbacks=[*fallbacks, *catch_all],
            prompts=prompts,
            fields=fields,
            data_key=data_key,
        )
    wrapped: set[int] = set()
    for state, handlers in [(None, entry_points), *steps.items(), (None, fallbacks)]:
        for handler in handlers:
            if id(handler) in wrapped:
                raise ValueError(f"dialog {name!r}: a handler object is used twice")
            wrapped.add(id(handler))
            handler.callback = one.forgiving(handler.callback, state)
    for handler in catch_all:
        handler.callback = one.again
    return one


async def _placeholder(update: Update, context: Context) -> None:  # replaced by Dialog.again
    raise NotImplementedError


async def answer_once(update: Update, text: str | None = None, alert: bool = False) -> bool:
    """Answer the button press behind `update` unless it was answered already (bot/telegram/presses.py);
    True if this call answered it. A press nobody answers is answered when its update ends."""
    query = update.callback_query
    return query is not None and await presses.answer(query, text, alert)


async def reply(update: Update, text: str, **kwargs: Any) -> None:
    """Answer in the chat the update came from (a message or a button press)."""
    await answer_once(update)
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, **kwargs)


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


async def show(update: Update, prompt: Prompt) -> None:
    """Ask a step's question: its text and buttons."""
    text, markup = prompt
    await reply(update, text, reply_markup=markup)


async def load_member(update: Update, context: Context) -> Member | None:
    user = update.effective_user
    if user is None:
        return None
    async with deps(context).db.session() as session:
        return await members.by_telegram_id(session, user.id)


async def refuse(update: Update, text: str) -> None:
    """A polite refusal: as an alert on a button press, as a message otherwise."""
    if update.callback_query is not None and await answer_once(update, text, alert=True):
        return
    if update.effective_chat is not None:  # a message, or a press answered before: say it in the chat
        await update.effective_chat.send_message(text)


def member_only(func: MemberCallback[T]) -> Callable[[Update, Context], Awaitable[T | None]]:
    """Run the handler only for an active member; strangers get the join explanation."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Context) -> T | None:
        member = await load_member(update, context)
        if member is None:
            await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
            return None
        return await func(update, context, member)

    return wrapper


def staff_only(func: MemberCallback[T]) -> Callable[[Update, Context], Awaitable[T | None]]:
    """Secretariat-only: the role is checked on every call, button presses included."""

    @functools.wraps(func)
    async def wrapper(update: Update, context: Context) -> T | None:
        member = await load_member(update, context)
        if member is None:
            await refuse(update, t("onboarding.stranger", lang_of(None, context, update)))
            return None
        if not member.is_staff:
            log.info("refused staff action %s to member %s", func.__name__, member.id)
            await refuse(update, t("common.not_allowed", lang_of(member, context)))
            return None
        return await func(update, context, member)

    return wrapper
