"""What the annual work report counts about an event, entered once in the normal flow: its tags
and organiser (given when it is made), the leaders invited as guests, and after it its outcomes —
named quantities (建议 N 条, 走访 N 户; also on a member's own report) and output documents
(协商报告, 调研报告) with a later 批示. Names come from the rules file (bot.core.review_rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import local, to_db
from bot.core.refusals import Refusal
from bot.core.review_rules import ReviewRules, find
from bot.core.rules import Rules
from models import Member
from models.activity import WITHDRAWN, ActivityReport
from models.event import CANCELLED, Event
from models.event_detail import EventGuest, EventTag, OutcomeQuantity, OutputDocument

MAX_GUESTS = 20
MAX_GUEST = 120
MAX_DOC_TITLE = 200
MAX_BY = 120
MAX_AMOUNT = 100_000
_SPLIT = re.compile(r"[,，、;；\n]+")


class OutcomeError(Refusal):
    """Refused input for an event's details or outcomes: `outcomes.error.<code>`."""

    prefix = "outcomes.error."
    FINAL = frozenset({"no_event", "no_report", "no_document", "event_cancelled"})


@dataclass(frozen=True)
class Organiser:
    code: str | None = None
    unit: str | None = None  # the 专委会 when the organiser is one


def split_names(text: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Names as typed: separated by commas, 、, semicolons or lines."""
    if text is None:
        return []
    parts = text if isinstance(text, list | tuple) else _SPLIT.split(text)
    return [p.strip() for p in parts if p and p.strip()]


def parse_tags(text: str | list[str] | tuple[str, ...] | None, review: ReviewRules) -> tuple[str, ...]:
    """Tag codes from their names or codes (调研协商,轮值协商 or consult_research)."""
    codes = []
    for name in split_names(text):
        code = find(review.tags, name)
        if code is None:
            raise OutcomeError("unknown_tag", name=name[:40], known="、".join(t.zh for t in review.tags.values()))
        codes.append(code)
    return tuple(dict.fromkeys(codes))


async def committees(session: AsyncSession) -> list[str]:
    """The 专委会 named in the roster (the organisers a committee can be)."""
    rows = await session.exec(select(Member.committee).where(Member.committee != "").distinct())
    return sorted(name for name in rows.all() if name)


async def parse_organiser(session: AsyncSession, text: str | None, review: ReviewRules) -> Organiser:
    """An organiser as typed: 机关, 党组, 主席会议 (a rules name or code), 专委会:经济委员会, or a
    committee's name alone (经济委员会, part of it when that is unambiguous)."""
    text = (text or "").strip().replace("：", ":")
    if not text:
        return Organiser()
    head, sep, rest = text.partition(":")
    code = find(review.organisers, head)
    if code is not None and not review.organisers[code].committee:
        if sep and rest.strip():
            raise OutcomeError("unknown_organiser", name=text[:40], known=_organiser_names(review))
        return Organiser(code)
    committee_code = next((c for c, o in review.organisers.items() if o.committee), None)
    wanted = rest.strip() if code is not None else text
    if committee_code is None or not wanted:
        raise OutcomeError("unknown_organiser", name=text[:40], known=_organiser_names(review))
    names = await committees(session)
    found = [n for n in names if n == wanted] or [n for n in names if wanted in n]
    if len(found) != 1:
        key = "ambiguous_committee" if found else "unknown_organiser"
        raise OutcomeError(key, name=wanted[:40], known=_organiser_names(review), found="、".join(found[:5]))
    return Organiser(committee_code, found[0])


def _organiser_names(review: ReviewRules) -> str:
    return "、".join(o.zh for o in review.organisers.values())


def describe_organiser(event: Event, review: ReviewRules, lang: str) -> str:
    """The organiser as people say it: 经济委员会, 机关."""
    if not event.organiser:
        return ""
    if event.organiser_unit:
        return event.organiser_unit
    entry = review.organisers.get(event.organiser)
    return entry.label(lang) if entry else event.organiser


def check_guests(names: list[str]) -> list[str]:
    if len(names) > MAX_GUESTS:
        raise OutcomeError("too_many_guests", max=MAX_GUESTS)
    for name in names:
        if len(name) > MAX_GUEST:
            raise OutcomeError("too_long", limit=MAX_GUEST)
    return list(dict.fromkeys(names))


async def set_tags(session: AsyncSession, event: Event, codes: tuple[str, ...] | list[str]) -> None:
    """The event's tags become `codes` (already checked against the rules)."""
    assert event.id is not None
    await session.exec(delete(EventTag).where(col(EventTag.event_id) == event.id))
    for code in dict.fromkeys(codes):
        session.add(EventTag(event_id=event.id, tag=code))
    await session.flush()


async def set_guests(session: AsyncSession, event: Event, names: list[str]) -> None:
    """The leaders invited to the event become `names` (in that order)."""
    assert event.id is not None
    names = check_guests(names)
    await session.exec(delete(EventGuest).where(col(EventGuest.event_id) == event.id))
    for position, name in enumerate(names):
        session.add(EventGuest(event_id=event.id, name=name, position=position))
    await session.flush()


async def set_details(
    session: AsyncSession,
    event: Event,
    *,
    tags: tuple[str, ...] | list[str] | None = None,
    organiser: Organiser | None = None,
    guests: list[str] | None = None,
) -> None:
    """Tags, organiser and guests of an event (each only when given)."""
    if event.status == CANCELLED:
        raise OutcomeError("event_cancelled", id=event.id)
    if tags is not None:
        await set_tags(session, event, tags)
    if organiser is not None:
        event.organiser, event.organiser_unit = organiser.code, organiser.unit
        session.add(event)
    if guests is not None:
        await set_guests(session, event, guests)
    await session.flush()


async def event_tags(session: AsyncSession, event_id: int) -> list[str]:
    rows = await session.exec(select(EventTag.tag).where(EventTag.event_id == event_id))
    return list(rows.all())


async def event_guests(session: AsyncSession, event_id: int) -> list[str]:
    rows = await session.exec(
        select(EventGuest.name).where(EventGuest.event_id == event_id).order_by(col(EventGuest.position))
    )
    return list(rows.all())


# --------------------------------------------------------------------------- outcomes


def parse_amount(text: str | int) -> int:
    """A whole number of things (0 clears a quantity recorded by mistake)."""
    value = str(text).strip().rstrip("条户件篇次个人")
    if not value.isdigit() or int(value) > MAX_AMOUNT:
        raise OutcomeError("bad_amount", text=str(text)[:20], max=MAX_AMOUNT)
    return int(value)


def quantity_code(text: str, review: ReviewRules) -> str:
    code = find(review.quantities, text)
    if code is None:
        known = "、".join(q.zh for q in review.quantities.values())
        raise OutcomeError("unknown_quantity", name=text[:40], known=known)
    return code


def parse_quantities(specs: list[str], review: ReviewRules) -> dict[str, int]:
    """`建议=15`, `households=12`, `走访 12` … → {code: amount}."""
    out: dict[str, int] = {}
    for spec in specs:
        match = re.match(r"^\s*(.+?)\s*(?:[=＝:：]\s*|\s+)(\d+)\s*\S*\s*$", spec)
        if match is None:
            raise OutcomeError("bad_quantity", text=spec[:40])
        out[quantity_code(match.group(1), review)] = parse_amount(match.group(2))
    return out


async def open_event(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise OutcomeError("no_event", id=event_id)
    if event.status == CANCELLED:
        raise OutcomeError("event_cancelled", id=event_id)
    return event


async def set_quantity(
    session: AsyncSession,
    *,
    code: str,
    amount: int,
    rules: Rules,
    now: datetime,
    event_id: int | None = None,
    report_id: int | None = None,
    actor_id: int | None = None,
) -> OutcomeQuantity | None:
    """The amount of a named quantity for an event or a member's own report; recorded again, the
    amount is replaced; 0 removes it. A report may carry only the quantities its type allows."""
    review = rules.review
    if code not in review.quantities:
        raise OutcomeError("unknown_quantity", name=code[:40], known="、".join(q.zh for q in review.quantities.values()))
    if not 0 <= amount <= MAX_AMOUNT:
        raise OutcomeError("bad_amount", text=str(amount)[:20], max=MAX_AMOUNT)
    if (event_id is None) == (report_id is None):
        raise ValueError("a quantity belongs to one event or one report")
    if event_id is not None:
        await open_event(session, event_id)
        owner = col(OutcomeQuantity.event_id) == event_id
    else:
        report = await session.get(ActivityReport, report_id)
        if report is None or report.status == WITHDRAWN:
            raise OutcomeError("no_report", id=report_id)
        if report.type_code not in review.quantities[code].report_types:
            raise OutcomeError("not_for_type", quantity=review.quantities[code].zh, type=report.type_code)
        owner = col(OutcomeQuantity.report_id) == report_id
    row = (await session.exec(select(OutcomeQuantity).where(owner, OutcomeQuantity.code == code))).first()
    if amount == 0:
        if row is not None:
            await session.delete(row)
            await session.flush()
        return None
    if row is None:
        row = OutcomeQuantity(event_id=event_id, report_id=report_id, code=code)
    row.amount, row.recorded_by, row.recorded_at = amount, actor_id, to_db(now)
    session.add(row)
    await session.flush()
    return row


def check_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise OutcomeError("empty_title")
    if len(title) > MAX_DOC_TITLE:
        raise OutcomeError("too_long", limit=MAX_DOC_TITLE)
    return title


def document_kind(text: str, review: ReviewRules) -> str:
    code = find(review.documents, text)
    if code is None:
        raise OutcomeError("unknown_document", name=text[:40], known="、".join(d.zh for d in review.documents.values()))
    return code


async def add_document(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    rules: Rules,
    now: datetime,
    zone: tzinfo,
    event_id: int | None = None,
    on_date: date | None = None,
    actor_id: int | None = None,
) -> OutputDocument:
    """A 协商报告 / 调研报告 (an event's, or the committee's own). Its day (the year it counts in)
    is the event's day unless given. The same title for the same event and kind is one document."""
    if kind not in rules.review.documents:
        kind = document_kind(kind, rules.review)
    title = check_title(title)
    event = await open_event(session, event_id) if event_id is not None else None
    day = on_date or (local(event.starts_at, zone).date() if event is not None else local(now, zone).date())
    same = (
        await session.exec(
            select(OutputDocument).where(
                OutputDocument.kind == kind,
                OutputDocument.title == title,
                col(OutputDocument.event_id).is_(None) if event_id is None else OutputDocument.event_id == event_id,
            )
        )
    ).first()
    if same is not None:
        return same
    document = OutputDocument(event_id=event_id, kind=kind, title=title, on_date=day, recorded_by=actor_id,
                              created_at=to_db(now))  # fmt: skip
    session.add(document)
    await session.flush()
    return document


async def record_instruction(
    session: AsyncSession, *, document_id: int, by: str, on_date: date, actor_id: int | None = None
) -> OutputDocument:
    """A 批示 on a document: who gave it and on which day (recorded again, it is replaced)."""
    document = await session.get(OutputDocument, document_id)
    if document is None:
        raise OutcomeError("no_document", id=document_id)
    by = " ".join((by or "").split())
    if not by:
        raise OutcomeError("empty_by")
    if len(by) > MAX_BY:
        raise OutcomeError("too_long", limit=MAX_BY)
    document.instruction_by, document.instruction_on = by, on_date
    session.add(document)
    await session.flush()
    return document


@dataclass
class EventOutcomes:
    """Everything recorded about one event, for its card and the command line."""

    event: Event
    tags: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    quantities: dict[str, int] = field(default_factory=dict)
    documents: list[OutputDocument] = field(default_factory=list)


async def event_outcomes(session: AsyncSession, event_id: int) -> EventOutcomes:
    event = await session.get(Event, event_id)
    if event is None:
        raise OutcomeError("no_event", id=event_id)
    quantities = await session.exec(
        select(OutcomeQuantity.code, OutcomeQuantity.amount).where(OutcomeQuantity.event_id == event_id)
    )
    documents = await session.exec(
        select(OutputDocument).where(OutputDocument.event_id == event_id).order_by(col(OutputDocument.id))
    )
    return EventOutcomes(
        event=event,
        tags=await event_tags(session, event_id),
        guests=await event_guests(session, event_id),
        quantities=dict(quantities.all()),
        documents=list(documents.all()),
    )


def describe_outcomes(outcomes: EventOutcomes, review: ReviewRules, lang: str) -> list[str]:
    """The recorded details as lines of plain words (标签：调研协商 …)."""
    from bot.core.dates import format_day
    from bot.core.i18n import t

    joiner = "、" if lang == "zh" else ", "
    lines = []
    if outcomes.tags:
        names = [review.tags[c].label(lang) if c in review.tags else c for c in outcomes.tags]
        lines.append(t("outcomes.line_tags", lang, tags=joiner.join(names)))
    organiser = describe_organiser(outcomes.event, review, lang)
    if organiser:
        lines.append(t("outcomes.line_organiser", lang, organiser=organiser))
    if outcomes.guests:
        lines.append(t("outcomes.line_guests", lang, guests=joiner.join(outcomes.guests)))
    for code, amount in outcomes.quantities.items():
        entry = review.quantities.get(code)
        label, unit = (entry.label(lang), entry.unit(lang)) if entry else (code, "")
        lines.append(t("outcomes.line_quantity", lang, label=label, amount=amount, unit=unit))
    for doc in outcomes.documents:
        kind = review.documents[doc.kind].label(lang) if doc.kind in review.documents else doc.kind
        line = t("outcomes.line_document", lang, kind=kind, title=doc.title, id=doc.id)
        if doc.instruction_by:
            day = format_day(doc.instruction_on, lang) if doc.instruction_on else ""
            line += t("outcomes.line_instruction", lang, by=doc.instruction_by, day=day)
        lines.append(line)
    return lines


async def recent_events(session: AsyncSession, *, now: datetime, limit: int = 8) -> list[Event]:
    """Events that have taken place (started by `now`, not cancelled), newest first: the ones whose
    outcomes the secretariat records."""
    query = (
        select(Event)
        .where(col(Event.status).in_(["published", "closed"]), col(Event.starts_at) <= to_db(now))
        .order_by(col(Event.starts_at).desc(), col(Event.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())
