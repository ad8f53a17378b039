"""SQL building blocks for the secretariat's figures (weekly digest, exports, year in review).

Everything here is aggregated in the database (GROUP BY / COUNT / SUM, CASE for the per-type caps)
so that a province's worth of rows never travels into Python: the results are one row per member
at most. The semantics mirror `bot.services.points.member_points` and `bot.services.info.member_info_summary`
(tests check that both give the same numbers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Float, and_, case, cast, false, func, literal, or_, select, true
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.rules import INFO_LEVELS, Rules
from models.activity import ABSENT, CONFIRMED, LEAVE, NOT_TAKING_PART, PENDING, RETURNED, ActivityReport
from models.info import InfoAuthor, InfoEvent, InfoItem
from models.member import Member

AR = ActivityReport.__table__.c  # type: ignore[attr-defined]
MB = Member.__table__.c  # type: ignore[attr-defined]
II = InfoItem.__table__.c  # type: ignore[attr-defined]
IA = InfoAuthor.__table__.c  # type: ignore[attr-defined]
IE = InfoEvent.__table__.c  # type: ignore[attr-defined]
# The tables themselves, for FROM and JOIN.
ART, MBT, IIT, IAT, IET = (m.__table__ for m in (ActivityReport, Member, InfoItem, InfoAuthor, InfoEvent))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Period:
    """[start, end) as aware UTC, and the same as local days [first_day, end_day)."""

    start: datetime
    end: datetime
    first_day: date
    end_day: date  # exclusive

    @classmethod
    def of_year(cls, year: int, zone: tzinfo) -> Period:
        return cls.between(datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone), zone)

    @classmethod
    def between(cls, start: datetime, end: datetime, zone: tzinfo) -> Period:
        return cls(
            start=start.astimezone(UTC),
            end=end.astimezone(UTC),
            first_day=start.astimezone(zone).date(),
            end_day=end.astimezone(zone).date(),
        )

    @property
    def db_start(self) -> datetime:
        return to_db(self.start)

    @property
    def db_end(self) -> datetime:
        return to_db(self.end)


def of_members(member_id: ColumnElement) -> ColumnElement[bool]:
    """Rows of a 委员 (`Member.is_member`): a staff member's own rows are not the committee's figures."""
    return member_id.in_(select(MB.id).where(Member.is_member))


def took_part() -> ColumnElement[bool]:
    """An item that shows the member took part: not a leave or an absence record
    (`models.activity.took_part`, the one definition)."""
    return func.coalesce(AR.attendance, "").not_in(NOT_TAKING_PART)


def _capped(value: ColumnElement, cap: float | None) -> ColumnElement:
    if cap is None:
        return value
    return case((value > cap, literal(float(cap))), else_=value)


def activity_points_by_type(period: Period) -> Select:
    """member_id, type_code, raw points and counts of confirmed items whose activity day is in the period."""
    return (
        select(
            AR.member_id,
            AR.type_code,
            func.sum(AR.points).label("raw"),
            func.count().label("n"),
            func.sum(case((took_part(), 1), else_=0)).label("attended"),
        )
        .where(
            AR.status == CONFIRMED, AR.activity_date >= period.first_day, AR.activity_date < period.end_day
        )
        .group_by(AR.member_id, AR.type_code)
    )


def activity_points_pivot(period: Period, rules: Rules) -> Select:
    """One row per member with reports: capped points per type (columns `p_<code>`), their total
    (`activity_points`), confirmed counts per type (`n_<code>`) and attended items per type (`a_<code>`)."""
    per = activity_points_by_type(period).subquery("per_type")
    capped_cases = [
        (per.c.type_code == code, _capped(per.c.raw, a.cap)) for code, a in rules.activities.items()
    ]
    capped = case(*capped_cases, else_=per.c.raw) if capped_cases else per.c.raw
    cols: list = [per.c.member_id, func.sum(capped).label("activity_points")]
    for code, activity in rules.activities.items():
        cols.append(
            func.sum(case((per.c.type_code == code, _capped(per.c.raw, activity.cap)), else_=0.0)).label(
                f"p_{code}"
            )
        )
        cols.append(func.sum(case((per.c.type_code == code, per.c.n), else_=0)).label(f"n_{code}"))
        cols.append(func.sum(case((per.c.type_code == code, per.c.attended), else_=0)).label(f"a_{code}"))
    return select(*cols).group_by(per.c.member_id)


def activity_points_total(period: Period, rules: Rules) -> Select:
    """member_id and `activity_points`: confirmed points after the per-type caps (no pivot columns)."""
    per = activity_points_by_type(period).subquery("per_type")
    capped_cases = [
        (per.c.type_code == code, _capped(per.c.raw, a.cap))
        for code, a in rules.activities.items()
        if a.cap is not None
    ]
    capped = case(*capped_cases, else_=per.c.raw) if capped_cases else per.c.raw
    return select(per.c.member_id, func.sum(capped).label("activity_points")).group_by(per.c.member_id)


def _level_rank(level: ColumnElement) -> ColumnElement:
    return case(*[(level == name, rank) for rank, name in enumerate(INFO_LEVELS, start=1)], else_=0)


def info_steps_per_item() -> Select:
    """item_id, the highest level it was reported to (`rank`, 0 = none) and whether it has a
    leader's instruction (`instructed`), from the item's history."""
    return (
        select(
            IE.item_id,
            func.max(case((IE.kind == "reported", _level_rank(IE.level)), else_=0)).label("rank"),
            func.max(case((IE.kind == "instruction", 1), else_=0)).label("instructed"),
        )
        .where(IE.kind.in_(["reported", "instruction"]))
        .group_by(IE.item_id)
    )


def info_points_per_member(period: Period, rules: Rules) -> Select:
    """member_id, items authored or co-authored (`info_submitted`, `info_first`) and capped points,
    for items first submitted in the period. An item's points: submission + the bonus of the highest
    level reached + instruction bonus (`bot.services.info.item_points`); co-authors get `coauthor_share`."""
    steps = info_steps_per_item().subquery("steps")
    # A report upward always outranks acceptance (district), so: the bonus of the highest reported
    # level, else the district bonus if accepted.
    accepted = case((II.state == "accepted", float(rules.info.adopt_bonus.get(INFO_LEVELS[0], 0))), else_=0.0)
    bonus = case(
        {rank: float(rules.info.adopt_bonus.get(name, 0)) for rank, name in enumerate(INFO_LEVELS, start=1)},
        value=func.coalesce(steps.c.rank, 0),
        else_=accepted,
    )
    instruction = case((steps.c.instructed == 1, float(rules.info.instruction_bonus)), else_=0.0)
    points = cast(literal(float(rules.info.submit_points)), Float) + bonus + instruction
    share = case((IA.position == 0, 1.0), else_=float(rules.info.coauthor_share))
    total = func.sum(points * share)
    return (
        select(
            IA.member_id,
            func.count().label("info_submitted"),
            func.sum(case((IA.position == 0, 1), else_=0)).label("info_first"),
            _capped(total, rules.info.cap).label("info_points"),
        )
        .select_from(IIT)
        .join(IAT, IA.item_id == II.id)
        .outerjoin(steps, steps.c.item_id == II.id)
        .where(II.submitted_at >= period.db_start, II.submitted_at < period.db_end)
        .group_by(IA.member_id)
    )


def member_points_query(period: Period, rules: Rules) -> Select:
    """member_id and total confirmed points (activities after caps + 社情民意 after its cap), for every
    委员, active or not (members with nothing have 0); staff who are not 委员 are left out."""
    act = activity_points_total(period, rules).subquery("act")
    inf = info_points_per_member(period, rules).subquery("inf")
    total = func.coalesce(act.c.activity_points, 0.0) + func.coalesce(inf.c.info_points, 0.0)
    return (
        select(MB.id.label("member_id"), total.label("total"))
        .select_from(MBT)
        .outerjoin(act, act.c.member_id == MB.id)
        .outerjoin(inf, inf.c.member_id == MB.id)
        .where(Member.is_member)
    )


# --------------------------------------------------------------------------- requirements


def requirement_met(requirement: dict, period: Period, rules: Rules) -> ColumnElement[bool] | None:
    """A condition on `member.id` that is true for members who meet `requirement` in the period:
    {"type": "info", "count": n} | {"type": "points", "min": x} | {"type": "activity", "count": n,
    "code": c (optional; without it any activity apart from types with their own minimum),
    "confirmed_only": bool}.
    None for a requirement this module does not understand."""
    kind = requirement.get("type")
    if kind == "info":
        count = int(requirement.get("count", 1))
        done = (
            select(IA.member_id)
            .select_from(IAT)
            .join(IIT, II.id == IA.item_id)
            .where(II.submitted_at >= period.db_start, II.submitted_at < period.db_end)
            .group_by(IA.member_id)
            .having(func.count() >= count)
        )
        return MB.id.in_(done) if count > 0 else true()
    if kind == "activity":
        count = int(requirement.get("count", 1))
        code = requirement.get("code")
        if code:
            which = AR.type_code == code
        else:
            own = [k for k in rules.assessment.minimums if k not in ("activity", "info")]
            which = AR.type_code.not_in(own) if own else true()
        # A deadline counts pending reports too (as bot.services.deadlines does); the rules' minimum duties
        # (bot.services.points) count confirmed ones only.
        states = [CONFIRMED] if requirement.get("confirmed_only") else [CONFIRMED, PENDING]
        done = (
            select(AR.member_id)
            .where(
                AR.status.in_(states),
                took_part(),
                which,
                AR.activity_date >= period.first_day,
                AR.activity_date < period.end_day,
            )
            .group_by(AR.member_id)
            .having(func.count() >= count)
        )
        return MB.id.in_(done) if count > 0 else true()
    if kind == "points":
        minimum = float(requirement.get("min", 0))
        points = member_points_query(period, rules).subquery("points")
        return MB.id.in_(select(points.c.member_id).where(points.c.total >= minimum))
    return None


def minimums_requirements(rules: Rules) -> list[dict]:
    """The rules' minimum duties (委员作业) as requirements."""
    out: list[dict] = []
    for key, count in rules.assessment.minimums.items():
        if key == "info":
            out.append({"type": "info", "count": count})
        elif key == "activity":
            out.append({"type": "activity", "count": count, "confirmed_only": True})
        else:
            out.append({"type": "activity", "code": key, "count": count, "confirmed_only": True})
    return out


