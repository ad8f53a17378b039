"""What every part of the proposal lifecycle shares: the refusal, history rows, the proposers,
notices (each person once, in their own language; the dedupe key names the history row), and the
filing number."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import ROW_IDS, Buttons
from bot.core.clock import to_db
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services.info import next_sequence
from bot.services.outbox import enqueue, notify_member
from models import Member, Proposal, ProposalAssignment, ProposalAuthor, ProposalEvent, ProposalSequence, Role
from models.proposal import A_WITHDRAWN, AGREED, ANSWERING_ROLES, LEAD

# Buttons one part puts on a message and another part answers (each part's own buttons live in
# its own module). Prefixes of the proposal parts: prop (submit dialog), pcos (co-proposer cards),
# prate (rating), pstaff (secretariat), punit (handling units).
RATE_BUTTON = Buttons("prate")("go", numbers=ROW_IDS)  # proposal id: on an answer notice → the rating
UNIT_SIGN_BUTTON = Buttons("punit")("sign", numbers=ROW_IDS)  # assignment id: on the 交办 card → 签收
UNIT_OBJECT_BUTTON = Buttons("punit")("object", numbers=ROW_IDS)  # assignment id → 申请调整
STAFF_OPEN_BUTTON = Buttons("pstaff")("open", numbers=ROW_IDS)  # proposal id: on a notice to the secretariat


class ProposalError(Refusal):
    """A refusal with a catalogue key `proposals.err.<code>` and its parameters."""

    prefix = "proposals.err."


def format_number(year: int, seq: int) -> str:
    """The filing number (立案号): per session year, e.g. 2026-001."""
    return f"{year}-{seq:03d}"


async def next_filing_number(session: AsyncSession, year: int) -> tuple[int, str]:
    """The next filing sequence and number of `year`, gap-free (see info.next_sequence: call it
    before reading anything in the transaction)."""
    seq = await next_sequence(session, year, ProposalSequence)
    return seq, format_number(year, seq)


async def lock(session: AsyncSession, proposal_id: int) -> Proposal:
    """The proposal, row-locked until commit on PostgreSQL (SQLite serialises writers)."""
    row = (
        await session.exec(select(Proposal).where(col(Proposal.id) == proposal_id).with_for_update())
    ).first()
    if row is None:
        raise ProposalError("no_proposal")
    return row


async def record(
    session: AsyncSession,
    proposal: Proposal,
    kind: str,
    *,
    actor_id: int | None,
    now: datetime,
    unit_id: int | None = None,
    reason: str | None = None,
    on_date: date | None = None,
    text: str | None = None,
) -> ProposalEvent:
    """One history row (ProposalEvent's docstring lists the kinds); flushed, so it has its id."""
    assert proposal.id is not None
    event = ProposalEvent(
        proposal_id=proposal.id,
        kind=kind,
        actor_id=actor_id,
        unit_id=unit_id,
        reason=reason,
        on_date=on_date,
        text=text,
        at=to_db(now),
    )
    proposal.updated_at = to_db(now)
    session.add(event)
    await session.flush()
    return event


async def current_round(session: AsyncSession, proposal_id: int) -> int:
    """The round being answered and rated: 1, or 2 after a 重办 (the answering units' round)."""
    query = select(func.max(ProposalAssignment.round)).where(
        col(ProposalAssignment.proposal_id) == proposal_id,
        col(ProposalAssignment.role).in_(ANSWERING_ROLES),
        col(ProposalAssignment.state) != A_WITHDRAWN,
    )
    return int((await session.exec(query)).one() or 1)


async def proposer_ids(session: AsyncSession, proposal_id: int, *, agreed_only: bool = True) -> list[int]:
    """The lead first, then the co-proposers (only those who agreed, unless `agreed_only` is False)."""
    query = select(ProposalAuthor).where(col(ProposalAuthor.proposal_id) == proposal_id)
    if agreed_only:
        query = query.where(col(ProposalAuthor.consent).in_((LEAD, AGREED)))
    rows = (await session.exec(query.order_by(col(ProposalAuthor.position)))).all()
    return [row.member_id for row in rows]


async def merged_proposer_ids(session: AsyncSession, proposal_id: int) -> list[int]:
    """The proposers of the proposals merged into this one (并案): they hear of its steps and answer too."""
    merged = select(Proposal.id).where(col(Proposal.merged_into_id) == proposal_id)
    query = select(ProposalAuthor.member_id).where(
        col(ProposalAuthor.proposal_id).in_(merged), col(ProposalAuthor.consent).in_((LEAD, AGREED))
    )
    return list(dict.fromkeys((await session.exec(query)).all()))


Localized = Callable[[str], dict[str, Any]]  # the words of a notice that depend on the reader's language


async def notify_each(
    session: AsyncSession,
    members: Iterable[Member],
    proposal: Proposal,
    key: str,
    *,
    dedupe: Callable[[Member], str],
    kind: str,
    now: datetime,
    default_lang: str = "zh",
    markup: Callable[[str], dict] | None = None,
    localized: Localized | None = None,
    **params: Any,
) -> int:
    """Catalogue message `key` about the proposal (its title and number, `params`, and
    `localized(lang)`) to each member in their own language, with the buttons `markup(lang)`;
    `dedupe(member)` is the row's dedupe key. Returns how many were queued."""
    queued = 0
    for member in members:
        lang = member.language or default_lang
        queued += await notify_member(
            session,
            member,
            key,
            dedupe_key=dedupe(member),
            now=now,
            default_lang=default_lang,
            kind=kind,
            reply_markup=markup(lang) if markup is not None else None,
            title=proposal.title,
            number=proposal.number or "",
            **params,
            **(localized(lang) if localized is not None else {}),
        )
    return queued


async def notify_proposers(
    session: AsyncSession,
    proposal: Proposal,
    event: ProposalEvent,
    key: str,
    *,
    now: datetime,
    default_lang: str = "zh",
    skip: int | None = None,
    markup: Callable[[str], dict] | None = None,
    localized: Localized | None = None,
    **params: Any,
) -> int:
    """Catalogue message `key` to every proposer (lead and agreed co-proposers, and the proposers
    of the proposals merged into this one) but `skip`, once each (see notify_each)."""
    assert proposal.id is not None and event.id is not None
    ids = [i for i in await proposer_ids(session, proposal.id) + await merged_proposer_ids(session, proposal.id)
           if i != skip]  # fmt: skip
    members = (await session.exec(select(Member).where(col(Member.id).in_(ids)))).all()
    return await notify_each(
        session, members, proposal, key, dedupe=lambda m: f"proposal:{proposal.id}:event:{event.id}:{m.id}",
        kind="proposal", now=now, default_lang=default_lang, markup=markup, localized=localized, **params,
    )  # fmt: skip


async def unit_contacts(session: AsyncSession, unit_id: int) -> list[Member]:
    """The bound, active contacts of a handling unit."""
    query = select(Member).where(
        col(Member.unit_id) == unit_id, col(Member.role) == Role.UNIT.value, col(Member.active).is_(True)
    )
    return list((await session.exec(query)).all())


async def notify_unit(
    session: AsyncSession,
    proposal: Proposal,
    event: ProposalEvent,
    unit_id: int,
    key: str,
    *,
    now: datetime,
    default_lang: str = "zh",
    markup: Callable[[str], dict] | None = None,
    localized: Localized | None = None,
    **params: Any,
) -> int:
    """Catalogue message `key` to every contact of the unit, once each (see notify_each)."""
    assert proposal.id is not None and event.id is not None
    return await notify_each(
        session, await unit_contacts(session, unit_id), proposal, key,
        dedupe=lambda m: f"proposal:{proposal.id}:event:{event.id}:unit:{m.id}", kind="proposal_unit", now=now,
        default_lang=default_lang, markup=markup, localized=localized, **params,
    )  # fmt: skip


async def tell_secretariat(
    session: AsyncSession,
    proposal: Proposal,
    event: ProposalEvent,
    key: str,
    *,
    chat_id: int | None,
    now: datetime,
    lang: str = "zh",
    reply_markup: dict | None = None,
    part: str = "",
    **params: Any,
) -> bool:
    """Catalogue message `key` to the secretariat's chat (settings.secretariat_chat_id), once; `part`
    names a second notice of the same history row."""
    if chat_id is None:
        return False
    return await enqueue(
        session,
        dedupe_key=f"proposal:{proposal.id}:event:{event.id}:staff" + (f":{part}" if part else ""),
        chat_id=chat_id,
        text=t(key, lang, title=proposal.title, number=proposal.number or "", **params),
        now=now,
        kind="proposal_staff",
        reply_markup=reply_markup,
    )


def state_label(state: str, lang: str) -> str:
    return t(f"proposals.state.{state}", lang)


def rating_label(rating: str, lang: str) -> str:
    return t(f"proposals.rating.{rating}", lang)


def role_label(role: str, lang: str) -> str:
    return t(f"proposals.role.{role}", lang)


def reason_label(reason: str, lang: str) -> str:
    return t(f"proposals.reason.{reason}", lang)


def contact_label(kind: str, lang: str) -> str:
    return t(f"proposals.contact.{kind}", lang)
