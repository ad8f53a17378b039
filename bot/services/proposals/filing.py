"""The secretariat's side of a proposal (立、交 and the 督/评 decisions): the filing review (立案,
不予立案, 转为社情民意, 并案, 退回修改), assignment to handling units (交办, re-assignment after an
objection), 重点 with its 领衔督办 leader, 督办 nudges, extension decisions, 重办 and 优秀提案.

Every move is checked against MOVES and the proposal's state in the database (never against what a
button claims), is one history row (common.record) and tells each person concerned once, in their
own language. The inbox views and the card data for the handlers are here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import inline_markup
from bot.core.clock import local, to_db
from bot.core.config import Settings
from bot.core.dates import format_day, format_moment
from bot.core.i18n import t
from bot.core.rules import Rules
from bot.services import info
from bot.services.proposals import common
from bot.services.proposals.common import ProposalError, current_round, reason_label, role_label
from models import (
    HandlingUnit,
    Member,
    Proposal,
    ProposalAssignment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
)
from models.proposal import (
    A_ANSWERED,
    A_ASSIGNED,
    A_OBJECTED,
    A_SIGNED,
    A_WITHDRAWN,
    AGREED,
    ANSWERED,
    ANSWERING_ROLES,
    ASSIGNED,
    ASSIST,
    CONVERTED,
    EXT_APPROVED,
    EXT_REFUSED,
    EXT_REQUESTED,
    FILED,
    FILED_STATES,
    LEAD,
    MAIN,
    MERGED,
    NOT_FILED,
    NOT_FILED_REASONS,
    RETURNED,
    SEPARATE,
    SUBMITTED,
    UNSATISFIED,
)

TEXT_MAX = 500  # a reason, a note
LEADER_MAX = 64
UNIT_CARD_LIMIT = 3800
NUDGE_EVERY = timedelta(days=1)
OPEN_STATES = (A_ASSIGNED, A_SIGNED, A_OBJECTED)  # an assignment still owing something


class FilingError(ProposalError):
    """A refusal with a catalogue key `proposals_filing.err.<code>`."""

    prefix = "proposals_filing.err."
    FINAL = frozenset({"no_proposal", "illegal", "illegal_*", "not_allowed", "no_assignment"})


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]  # the states the proposal must be in
    target: str | None  # the new state; None keeps it
    event: str  # ProposalEvent.kind written


# The legal moves of the secretariat. Anything not here (立案 twice, 交办 before 立案) is refused.
MOVES: dict[str, Move] = {
    "file": Move(frozenset({SUBMITTED}), FILED, "filed"),
    "not_file": Move(frozenset({SUBMITTED}), NOT_FILED, "not_filed"),
    "convert": Move(frozenset({SUBMITTED}), CONVERTED, "converted"),
    "merge": Move(frozenset({SUBMITTED}), MERGED, "merged"),
    "return": Move(frozenset({SUBMITTED}), RETURNED, "returned"),
    "assign": Move(frozenset({FILED}), ASSIGNED, "assigned"),
    "reassign": Move(frozenset({ASSIGNED}), None, "reassigned"),  # an objected assignment
    "key": Move(frozenset(FILED_STATES), None, "key"),
    "nudge": Move(frozenset({ASSIGNED}), None, "nudged"),
    "extend": Move(frozenset({ASSIGNED}), None, "extension_approved"),  # a requested extension
    "no_extend": Move(frozenset({ASSIGNED}), None, "extension_refused"),
    "rework": Move(frozenset({ANSWERED}), ASSIGNED, "rework"),  # once, after 不满意 on the result
    "excellent": Move(frozenset(FILED_STATES), None, "excellent"),
}
# Moves on the whole proposal (a button each); reassign / extend / no_extend name an assignment.
PROPOSAL_MOVES = ("file", "not_file", "convert", "merge", "return", "assign", "key", "nudge", "rework",
                  "excellent")  # fmt: skip
ASSIGNMENT_MOVES = ("reassign", "extend", "no_extend")

# The inbox views: 待审查, 待交办, 办理中, 逾期, 待评价, 重点.
VIEWS = ("review", "filed", "handling", "overdue", "rating", "key")


def _check(proposal: Proposal, name: str, actor: Member) -> Move:
    move = MOVES.get(name)
    if move is None:
        raise FilingError("illegal")
    if not actor.is_staff:
        raise FilingError("not_allowed")
    if proposal.state not in move.sources:
        raise FilingError(f"illegal_{name}", number=proposal.number or "", title=proposal.title)
    return move


async def _locked(session: AsyncSession, proposal_id: int, name: str, actor: Member) -> tuple[Proposal, Move]:
    """The proposal, row-locked, and the move `name` that `actor` may make on it (else FilingError)."""
    proposal = await common.lock(session, proposal_id)
    return proposal, _check(proposal, name, actor)


def _text(
    text: str | None, *, required: bool, code: str = "text_missing", limit: int = TEXT_MAX
) -> str | None:
    value = " ".join((text or "").split()) if limit <= LEADER_MAX else (text or "").strip()
    if not value:
        if required:
            raise FilingError(code)
        return None
    if len(value) > limit:
        raise FilingError("text_long", length=len(value), max=limit)
    return value


# --------------------------------------------------------------------------- notices


def _unit_card_markup(assignment_id: int) -> Any:
    def markup(lang: str) -> dict:
        return inline_markup([[
            (t("proposals_filing.unit.btn_sign", lang), common.UNIT_SIGN_BUTTON(assignment_id)),
            (t("proposals_filing.unit.btn_object", lang), common.UNIT_OBJECT_BUTTON(assignment_id)),
        ]])  # fmt: skip

    return markup


def _unit_card_params(proposal: Proposal, assignment: ProposalAssignment, settings: Settings, now: datetime,
                      partners: str) -> Any:  # fmt: skip
    today = local(now, settings.tz).date()
    room = UNIT_CARD_LIMIT - 600 - len(proposal.title)
    analysis = proposal.analysis[: room // 2]
    suggestion = proposal.suggestion[: room - len(analysis)]

    def params(lang: str) -> dict[str, Any]:
        return {
            "role": role_label(assignment.role, lang),
            "category": proposal.category,
            "analysis": analysis,
            "suggestion": suggestion,
            "due": format_day(assignment.due_on, lang, today),
            "object_until": format_moment(assignment.object_until, settings.tz, lang, today),
            "partners": partners or "—",
        }

    return params


# --------------------------------------------------------------------------- the filing review


async def _year_of(session: AsyncSession, proposal_id: int) -> int | None:
    """The proposal's session year, read on a connection of its own (next_filing_number must be
    the first statement of the filing transaction)."""
    async with AsyncSession(session.bind, expire_on_commit=False) as reader:
        return (await reader.exec(select(Proposal.year).where(col(Proposal.id) == proposal_id))).first()


async def file(session: AsyncSession, proposal_id: int, *, actor: Member, now: datetime,
               settings: Settings) -> Proposal:  # fmt: skip
    """立案: the next filing number of the proposal's year (gap-free: a refused move gives it back)."""
    year = await _year_of(session, proposal_id)
    if year is None:
        raise FilingError("no_proposal")
    seq, number = await common.next_filing_number(session, year)  # first in the transaction
    proposal, move = await _locked(session, proposal_id, "file", actor)
    proposal.seq, proposal.number, proposal.filed_at = seq, number, to_db(now)
    proposal.state = move.target or proposal.state
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now)
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.filed", now=now, default_lang=settings.locale,
    )  # fmt: skip
    return proposal