@dataclass
class Shortfall:
    """Active members who do not meet a requirement: how many, and the first names."""

    count: int = 0
    names: list[str] = field(default_factory=list)


async def shortfall(
    session: AsyncSession, requirements: Iterable[dict], period: Period, rules: Rules, *, names: int = 10
) -> Shortfall | None:
    """Serving 委员 failing any of `requirements` (None if none of them is understood)."""
    conditions = [c for c in (requirement_met(r, period, rules) for r in requirements) if c is not None]
    if not conditions:
        return None
    failing = or_(*[~c for c in conditions]) if conditions else false()
    return await members_where(session, and_(Member.is_active_member, failing), names=names)


async def members_where(session: AsyncSession, where: ColumnElement[bool], *, names: int = 10) -> Shortfall:
    """How many members match and the first names (by name), in one query (a window count)."""
    query = (
        select(MB.name, func.count().over().label("total"))
        .where(where)
        .order_by(MB.name, MB.id)
        .limit(max(names, 1))
    )
    rows = (await session.exec(query)).all()
    return Shortfall(count=int(rows[0].total) if rows else 0, names=[row.name for row in rows[:names]])


# --------------------------------------------------------------------------- per-member record


MEMBER_FIELDS = ("member_id", "name", "sector", "committee", "active", "bound")


