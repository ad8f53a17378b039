"""Member look-ups and changes shared by every feature."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import utcnow
from models import Member


class MemberNotFound(Exception):
    pass


class AmbiguousMember(Exception):
    def __init__(self, matches: list[Member]) -> None:
        super().__init__(", ".join(f"{m.name}({m.sector})" for m in matches))
        self.matches = matches


def is_committee_member(member: Member | None) -> bool:
    """Whether a person does what 委员 do (reports, 社情民意, invitations): every member, and a
    staff member only when the roster says they are also a 委员 (`Member.is_member`, the one
    definition)."""
    return member is None or bool(member.is_member)


async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Member | None:
    """The active member bound to this Telegram account, if any."""
    query = select(Member).where(Member.telegram_user_id == telegram_user_id, col(Member.active).is_(True))
    return (await session.exec(query)).first()


async def by_name(session: AsyncSession, name: str) -> Member:
    """Exactly one member by name (or `name/sector` when two share a name)."""
    name, _, sector = name.partition("/")
    query = select(Member).where(Member.name == name.strip())
    if sector:
        query = query.where(Member.sector == sector.strip())
    matches = list((await session.exec(query)).all())
    if not matches:
        raise MemberNotFound(name)
    if len(matches) > 1:
        raise AmbiguousMember(matches)
    return matches[0]


async def list_members(session: AsyncSession, *, unbound_only: bool = False,
                       active_only: bool = False) -> list[Member]:
    query = select(Member).order_by(col(Member.id))
    if unbound_only:
        query = query.where(col(Member.telegram_user_id).is_(None))
    if active_only:
        query = query.where(col(Member.active).is_(True))
    return list((await session.exec(query)).all())


async def deactivate(session: AsyncSession, member: Member) -> None:
    member.active = False
    member.updated_at = utcnow()
    session.add(member)


async def set_language(session: AsyncSession, member: Member, language: str) -> None:
    member.language = language
    member.updated_at = utcnow()
    session.add(member)


async def set_reachable(session: AsyncSession, member: Member, reachable: bool) -> None:
    if member.reachable != reachable:
        member.reachable = reachable
        member.updated_at = utcnow()
        session.add(member)


async def mark_unreachable(session: AsyncSession, chat_id: int) -> None:
    """The member blocked the bot: stop queueing messages for them (the digest lists them)."""
    member = (await session.exec(select(Member).where(Member.telegram_user_id == chat_id))).first()
    if member is not None and member.reachable:
        member.reachable = False
        member.updated_at = utcnow()
        session.add(member)
