"""Shared column helpers for the SQLModel tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Table
from sqlmodel import Field, SQLModel

from bot.core.buttons import MAX_ROW_ID as MAX_ROW_ID  # row ids are INTEGER columns (4 bytes)
from bot.core.clock import utcnow


def created_field() -> Any:  # a Field: the column is a datetime
    return Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


def when_field(nullable: bool = True, index: bool = False) -> Any:  # datetime | None
    return Field(default=None, sa_column=Column(DateTime, nullable=nullable, index=index))


def big_int_field(*, unique: bool = False, nullable: bool = True, index: bool = False) -> Any:  # int | None
    """Telegram ids exceed 32 bits (PostgreSQL INTEGER), so they are BIGINT."""
    return Field(default=None, sa_column=Column(BigInteger, unique=unique, nullable=nullable, index=index))


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Table, for Core queries (SQLModel sets `__table__` at run time, undeclared)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table
