"""Plumbing tables: received and handled updates, the outbox, and persisted dialog state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, DateTime, String, Text
from sqlmodel import Field, SQLModel

from models.base import big_int_field, created_field, when_field


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled, so a redelivery after a crash is skipped."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    processed_at: datetime = created_field()


class UpdateInbox(SQLModel, table=True):
    """Every update as received (getUpdates or the webhook), stored before Telegram is told it
    arrived: one not yet in `processed_update` after a crash is handled at the next start."""

    __tablename__ = "update_inbox"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = created_field()
    replays: int = Field(default=0)  # starts that handed it on again (an update that kills the bot stops at a limit)


class Outbox(SQLModel, table=True):
    """A message the bot sends on its own initiative; the dispatcher delivers it once."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    kind: str = Field(default="notice", max_length=32, index=True)
    chat_id: int = big_int_field(nullable=False, index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # {"method": "sendMessage"|"sendPhoto"|"sendDocument", "text": ..., "reply_markup": ..., ...}
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # pending/sending/sent/failed/dropped
    send_after: datetime = Field(sa_column=Column(DateTime, nullable=False, index=True))
    expires_at: datetime | None = when_field()  # not worth sending after this (e.g. the event started)
    claimed_at: datetime | None = when_field()  # set just before the send: marks the one in flight
    sent_at: datetime | None = when_field()
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_field()


class DialogState(SQLModel, table=True):
    """Persisted conversation state and per-user data, written at every completed step."""

    __tablename__ = "dialog_state"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = created_field()
