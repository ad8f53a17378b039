"""The committee's own work log: figures of the annual report that are neither a member's nor an
event's (向区委请示报告, 接待来访调研考察, 出版/编纂, 宣传简讯 and whether each was reprinted)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, Index, String, Text, false
from sqlmodel import Field, SQLModel

from models.base import created_field


class WorkLogEntry(SQLModel, table=True):
    __tablename__ = "work_log"
    __table_args__ = (Index("ix_work_log_kind_day", "kind", "on_date"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # a code of the rules file's [[log]] kinds
    on_date: date = Field(sa_column=Column(Date, nullable=False))  # the day in the committee's zone
    count: int = 1  # e.g. 3 批次 received on one day
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The kind's mark (a 简讯 被转载): true when the entry has it.
    marked: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    recorded_by: int | None = Field(default=None, foreign_key="member.id")
    # The chat dialog it was saved from: a confirm repeated after a crash finds this entry.
    entry_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, unique=True))
    created_at: datetime = created_field()
