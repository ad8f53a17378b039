"""Dialogs: the one way a guided chat of several steps is written.

A dialog is `dialog(name, entry_points=..., states=..., fallbacks=..., prompts=...)`: states are
strings (they are stored as they are, `bot/telegram/persistence.py`), every state has a prompt (its
question and buttons, so any step can be asked again), and every step is an ordinary handler
callback decorated with `member_only` or `staff_only` (handlers/common.py) that returns the next
state (None: stay; END: done). A step refuses an answer by raising a `bot.core.refusals.Refusal`.

Steps every dialog has are made here, not written again: `leaving` (取消, /cancel), `asking` (a
button opening a step), `typed_or`, `ways_out` (fallbacks); `timed_dialog` has the settings' timeout.
"""

from __future__ import annotations

import functools
import uuid
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.telegram.ui import (
    App,
    Button,
    Buttons,
    Context,
    Prompt,
    answer_once,
    close_pressed,
    deps_of,
    refuse,
    reply,
)
from handlers.common import MENU_BUTTONS, PRIVATE, TYPED, MemberCallback, lang_of, load_member
from handlers.dialog_timeouts import END as END  # END and TIMEOUT are part of this module's API
from handlers.dialog_timeouts import TIMEOUT as TIMEOUT
from handlers.dialog_timeouts import Expiry, TimedConversation
from models.member import Member

State = str
Next = State | int | None  # where a step goes: a state, END, or None (the same step)
Handlers = list[BaseHandler[Update, Context, Any]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, Any]]
# What a step asks, in the person's language: the question and its buttons.
PromptFor = Callable[[Update, Context, str], Awaitable[Prompt]]
# Who may take a step, checked on every call: handlers.common.member_only, staff_only …
Guard = Callable[[MemberCallback[Any]], Callback]

# The dialog handling the current update and its state (set for the duration of one update).
_STATE: ContextVar[object] = ContextVar("dialog_state", default=None)
_CURRENT: ContextVar[Dialog | None] = ContextVar("dialog", default=None)

# Anything typed or sent in a dialog that none of the step's handlers takes.
_UNTAKEN = PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL & ~MENU_BUTTONS


def step_label(number: int, of: int, lang: str) -> str:
    """ "第 2 步，共 4 步：" before a dialog step's question."""
    return t("common.step", lang, n=number, of=of)


def numbered(
    steps: dict[Any, int], state: object, key: str, lang: str, *, of: int | None = None, **params: object
) -> str:
    """A step's question after its label: `steps` numbers the states, `of` the total if not the last number."""
    return step_label(steps[state], of or max(steps.values()), lang) + t(key, lang, **params)


def draft(context: Context, key: str) -> dict[str, Any]:
    """A dialog's draft: the person's data under the dialog's key (saved with its state)."""
    assert context.user_data is not None
    data: dict[str, Any] = context.user_data.setdefault(key, {})
    return data


def new_draft(context: Context, key: str, *, once: bool = False) -> dict[str, Any]:
    """A dialog's draft, empty, at its entry point. `once`: with a "key" naming the work it stores,
    so the work is stored once however often its last button is pressed (the services take it)."""
    assert context.user_data is not None
    data: dict[str, Any] = {"key": uuid.uuid4().hex} if once else {}
    context.user_data[key] = data
    return data


def drop_draft(context: Context, key: str) -> None:
    """Forget a dialog's draft (it ended, or its work is stored)."""
    if context.user_data is not None:
        context.user_data.pop(key, None)


async def leave(
    update: Update, context: Context, key: str, text_key: str, member: Member | None = None
) -> int:
    """End a dialog with nothing stored (取消, /cancel): its draft goes, a pressed card loses its
    buttons, and the person reads `text_key` (in `member`'s language; none given: their app's)."""
    drop_draft(context, key)
    await close_pressed(update)
    await reply(update, t(text_key, lang_of(member, context, update)))
    return END


def leaving(key: str, text_key: str, guard: Guard | None = None) -> Callback:
    """The step of 取消 or /cancel: `leave` the dialog of `key`, saying `text_key`. With a `guard`
    (staff_only …) the person is checked on every call and read to in their own language; without
    one, anyone in the dialog may leave it and reads their app's language."""

    async def step(update: Update, context: Context, member: Member | None = None) -> int:
        return await leave(update, context, key, text_key, member)

    step.__name__ = step.__qualname__ = f"leave_{key}"  # as the guard's log names it
    return guard(step) if guard is not None else step