async def not_file(session: AsyncSession, proposal_id: int, *, actor: Member, reason: str, text: str | None,
                   now: datetime, settings: Settings) -> Proposal:  # fmt: skip
    """不予立案 on one of the national grounds (其他 needs the words); every proposer reads why."""
    proposal, move = await _locked(session, proposal_id, "not_file", actor)
    if reason not in NOT_FILED_REASONS:
        raise FilingError("reason")
    words = _text(text, required=reason == "other", code="reason_text_missing")
    proposal.state = move.target or proposal.state
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, reason=reason,
                                text=words)  # fmt: skip

    def params(lang: str) -> dict[str, Any]:
        why = reason_label(reason, lang) + (
            f"：{words}" if words and lang == "zh" else f": {words}" if words else ""
        )
        return {"reason": why}

    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.not_filed", now=now, default_lang=settings.locale,
        localized=params,
    )  # fmt: skip
    return proposal


async def convert(session: AsyncSession, proposal_id: int, *, actor: Member, now: datetime, settings: Settings,
                  rules: Rules) -> tuple[Proposal, str]:  # fmt: skip
    """转为社情民意: a 社情民意 item with the same authors (in the 社情民意 queue); they are told its number."""
    year = local(now, settings.tz).year
    seq = await info.next_sequence(session, year)  # first in the transaction (see info.next_sequence)
    proposal, move = await _locked(session, proposal_id, "convert", actor)
    assert proposal.id is not None
    authors = await common.proposer_ids(session, proposal.id)
    body = f"{proposal.analysis.strip()}\n\n{proposal.suggestion.strip()}"
    item = await info.add_converted(session, seq=seq, year=year, author_ids=authors, title=proposal.title,
                                    body=body, category=proposal.category, actor_id=actor.id, now=now,
                                    rules=rules)  # fmt: skip
    proposal.state, proposal.info_item_id = move.target or proposal.state, item.id
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, text=item.number)
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.converted", now=now, default_lang=settings.locale,
        info_number=item.number,
    )  # fmt: skip
    return proposal, item.number


