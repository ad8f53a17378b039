"""办 and 督 by the handling units: a unit's contact signs (签收) or objects to (申请调整) an
assignment, records the contact with the proposer, a 协办 unit sends its opinion to the 主办, an
answering unit answers (text, an answer category, optionally a 答复函), asks for an extension; and
the supervision sweep: reminders 30, 7 and 1 days before an assignment's due day and an overdue
notice, once each per round (a 重办 gives round 2 its own due day, reminders and overdue notice);
when a unit has no contact the notice can reach, the secretariat is told instead, once.

Every call names the contact and the assignment; an assignment of another unit is refused exactly
like one that does not exist. When every main/separate assignment of the current round has answered,
the proposal is ANSWERED and every proposer gets the answers with the rating button, once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import ROW_IDS, Buttons, inline_markup
from bot.core.clock import to_db
from bot.core.dates import format_day
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import ProposalRules
from bot.core.schedule import from_wall
from bot.services.outbox import enqueue, notify_member
from bot.services.proposals.common import (
    RATE_BUTTON,
    STAFF_OPEN_BUTTON,
    lock,
    notify_each,
    notify_unit,
    proposer_ids,
    record,
    role_label,
    tell_secretariat,
    unit_contacts,
)
from bot.services.reminders import ReminderPolicy, deadline_slots
from models import HandlingUnit, Member, Proposal, ProposalAssignment, ProposalAttachment, ProposalEvent
from models.proposal import (
    A_ANSWERED,
    A_ASSIGNED,
    A_OBJECTED,
    A_SIGNED,
    A_WITHDRAWN,
    ANSWERED,
    ANSWERING_ROLES,
    ASSIGNED,
    ASSIST,
    CONTACT_KINDS,
    EXT_REQUESTED,
    MAIN,
)

log = logging.getLogger(__name__)

# The buttons of a unit's assignment card (the 交办 card's 签收 / 申请调整 are common's).
UNIT = Buttons("punit")
CONTACT_BUTTON = UNIT("contact", numbers=ROW_IDS)  # assignment id → record the contact with the proposer
OPINION_BUTTON = UNIT("opinion", numbers=ROW_IDS)  # 协办: the opinion to the 主办
ANSWER_BUTTON = UNIT("answer", numbers=ROW_IDS)  # 主办 / 分办: the answer
EXTEND_BUTTON = UNIT("extend", numbers=ROW_IDS)  # ask for an extension
MY_BUTTON = UNIT("list")  # back to the unit's list

REMIND_DAYS = (30, 7, 1)
MIN_TEXT, MAX_REASON, MAX_OPINION, MAX_ANSWER = 2, 500, 2000, 3000
MIN_ANSWER = 10
MAX_FILE_BYTES = 20 * 1024 * 1024
LETTER_TYPES = ("application/pdf", "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
LETTER_SUFFIXES = (".pdf", ".doc", ".docx")
OPEN_STATES = (A_ASSIGNED, A_SIGNED)


class UnitError(Refusal):
    """A unit's step refused: catalogue key `proposals_unit.err.<code>`."""

    prefix = "proposals_unit.err."
    FINAL = frozenset({"not_yours", "withdrawn", "answered", "objected", "object_closed", "not_open",
                       "extension_pending", "wrong_role"})
    HAND_BACK = frozenset({"text_long"})


@dataclass
class Item:
    """One assignment of the unit with its proposal (a line of /myunit)."""

    assignment: ProposalAssignment
    proposal: Proposal


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The committee's day of a stored (naive UTC) moment."""
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


async def _mine(session: AsyncSession, contact: Member, assignment_id: int, *, locked: bool = True) -> Item:
    """The contact's unit's assignment and its proposal (locked); another unit's is "not found"."""
    assignment = await session.get(ProposalAssignment, assignment_id)
    if assignment is None or contact.unit_id is None or assignment.unit_id != contact.unit_id:
        raise UnitError("not_yours")
    if assignment.state == A_WITHDRAWN:
        raise UnitError("withdrawn")
    proposal = await lock(session, assignment.proposal_id) if locked else await session.get(
        Proposal, assignment.proposal_id)
    assert proposal is not None
    await session.refresh(assignment)
    return Item(assignment, proposal)