def asking(state: State, guard: Guard) -> Callback:
    """A step that only asks the question of `state` (a button on a card that opens a step)."""

    async def step(update: Update, context: Context, member: Member) -> State:
        return await ask(update, context, state, lang_of(member, context))

    step.__name__ = step.__qualname__ = f"ask_{state}"
    return guard(step)


def typed_or(step: Callback, *buttons: Button) -> Handlers:
    """The handlers of a step answered by typing or by one of `buttons` (跳过, 今天 …)."""
    return [MessageHandler(TYPED, step), *(CallbackQueryHandler(step, pattern=b.matches) for b in buttons)]


def ways_out(step: Callback, button: Button) -> Handlers:
    """The fallbacks of a dialog left by /cancel or by its 取消 `button`, both taken by `step`."""
    return [
        CommandHandler("cancel", step, filters=PRIVATE),
        CallbackQueryHandler(step, pattern=button.matches),
    ]


class Dialog(TimedConversation):
    """A ConversationHandler that forgives, follows the person and times out across restarts.

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
    - A dialog left alone for `timeout` seconds runs its TIMEOUT handlers and ends, also after a
      restart (handlers.dialog_timeouts).
    """

    __slots__ = ("peers", "prompts", "fields", "data_key", "gone")

    def __init__(
        self,
        *args: Any,
        prompts: dict[object, PromptFor],
        fields: dict[str, object] | None = None,
        data_key: str | None = None,
        gone: str = "common.stale_button",
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, timeout=timeout, **kwargs)
        self.peers: list[Dialog] = []  # every Dialog of the application (link_dialogs)
        self.prompts = prompts
        self.fields = fields or {}
        self.data_key = data_key
        self.gone = gone

    # ------------------------------------------------------------------ which update is whose

    def check_update(self, update: object) -> Any:
        result = super().check_update(update)
        if result is None or isinstance(update, Expiry) or not isinstance(update, Update):
            return result
        if update.callback_query is not None:
            return result
        _state, key, handler, _check = result
        if handler in self.entry_points:
            return result
        mine = self._used.get(key, 0)
        for peer in self.peers:
            if peer is self or peer._used.get(key, 0) <= mine:
                continue
            # check_update's result starts with the current state: None when the dialog is closed
            theirs = ConversationHandler.check_update(peer, update)
            if theirs is not None and theirs[0] is not None:
                return None
        return result

    async def handle_update(self, update: Any, application: Any, check_result: Any, context: Any) -> Any:
        token, current = _STATE.set(check_result[0]), _CURRENT.set(self)
        try:
            return await super().handle_update(update, application, check_result, context)
        finally:
            _STATE.reset(token)
            _CURRENT.reset(current)

    # ------------------------------------------------------------------ asking again

    async def ask(
        self, update: Update, context: Context, state: object, lang: str, note: str | None = None
    ) -> None:
        """The question of `state`, after `note` (why the last answer was not taken) if any."""
        text, markup = await self.prompts[state](update, context, lang)
        await reply(update, f"{note}\n\n{text}" if note else text, markup)

    async def refused(self, update: Update, context: Context, refusal: Refusal, state: object) -> object:
        """A step refused an answer: say why and ask again (the same step, or the one named)."""
        member = await load_member(update, context)
        lang = lang_of(member, context, update)
        note = refusal.text(lang)
        if refusal.final or state not in self.prompts:
            if refusal.final:
                self._drop_data(context)
            await refuse(update, note)
            return END if refusal.final else None
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

    def _data(self, context: Context) -> object:
        return (context.user_data or {}).get(self.data_key) if self.data_key else {}

    def _drop_data(self, context: Context) -> None:
        if self.data_key and context.user_data is not None:
            context.user_data.pop(self.data_key, None)

    def forgiving(self, callback: Callback, state: object) -> Callback:
        """`callback` with its refusals answered by asking again (`state` None: the current one).
        A step (`state` given) whose dialog lost its data (`data_key`) ends the dialog politely;
        every step records when it was answered in the data (`touched`: a timeout's notice names it)."""

        @functools.wraps(callback)
        async def step(update: Update, context: Context) -> Any:
            if state is not None and not isinstance(self._data(context), dict):
                await refuse(
                    update, t(self.gone, lang_of(await load_member(update, context), context, update))
                )
                return END
            try:
                result = await callback(update, context)
            except Refusal as refusal:
                return await self.refused(
                    update, context, refusal, state if state is not None else _STATE.get()
                )
            data = self._data(context)
            if result != END and isinstance(data, dict) and self.data_key:
                data["touched"] = context.deps.clock.now().isoformat()
            return result

        return step