async def find_filed(session: AsyncSession, number: str) -> Proposal | None:
    """A filed proposal by its number (2026-7, 2026-007)."""
    parts = number.strip().replace("－", "-").split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    year, seq = int(parts[0]), int(parts[1])
    query = select(Proposal).where(col(Proposal.year) == year, col(Proposal.seq) == seq)
    return (await session.exec(query)).first()


async def merge_targets(session: AsyncSession, proposal_id: int, limit: int = 6) -> list[Proposal]:
    """Filed proposals to merge into, newest first."""
    query = (
        select(Proposal)
        .where(col(Proposal.state).in_(FILED_STATES), col(Proposal.id) != proposal_id)
        .order_by(col(Proposal.filed_at).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def merge(session: AsyncSession, proposal_id: int, *, actor: Member, into_id: int, now: datetime,
                settings: Settings) -> Proposal:  # fmt: skip
    """并案 into a filed proposal: its proposers keep their own notices (and get the answer)."""
    proposal, move = await _locked(session, proposal_id, "merge", actor)
    target = await session.get(Proposal, into_id)
    if target is None or target.id == proposal.id or target.state not in FILED_STATES:
        raise FilingError("merge_target")
    proposal.state, proposal.merged_into_id = move.target or proposal.state, target.id
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now,
                                text=target.number)  # fmt: skip
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.merged", now=now, default_lang=settings.locale,
        into_number=target.number or "", into_title=target.title,
    )  # fmt: skip
    return proposal


async def return_(session: AsyncSession, proposal_id: int, *, actor: Member, note: str, now: datetime,
                  settings: Settings) -> Proposal:  # fmt: skip
    """退回修改 with a note: back with the lead (resubmitting keeps the history)."""
    proposal, move = await _locked(session, proposal_id, "return", actor)
    words = _text(note, required=True, code="note_missing")
    proposal.state = move.target or proposal.state
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, text=words)
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.returned", now=now, default_lang=settings.locale,
        note=words,
    )  # fmt: skip
    return proposal


# --------------------------------------------------------------------------- assignment


async def active_units(
    session: AsyncSession, wanted: str = "", limit: int = 8
) -> tuple[list[HandlingUnit], int]:
    """Active handling units whose name or short name holds `wanted` (all when empty), and how many match."""
    where: list[ColumnElement[bool]] = [col(HandlingUnit.active).is_(True)]
    if wanted.strip():
        like = f"%{wanted.strip()}%"
        where.append(or_(col(HandlingUnit.name).like(like), col(HandlingUnit.short_name).like(like)))
    total = (await session.exec(select(func.count()).select_from(HandlingUnit).where(*where))).one()
    rows = (
        await session.exec(select(HandlingUnit).where(*where).order_by(col(HandlingUnit.name)).limit(limit))
    ).all()
    return list(rows), int(total)


