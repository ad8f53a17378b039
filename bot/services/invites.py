"""Invite codes: random, single use, expiring, stored only as a hash; binding a Telegram account."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from models import BindFailure, Invite, Member

MAX_FAILURES = 5
LOCKOUT = timedelta(hours=1)


class BindOutcome(StrEnum):
    BOUND = "bound"
    ALREADY_BOUND = "already_bound"  # this Telegram account already belongs to a member
    BAD_CODE = "bad_code"
    USED = "used"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong codes lately


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def new_invite(session: AsyncSession, member: Member, *, now: datetime, ttl_days: int) -> str:
    """A fresh code for `member`; earlier unused codes stop working. Returns the plain code."""
    assert member.id is not None
    await session.exec(
        update(Invite)
        .where(col(Invite.member_id) == member.id, col(Invite.used_at).is_(None), col(Invite.revoked_at).is_(None))
        .values(revoked_at=to_db(now))
    )
    code = secrets.token_urlsafe(18)  # 24 URL-safe characters; Telegram allows up to 64 in /start
    while code[0] in "-_":  # a leading "-" is a formula to a spreadsheet: the invites CSV would escape it
        code = secrets.token_urlsafe(18)
    session.add(Invite(code_hash=hash_code(code), member_id=member.id,
                       expires_at=to_db(now + timedelta(days=ttl_days))))
    await session.flush()
    return code


async def _recent_failures(session: AsyncSession, telegram_user_id: int, now: datetime) -> int:
    since = to_db(now - LOCKOUT)
    query = select(func.count()).select_from(BindFailure).where(
        BindFailure.telegram_user_id == telegram_user_id, col(BindFailure.at) >= since
    )
    return (await session.exec(query)).one()


async def bind(session: AsyncSession, code: str, telegram_user_id: int, *, now: datetime,
               language: str | None = None) -> tuple[BindOutcome, Member | None]:
    """Bind the Telegram account to the invited member, once."""
    if await _recent_failures(session, telegram_user_id, now) >= MAX_FAILURES:
        return BindOutcome.LOCKED, None
    bound = (await session.exec(select(Member).where(Member.telegram_user_id == telegram_user_id))).first()
    if bound is not None:
        return BindOutcome.ALREADY_BOUND, bound
    invite = (await session.exec(select(Invite).where(Invite.code_hash == hash_code(code.strip())))).first()
    outcome = None
    if invite is None or invite.revoked_at is not None:
        outcome = BindOutcome.BAD_CODE
    elif invite.used_at is not None:
        outcome = BindOutcome.USED
    elif invite.expires_at <= to_db(now):
        outcome = BindOutcome.EXPIRED
    member = await session.get(Member, invite.member_id) if invite else None
    if outcome is None and (member is None or not member.active):
        outcome = BindOutcome.BAD_CODE
    if outcome is not None:
        session.add(BindFailure(telegram_user_id=telegram_user_id, at=to_db(now)))
        return outcome, None
    assert invite is not None and member is not None
    # Conditional update: of two simultaneous presses of one link, only one wins.
    claimed = await session.exec(
        update(Invite).where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None)).values(used_at=to_db(now))
    )
    if claimed.rowcount != 1:
        return BindOutcome.USED, None
    member.telegram_user_id = telegram_user_id
    member.bound_at = to_db(now)
    member.reachable = True
    if language and member.language is None:
        member.language = language
    session.add(member)
    await session.flush()
    return BindOutcome.BOUND, member
