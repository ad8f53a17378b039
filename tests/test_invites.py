"""Invite codes and binding, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.services import invites
from bot.services.invites import BindOutcome
from models import Invite, Member
from tests.conftest import add_member

NOW = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)


async def _invite(db, member: Member, now: datetime = NOW, ttl: int = 30) -> str:
    async with db.session() as session:
        return await invites.new_invite(session, member, now=now, ttl_days=ttl)


async def _bind(db, code: str, tg: int, now: datetime = NOW):
    async with db.session() as session:
        return await invites.bind(session, code, tg, now=now)


async def test_code_is_stored_only_as_hash_and_binds_once(db):
    member = await add_member(db, "苏建华")
    code = await _invite(db, member)
    assert len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()
    async with db.session() as session:
        stored = (await session.exec(select(Invite))).one()
    assert stored.code_hash != code and code not in stored.code_hash

    outcome, bound = await _bind(db, code, 5001)
    assert outcome is BindOutcome.BOUND and bound is not None and bound.name == "苏建华"
    async with db.session() as session:
        row = await session.get(Member, member.id)
        assert row.telegram_user_id == 5001 and row.bound_at is not None

    outcome, _ = await _bind(db, code, 5002)
    assert outcome is BindOutcome.USED
    async with db.session() as session:
        assert (await session.exec(select(Member).where(Member.telegram_user_id == 5002))).first() is None


async def test_bad_and_expired_codes_bind_nothing(db):
    member = await add_member(db, "廖艳")
    code = await _invite(db, member, ttl=1)
    assert (await _bind(db, "not-a-code", 6001))[0] is BindOutcome.BAD_CODE
    assert (await _bind(db, code, 6001, now=NOW + timedelta(days=1, seconds=1)))[0] is BindOutcome.EXPIRED
    async with db.session() as session:
        assert (await session.get(Member, member.id)).telegram_user_id is None


async def test_new_invite_revokes_the_old_one(db):
    member = await add_member(db, "朱宇浩")
    old = await _invite(db, member)
    new = await _invite(db, member)
    assert (await _bind(db, old, 7001))[0] is BindOutcome.BAD_CODE
    assert (await _bind(db, new, 7001))[0] is BindOutcome.BOUND


async def test_already_bound_account_is_told_so(db):
    first = await add_member(db, "丁欣怡")
    second = await add_member(db, "邓子涵")
    assert (await _bind(db, await _invite(db, first), 8001))[0] is BindOutcome.BOUND
    outcome, member = await _bind(db, await _invite(db, second), 8001)
    assert outcome is BindOutcome.ALREADY_BOUND and member.name == "丁欣怡"
    async with db.session() as session:
        assert (await session.get(Member, second.id)).telegram_user_id is None


async def test_five_wrong_codes_lock_the_account_for_an_hour(db):
    member = await add_member(db, "薛桂英")
    code = await _invite(db, member)
    for i in range(5):
        assert (await _bind(db, f"wrong{i}", 9001, now=NOW + timedelta(minutes=i)))[0] is BindOutcome.BAD_CODE
    # even the right code is refused while locked
    assert (await _bind(db, code, 9001, now=NOW + timedelta(minutes=10)))[0] is BindOutcome.LOCKED
    # another account is not affected by this one's failures
    assert (await _bind(db, "wrong", 9002, now=NOW + timedelta(minutes=10)))[0] is BindOutcome.BAD_CODE
    # an hour after the first failures the lock lifts
    assert (await _bind(db, code, 9001, now=NOW + timedelta(minutes=65)))[0] is BindOutcome.BOUND


async def test_deactivated_member_cannot_bind(db):
    member = await add_member(db, "尹华")
    code = await _invite(db, member)
    async with db.session() as session:
        row = await session.get(Member, member.id)
        row.active = False
        session.add(row)
    assert (await _bind(db, code, 9101))[0] is BindOutcome.BAD_CODE
