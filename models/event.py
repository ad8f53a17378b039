"""Events (学习会, 讲座, 读书活动, meetings, research trips), each member's invitation and answer,
and assessment deadlines whose requirement is evaluated from the data."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from bot.core.clock import utcnow
from models.base import created_field, when_field

# Event statuses: draft → published → closed (attendance recorded); draft/published → cancelled.
DRAFT, PUBLISHED, CANCELLED, CLOSED = "draft", "published", "cancelled", "closed"
# Answers to an invitation.
NO_ANSWER, ATTEND, LEAVE = "none", "attend", "leave"


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_status_starts", "status", "starts_at"),
        Index("ux_event_create_key", "create_key", unique=True),  # one event per /newevent dialog
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    kind: str = Field(max_length=32)  # an activity type code of the point rules
    starts_at: datetime = Field(sa_column=Column(DateTime, nullable=False))  # naive UTC
    ends_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    place: str = Field(default="", max_length=120)
    # all / committee / sector / members; `audience_value` names the committee or sector,
    # `audience_member_ids` lists the members for "members".
    audience_kind: str = Field(default="all", max_length=16)
    audience_value: str = Field(default="", max_length=64)
    audience_member_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Reminder offsets as written ("24h", "2h", "10m", "1d"): days keep the wall-clock time.
    remind_offsets: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    checkin_opens_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    checkin_closes_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    checkin_code: str = Field(sa_column=Column(String(12), nullable=False, index=True))
    # True: members check in with the 📍 button alone and the record says it was self-declared;
    # False (default): the button asks for the code shown at the venue.
    checkin_self_declared: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    status: str = Field(default=DRAFT, max_length=16)
    # Bumped when time or place change: reminder dedupe keys carry it, so replanned rows are new.
    version: int = Field(default=1)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    # The /newevent dialog it was made in: 发布 repeated after a crash finds this event.
    create_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    published_at: datetime | None = when_field()
    cancelled_at: datetime | None = when_field()
    closed_at: datetime | None = when_field()
    created_at: datetime = created_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime, nullable=False))


class Invitation(SQLModel, table=True):
    """One member invited to one event: their answer, leave reason and check-in."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("event_id", "member_id", name="uq_invitation_event_member"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    answer: str = Field(default=NO_ANSWER, max_length=16)
    leave_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_at: datetime | None = when_field()
    checked_in_at: datetime | None = when_field()
    # code (the venue's code) / self (self-declared, the event allows it) / button (before codes were
    # required on the button: not verified either) / staff
    checkin_method: str | None = Field(default=None, max_length=16)
    attendance: str | None = Field(default=None, max_length=16)  # present / leave / absent, at close-out
    invited_at: datetime = created_field()


class Deadline(SQLModel, table=True):
    """An assessment deadline: members who do not meet `requirement` by `due_on` are reminded."""

    __tablename__ = "deadline"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    due_on: date = Field(sa_column=Column(Date, nullable=False))  # the last day, in the committee's zone
    # {"type": "info", "count": 1} | {"type": "points", "min": 40} | {"type": "activity", "code": "research",
    # "count": 1}; evaluated over the assessment period holding the due date (bot.services.deadlines).
    requirement: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="active", max_length=16)  # active / cancelled
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = created_field()
