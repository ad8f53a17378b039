"""What every handler needs, built once at start-up and kept in `application.bot_data`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.rules import Rules
from bot.services.reminders import ReminderPolicy, policy_from_settings
from bot.telegram.dispatcher import Dispatcher
from bot.telegram.journal import UpdateJournal
from models.db import Database


@dataclass
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    rules: Rules
    # which updates were handled (bot.telegram.dedupe skips a redelivery)
    journal: UpdateJournal = field(default_factory=UpdateJournal)
    # the outbox's dispatcher, from start-up on (bot.telegram.app.start_plumbing); None before
    dispatcher: Dispatcher | None = None

    @cached_property
    def reminder_policy(self) -> ReminderPolicy:
        """Quiet hours, deadline reminder days and the holiday calendar, read from the settings once."""
        return policy_from_settings(self.settings)
