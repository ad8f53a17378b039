"""The request object behind the bot's long poll (getUpdates).

While many updates are already being handled, fetching again at once returns only the one or two
that arrived meanwhile, and each fetch costs the bot a request and a parse. So when the bot is busy
it waits a moment before the next fetch and takes a batch; idle, it fetches at once, so a member
waiting alone is not delayed. After a full batch more are waiting anyway: no pause then.

One update python-telegram-bot cannot read (a shape it does not know) fails the whole batch, and
PTB fetches the same batch again at once, forever. When a batch comes again, each update in it is
read on its own; one that cannot be read is logged once by its id (never its content) and replaced
by an empty update with the same id, so the poll moves on. PTB's own two lines about such a batch
(they quote what was received) are dropped; its other polling lines lose their tracebacks and are
capped when they repeat (a network outage retries for as long as it lasts).

Every batch is stored (`keep`, the update inbox of `bot.telegram.inbox`) before PTB sees it: PTB
confirms a batch with its next getUpdates, before the updates are handled, so what is not stored by
then is lost with the process. When the store fails, PTB is told the request failed and fetches the
same batch again (nothing was confirmed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

BUSY_UPDATES = 8  # updates in hand at which the next fetch waits
PAUSE_SECONDS = 0.02  # what an update may wait to be fetched while the bot is busy anyway
FULL_BATCH = 100  # Telegram's most updates per getUpdates


class PacedUpdatesRequest(HTTPXRequest):
    """HTTPXRequest for getUpdates that pauses first while `in_hand()` is at least BUSY_UPDATES,
    and that skips updates PTB cannot read."""

    __slots__ = ("_full", "_in_hand", "_keep", "_kept", "_last_count", "_last_offset", "_offset", "_pause")

    def __init__(self, in_hand: Callable[[], int], *, pause: float = PAUSE_SECONDS,
                 keep: Callable[[list], Awaitable[object]] | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(connection_pool_size=1, **kwargs)
        self._in_hand = in_hand
        self._keep = keep
        self._kept: tuple[bytes, dict[str, Any]] | None = None  # a payload parsed to store it, for PTB's parse
        self._pause = pause
        self._offset: object = None  # offset of the request under way
        self._last_offset: object = None  # offset and size of the last batch received
        self._last_count = 0
        self._full = False

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        self._offset = request_data.parameters.get("offset") if request_data is not None else None
        if self._in_hand() >= BUSY_UPDATES and not self._full:
            await asyncio.sleep(self._pause)
        status, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        if self._keep is not None and status == 200:
            data = json.loads(payload.decode("utf-8", "replace"))
            if isinstance(data.get("result"), list) and data["result"]:
                await self._keep(data["result"])  # before PTB can confirm them
            self._kept = (payload, data)
        return status, payload

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]  # PTB calls it on the instance
        kept, self._kept = self._kept, None
        data = kept[1] if kept is not None and kept[0] is payload else super().parse_json_payload(payload)
        updates = data.get("result")
        if isinstance(updates, list):
            if updates and self._last_count and self._offset == self._last_offset:
                # the offset did not move past the last batch: PTB could not read it
                data["result"] = updates = readable(updates)
            self._last_offset, self._last_count = self._offset, len(updates)
            self._full = len(updates) >= FULL_BATCH
        return data


def readable(updates: list) -> list:
    """The batch with every update PTB cannot read replaced by an empty one of the same id."""
    out = []
    for item in updates:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not isinstance(update_id, int):
            log.warning("an update without an id was received and is skipped")
            continue
        try:
            Update.de_json(item, None)
        except Exception as exc:  # any failure to read it: the content is never logged
            log.warning("update %s could not be read (%s) and is skipped", update_id, type(exc).__name__)
            item = {"update_id": update_id}
        out.append(item)
    return out


class RepeatCap(logging.Filter):
    """Warnings and worse: at most `limit` lines of one kind (logger and message template) per
    `window` seconds; the next line after a quiet spell says how many were left out. A line with a
    traceback keeps only its text up to the first value and the exception's type: PTB quotes what
    it received ("Received data was [...]"), which is what members wrote."""

    def __init__(self, limit: int = 3, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.limit, self.window, self._clock = limit, window, clock
        self._seen: dict[tuple[str, object], list] = {}  # kind -> [window start, lines, left out]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.msg).split("%", 1)[0].rstrip(" :")
            record.msg, record.args = f"{text} ({type(record.exc_info[1]).__name__})", ()
            record.exc_info, record.exc_text = None, None
        now = self._clock()
        if len(self._seen) > 1000:  # kinds are message templates: only a line built with its values grows this
            self._seen.clear()
        seen = self._seen.setdefault(kind, [now, 0, 0])
        if now - seen[0] > self.window:
            if seen[2]:
                record.msg = f"{record.msg} [{seen[2]} more like this in the last {self.window:g} s left out]"
            seen[:] = [now, 0, 0]
        seen[1] += 1
        if seen[1] > self.limit:
            seen[2] += 1
            return False
        return True


# PTB's two lines about a batch it could not read (each with the whole batch or a traceback): the
# update is named once by `readable` instead.
UNREADABLE_BATCH = ("Error while parsing updates!", "Something went wrong processing the data received")


def _not_about_an_unreadable_batch(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(UNREADABLE_BATCH)


# getUpdates failures (the bot's parse, the updater) and the retries of PTB's network loop
POLLING_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Updater", "telegram.ext")


def cap_polling_logs() -> None:
    """Install the filters on PTB's polling loggers (once per process)."""
    for name in POLLING_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatCap) for f in logger.filters):
            logger.addFilter(_not_about_an_unreadable_batch)
            logger.addFilter(RepeatCap())
