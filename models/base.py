"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime
from sqlmodel import Field

from bot.core.clock import utcnow

MAX_ROW_ID = 2**31 - 1  # row ids are INTEGER columns (4 bytes on PostgreSQL)


def created_field() -> datetime:
    return Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


def when_field(nullable: bool = True, index: bool = False) -> datetime | None:
    return Field(default=None, sa_column=Column(DateTime, nullable=nullable, index=index))


def big_int_field(*, unique: bool = False, nullable: bool = True, index: bool = False) -> int | None:
    """Telegram ids exceed 32 bits (PostgreSQL INTEGER), so they are BIGINT."""
    return Field(default=None, sa_column=Column(BigInteger, unique=unique, nullable=nullable, index=index))