async def ask(update: Update, context: Context, state: State, lang: str) -> State:
    """Ask the question of `state` of the dialog handling this update; returns `state` (a step
    ends with `return await ask(update, context, NEXT, lang)`)."""
    current = _CURRENT.get()
    if current is None:
        raise RuntimeError("ask() outside a dialog")
    await current.ask(update, context, state, lang)
    return state


def _dialogs(app: App) -> list[Dialog]:
    return [handler for group in app.handlers.values() for handler in group if isinstance(handler, Dialog)]


def link_dialogs(app: App) -> None:
    """Let every dialog of the application see the others (call once all features registered)."""
    dialogs = _dialogs(app)
    for one in dialogs:
        one.peers = dialogs


def _stored(app: App) -> dict[tuple[str, Any], float]:
    """(dialog name, conversation key) -> when it was stored, for the dialogs open at start-up."""
    return dict(getattr(app.persistence, "conversation_used", {}))


def recall_dialog_use(app: App) -> None:
    """After a restart: when each open dialog was last used, from the stored states."""
    by_name = {one.name: one for one in _dialogs(app)}
    for (name, key), at in _stored(app).items():
        if name in by_name:
            by_name[name]._used.setdefault(key, at)


def rearm_dialog_timeouts(app: App) -> int:
    """After a restart: the timeouts of the dialogs that were open (call after recall_dialog_use)."""
    keys: dict[str, list[Any]] = {}
    for name, key in _stored(app):
        keys.setdefault(name, []).append(key)
    return sum(one.rearm_timeouts(app, keys.get(one.name or "", [])) for one in _dialogs(app))


def timed_dialog(app: App, name: str, **kwargs: Any) -> Dialog:
    """`dialog`, ended after the settings' DIALOG_TIMEOUT_MINUTES without an answer."""
    return dialog(name, timeout_minutes=deps_of(app).settings.dialog_timeout_minutes, **kwargs)


def dialog(
    name: str,
    *,
    entry_points: Handlers,
    states: dict[object, Handlers],
    fallbacks: Handlers,
    prompts: dict[object, PromptFor],
    buttons: Buttons | None = None,
    fields: dict[str, object] | None = None,
    data_key: str | None = None,
    gone: str = "common.stale_button",
    timeout_minutes: float | None = None,
    persistent: bool = True,
) -> Dialog:
    """A multi-step dialog: saved at every step (bot/telegram/persistence.py), restarted by its entry points,
    ended after `timeout_minutes` without an answer (its TIMEOUT handlers run first). It follows the
    person, not one message's buttons (per_message=False is intended, so PTB's warning about it is
    silenced).

    `prompts` asks each state's question (every state must have one: any step can be asked again);
    `buttons` are the dialog's buttons (an old or forged one is answered as stale); `fields` maps a
    refusal's field to the state that asks for it; `data_key` is the dialog's entry in user_data,
    made by the entry points: a step that finds it gone says `gone` and ends, a final refusal drops it."""
    steps = {state: handlers for state, handlers in states.items() if state != TIMEOUT}
    missing = [state for state in steps if state not in prompts]
    if missing:
        raise ValueError(f"dialog {name!r}: no prompt for state(s) {missing}")
    catch_all: Handlers = [MessageHandler(_UNTAKEN, _placeholder)]
    if buttons is not None:
        catch_all.append(CallbackQueryHandler(_placeholder, pattern=buttons.owns))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        one = Dialog(
            name=name,
            persistent=persistent,
            allow_reentry=True,
            entry_points=entry_points,
            states=states,
            fallbacks=[*fallbacks, *catch_all],
            prompts=prompts,
            fields=fields,
            data_key=data_key,
            gone=gone,
            timeout=timeout_minutes * 60 if timeout_minutes else None,
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