def _due(now: datetime, settings: Settings) -> tuple[date, datetime]:
    due_on = local(now, settings.tz).date() + timedelta(days=settings.proposal_answer_days)
    return due_on, to_db(now + timedelta(days=settings.proposal_object_days))


async def _units(session: AsyncSession, ids: list[int]) -> dict[int, HandlingUnit]:
    rows = (await session.exec(select(HandlingUnit).where(col(HandlingUnit.id).in_(ids)))).all()
    return {row.id: row for row in rows if row.id is not None and row.active}


async def assign(session: AsyncSession, proposal_id: int, *, actor: Member, main_id: int | None = None,
                 assist_ids: list[int] | None = None, separate_ids: list[int] | None = None, now: datetime,
                 settings: Settings) -> list[ProposalAssignment]:  # fmt: skip
    """交办: one 主办 and any 协办, or 分办 to two or more units that each answer. Each unit's contacts
    get the proposal with 签收 / 申请调整; the proposers are told which units handle it."""
    proposal, move = await _locked(session, proposal_id, "assign", actor)
    assist_ids, separate_ids = list(dict.fromkeys(assist_ids or [])), list(dict.fromkeys(separate_ids or []))
    if main_id is not None and separate_ids:
        raise FilingError("assign_mixed")
    if main_id is None and len(separate_ids) < 2:
        raise FilingError("assign_main_missing" if not separate_ids else "assign_separate_few")
    parts = [(main_id, MAIN)] + [(i, ASSIST) for i in assist_ids if i != main_id] if main_id is not None else [
        (i, SEPARATE) for i in separate_ids]  # fmt: skip
    units = await _units(session, [unit_id for unit_id, _role in parts if unit_id is not None])
    if any(unit_id not in units for unit_id, _role in parts):
        raise FilingError("no_unit")
    due_on, object_until = _due(now, settings)
    proposal.state, proposal.assigned_at = move.target or proposal.state, to_db(now)
    session.add(proposal)
    rows = []
    for unit_id, role in parts:
        assert unit_id is not None and proposal.id is not None
        row = ProposalAssignment(proposal_id=proposal.id, unit_id=unit_id, role=role, assigned_at=to_db(now),
                                 object_until=object_until, due_on=due_on)  # fmt: skip
        session.add(row)
        rows.append(row)
    await session.flush()
    named = [(units[r.unit_id].name, r.role) for r in rows]
    first: ProposalEvent | None = None
    for row in rows:
        assert row.id is not None
        event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, unit_id=row.unit_id,
                                    text=row.role)  # fmt: skip
        first = first or event
        partners = "、".join(units[r.unit_id].name for r in rows if r is not row)
        await common.notify_unit(
            session, proposal, event, row.unit_id, "proposals_filing.unit.assigned", now=now,
            default_lang=settings.locale, localized=_unit_card_params(proposal, row, settings, now, partners),
            markup=_unit_card_markup(row.id),
        )  # fmt: skip
    assert first is not None

    def params(lang: str) -> dict[str, Any]:
        return {
            "units": "、".join(
                t("proposals_filing.unit_role", lang, unit=n, role=role_label(r, lang)) for n, r in named
            ),
            "due": format_day(due_on, lang, local(now, settings.tz).date()),
        }

    await common.notify_proposers(
        session, proposal, first, "proposals_filing.notice.assigned", now=now, default_lang=settings.locale,
        localized=params,
    )  # fmt: skip
    return rows


async def _assignment(session: AsyncSession, proposal: Proposal, assignment_id: int) -> ProposalAssignment:
    row = await session.get(ProposalAssignment, assignment_id)
    if row is None or row.proposal_id != proposal.id:
        raise FilingError("no_assignment")
    return row