async def member_records(
    session: AsyncSession,
    period: Period,
    rules: Rules,
    *,
    include_inactive: bool = False,
    now: datetime | None = None,
) -> list[dict]:
    """The per-member annual record, one dict per member, computed with a few GROUP BY queries:
    points per type (capped) and counts, 社情民意 submitted/points, report counts by state,
    recorded attendance (present/leave/absent), event invitations and check-ins, total, pass /
    excellent, and the minimum duties still owed."""
    from models.event import Event, Invitation

    now = now or datetime.now(UTC)
    members_q = select(MB.id, MB.name, MB.sector, MB.committee, MB.active, MB.telegram_user_id).order_by(
        MB.id
    )
    members_q = members_q.where(Member.is_member if include_inactive else Member.is_active_member)
    records: dict[int, dict] = {}
    for mid, name, sector, committee, active, tg in (await session.exec(members_q)).all():
        records[mid] = {
            "member_id": mid,
            "name": name,
            "sector": sector,
            "committee": committee,
            "active": bool(active),
            "bound": tg is not None,
        }

    pivot = activity_points_pivot(period, rules)
    act_rows = {row.member_id: row for row in (await session.exec(pivot)).all()}
    info_rows = {
        row.member_id: row for row in (await session.exec(info_points_per_member(period, rules))).all()
    }
    states = (
        select(AR.member_id, AR.status, func.count())
        .where(AR.activity_date >= period.first_day, AR.activity_date < period.end_day, took_part())
        .group_by(AR.member_id, AR.status)
    )
    by_state: dict[int, dict[str, int]] = {}
    for mid, status, n in (await session.exec(states)).all():
        by_state.setdefault(mid, {})[status] = int(n)
    attendance = (
        select(AR.member_id, AR.attendance, func.count())
        .where(
            AR.status == CONFIRMED,
            AR.attendance.is_not(None),
            AR.activity_date >= period.first_day,
            AR.activity_date < period.end_day,
        )
        .group_by(AR.member_id, AR.attendance)
    )
    att: dict[int, dict[str, int]] = {}
    for mid, status, n in (await session.exec(attendance)).all():
        att.setdefault(mid, {})[status] = int(n)
    ev, inv = Event.__table__.c, Invitation.__table__.c  # type: ignore[attr-defined]
    invites_q = (
        select(inv.member_id, func.count(), func.sum(case((attended_invitation(inv), 1), else_=0)))
        .select_from(Invitation.__table__)
        .join(Event.__table__, ev.id == inv.event_id)
        .where(held_in(ev, period, now))
        .group_by(inv.member_id)
    )
    invited = {mid: (int(n), int(a or 0)) for mid, n, a in (await session.exec(invites_q)).all()}

    minimums = rules.assessment.minimums
    own = set(minimums) - {"activity", "info"}
    for mid, rec in records.items():
        row = act_rows.get(mid)
        total = 0.0
        attended_any = 0
        for code in rules.activities:
            points = float(getattr(row, f"p_{code}") or 0) if row is not None else 0.0
            rec[f"p_{code}"] = round(points, 2)
            rec[f"n_{code}"] = int(getattr(row, f"n_{code}") or 0) if row is not None else 0
            attended = int(getattr(row, f"a_{code}") or 0) if row is not None else 0
            rec[f"a_{code}"] = attended
            if code not in own:
                attended_any += attended
            total += points
        inf = info_rows.get(mid)
        rec["info_submitted"] = int(inf.info_submitted) if inf is not None else 0
        rec["info_first"] = int(inf.info_first or 0) if inf is not None else 0
        rec["info_points"] = round(float(inf.info_points or 0), 2) if inf is not None else 0.0
        rec["activity_points"] = round(total, 2)
        rec["total"] = round(total + rec["info_points"], 2)
        states_of = by_state.get(mid, {})
        for status in (CONFIRMED, PENDING, RETURNED):
            rec[f"reports_{status}"] = states_of.get(status, 0)
        for status in ("present", LEAVE, ABSENT):
            rec[f"att_{status}"] = att.get(mid, {}).get(status, 0)
        rec["events_invited"], rec["events_attended"] = invited.get(mid, (0, 0))
        rec["passed"] = rec["total"] >= rules.assessment.pass_mark
        rec["excellent"] = rec["total"] >= rules.assessment.excellent_mark
        owed = []
        for key, required in minimums.items():
            done = (
                rec["info_submitted"]
                if key == "info"
                else attended_any
                if key == "activity"
                else rec.get(f"a_{key}", 0)
            )
            if done < required:
                owed.append(key)
        rec["owed"] = owed
    return list(records.values())


