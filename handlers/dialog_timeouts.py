"""A dialog's timeout, kept across restarts (the base of `handlers.dialog.Dialog`).

A dialog left alone for `timeout` seconds runs its TIMEOUT handlers and ends, and the end is saved
at once (no update follows it). The timeouts are this class's own jobs rather than PTB's
`conversation_timeout`: PTB keeps those only in memory and offers no public way to arm one for a
conversation restored from persistence (python-telegram-bot issue #1825), so after a restart every
open dialog is armed again from its last stored step (`rearm_timeouts`). A timeout ends the dialog
through PTB's own `handle_update` (a handler that returns END).
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from telegram import Chat, Message, Update, User
from telegram.ext import ConversationHandler, Job, TypeHandler

from bot.telegram import metrics
from bot.telegram.persistence import DatabasePersistence
from bot.telegram.ui import App, Context

END = ConversationHandler.END
TIMEOUT = ConversationHandler.TIMEOUT


def person_of_conversation(key: Any) -> int:
    """The user of a conversation key ((chat, user) for every dialog here)."""
    return int(key[-1] if isinstance(key, tuple) else key)


class Expiry(Update):
    """What a dialog's timeout hands its TIMEOUT handlers: an update naming the dialog's chat and
    person (the update that last moved the dialog would not survive a restart)."""

    __slots__ = ()

    @classmethod
    def of(cls, key: Any) -> Expiry:
        user_id = person_of_conversation(key)
        chat_id = int(key[0]) if isinstance(key, tuple) else user_id
        message = Message(message_id=0, date=datetime.now(UTC), chat=Chat(id=chat_id, type=Chat.PRIVATE),
                          from_user=User(id=user_id, first_name="", is_bot=False))  # fmt: skip
        return cls(update_id=0, message=message)


class TimedConversation(ConversationHandler[Context]):
    """A ConversationHandler whose open conversations end after `timeout` seconds without an update."""

    __slots__ = ("_used", "_timeouts", "_expiry_handler", "timeout")

    def __init__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._used: dict[object, float] = {}  # conversation key -> when it last handled an update
        self._timeouts: dict[object, Job[Any]] = {}  # conversation key -> its armed timeout
        self._expiry_handler: TypeHandler[Expiry, Context, object] = TypeHandler(Expiry, self._expired)
        self.timeout = timeout

    def check_update(self, update: object) -> Any:
        if isinstance(update, Expiry):  # open dialogs only: the timeout runs instead of any step
            found = super().check_update(update)
            if found is None or found[0] is None:
                return None
            return found[0], found[1], self._expiry_handler, True
        return super().check_update(update)

    async def handle_update(self, update: Any, application: Any, check_result: Any, context: Any) -> Any:
        key = check_result[1]
        expiry = isinstance(update, Expiry)
        if not expiry:
            self._used[key] = time.time()
            self._disarm(key)
        try:
            return await super().handle_update(update, application, check_result, context)
        finally:
            if not expiry:
                self._arm(application, key, self.timeout)

    def is_open(self, key: Any) -> bool:
        """Whether the dialog is under way for this conversation key."""
        return self.check_update(Expiry.of(key)) is not None


    def _arm(self, app: App, key: Any, delay: float | None) -> bool:
        if delay is None or app.job_queue is None or not self.is_open(key):
            return False
        self._disarm(key)
        # a late timeout (a busy or sleeping machine) still runs: APScheduler would skip it after 1 s
        self._timeouts[key] = app.job_queue.run_once(
            self._expire,
            delay,
            data=key,
            name=f"{self.name} timeout",
            job_kwargs={"misfire_grace_time": None},
        )
        return True

    def _disarm(self, key: Any) -> None:
        job = self._timeouts.pop(key, None)
        if job is not None:
            with suppress(JobLookupError):  # it is firing right now: _expire sees it was disarmed
                job.schedule_removal()

    async def _expire(self, context: Context) -> None:
        """The timeout job: unless the person answered meanwhile, run the TIMEOUT handlers and end."""
        job = context.job
        assert job is not None
        key = job.data
        if self._timeouts.get(key) is not job:
            return
        del self._timeouts[key]
        app: App = context.application
        update = Expiry.of(key)
        update.set_bot(app.bot)
        found = self.check_update(update)
        if found is None:
            return
        await self.handle_update(update, app, found, Context.from_update(update, app))
        metrics.DIALOG_TIMEOUTS.labels(self.name or "dialog").inc()
        if isinstance(app.persistence, DatabasePersistence):
            await app.persistence.save_idle(app, person_of_conversation(key))

    async def _expired(self, update: Update, context: Context) -> object:
        app: App = context.application
        for handler in self.states.get(TIMEOUT, []):
            check = handler.check_update(update)
            if check is not None and check is not False:
                await handler.handle_update(update, app, check, context)
        return END

    def rearm_timeouts(self, app: App, keys: list[Any]) -> int:
        """After a restart: the timeout of each open dialog of `keys`, counted from its last stored
        step. Returns how many were armed."""
        if not self.timeout:
            return 0
        now = time.time()
        return sum(
            self._arm(app, key, max(0.0, self._used.get(key, now) + self.timeout - now))
            for key in keys
            if key not in self._timeouts
        )
