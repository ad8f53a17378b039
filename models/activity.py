"""Duty activities (履职活动): what members report or the secretariat records, their evidence
photos, and report drafts kept when a dialog times out."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, DateTime, Float, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.core.clock import utcnow
from models.base import created_field, when_field

# Report statuses: pending → confirmed | returned; pending/returned → withdrawn; returned → pending.
PENDING, CONFIRMED, RETURNED, WITHDRAWN = "pending", "confirmed", "returned", "withdrawn"
# Attendance of a recorded meeting (None for a report the member wrote).
PRESENT, LEAVE, ABSENT = "present", "leave", "absent"
# The ONE definition of "took part": every item does except a recorded leave or absence, which
# counts for points (rules' leave/absence points) but is not a 履职报告 and no participation.
NOT_TAKING_PART = (LEAVE, ABSENT)


def took_part(attendance: str | None) -> bool:
    """Whether an item with this attendance shows the member took part (SQL: bot.services.figures.took_part)."""
    return attendance not in NOT_TAKING_PART


class ActivityReport(SQLModel, table=True):
    __tablename__ = "activity_report"
    __table_args__ = (
        UniqueConstraint("member_id", "source_key", name="uq_activity_report_member_source"),
        Index("ix_activity_report_status_submitted", "status", "submitted_at"),
        Index("ix_activity_report_member_date", "member_id", "activity_date"),
        # The /report draft it was submitted from (submit_key): one report per draft.
        Index("ux_activity_report_submit_key", "submit_key", unique=True),
        # The digest counts reports by submission time; the year in review and the exports by
        # activity day, summing a year's confirmed reports per member and type from the index alone.
        Index("ix_digest_activity_submitted", "submitted_at"),
        Index("ix_digest_activity_status_date",
              "status", "activity_date", "member_id", "type_code", "attendance", "points"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    type_code: str = Field(max_length=32, index=True)
    activity_date: date = Field(sa_column=Column(Date, nullable=False))  # the day in the committee's zone
    title: str | None = Field(default=None, max_length=120)  # e.g. the meeting's name when recorded
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=PENDING, max_length=16)
    # Points of this one item as credited (before the per-period cap, which bot.services.figures applies).
    points: float = Field(default=0, sa_column=Column(Float, nullable=False))
    attendance: str | None = Field(default=None, max_length=16)  # present / leave / absent
    source_key: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    # The /report draft it was submitted from: a confirm repeated after a crash finds this report.
    submit_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    submitted_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    reviewed_at: datetime | None = when_field()
    reviewed_by: int | None = Field(default=None, foreign_key="member.id")
    return_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = created_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class ActivityPhoto(SQLModel, table=True):
    """One piece of evidence: a Telegram photo, or an image sent as a document."""

    __tablename__ = "activity_photo"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="activity_report.id", index=True)
    position: int = 0
    kind: str = Field(default="photo", max_length=16)  # photo / document
    file_id: str = Field(max_length=255)
    file_unique_id: str = Field(default="", max_length=64)


class ReportDraft(SQLModel, table=True):
    """What a member had entered when the /report dialog timed out; /report offers to resume it."""

    __tablename__ = "report_draft"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = created_field()
