"""Assessment deadlines: a title, a due date and a requirement evaluated from the data. Members who
do not meet it yet are reminded 7, 3 and 1 days before (DEADLINE_REMIND_DAYS) at 09:00 local
(DEADLINE_REMIND_TIME), never on a day off of the holiday calendar; a member who complies gets no
further reminder.

Requirements (JSON in `Deadline.requirement`), over the assessment period holding the due date:
  {"type": "info", "count": N}                  at least N 社情民意 submitted
  {"type": "points", "min": N}                  at least N confirmed points
  {"type": "activity", "code": X, "count": N}   at least N reports of type X (pending or confirmed)
  {"type": "proposal", "count": N}              at least N proposals led or co-signed (filed, or still
                                                with the co-proposers or the filing review)

Reminder rows are planned by the sweep job when a reminder moment has come (so compliance is
judged then), one per member and moment (dedupe key `deadline:<id>:<YYYY-MM-DD>:<member>`). Who is
behind is one SQL query (`bot.services.figures.requirement_met`); the hourly sweeps after a moment skip the
members already reminded for it, so they plan nothing in one query per deadline.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy.sql import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.dates import format_day
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import Rules
from bot.services.figures import MB, Period, requirement_met
from bot.services.outbox import Queued, drop_pending, enqueue_many
from bot.services.reminders import ReminderPolicy, deadline_slots
from models import Member, Outbox
from models.event import Deadline

log = logging.getLogger(__name__)

MAX_TITLE = 120
REQUIREMENT_TYPES = ("info", "points", "activity")


class DeadlineError(Refusal):
    """Bad input for a deadline: a catalogue key under `deadlines.error.`."""

    prefix = "deadlines.error."
    FIELDS = {"in_past": "due"}


def parse_requirement(text: str, rules: Rules) -> dict[str, Any]:
    """`info`, `info:2`, `points:40`, `activity:research`, `activity:research:2`, `proposal`,
    `proposal:2` → requirement."""
    parts = [p.strip() for p in text.strip().replace("：", ":").split(":") if p.strip()]
    if not parts or parts[0] not in (*REQUIREMENT_TYPES, "proposal"):
        raise DeadlineError("bad_requirement", text=text.strip()[:40])
    kind, rest = parts[0], parts[1:]

    def number(value: str) -> float:
        try:
            n = float(value)
        except ValueError:
            raise DeadlineError("bad_requirement", text=text.strip()[:40]) from None
        if n <= 0 or n > 1000:
            raise DeadlineError("bad_requirement", text=text.strip()[:40])
        return n

    if kind in ("info", "proposal"):
        return {"type": kind, "count": int(number(rest[0])) if rest else 1}
    if kind == "points":
        if not rest:
            raise DeadlineError("bad_requirement", text=text.strip()[:40])
        return {"type": "points", "min": number(rest[0])}
    if not rest or rest[0] not in rules.activities:
        raise DeadlineError(
            "unknown_type", code=(rest[0] if rest else "")[:32], codes=", ".join(rules.activities)
        )
    return {"type": "activity", "code": rest[0], "count": int(number(rest[1])) if len(rest) > 1 else 1}


def describe(requirement: dict[str, Any], rules: Rules, lang: str) -> str:
    kind = requirement.get("type")
    if kind == "info":
        return t("deadlines.req_info", lang, count=requirement.get("count", 1))
    if kind == "points":
        return t("deadlines.req_points", lang, min=f"{float(requirement['min']):g}")
    if kind == "proposal":
        return t("proposals_figures.req_proposal", lang, count=requirement.get("count", 1))
    activity = rules.activities.get(requirement.get("code", ""))
    label = activity.label(lang) if activity else requirement.get("code", "")
    return t("deadlines.req_activity", lang, count=requirement.get("count", 1), type=label)


async def create_deadline(
    session: AsyncSession,
    *,
    title: str,
    due_on: date,
    requirement: dict[str, Any],
    now: datetime,
    zone: tzinfo,
    created_by: int | None = None,
) -> Deadline:
    title = title.strip()
    if not title:
        raise DeadlineError("empty_title")
    if len(title) > MAX_TITLE:
        raise DeadlineError("title_too_long", limit=MAX_TITLE)
    if due_on < now.astimezone(zone).date():
        raise DeadlineError("in_past")
    deadline = Deadline(
        title=title, due_on=due_on, requirement=requirement, created_by=created_by, created_at=to_db(now)
    )
    session.add(deadline)
    await session.flush()
    return deadline


async def cancel_deadline(session: AsyncSession, deadline: Deadline) -> None:
    deadline.status = "cancelled"
    session.add(deadline)
    await drop_pending(session, key_prefix=f"deadline:{deadline.id}:", reason="deadline cancelled")


def due_end(deadline: Deadline, zone: tzinfo) -> datetime:
    """The end of the due day (local midnight after it), aware UTC."""
    return datetime.combine(deadline.due_on + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def _period(deadline: Deadline, rules: Rules, zone: tzinfo) -> Period:
    start, end = rules.period_bounds(datetime.combine(deadline.due_on, time(12), tzinfo=zone), zone)
    return Period.between(start, end, zone)


def _met(deadline: Deadline, rules: Rules, zone: tzinfo) -> ColumnElement[bool]:
    """A condition on `member.id`: meets the deadline's requirement (`bot.services.figures`, in SQL)."""
    condition = requirement_met(deadline.requirement, _period(deadline, rules, zone), rules)
    if condition is None:
        raise DeadlineError("bad_requirement", text=str(deadline.requirement.get("type"))[:40])
    return condition