def _text(text: str, limit: int, minimum: int = MIN_TEXT) -> str:
    text = text.strip()
    if len(text) < minimum:
        raise UnitError("text_short", min=minimum)
    if len(text) > limit:
        raise UnitError("text_long", length=len(text), max=limit)
    return text


def _working(item: Item) -> None:
    """Only a signed, open assignment of a proposal being handled takes contact, opinion, answer, extension."""
    state = item.assignment.state
    if state == A_ANSWERED:
        raise UnitError("answered")
    if state == A_OBJECTED:
        raise UnitError("objected")
    if item.proposal.state != ASSIGNED:
        raise UnitError("not_open")
    if state == A_ASSIGNED:
        raise UnitError("sign_first")


async def my_items(session: AsyncSession, contact: Member, *, include_done: bool = True) -> list[Item]:
    """The assignments of the contact's unit (never another unit's), open ones first by due day."""
    if contact.unit_id is None:
        return []
    query = (
        select(ProposalAssignment, Proposal)
        .join(Proposal, col(Proposal.id) == ProposalAssignment.proposal_id)
        .where(col(ProposalAssignment.unit_id) == contact.unit_id, col(ProposalAssignment.state) != A_WITHDRAWN)
    )
    if not include_done:
        query = query.where(col(ProposalAssignment.state) != A_ANSWERED)
    rows = (await session.exec(query.order_by(col(ProposalAssignment.due_on), col(ProposalAssignment.id)))).all()
    items = [Item(a, p) for a, p in rows]
    return sorted(items, key=lambda i: (i.assignment.state == A_ANSWERED, i.assignment.due_on))


async def item(session: AsyncSession, contact: Member, assignment_id: int) -> Item:
    """One assignment of the contact's unit (read only)."""
    return await _mine(session, contact, assignment_id, locked=False)


async def check_working(session: AsyncSession, contact: Member, assignment_id: int) -> Item:
    """The assignment, when it takes contact, opinion, answer or extension steps now."""
    found = await _mine(session, contact, assignment_id, locked=False)
    _working(found)
    return found


async def sign(session: AsyncSession, contact: Member, assignment_id: int, *, now: datetime) -> tuple[Item, bool]:
    """签收: the assignment is the unit's to handle. Returns the item and whether this call signed
    it (a second press changes nothing)."""
    found = await _mine(session, contact, assignment_id)
    a = found.assignment
    if a.state in (A_SIGNED, A_ANSWERED):
        return found, False
    if a.state == A_OBJECTED:
        raise UnitError("objected")
    if found.proposal.state != ASSIGNED:
        raise UnitError("not_open")
    a.state, a.signed_at = A_SIGNED, to_db(now)
    session.add(a)
    await record(session, found.proposal, "signed", actor_id=contact.id, now=now, unit_id=a.unit_id)
    return found, True


async def check_objection(session: AsyncSession, contact: Member, assignment_id: int, *, now: datetime) -> Item:
    """Whether the unit may still ask for an adjustment (before asking for the reason)."""
    return _may_object(await _mine(session, contact, assignment_id, locked=False), now)


def _may_object(found: Item, now: datetime) -> Item:
    a = found.assignment
    if a.state == A_OBJECTED:
        raise UnitError("objected")
    if a.state == A_ANSWERED or found.proposal.state != ASSIGNED:
        raise UnitError("answered" if a.state == A_ANSWERED else "not_open")
    if to_db(now) > a.object_until:
        raise UnitError("object_closed")
    return found


