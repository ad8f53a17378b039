"""What the annual work report counts about an event beyond its invitations: its tags (系列),
the leaders invited as guests, and its outcomes — named quantities (建议 N 条, 走访 N 户 …, also
on a member's own report) and output documents (协商报告, 调研报告) with a later 批示."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import created_field


class EventTag(SQLModel, table=True):
    """One tag of an event (a code of the rules file's [[tag]] list)."""

    __tablename__ = "event_tag"
    __table_args__ = (Index("ix_event_tag_tag", "tag", "event_id"),)

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    tag: str = Field(max_length=32, primary_key=True)


class EventGuest(SQLModel, table=True):
    """A leader invited to an event, as the secretariat wrote it (name and title, free text)."""

    __tablename__ = "event_guest"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    name: str = Field(max_length=120)
    position: int = 0


class OutcomeQuantity(SQLModel, table=True):
    """A named quantity (rules' [[quantity]] code) of an event, or of a member's own report:
    one row per event (or report) and code; recording it again replaces the amount."""

    __tablename__ = "outcome_quantity"
    __table_args__ = (
        UniqueConstraint("event_id", "code", name="uq_outcome_quantity_event_code"),
        UniqueConstraint("report_id", "code", name="uq_outcome_quantity_report_code"),
        CheckConstraint("(event_id IS NULL) <> (report_id IS NULL)", name="ck_outcome_quantity_one_owner"),
        Index("ix_outcome_quantity_code", "code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="activity_report.id", index=True)
    code: str = Field(max_length=32)
    amount: int = 0
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    recorded_at: datetime = created_field()


class OutputDocument(SQLModel, table=True):
    """A document an event (or the committee) produced: a 协商报告 or 调研报告 (rules' [[document]]
    code) with its title and day, and later the 批示 it received (by whom, on which day)."""

    __tablename__ = "output_document"
    __table_args__ = (Index("ix_output_document_kind_day", "kind", "on_date"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    on_date: date = Field(sa_column=Column(Date, nullable=False))  # the day in the committee's zone
    instruction_by: str | None = Field(default=None, max_length=120)  # 批示: who (free text)
    instruction_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = created_field()
