"""社情民意信息 (social-condition information): items, their authors, attachments, the history
of every workflow step, and the per-year counter behind the tracking numbers (SQ-2025-0114)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_field, when_field


class InfoItem(SQLModel, table=True):
    __tablename__ = "info_item"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(20), unique=True, nullable=False))  # SQ-2025-0114
    year: int = Field(index=True)
    seq: int
    author_id: int = Field(foreign_key="member.id", index=True)  # the first author (submitter)
    title: str = Field(max_length=120)
    body: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=32)
    # submitted / accepted / returned / rejected (see bot.services.info.MOVES)
    state: str = Field(default="submitted", max_length=16, index=True)
    # The member's own text, kept when the secretariat edits title or body on acceptance.
    original_title: str | None = Field(default=None, max_length=120)
    original_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duplicate_of: str | None = Field(default=None, max_length=20)  # number of a very similar recent item
    # Kept at submission for the duplicate check (bot.services.info.Fingerprint): the distinct character
    # bigrams of title + body, space-separated, and their MinHash signature (128 × 4 bytes).
    bigrams: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Identifies the chat draft it came from: a redelivered "submit" press after a crash finds it again.
    draft_key: str | None = Field(default=None, sa_column=Column(String(80), unique=True, nullable=True))
    submitted_at: datetime = Field(sa_column=Column(DateTime, nullable=False, index=True))  # first submission
    last_submitted_at: datetime = Field(
        sa_column=Column(DateTime, nullable=False)
    )  # oldest-first queue order
    updated_at: datetime = created_field()


class InfoAuthor(SQLModel, table=True):
    """Every author of an item; position 0 is the first author, the rest are co-authors."""

    __tablename__ = "info_author"
    __table_args__ = (UniqueConstraint("item_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="info_item.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    position: int = 0


class AttachedFile(SQLModel):
    """The columns of a photo or document sent in the chat, kept as its Telegram file id (the
    attachments of 社情民意 items and of proposals)."""

    kind: str = Field(max_length=16)  # photo / document
    file_id: str = Field(max_length=255)
    file_unique_id: str = Field(default="", max_length=64)
    file_name: str | None = Field(default=None, max_length=255)
    mime_type: str | None = Field(default=None, max_length=100)
    file_size: int | None = None


class InfoAttachment(AttachedFile, table=True):
    """A photo or document sent with an item."""

    __tablename__ = "info_attachment"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="info_item.id", index=True)
    caption: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class InfoEvent(SQLModel, table=True):
    """One step of an item's history. `at` is when it was recorded (statistics count by it);
    `on_date` is the date the secretariat gave for a report or transfer."""

    __tablename__ = "info_event"
    __table_args__ = (Index("ix_info_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="info_item.id", index=True)
    # submitted / resubmitted / accepted / returned / rejected / reported / transferred / instruction / feedback
    kind: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    level: str | None = Field(default=None, max_length=16)  # reported, instruction: bot.core.rules.INFO_LEVELS
    target: str | None = Field(default=None, max_length=120)  # transferred: department or hotline
    on_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # reason, feedback, note
    at: datetime | None = when_field(nullable=False)


class InfoSequence(SQLModel, table=True):
    """The last tracking number used in a year; bumped inside the submitting transaction."""

    __tablename__ = "info_sequence"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = 0
