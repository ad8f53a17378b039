"""Update processing: concurrent across members, strictly in order for each member.

PTB's default processes every update one after another, so one slow member holds up all
250. Full concurrency would let a member's album photos race inside one dialog. This
processor gives each user their own lane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lane = self._lanes.setdefault(user.id, asyncio.Lock())
        self._users[user.id] = self._users.get(user.id, 0) + 1
        try:
            async with lane:
                await coroutine
        finally:
            self._users[user.id] -= 1
            if self._users[user.id] == 0:  # forget idle users so the dict does not grow forever
                del self._users[user.id]
                self._lanes.pop(user.id, None)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