async def complies(session: AsyncSession, deadline: Deadline, member_id: int, *, rules: Rules, zone: tzinfo) -> bool:
    """Whether the member meets the deadline's requirement now."""
    found = await session.exec(select(MB.id).where(MB.id == member_id, _met(deadline, rules, zone)))
    return found.first() is not None


async def members_behind(
    session: AsyncSession, deadline: Deadline, *, rules: Rules, zone: tzinfo, not_reminded: str | None = None
) -> list[Member]:
    """Serving 委员 who do not meet the requirement yet, in one query; with `not_reminded` (a
    dedupe-key prefix), only those without an outbox row under it yet."""
    query = select(Member).where(Member.is_active_member, ~_met(deadline, rules, zone))
    if not_reminded is not None:
        queued = select(Outbox.id).where(
            col(Outbox.member_id) == Member.id, col(Outbox.dedupe_key).startswith(not_reminded, autoescape=True)
        )
        query = query.where(~queued.exists())
    return list((await session.exec(query.order_by(col(Member.id)))).all())


def current_slot(deadline: Deadline, *, now: datetime, policy: ReminderPolicy) -> datetime | None:
    """The latest reminder moment that has come (a moment missed while the bot was down still
    counts, once), or None when none has or the deadline has passed."""
    if now >= due_end(deadline, policy.zone):
        return None
    today = now.astimezone(policy.zone).date()
    created = deadline.created_at.replace(tzinfo=UTC).astimezone(policy.zone).date()
    slots = deadline_slots(
        deadline.due_on,
        list(policy.deadline_days),
        policy.deadline_time,
        policy.zone,
        policy.calendar,
        today=min(today, created),
    )
    # Moments before the deadline existed are not made up for; one missed while down is.
    created_at = deadline.created_at.replace(tzinfo=UTC)
    come = [s for s in slots if created_at <= s <= now]
    return come[-1] if come else None


async def plan_deadline_reminders(
    session: AsyncSession, *, now: datetime, rules: Rules, policy: ReminderPolicy
) -> int:
    """The sweep: for each active deadline whose reminder moment has come, queue a reminder for
    every member not yet complying (once per moment). Nothing is planned in quiet hours; the
    first sweep after them does it. Returns rows queued."""
    if policy.quiet.contains(now, policy.zone):
        return 0
    queued = 0
    deadlines = (await session.exec(select(Deadline).where(Deadline.status == "active"))).all()
    for deadline in deadlines:
        slot = current_slot(deadline, now=now, policy=policy)
        if slot is None:
            continue
        day = slot.astimezone(policy.zone).date().isoformat()
        prefix = f"deadline:{deadline.id}:{day}:"
        rows = []
        # the sweep runs hourly: members reminded at this moment already are not looked at again
        behind = await members_behind(session, deadline, rules=rules, zone=policy.zone, not_reminded=prefix)
        for member in behind:
            if member.telegram_user_id is None or not member.reachable:
                continue
            lang = member.language or policy.default_lang
            days_left = (deadline.due_on - now.astimezone(policy.zone).date()).days
            text = t(
                "deadlines.reminder",
                lang,
                title=deadline.title,
                due=format_day(deadline.due_on, lang, now.astimezone(policy.zone).date()),
                days=days_left,
                requirement=describe(deadline.requirement, rules, lang),
            )
            rows.append(
                Queued(
                    f"{prefix}{member.id}",
                    member.telegram_user_id,
                    text,
                    member.id,
                    "reminder",
                    now,
                    due_end(deadline, policy.zone),
                )
            )
        queued += await enqueue_many(session, rows, now=now)
    if queued:
        log.info("deadline sweep queued %d reminder(s)", queued)
    return queued


async def list_deadlines(
    session: AsyncSession, *, include_past: bool = False, now: datetime, zone: tzinfo
) -> list[Deadline]:
    query = select(Deadline).order_by(col(Deadline.due_on))
    if not include_past:
        query = query.where(col(Deadline.due_on) >= now.astimezone(zone).date(), Deadline.status == "active")
    return list((await session.exec(query)).all())