# --------------------------------------------------------------------------- events

HELD_STATUSES = ("published", "closed")


def held_in(ev, period: Period, now: datetime) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """Events held in the period: closed out, or published and already started by `now`."""
    return and_(
        ev.starts_at >= period.db_start,
        ev.starts_at < period.db_end,
        or_(ev.status == "closed", and_(ev.status == "published", ev.starts_at < to_db(now))),
    )


def attended_invitation(inv) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """Present at close-out, or checked in before the event was closed out."""
    return or_(inv.attendance == "present", and_(inv.attendance.is_(None), inv.checked_in_at.is_not(None)))


# Check-ins nobody verified with the venue's code: the event let members declare attendance, or the
# 📍 button checked in alone (before it asked for the code).
SELF_DECLARED_METHODS = ("self", "button")


def self_declared_invitation(inv) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """Attended, and declared by the member without the venue's code: counted apart."""
    return and_(attended_invitation(inv), inv.checkin_method.in_(SELF_DECLARED_METHODS))


def days_between(earlier: datetime | None, now: datetime) -> int:
    if earlier is None:
        return 0
    moment = earlier if earlier.tzinfo else earlier.replace(tzinfo=UTC)
    return max(0, (now - moment) // timedelta(days=1))


__all__ = [
    "ART",
    "IAT",
    "IET",
    "IIT",
    "MBT",
    "Period",
    "Shortfall",
    "member_records",
    "member_points_query",
    "requirement_met",
    "shortfall",
]