async def reassign(session: AsyncSession, proposal_id: int, *, actor: Member, assignment_id: int, unit_id: int,
                   now: datetime, settings: Settings) -> ProposalAssignment:  # fmt: skip
    """From a unit's objection (申请调整): its row is withdrawn and another unit takes the same part
    with a fresh deadline; both units and the proposers are told."""
    proposal, move = await _locked(session, proposal_id, "reassign", actor)
    old = await _assignment(session, proposal, assignment_id)
    if old.state != A_OBJECTED:
        raise FilingError("not_objected")
    units = await _units(session, [unit_id, old.unit_id])
    if unit_id not in units:
        raise FilingError("no_unit")
    taken = select(ProposalAssignment.id).where(
        col(ProposalAssignment.proposal_id) == proposal.id, col(ProposalAssignment.unit_id) == unit_id,
        col(ProposalAssignment.state) != A_WITHDRAWN)  # fmt: skip
    if (await session.exec(taken)).first() is not None:
        raise FilingError("unit_taken")
    old.state = A_WITHDRAWN
    session.add(old)
    due_on, object_until = _due(now, settings)
    assert proposal.id is not None
    new = ProposalAssignment(proposal_id=proposal.id, unit_id=unit_id, role=old.role, round=old.round,
                             assigned_at=to_db(now), object_until=object_until, due_on=due_on)  # fmt: skip
    session.add(new)
    await session.flush()
    assert new.id is not None
    old_name = units[old.unit_id].name if old.unit_id in units else ""
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, unit_id=unit_id,
                                text=old_name)  # fmt: skip
    await common.notify_unit(
        session, proposal, event, old.unit_id, "proposals_filing.unit.withdrawn", now=now,
        default_lang=settings.locale,
    )  # fmt: skip
    others = select(HandlingUnit.name).join(ProposalAssignment, col(ProposalAssignment.unit_id) == HandlingUnit.id).where(
        col(ProposalAssignment.proposal_id) == proposal.id, col(ProposalAssignment.state) != A_WITHDRAWN,
        col(ProposalAssignment.id) != new.id)  # fmt: skip
    partners = "、".join((await session.exec(others)).all())
    await common.notify_unit(
        session, proposal, event, unit_id, "proposals_filing.unit.assigned", now=now,
        default_lang=settings.locale, localized=_unit_card_params(proposal, new, settings, now, partners),
        markup=_unit_card_markup(new.id),
    )  # fmt: skip

    def params(lang: str) -> dict[str, Any]:
        return {"old": old_name, "unit": units[unit_id].name, "role": role_label(new.role, lang)}

    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.reassigned", now=now, default_lang=settings.locale,
        localized=params,
    )  # fmt: skip
    return new


# --------------------------------------------------------------------------- supervision and rating


async def mark_key(session: AsyncSession, proposal_id: int, *, actor: Member, leader: str, now: datetime,
                   settings: Settings) -> Proposal:  # fmt: skip
    """重点提案 with the name of its 领衔督办 leader (the name may be changed later)."""
    proposal, move = await _locked(session, proposal_id, "key", actor)
    name = _text(leader, required=True, code="leader_missing", limit=LEADER_MAX)
    if proposal.key and proposal.key_leader == name:
        raise FilingError("already_key", leader=name)
    proposal.key, proposal.key_leader = True, name
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, text=name)
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.key", now=now, default_lang=settings.locale,
        leader=name,
    )  # fmt: skip
    return proposal


async def nudge(session: AsyncSession, proposal_id: int, *, actor: Member, now: datetime,
                settings: Settings) -> int:  # fmt: skip
    """督办: a reminder to every unit still owing its part; once a day per proposal. Returns how many
    units were told."""
    proposal, move = await _locked(session, proposal_id, "nudge", actor)
    last = (
        await session.exec(
            select(func.max(ProposalEvent.at)).where(
                col(ProposalEvent.proposal_id) == proposal.id, col(ProposalEvent.kind) == move.event
            )
        )  # fmt: skip
    ).one()
    if last is not None and last > to_db(now - NUDGE_EVERY):
        again = last + NUDGE_EVERY
        raise FilingError("nudge_too_soon", at=lambda lang: format_moment(again, settings.tz, lang))
    owing = (
        await session.exec(
            select(ProposalAssignment).where(
                col(ProposalAssignment.proposal_id) == proposal.id,
                col(ProposalAssignment.state).in_(OPEN_STATES),
            )
        )  # fmt: skip
    ).all()
    if not owing:
        raise FilingError("nothing_owed")
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now)
    today = local(now, settings.tz).date()
    for row in owing:
        await common.notify_unit(
            session, proposal, event, row.unit_id, "proposals_filing.unit.nudged", now=now,
            default_lang=settings.locale, localized=_due_params(row.due_on, today),
        )  # fmt: skip
    return len(owing)