async def object_to(session: AsyncSession, contact: Member, assignment_id: int, reason: str, *,
                    now: datetime, staff_chat: int | None, lang: str = "zh") -> Item:
    """申请调整 with a reason, only until object_until; the secretariat is told (it re-assigns)."""
    reason = _text(reason, MAX_REASON)
    found = _may_object(await _mine(session, contact, assignment_id), now)
    a = found.assignment
    a.state, a.objection = A_OBJECTED, reason
    session.add(a)
    event = await record(session, found.proposal, "objected", actor_id=contact.id, now=now, unit_id=a.unit_id,
                         text=reason)
    unit = await session.get(HandlingUnit, a.unit_id)
    await tell_staff(session, found.proposal, event, "proposals_unit.staff_objected", staff_chat, now=now,
                     lang=lang, unit=unit.name if unit else "", reason=reason)
    return found


async def tell_staff(session: AsyncSession, proposal: Proposal, event: ProposalEvent, key: str,
                     chat_id: int | None, *, now: datetime, lang: str, part: str = "", **params: object) -> bool:
    """A notice to the secretariat's chat with the button that opens the proposal there (`part`: a
    second notice of the same history row)."""
    assert proposal.id is not None
    markup = inline_markup([[(t("proposals_unit.open_button", lang), STAFF_OPEN_BUTTON(proposal.id))]])
    return await tell_secretariat(session, proposal, event, key, chat_id=chat_id, now=now, lang=lang,
                                  reply_markup=markup, part=part, **params)


async def record_contact(session: AsyncSession, contact: Member, assignment_id: int, *, kind: str, on: date,
                         now: datetime, today: date) -> Item:
    """The unit's contact with the proposer (面商 / 电话 / 座谈 / 书面) on a day, not in the future and
    not before the assignment."""
    if kind not in CONTACT_KINDS:
        raise UnitError("bad_kind")
    found = await _mine(session, contact, assignment_id)
    _working(found)
    a = found.assignment
    if on > today:
        raise UnitError("day_future")
    if on < a.assigned_at.date() - timedelta(days=1):
        raise UnitError("day_before_assigned")
    a.contact_on, a.contact_kind = on, kind
    session.add(a)
    await record(session, found.proposal, "contacted", actor_id=contact.id, now=now, unit_id=a.unit_id,
                 on_date=on, text=kind)
    return found


async def _answering(session: AsyncSession, proposal_id: int, round_: int | None = None) -> list[ProposalAssignment]:
    query = select(ProposalAssignment).where(
        col(ProposalAssignment.proposal_id) == proposal_id,
        col(ProposalAssignment.state) != A_WITHDRAWN,
        col(ProposalAssignment.role).in_(ANSWERING_ROLES),
    )
    return list((await session.exec(query.order_by(col(ProposalAssignment.id)))).all())


async def send_opinion(session: AsyncSession, contact: Member, assignment_id: int, text: str, *,
                       now: datetime) -> Item:
    """协办: the opinion goes to the 主办 unit (shown to it before it answers); sending again replaces it."""
    found = await _mine(session, contact, assignment_id)
    _working(found)
    a = found.assignment
    if a.role != ASSIST:
        raise UnitError("wrong_role")
    text = _text(text, MAX_OPINION)
    a.opinion, a.opinion_at = text, to_db(now)
    session.add(a)
    event = await record(session, found.proposal, "opinion", actor_id=contact.id, now=now, unit_id=a.unit_id,
                         text=text)
    unit = await session.get(HandlingUnit, a.unit_id)
    for main in await _answering(session, found.proposal.id or 0):
        if main.role == MAIN:
            await notify_unit(session, found.proposal, event, main.unit_id, "proposals_unit.opinion_to_main",
                              now=now, unit=unit.name if unit else "", opinion=text)
    return found


async def opinions(session: AsyncSession, proposal_id: int) -> list[tuple[str, str]]:
    """The 协办 units' opinions on a proposal (unit name, opinion), for the 主办 before it answers."""
    query = (
        select(ProposalAssignment, HandlingUnit)
        .join(HandlingUnit, col(HandlingUnit.id) == ProposalAssignment.unit_id)
        .where(col(ProposalAssignment.proposal_id) == proposal_id, col(ProposalAssignment.role) == ASSIST,
               col(ProposalAssignment.state) != A_WITHDRAWN)
        .order_by(col(ProposalAssignment.id))
    )
    return [(u.name, a.opinion or "") for a, u in (await session.exec(query)).all()]


