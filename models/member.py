"""Members of the committee and their single-use invite codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, String
from sqlmodel import Field, SQLModel

from bot.clock import utcnow
from models.base import big_int_field, created_field, when_field


class Role(StrEnum):
    MEMBER = "member"
    SECRETARIAT = "secretariat"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        """Secretariat actions are open to the secretariat and admins."""
        return self in (Role.SECRETARIAT, Role.ADMIN)


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    sector: str = Field(default="", max_length=64)  # 界别
    committee: str = Field(default="", max_length=64)  # 专委会
    role: str = Field(default=Role.MEMBER.value, max_length=16)
    phone: str | None = Field(default=None, sa_column=Column(String(20), unique=True, nullable=True))
    telegram_user_id: int | None = big_int_field(unique=True)
    language: str | None = Field(default=None, max_length=8)
    active: bool = Field(default=True)
    reachable: bool = Field(default=True)
    bound_at: datetime | None = when_field()
    created_at: datetime = created_field()
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime, nullable=False, onupdate=utcnow)
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.role_enum.is_staff


class Invite(SQLModel, table=True):
    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)  # sha256 of the code; the code itself is never stored
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    used_at: datetime | None = when_field()
    revoked_at: datetime | None = when_field()
    created_at: datetime = created_field()


class BindFailure(SQLModel, table=True):
    """A wrong invite code from one Telegram account; five within an hour lock the account out."""

    __tablename__ = "bind_failure"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = big_int_field(nullable=False, index=True)
    at: datetime = created_field()