def _due_params(due_on: date, today: date) -> Any:
    def params(lang: str) -> dict[str, Any]:
        return {"due": format_day(due_on, lang, today)}

    return params


def extension_limit(assignment: ProposalAssignment, settings: Settings) -> date:
    """The latest day an extension may give: the assigned day + PROPOSAL_MAX_DAYS."""
    return local(assignment.assigned_at, settings.tz).date() + timedelta(days=settings.proposal_max_days)


async def decide_extension(session: AsyncSession, proposal_id: int, *, actor: Member, assignment_id: int,
                           approve: bool, now: datetime, settings: Settings) -> ProposalAssignment:  # fmt: skip
    """Approve (due_on = the day asked for, never beyond the limit) or refuse a unit's extension request."""
    proposal, move = await _locked(session, proposal_id, "extend" if approve else "no_extend", actor)
    row = await _assignment(session, proposal, assignment_id)
    if (
        row.extension_state != EXT_REQUESTED
        or row.extension_until is None
        or row.state in (A_WITHDRAWN, A_ANSWERED)
    ):
        raise FilingError("no_extension")
    until = row.extension_until
    today = local(now, settings.tz).date()
    if approve:
        limit = extension_limit(row, settings)
        if until > limit:
            raise FilingError("extension_late", day=lambda lang: format_day(until, lang, today),
                              limit=lambda lang: format_day(limit, lang, today))  # fmt: skip
        row.due_on = until
    row.extension_state = EXT_APPROVED if approve else EXT_REFUSED
    session.add(row)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now, unit_id=row.unit_id,
                                on_date=until)  # fmt: skip
    due_on = row.due_on

    def days(lang: str) -> dict[str, Any]:
        return {"day": format_day(until, lang, today), "due": format_day(due_on, lang, today)}

    key = "extension_approved" if approve else "extension_refused"
    await common.notify_unit(
        session, proposal, event, row.unit_id, f"proposals_filing.unit.{key}", now=now,
        default_lang=settings.locale, localized=days,
    )  # fmt: skip
    if approve:
        unit = await session.get(HandlingUnit, row.unit_id)
        await common.notify_proposers(
            session, proposal, event, "proposals_filing.notice.extended", now=now,
            default_lang=settings.locale, unit=unit.name if unit else "", localized=days,
        )  # fmt: skip
    return row



async def rework_allowed(session: AsyncSession, proposal: Proposal) -> bool:
    """重办 is open once, after a proposer rated the result of the current round 不满意."""
    if proposal.reworked or proposal.state != ANSWERED:
        return False
    assert proposal.id is not None
    round_ = await current_round(session, proposal.id)
    query = select(ProposalRating.id).where(
        col(ProposalRating.proposal_id) == proposal.id, col(ProposalRating.round) == round_,
        col(ProposalRating.result) == UNSATISFIED)  # fmt: skip
    return (await session.exec(query)).first() is not None


async def rework(session: AsyncSession, proposal_id: int, *, actor: Member, now: datetime,
                 settings: Settings) -> Proposal:  # fmt: skip
    """重办 (once): the answering units answer again in round 2, by a new due day PROPOSAL_REWORK_DAYS
    from now (the reminders, the overdue notice and 按期办复 count from it; an extension request left
    open in round 1 is dropped); the earlier answers stay in the history."""
    proposal, move = await _locked(session, proposal_id, "rework", actor)
    if proposal.reworked:
        raise FilingError("reworked_before")
    if not await rework_allowed(session, proposal):
        raise FilingError("rework_unrated")
    assert proposal.id is not None
    round_ = await current_round(session, proposal.id)
    rows = (
        await session.exec(
            select(ProposalAssignment).where(
                col(ProposalAssignment.proposal_id) == proposal.id,
                col(ProposalAssignment.round) == round_,
                col(ProposalAssignment.role).in_(ANSWERING_ROLES),
                col(ProposalAssignment.state) == A_ANSWERED,
            )
        )  # fmt: skip
    ).all()
    earlier = "\n".join(f"[{row.answer_category or ''}] {row.answer or ''}" for row in rows)
    proposal.state, proposal.reworked, proposal.answered_at = move.target or proposal.state, True, None
    session.add(proposal)
    event = await common.record(
        session, proposal, move.event, actor_id=actor.id, now=now, text=earlier or None
    )
    today = local(now, settings.tz).date()
    due_on = today + timedelta(days=settings.proposal_rework_days)
    for row in rows:
        row.round, row.state, row.due_on = round_ + 1, A_SIGNED, due_on
        row.answer = row.answer_category = row.answered_at = None
        row.extension_state = row.extension_until = row.extension_reason = None
        session.add(row)
        await common.notify_unit(
            session, proposal, event, row.unit_id, "proposals_filing.unit.rework", now=now,
            default_lang=settings.locale, localized=_due_params(due_on, today),
        )  # fmt: skip
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.rework", now=now, default_lang=settings.locale,
        localized=_due_params(due_on, today),
    )  # fmt: skip
    return proposal