@dataclass
class Letter:
    """A 答复函 the unit sent with its answer (a Telegram document)."""

    file_id: str
    file_unique_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


def check_letter(letter: Letter) -> Letter:
    """A PDF or Word file of at most 20 MB."""
    name = (letter.file_name or "").lower()
    if letter.mime_type not in LETTER_TYPES and not name.endswith(LETTER_SUFFIXES):
        raise UnitError("letter_type")
    if letter.file_size is not None and letter.file_size > MAX_FILE_BYTES:
        raise UnitError("letter_big", max=MAX_FILE_BYTES // (1024 * 1024))
    return letter


def check_category(code: str, rules: ProposalRules) -> str:
    if rules.answer_category(code) is None:
        raise UnitError("bad_category")
    return code


def check_answer_text(text: str) -> str:
    return _text(text, MAX_ANSWER, MIN_ANSWER)


async def answer(session: AsyncSession, contact: Member, assignment_id: int, *, text: str, category: str,
                 letter: Letter | None, now: datetime, rules: ProposalRules, staff_chat: int | None,
                 default_lang: str = "zh") -> tuple[Item, bool]:
    """The 主办 / 分办 answer. Returns the item and whether the proposal is now ANSWERED (then every
    proposer got the answers with the rating button, once)."""
    found = await _mine(session, contact, assignment_id)
    _working(found)
    a, proposal = found.assignment, found.proposal
    if a.role not in ANSWERING_ROLES:
        raise UnitError("wrong_role")
    text = check_answer_text(text)
    check_category(category, rules)
    if letter is not None:
        check_letter(letter)
        session.add(ProposalAttachment(proposal_id=proposal.id or 0, assignment_id=a.id, kind="document",
                                       file_id=letter.file_id, file_unique_id=letter.file_unique_id,
                                       file_name=letter.file_name, mime_type=letter.mime_type,
                                       file_size=letter.file_size))
    a.state, a.answer, a.answer_category, a.answered_at = A_ANSWERED, text, category, to_db(now)
    session.add(a)
    event = await record(session, proposal, "answered", actor_id=contact.id, now=now, unit_id=a.unit_id,
                         reason=category, text=text)
    current = [x for x in await _answering(session, proposal.id or 0) if x.round == a.round]
    if any(x.state != A_ANSWERED for x in current):
        return found, False
    proposal.state, proposal.answered_at = ANSWERED, to_db(now)
    session.add(proposal)
    await _tell_answered(session, proposal, event, current, rules=rules, now=now, default_lang=default_lang)
    # The category says which answer this is (after a 重办 the secretariat hears of the new one).
    codes = "、".join(sorted({x.answer_category or "" for x in current} - {""}))
    await tell_staff(session, proposal, event, "proposals_unit.staff_answered", staff_chat, now=now,
                     lang=default_lang, categories=codes)
    return found, True


async def _tell_answered(session: AsyncSession, proposal: Proposal, event: ProposalEvent,
                         answers: list[ProposalAssignment], *, rules: ProposalRules, now: datetime,
                         default_lang: str) -> None:
    """Every proposer: the answers of this round, with the rating button; the 答复函 after it."""
    assert proposal.id is not None and event.id is not None
    names = {u.id: u.name for u in (await session.exec(
        select(HandlingUnit).where(col(HandlingUnit.id).in_([x.unit_id for x in answers])))).all()}
    letters = (await session.exec(select(ProposalAttachment).where(
        col(ProposalAttachment.assignment_id).in_([x.id for x in answers])).order_by(col(ProposalAttachment.id)))).all()
    ids = await proposer_ids(session, proposal.id)
    for member in (await session.exec(select(Member).where(col(Member.id).in_(ids)))).all():
        lang = member.language or default_lang
        parts = []
        for x in answers:
            found = rules.answer_category(x.answer_category or "")
            parts.append(t("proposals_unit.answer_part", lang, unit=names.get(x.unit_id, ""),
                           role=role_label(x.role, lang), category=found.label(lang) if found else "",
                           code=x.answer_category or "", answer=x.answer or ""))
        markup = inline_markup([[(t("proposals_unit.rate_button", lang), RATE_BUTTON(proposal.id))]])
        await notify_member(session, member, "proposals_unit.answered_to_proposer",
                            dedupe_key=f"proposal:{proposal.id}:event:{event.id}:{member.id}", now=now,
                            default_lang=default_lang, kind="proposal", reply_markup=markup,
                            title=proposal.title, number=proposal.number or "", answers="\n\n".join(parts))
        for letter in letters:
            if member.telegram_user_id is None or not member.reachable or not member.active:
                continue
            await enqueue(session, dedupe_key=f"proposal:{proposal.id}:event:{event.id}:{member.id}:letter:{letter.id}",
                          chat_id=member.telegram_user_id, text=t("proposals_unit.letter_caption", lang),
                          now=now, kind="proposal", member_id=member.id, method="sendDocument",
                          extra={"document": letter.file_id, "filename": letter.file_name})


def latest_day(a: ProposalAssignment, zone: tzinfo, max_days: int) -> date:
    """The latest day an extension may ask for: the assigned day + PROPOSAL_MAX_DAYS."""
    return local_day(a.assigned_at, zone) + timedelta(days=max_days)


async def check_extension(session: AsyncSession, contact: Member, assignment_id: int) -> Item:
    return _may_extend(await _mine(session, contact, assignment_id, locked=False))


def _may_extend(found: Item) -> Item:
    _working(found)
    if found.assignment.extension_state == EXT_REQUESTED:
        raise UnitError("extension_pending")
    return found


async def request_extension(session: AsyncSession, contact: Member, assignment_id: int, *, until: date,
                            reason: str, now: datetime, zone: tzinfo, max_days: int, staff_chat: int | None,
                            lang: str = "zh") -> Item:
    """延期: a new day after the current due day, at most the assigned day + PROPOSAL_MAX_DAYS, with
    a reason; the secretariat decides (the filing part approves or refuses)."""
    found = _may_extend(await _mine(session, contact, assignment_id))
    a = found.assignment
    check_extension_day(a, until, zone=zone, max_days=max_days)
    reason = _text(reason, MAX_REASON)
    a.extension_state, a.extension_until, a.extension_reason = EXT_REQUESTED, until, reason
    session.add(a)
    event = await record(session, found.proposal, "extension_requested", actor_id=contact.id, now=now,
                         unit_id=a.unit_id, on_date=until, text=reason)
    unit = await session.get(HandlingUnit, a.unit_id)
    await tell_staff(session, found.proposal, event, "proposals_unit.staff_extension", staff_chat, now=now,
                     lang=lang, unit=unit.name if unit else "", due=format_day(a.due_on, lang),
                     until=format_day(until, lang), reason=reason)
    return found


def check_extension_day(a: ProposalAssignment, until: date, *, zone: tzinfo, max_days: int) -> date:
    if until <= a.due_on:
        raise UnitError("extension_not_later", due=a.due_on.isoformat())
    latest = latest_day(a, zone, max_days)
    if until > latest:
        raise UnitError("extension_too_late", latest=latest.isoformat(), days=max_days)
    return until


# ------------------------------------------------------------------ 督: the supervision sweep


def reminder_slots(a: ProposalAssignment, policy: ReminderPolicy, since: datetime | None = None) -> list[datetime]:
    """The moments (aware UTC) of an assignment's reminders: 30, 7 and 1 days before its due day at
    DEADLINE_REMIND_TIME, moved off days off, none before the assignment (nor before `since`, the
    start of its round: a 重办, naive UTC)."""
    start = max(a.assigned_at, since or a.assigned_at).replace(tzinfo=UTC)
    slots = deadline_slots(a.due_on, list(REMIND_DAYS), policy.deadline_time, policy.zone, policy.calendar,
                           today=start.astimezone(policy.zone).date())
    return [s for s in slots if s >= start]


def overdue_moment(a: ProposalAssignment, policy: ReminderPolicy) -> datetime:
    """The first workday after the due day, at DEADLINE_REMIND_TIME (aware UTC)."""
    day = a.due_on + timedelta(days=1)
    for _ in range(60):
        if policy.calendar.is_workday(day):
            break
        day += timedelta(days=1)
    return from_wall(datetime.combine(day, policy.deadline_time), policy.zone)


async def sweep(session: AsyncSession, *, now: datetime, policy: ReminderPolicy, staff_chat: int | None) -> int:
    """Queue the reminders and overdue notices whose moment has come, once each per round (a history
    row marks each; a moment missed while the bot was down still counts once, only the latest one).
    A round after a 重办 counts from it: the marks of round 1 are not its own. Nothing is planned in
    quiet hours: the first sweep after them does it. Returns notices queued."""
    if policy.quiet.contains(now, policy.zone):
        return 0
    query = (
        select(ProposalAssignment, Proposal)
        .join(Proposal, col(Proposal.id) == ProposalAssignment.proposal_id)
        .where(col(Proposal.state) == ASSIGNED, col(ProposalAssignment.state).in_(OPEN_STATES),
               col(ProposalAssignment.due_on) <= (now + timedelta(days=max(REMIND_DAYS) + 7)).date())
    )
    rows = [(a, p) for a, p in (await session.exec(query)).all() if not (a.role == ASSIST and a.opinion)]
    if not rows:
        return 0
    ids = {p.id for _, p in rows}
    done: dict[tuple[int, int | None, str, date | None], list[datetime]] = {}
    for e in (await session.exec(select(ProposalEvent).where(
            col(ProposalEvent.proposal_id).in_(ids), col(ProposalEvent.kind).in_(("reminded", "overdue"))))).all():
        done.setdefault((e.proposal_id, e.unit_id, e.kind, e.on_date), []).append(e.at)
    starts = await _round_starts(session, ids)
    queued = 0
    today = now.astimezone(policy.zone).date()
    for a, proposal in rows:
        assert proposal.id is not None
        since = starts.get(proposal.id) if a.round > 1 else None
        if now >= overdue_moment(a, policy):
            kind, day = "overdue", a.due_on
        else:
            come = [s for s in reminder_slots(a, policy, since) if s <= now]
            if not come or today > a.due_on:
                continue
            kind, day = "reminded", come[-1].astimezone(policy.zone).date()
        marks = done.get((proposal.id, a.unit_id, kind, day), [])
        if any(since is None or at >= since for at in marks) or not await _first(session, proposal, a, kind, day,
                                                                                 since):
            continue
        if kind == "overdue":
            queued += await _overdue(session, a, proposal, now=now, policy=policy, staff_chat=staff_chat)
            continue
        event = await record(session, proposal, "reminded", actor_id=None, now=now, unit_id=a.unit_id, on_date=day,
                             text=a.due_on.isoformat())
        days = (a.due_on - today).days
        queued += await _remind_unit(session, a, proposal, event, "reminded", day, now=now, policy=policy,
                                     staff_chat=staff_chat, days=days)  # fmt: skip
    if queued:
        log.info("proposal sweep queued %d notice(s)", queued)
    return queued


async def _round_starts(session: AsyncSession, proposal_ids: set[int | None]) -> dict[int, datetime]:
    """When the current round of each reworked proposal began: its 重办 (naive UTC)."""
    query = (
        select(ProposalEvent.proposal_id, func.max(ProposalEvent.at))
        .where(col(ProposalEvent.proposal_id).in_(proposal_ids), col(ProposalEvent.kind) == "rework")
        .group_by(col(ProposalEvent.proposal_id))
    )
    return {pid: at for pid, at in (await session.exec(query)).all()}


async def _first(session: AsyncSession, proposal: Proposal, a: ProposalAssignment, kind: str, day: date,
                 since: datetime | None) -> bool:
    """Whether this reminder (or overdue notice) of the assignment's round (begun at `since`, or
    round 1) is still to be made, checked under the proposal's lock: of two sweeps at once (the
    start-up one and the hourly one), one makes it."""
    assert proposal.id is not None
    await lock(session, proposal.id)
    query = select(ProposalEvent.id).where(
        col(ProposalEvent.proposal_id) == proposal.id, col(ProposalEvent.unit_id) == a.unit_id,
        col(ProposalEvent.kind) == kind, col(ProposalEvent.on_date) == day)
    if since is not None:
        query = query.where(col(ProposalEvent.at) >= since)
    return (await session.exec(query)).first() is None


def _list_markup(lang: str) -> dict:
    return inline_markup([[(t("proposals_unit.list_button", lang), MY_BUTTON())]])


def _reachable(contact: Member) -> bool:
    """A contact a notice can reach: bound to a Telegram account that has not blocked the bot."""
    return contact.telegram_user_id is not None and contact.reachable and contact.active


async def _remind_unit(session: AsyncSession, a: ProposalAssignment, proposal: Proposal, event: ProposalEvent,
                       kind: str, day: date, *, now: datetime, policy: ReminderPolicy, staff_chat: int | None,
                       **params: object) -> int:
    """The `proposals_unit.reminder` (kind "reminded") or `.overdue` notice of `day` to every contact
    of the assignment's unit, with the button to their list. When none of them can be reached (none
    bound, or no contact at all) the secretariat is told so, once (the history row `event` names it)."""
    today = now.astimezone(policy.zone).date()

    def words(lang: str) -> dict[str, object]:
        return {"due": format_day(a.due_on, lang, today), "role": role_label(a.role, lang)}

    contacts = await unit_contacts(session, a.unit_id)
    tag = f"r{a.round}:" if a.round > 1 else ""  # a 重办's round: keys of its own
    queued = await notify_each(
        session, contacts, proposal, "proposals_unit.reminder" if kind == "reminded" else "proposals_unit.overdue",
        dedupe=lambda contact: f"proposal:{proposal.id}:unit:{a.id}:{tag}{kind}:{day}:{contact.id}", kind="reminder",
        now=now, default_lang=policy.default_lang, markup=_list_markup, localized=words, **params,
    )  # fmt: skip
    if any(_reachable(c) for c in contacts):
        return queued
    unit = await session.get(HandlingUnit, a.unit_id)
    lang = policy.default_lang
    key = "proposals_unit.staff_unreached_reminder" if kind == "reminded" else "proposals_unit.staff_unreached_overdue"
    told = await tell_staff(session, proposal, event, key, staff_chat, now=now, lang=lang, part="unreached",
                            unit=unit.name if unit else "", due=format_day(a.due_on, lang, today), **params)
    return queued + int(told)


async def _overdue(session: AsyncSession, a: ProposalAssignment, proposal: Proposal, *, now: datetime,
                   policy: ReminderPolicy, staff_chat: int | None) -> int:
    event = await record(session, proposal, "overdue", actor_id=None, now=now, unit_id=a.unit_id, on_date=a.due_on)
    today = now.astimezone(policy.zone).date()
    queued = await _remind_unit(session, a, proposal, event, "overdue", a.due_on, now=now, policy=policy,
                                staff_chat=staff_chat)
    unit = await session.get(HandlingUnit, a.unit_id)
    lang = policy.default_lang
    told = await tell_staff(session, proposal, event, "proposals_unit.staff_overdue", staff_chat, now=now, lang=lang,
                            unit=unit.name if unit else "", due=format_day(a.due_on, lang, today))
    return queued + int(told)
