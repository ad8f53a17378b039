"""The request object behind the bot's long poll (getUpdates).

While many updates are already being handled, fetching again at once returns only the one or two
that arrived meanwhile, and each fetch costs the bot a request and a parse. So when the bot is busy
it waits a moment before the next fetch and takes a batch; idle, it fetches at once, so a member
waiting alone is not delayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram.request import HTTPXRequest

BUSY_UPDATES = 8  # updates in hand at which the next fetch waits
PAUSE_SECONDS = 0.02  # what an update may wait to be fetched while the bot is busy anyway


class PacedUpdatesRequest(HTTPXRequest):
    """HTTPXRequest for getUpdates that pauses first while `in_hand()` is at least BUSY_UPDATES."""

    __slots__ = ("_in_hand", "_pause")

    def __init__(self, in_hand: Callable[[], int], *, pause: float = PAUSE_SECONDS, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=1, **kwargs)
        self._in_hand = in_hand
        self._pause = pause

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if self._in_hand() >= BUSY_UPDATES:
            await asyncio.sleep(self._pause)
        return await super().do_request(*args, **kwargs)