async def mark_excellent(session: AsyncSession, proposal_id: int, *, actor: Member, now: datetime,
                         settings: Settings) -> Proposal:  # fmt: skip
    """优秀提案 (year end)."""
    proposal, move = await _locked(session, proposal_id, "excellent", actor)
    if proposal.excellent:
        raise FilingError("already_excellent")
    proposal.excellent = True
    session.add(proposal)
    event = await common.record(session, proposal, move.event, actor_id=actor.id, now=now)
    await common.notify_proposers(
        session, proposal, event, "proposals_filing.notice.excellent", now=now, default_lang=settings.locale,
    )  # fmt: skip
    return proposal


# --------------------------------------------------------------------------- reading: the inbox and a card


@dataclass
class Card:
    proposal: Proposal
    authors: list[tuple[Member, str]]  # member, consent
    assignments: list[tuple[ProposalAssignment, HandlingUnit]]
    events: list[tuple[ProposalEvent, str]]  # event, actor's name (or unit's)
    moves: list[str] = field(default_factory=list)  # PROPOSAL_MOVES open now
    objected: list[ProposalAssignment] = field(default_factory=list)
    extensions: list[ProposalAssignment] = field(default_factory=list)
    merged_into: str | None = None


async def moves_open(session: AsyncSession, proposal: Proposal) -> list[str]:
    """The proposal moves a button may offer now (the service checks again on the press)."""
    names = [name for name in PROPOSAL_MOVES if proposal.state in MOVES[name].sources]
    if "rework" in names and not await rework_allowed(session, proposal):
        names.remove("rework")
    if "excellent" in names and proposal.excellent:
        names.remove("excellent")
    return names


async def card(session: AsyncSession, proposal_id: int, history: int = 12) -> Card | None:
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        return None
    authors = (
        await session.exec(
            select(Member, ProposalAuthor.consent)
            .join(ProposalAuthor, col(ProposalAuthor.member_id) == Member.id)
            .where(col(ProposalAuthor.proposal_id) == proposal_id)
            .order_by(col(ProposalAuthor.position))
        )
    ).all()
    assignments = (
        await session.exec(
            select(ProposalAssignment, HandlingUnit)
            .join(HandlingUnit, col(HandlingUnit.id) == ProposalAssignment.unit_id)
            .where(col(ProposalAssignment.proposal_id) == proposal_id)
            .order_by(col(ProposalAssignment.id))
        )
    ).all()
    names = {m.id: m.name for m, _c in authors}
    units = {u.id: u.name for _a, u in assignments}
    events = (
        await session.exec(
            select(ProposalEvent)
            .where(col(ProposalEvent.proposal_id) == proposal_id)
            .order_by(col(ProposalEvent.at).desc(), col(ProposalEvent.id).desc())
            .limit(history)
        )  # fmt: skip
    ).all()
    missing = {e.actor_id for e in events if e.actor_id is not None and e.actor_id not in names}
    if missing:
        for member in (await session.exec(select(Member).where(col(Member.id).in_(missing)))).all():
            names[member.id] = member.name
    shown = [
        (e, units.get(e.unit_id, "") if e.actor_id is None else names.get(e.actor_id, ""))
        for e in reversed(events)
    ]
    merged_into = None
    if proposal.merged_into_id is not None:
        target = await session.get(Proposal, proposal.merged_into_id)
        merged_into = target.number if target is not None else None
    live = proposal.state == ASSIGNED
    return Card(
        proposal=proposal,
        authors=[(m, c) for m, c in authors],
        assignments=[(a, u) for a, u in assignments],
        events=shown,
        moves=await moves_open(session, proposal),
        objected=[a for a, _u in assignments if live and a.state == A_OBJECTED],
        extensions=[
            a
            for a, _u in assignments
            if live and a.extension_state == EXT_REQUESTED and a.state not in (A_WITHDRAWN, A_ANSWERED)
        ],  # fmt: skip
        merged_into=merged_into,
    )


