"""What every handler needs, built once at start-up and kept in `application.bot_data`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.rules import Rules
from models.db import Database


@dataclass
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    rules: Rules
    # Feature-owned singletons (point rules, dispatcher, …), keyed by feature name.
    extras: dict[str, Any] = field(default_factory=dict)
