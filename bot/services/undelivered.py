"""Deliveries staff should know about: outbox rows that failed or whose fate is uncertain, in plain
words — who, what kind of message, when, why — never the message itself or a phone number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import from_db
from models import Member, Outbox

PROBLEM_STATUSES = ("failed", "uncertain")


@dataclass(frozen=True)
class Undelivered:
    row_id: int
    status: str  # failed | uncertain
    member: str | None  # the recipient's name; None for a chat that is not a member (a group)
    what: str  # catalogue key suffix: outbox.what.<what>
    why: str  # catalogue key suffix: outbox.why.<why>
    at: datetime  # aware UTC: the last attempt


def what_it_was(row: Outbox) -> str:
    """The kind of message, from its kind and dedupe key (both set by the feature that queued it)."""
    key = row.dedupe_key
    if key.startswith("deadline:"):
        return "deadline_reminder"
    if key.startswith("event:"):
        return {"reminder": "event_reminder", "checkin": "checkin", "invitation": "invitation"}.get(
            row.kind, "event_notice"
        )
    if key.startswith("report-timeout:"):
        return "report_draft"
    return row.kind if row.kind in ("report", "info", "info_staff", "digest") else "notice"


def why_it_failed(row: Outbox) -> str:
    """The reason in plain words, from the error recorded by the dispatcher."""
    error = row.last_error or ""
    if row.status == "uncertain":
        return "uncertain"
    if error.startswith("403"):
        return "blocked"
    if error.startswith("400"):
        return "chat_gone" if "chat not found" in error else "refused"
    if error.startswith("file:"):
        return "file_missing"
    if error.startswith(("network:", "timeout before sending")):
        return "network"
    return "other"


async def undelivered(session: AsyncSession) -> list[Undelivered]:
    """Failed and uncertain deliveries, newest first (the outbox keeps them OUTBOX_RETENTION_DAYS)."""
    query = (
        select(Outbox, Member.name)
        .outerjoin(Member, col(Member.id) == Outbox.member_id)
        .where(col(Outbox.status).in_(PROBLEM_STATUSES))
        .order_by(col(Outbox.claimed_at).desc(), col(Outbox.id).desc())
    )
    found = []
    for row, name in (await session.exec(query)).all():
        assert row.id is not None
        at = from_db(row.claimed_at or row.created_at)
        assert at is not None
        found.append(Undelivered(row.id, row.status, name, what_it_was(row), why_it_failed(row), at))
    return found
