"""Members of the committee and their single-use invite codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, String, and_, false, or_, true
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.sql import ColumnElement
from sqlmodel import Field, SQLModel

from bot.core.clock import utcnow
from models.base import big_int_field, created_field, when_field


class Role(StrEnum):
    MEMBER = "member"
    SECRETARIAT = "secretariat"
    ADMIN = "admin"
    # The contact of a handling unit (承办单位, models.proposal.HandlingUnit): neither staff nor a 委员.
    UNIT = "unit"

    @property
    def is_staff(self) -> bool:
        """Secretariat actions are open to the secretariat and admins."""
        return self in (Role.SECRETARIAT, Role.ADMIN)


class Member(SQLModel, table=True):
    __tablename__ = "member"
    model_config = {"ignored_types": (hybrid_property,)}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    sector: str = Field(default="", max_length=64)  # 界别
    committee: str = Field(default="", max_length=64)  # 专委会
    role: str = Field(default=Role.MEMBER.value, max_length=16)
    # A secretariat member or admin who is also a 委员 (roster role "机关+委员"): counted as a member.
    also_member: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    phone: str | None = Field(default=None, sa_column=Column(String(20), unique=True, nullable=True))
    unit_id: int | None = Field(default=None, foreign_key="handling_unit.id")  # role "unit": whose contact
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

    # The ONE definition of a 委员 for every figure, audience, reminder and search: the role
    # "member", or staff the roster marks as also a 委员. Staff alone are not members.
    @hybrid_property
    def is_member(self) -> bool:
        return self.role == Role.MEMBER.value or bool(self.also_member)

    @is_member.inplace.expression
    @classmethod
    def _is_member_sql(cls) -> ColumnElement[bool]:
        return or_(cls.role == Role.MEMBER.value, cls.also_member == true())  # type: ignore[arg-type]

    @hybrid_property
    def is_active_member(self) -> bool:
        """A serving 委员: a member (above) who has not left."""
        return bool(self.active) and self.is_member

    @is_active_member.inplace.expression
    @classmethod
    def _is_active_member_sql(cls) -> ColumnElement[bool]:
        return and_(cls.active == true(), cls.is_member)  # type: ignore[arg-type]


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