def _view_filter(view: str, today: date) -> ColumnElement[bool]:
    if view == "review":
        return col(Proposal.state) == SUBMITTED
    if view == "filed":
        return col(Proposal.state) == FILED
    if view == "handling":
        return col(Proposal.state) == ASSIGNED
    if view == "overdue":
        late = exists().where(
            col(ProposalAssignment.proposal_id) == Proposal.id, col(ProposalAssignment.state).in_(OPEN_STATES),
            col(ProposalAssignment.due_on) < today)  # fmt: skip
        return and_(col(Proposal.state) == ASSIGNED, late)
    if view == "rating":
        round_ = (
            select(func.coalesce(func.max(ProposalAssignment.round), 1))
            .where(
                col(ProposalAssignment.proposal_id) == Proposal.id,
                col(ProposalAssignment.state) != A_WITHDRAWN,
            )
            .scalar_subquery()
        )
        unrated = exists().where(
            col(ProposalAuthor.proposal_id) == Proposal.id, col(ProposalAuthor.consent).in_((LEAD, AGREED)),
            ~exists().where(col(ProposalRating.proposal_id) == Proposal.id,
                            col(ProposalRating.member_id) == ProposalAuthor.member_id,
                            col(ProposalRating.round) == round_))  # fmt: skip
        return and_(col(Proposal.state) == ANSWERED, unrated)
    if view == "key":
        return col(Proposal.key).is_(True)
    raise FilingError("illegal")


async def view_counts(session: AsyncSession, today: date) -> dict[str, int]:
    counts = {}
    for view in VIEWS:
        query = select(func.count()).select_from(Proposal).where(_view_filter(view, today))
        counts[view] = int((await session.exec(query)).one())
    return counts


async def inbox(session: AsyncSession, view: str, today: date, *, offset: int = 0,
                limit: int = 5) -> tuple[list[Proposal], int]:  # fmt: skip
    """A page of a view (oldest submission first: the longest waiting comes first) and its total."""
    where = _view_filter(view, today)
    total = int((await session.exec(select(func.count()).select_from(Proposal).where(where))).one())
    query = (
        select(Proposal)
        .where(where)
        .order_by(col(Proposal.submitted_at), col(Proposal.id))
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(query)).all()), total


async def due_of(session: AsyncSession, proposal_ids: list[int]) -> dict[int, date]:
    """The earliest open deadline of each proposal (for the inbox lines)."""
    if not proposal_ids:
        return {}
    query = (
        select(ProposalAssignment.proposal_id, func.min(ProposalAssignment.due_on))
        .where(
            col(ProposalAssignment.proposal_id).in_(proposal_ids),
            col(ProposalAssignment.state).in_(OPEN_STATES),
        )
        .group_by(col(ProposalAssignment.proposal_id))
    )
    return {pid: day for pid, day in (await session.exec(query)).all()}


def is_late(assignment: ProposalAssignment, today: date) -> bool:
    return assignment.state in OPEN_STATES and assignment.due_on < today


__all__ = [
    "ASSIGNMENT_MOVES", "MOVES", "PROPOSAL_MOVES", "VIEWS", "Card", "FilingError", "Move", "assign", "card",
    "convert", "decide_extension", "file", "inbox", "mark_excellent", "mark_key", "merge", "not_file", "nudge",
    "reassign", "return_", "rework", "view_counts",
]  # fmt: skip
