"""Update processing: concurrent across members, strictly in order for each member.

PTB's default processes every update one after another, so one slow member holds up all
250. Full concurrency would let a member's album photos race inside one dialog. This
processor gives each user their own lane.

A member first takes their place in their own lane and only then one of the processing slots:
PTB's own slot (its semaphore, taken before `do_process_update`) is unbounded here, so a member
with hundreds of updates queued (a stuck client, an album storm) holds one slot, not all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB takes a slot of its semaphore for every update before handing it here; so many that it never
# waits. `current_concurrent_updates` then counts every update in hand (the long poll's pacing).
UNBOUNDED = 2**31 - 1


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(UNBOUNDED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)  # updates being handled at once
        self._lanes: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            async with self._slots:
                await coroutine
            return
        lane = self._lanes.setdefault(user.id, asyncio.Lock())
        self._users[user.id] = self._users.get(user.id, 0) + 1
        try:
            async with lane, self._slots:
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
