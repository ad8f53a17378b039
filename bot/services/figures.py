"""The one points engine: SQL building blocks for a member's points (/me) and the secretariat's
figures (weekly digest, exports, year in review).

Everything here is aggregated in the database (GROUP BY / COUNT / SUM, CASE for the per-type caps)
so that a province's worth of rows never travels into Python: the results are one row per member
(or, for one member, per activity type) at most. Points are computed from the stored reports and
items every time (there is no running total to drift).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Float, and_, case, cast, distinct, exists, false, func, literal, or_, select, true
from sqlalchemy.engine import Result
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Executable, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.rules import INFO_LEVELS, Rules
from models.activity import ABSENT, CONFIRMED, LEAVE, NOT_TAKING_PART, PENDING, RETURNED, ActivityReport
from models.base import table_of
from models.info import InfoAuthor, InfoEvent, InfoItem
from models.member import Member
from models.proposal import AGREED, COSIGNING, FILED_STATES, LEAD, SUBMITTED, Proposal, ProposalAuthor

# The tables, for FROM and JOIN, and their columns.
ART, MBT, IIT, IAT, IET = (table_of(m) for m in (ActivityReport, Member, InfoItem, InfoAuthor, InfoEvent))
AR, MB, II, IA, IE = ART.c, MBT.c, IIT.c, IAT.c, IET.c
PRT, PAT = table_of(Proposal), table_of(ProposalAuthor)
PR, PA = PRT.c, PAT.c
# A proposal that is not yet refused nor filed: a deadline counts it like a pending report.
PROPOSAL_WAITING = (COSIGNING, SUBMITTED)


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


async def run(session: AsyncSession, query: Executable) -> Result[Any]:
    """Run a Core query built here (over table columns). SQLModel types `session.exec` only for its
    own `select` and for INSERT/UPDATE/DELETE; it runs any statement."""
    result: Result[Any] = await session.exec(query)  # type: ignore[call-overload]
    return result


_COMMITTEE_MEMBER = aliased(Member, name="committee_member")  # its own name: the query may join member too


def of_members(member_id: ColumnElement) -> ColumnElement[bool]:
    """Rows of a 委员 (`Member.is_member`): a staff member's own rows are not the committee's figures.

    EXISTS, not `IN (SELECT id …)`: with the IN list SQLite walks every member's rows through the
    (member_id, date) index, one random row read each, instead of the covering (status, date, …)
    index: province scale, one year of 500,000 reports, 6.3 s → 0.9 s a query (bench/digest_scale.py)."""
    who = _COMMITTEE_MEMBER
    return exists().where(who.id == member_id, who.is_member)  # type: ignore[arg-type]


def took_part() -> ColumnElement[bool]:
    """An item that shows the member took part: not a leave or an absence record
    (`models.activity.took_part`, the one definition)."""
    return func.coalesce(AR.attendance, "").not_in(NOT_TAKING_PART)


def _capped(value: ColumnElement, cap: float | None) -> ColumnElement:
    if cap is None:
        return value
    return case((value > cap, literal(float(cap))), else_=value)


def _capped_by_type(type_code: ColumnElement, value: ColumnElement, rules: Rules) -> ColumnElement:
    """`value` after the cap of the activity type in `type_code` (types without a cap: as it is)."""
    cases = [(type_code == code, _capped(value, a.cap)) for code, a in rules.activities.items() if a.cap is not None]
    return case(*cases, else_=value) if cases else value


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
    capped = _capped_by_type(per.c.type_code, per.c.raw, rules)
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
    capped = _capped_by_type(per.c.type_code, per.c.raw, rules)
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
    level reached (`bot.services.info.highest_level`) + instruction bonus; co-authors get `coauthor_share`; the
    total is capped. Bonuses count for the period of the item's submission, whenever they were earned."""
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


def proposal_credited() -> ColumnElement[bool]:
    """A proposer who is credited with a proposal: its lead, or a co-proposer who agreed (联名)."""
    return PA.consent.in_([LEAD, AGREED])


def credited_per_member(period: Period, states: tuple[str, ...], *columns: ColumnElement) -> Select:
    """member_id and `columns` per credited proposer (proposal_credited) of the proposals in
    `states` first submitted in the period."""
    return (
        select(PA.member_id, *columns)
        .select_from(PAT)
        .join(PRT, PR.id == PA.proposal_id)
        .where(
            proposal_credited(),
            PR.state.in_(states),
            PR.submitted_at >= period.db_start,
            PR.submitted_at < period.db_end,
        )
        .group_by(PA.member_id)
    )


def proposal_points_per_member(period: Period, rules: Rules) -> Select:
    """member_id, proposals credited (`proposals`: led or co-signed with consent, in FILED_STATES),
    of them led (`proposals_led`), and capped points (`proposal_points`), for proposals first
    submitted in the period (for a calendar year: `Proposal.year`). A filed proposal gives its lead
    `lead_points` plus `key_bonus` if it is 重点 and `excellent_bonus` if it is 优秀, and each
    co-proposer who agreed `cosigner_points`; declined, pending, not filed, converted and merged
    proposals give nothing; the member's total is capped by `cap`."""
    r = rules.proposal
    lead = PA.consent == LEAD
    bonus = case((PR.key.is_(True), float(r.key_bonus)), else_=0.0) + case(
        (PR.excellent.is_(True), float(r.excellent_bonus)), else_=0.0
    )
    points = case((lead, cast(literal(float(r.lead_points)), Float) + bonus), else_=float(r.cosigner_points))
    return credited_per_member(
        period,
        FILED_STATES,
        func.count().label("proposals"),
        func.sum(case((lead, 1), else_=0)).label("proposals_led"),
        _capped(func.sum(points), r.cap).label("proposal_points"),
    )


def member_points_query(period: Period, rules: Rules) -> Select:
    """member_id and total confirmed points (activities after caps + 社情民意 after its cap + 提案
    after its cap), for every 委员, active or not (members with nothing have 0); staff who are not
    委员 are left out."""
    act = activity_points_total(period, rules).subquery("act")
    inf = info_points_per_member(period, rules).subquery("inf")
    pro = proposal_points_per_member(period, rules).subquery("pro")
    total = (
        func.coalesce(act.c.activity_points, 0.0)
        + func.coalesce(inf.c.info_points, 0.0)
        + func.coalesce(pro.c.proposal_points, 0.0)
    )
    return (
        select(MB.id.label("member_id"), total.label("total"))
        .select_from(MBT)
        .outerjoin(act, act.c.member_id == MB.id)
        .outerjoin(inf, inf.c.member_id == MB.id)
        .outerjoin(pro, pro.c.member_id == MB.id)
        .where(Member.is_member)
    )


# --------------------------------------------------------------------------- one member (/me)


@dataclass(frozen=True)
class TypePoints:
    """One activity type in a period."""

    code: str
    confirmed_count: int  # confirmed items the member took part in (not leave or absence records)
    confirmed_raw: float  # sum of the items' points, before the cap
    confirmed: float  # what counts, after the cap
    pending_count: int
    pending: float  # what the pending items would add, within the cap
    cap: float | None
    leave_count: int = 0  # recorded leaves and absences: they count for points, not as participation
    leave_points: float = 0.0
    absent_count: int = 0
    absent_points: float = 0.0

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.confirmed_raw > self.cap


@dataclass(frozen=True)
class Owed:
    """A minimum duty not yet met: `key` is an activity code, "activity" (any), "info" or "proposal"."""

    key: str
    required: int
    done: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.done)


@dataclass(frozen=True)
class PointsSummary:
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    by_type: list[TypePoints]
    info_points: float  # 社情民意, capped by its feature
    info_submitted: int
    pass_mark: float
    excellent_mark: float
    owed: list[Owed] = field(default_factory=list)
    proposal_points: float = 0.0  # 提案, capped by its feature
    proposals: int = 0  # proposals credited: led or co-signed with consent, filed (FILED_STATES)

    @property
    def confirmed(self) -> float:
        return sum(t.confirmed for t in self.by_type) + self.info_points + self.proposal_points

    @property
    def pending(self) -> float:
        return sum(t.pending for t in self.by_type)

    @property
    def passed(self) -> bool:
        return self.confirmed >= self.pass_mark

    @property
    def excellent(self) -> bool:
        return self.confirmed >= self.excellent_mark


def owed_duties(
    rules: Rules, *, info_submitted: int, attended: Mapping[str, int], proposals: int = 0
) -> list[Owed]:
    """The rules' minimum duties (委员作业) not met, from the items the member took part in per type:
    "activity" counts any type apart from those with a minimum of their own; "proposal" the
    proposals credited to the member (`proposal_points_per_member`)."""
    minimums = rules.assessment.minimums
    owed = []
    for key, required in minimums.items():
        if key == "info":
            done = info_submitted
        elif key == "proposal":
            done = proposals
        elif key == "activity":
            done = sum(n for code, n in attended.items() if code not in minimums)
        else:
            done = attended.get(key, 0)
        if done < required:
            owed.append(Owed(key=key, required=required, done=done))
    return owed


def member_activity_by_type(period: Period, rules: Rules, member_id: int) -> Select:
    """One member's confirmed and pending reports per type whose activity day is in the period: points
    before and after the cap, what the pending ones would add within the cap, and the counts of items
    taken part in, pending, and of recorded leaves and absences (with their points)."""
    confirmed, pending = AR.status == CONFIRMED, AR.status == PENDING

    def points(condition: ColumnElement[bool]) -> ColumnElement:
        return func.coalesce(func.sum(case((condition, AR.points), else_=0.0)), 0.0)

    def count(condition: ColumnElement[bool]) -> ColumnElement:
        return func.sum(case((condition, 1), else_=0))

    counted = _capped_by_type(AR.type_code, points(confirmed), rules)
    with_pending = _capped_by_type(AR.type_code, points(AR.status.in_([CONFIRMED, PENDING])), rules)
    added = with_pending - counted
    return (
        select(
            AR.type_code,
            points(confirmed).label("confirmed_raw"),
            counted.label("confirmed"),
            case((added > 0, added), else_=0.0).label("pending"),
            count(confirmed & took_part()).label("attended"),
            count(pending).label("pending_count"),
            count(confirmed & (AR.attendance == LEAVE)).label("leave_count"),
            points(confirmed & (AR.attendance == LEAVE)).label("leave_points"),
            count(confirmed & (AR.attendance == ABSENT)).label("absent_count"),
            points(confirmed & (AR.attendance == ABSENT)).label("absent_points"),
        )
        .where(
            AR.member_id == member_id,
            AR.status.in_([CONFIRMED, PENDING]),
            AR.activity_date >= period.first_day,
            AR.activity_date < period.end_day,
        )
        .group_by(AR.type_code)
    )


async def member_points(session: AsyncSession, member_id: int, period: Period, rules: Rules) -> PointsSummary:
    """Points of one member for the period: per activity type in the rules' order (types the rules
    no longer know last), 社情民意, the pass and excellent marks and the minimum duties still owed.
    A report counts in the period of its activity day in the committee's zone; an item in the
    period of its first submission."""
    rows = {row.type_code: row for row in (await run(session, member_activity_by_type(period, rules, member_id))).all()}
    by_type = []
    for code in [*(c for c in rules.activities if c in rows), *sorted(set(rows) - set(rules.activities))]:
        row = rows[code]
        activity = rules.activities.get(code)
        by_type.append(
            TypePoints(
                code=code,
                confirmed_count=int(row.attended or 0),
                confirmed_raw=float(row.confirmed_raw),
                confirmed=float(row.confirmed),
                pending_count=int(row.pending_count or 0),
                pending=float(row.pending),
                cap=activity.cap if activity else None,
                leave_count=int(row.leave_count or 0),
                leave_points=float(row.leave_points),
                absent_count=int(row.absent_count or 0),
                absent_points=float(row.absent_points),
            )
        )
    info = (await run(session, info_points_per_member(period, rules).where(IA.member_id == member_id))).first()
    info_submitted = int(info.info_submitted) if info is not None else 0
    pro = (await run(session, proposal_points_per_member(period, rules).where(PA.member_id == member_id))).first()
    proposals = int(pro.proposals) if pro is not None else 0
    attended = {t.code: t.confirmed_count for t in by_type}
    return PointsSummary(
        start=period.start,
        end=period.end,
        by_type=by_type,
        info_points=round(float(info.info_points or 0), 2) if info is not None else 0.0,
        info_submitted=info_submitted,
        pass_mark=rules.assessment.pass_mark,
        excellent_mark=rules.assessment.excellent_mark,
        owed=owed_duties(rules, info_submitted=info_submitted, attended=attended, proposals=proposals),
        proposal_points=round(float(pro.proposal_points or 0), 2) if pro is not None else 0.0,
        proposals=proposals,
    )


async def points_for_now(
    session: AsyncSession, member_id: int, *, now: datetime, rules: Rules, zone: tzinfo
) -> PointsSummary:
    """The current period's points (what /me shows)."""
    return await member_points(session, member_id, Period.between(*rules.period_bounds(now, zone), zone), rules)


# --------------------------------------------------------------------------- requirements


def requirement_met(requirement: dict, period: Period, rules: Rules) -> ColumnElement[bool] | None:
    """A condition on `member.id` that is true for members who meet `requirement` in the period:
    {"type": "info", "count": n} | {"type": "points", "min": x} | {"type": "activity", "count": n,
    "code": c (optional; without it any activity apart from types with their own minimum),
    "confirmed_only": bool} | {"type": "proposal", "count": n, "confirmed_only": bool} (proposals
    led or co-signed with consent, submitted in the period: filed ones, and with `confirmed_only`
    false also those still with the co-proposers or waiting for the filing review).
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
        # (`owed_duties`) count confirmed ones only.
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
    if kind == "proposal":
        count = int(requirement.get("count", 1))
        proposal_states: tuple[str, ...] = FILED_STATES
        if not requirement.get("confirmed_only"):
            proposal_states += PROPOSAL_WAITING
        done = credited_per_member(period, proposal_states).having(func.count() >= count)
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
        elif key == "proposal":
            out.append({"type": "proposal", "count": count, "confirmed_only": True})
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
    rows = (await run(session, query)).all()
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
    points per type (capped) and counts, 社情民意 submitted/points, 提案 credited/led/points, report counts by state,
    recorded attendance (present/leave/absent), event invitations and check-ins, total, pass /
    excellent, and the minimum duties still owed."""
    from models.event import Event, Invitation

    now = now or datetime.now(UTC)
    members_q = select(MB.id, MB.name, MB.sector, MB.committee, MB.active, MB.telegram_user_id).order_by(
        MB.id
    )
    members_q = members_q.where(Member.is_member if include_inactive else Member.is_active_member)
    records: dict[int, dict] = {}
    for mid, name, sector, committee, active, tg in (await run(session, members_q)).all():
        records[mid] = {
            "member_id": mid,
            "name": name,
            "sector": sector,
            "committee": committee,
            "active": bool(active),
            "bound": tg is not None,
        }

    pivot = activity_points_pivot(period, rules)
    act_rows = {row.member_id: row for row in (await run(session, pivot)).all()}
    info_rows = {
        row.member_id: row for row in (await run(session, info_points_per_member(period, rules))).all()
    }
    states = (
        select(AR.member_id, AR.status, func.count())
        .where(AR.activity_date >= period.first_day, AR.activity_date < period.end_day, took_part())
        .group_by(AR.member_id, AR.status)
    )
    by_state: dict[int, dict[str, int]] = {}
    for mid, status, n in (await run(session, states)).all():
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
    for mid, status, n in (await run(session, attendance)).all():
        att.setdefault(mid, {})[status] = int(n)
    ev, inv = table_of(Event).c, table_of(Invitation).c
    invites_q = (
        select(inv.member_id, func.count(), func.sum(case((attended_invitation(inv), 1), else_=0)))
        .select_from(table_of(Invitation))
        .join(table_of(Event), ev.id == inv.event_id)
        .where(held_in(ev, period, now))
        .group_by(inv.member_id)
    )
    invited = {mid: (int(n), int(a or 0)) for mid, n, a in (await run(session, invites_q)).all()}
    pro_rows = {
        row.member_id: row for row in (await run(session, proposal_points_per_member(period, rules))).all()
    }

    for mid, rec in records.items():
        row = act_rows.get(mid)
        total = 0.0
        attended: dict[str, int] = {}
        for code in rules.activities:
            points = float(getattr(row, f"p_{code}") or 0) if row is not None else 0.0
            rec[f"p_{code}"] = round(points, 2)
            rec[f"n_{code}"] = int(getattr(row, f"n_{code}") or 0) if row is not None else 0
            attended[code] = rec[f"a_{code}"] = int(getattr(row, f"a_{code}") or 0) if row is not None else 0
            total += points
        inf = info_rows.get(mid)
        rec["info_submitted"] = int(inf.info_submitted) if inf is not None else 0
        rec["info_first"] = int(inf.info_first or 0) if inf is not None else 0
        rec["info_points"] = round(float(inf.info_points or 0), 2) if inf is not None else 0.0
        pro = pro_rows.get(mid)
        rec["proposals"] = int(pro.proposals) if pro is not None else 0
        rec["proposals_led"] = int(pro.proposals_led or 0) if pro is not None else 0
        rec["proposal_points"] = round(float(pro.proposal_points or 0), 2) if pro is not None else 0.0
        rec["activity_points"] = round(total, 2)
        rec["total"] = round(total + rec["info_points"] + rec["proposal_points"], 2)
        states_of = by_state.get(mid, {})
        for status in (CONFIRMED, PENDING, RETURNED):
            rec[f"reports_{status}"] = states_of.get(status, 0)
        for status in ("present", LEAVE, ABSENT):
            rec[f"att_{status}"] = att.get(mid, {}).get(status, 0)
        rec["events_invited"], rec["events_attended"] = invited.get(mid, (0, 0))
        rec["passed"] = rec["total"] >= rules.assessment.pass_mark
        rec["excellent"] = rec["total"] >= rules.assessment.excellent_mark
        owed = owed_duties(rules, info_submitted=rec["info_submitted"], attended=attended, proposals=rec["proposals"])
        rec["owed"] = [o.key for o in owed]
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


def event_attendance_by_kind(period: Period, now: datetime) -> Select:
    """Per kind of event held in the period: events, invitations of 委员, attended, and of those the
    self-declared (`kind`, `events`, `invited`, `attended`, `self_declared`)."""
    from models.event import Event, Invitation

    ev, inv = table_of(Event).c, table_of(Invitation).c
    return (
        select(
            ev.kind,
            func.count(distinct(ev.id)).label("events"),
            func.count(inv.id).label("invited"),
            func.coalesce(func.sum(case((attended_invitation(inv), 1), else_=0)), 0).label("attended"),
            func.coalesce(func.sum(case((self_declared_invitation(inv), 1), else_=0)), 0).label("self_declared"),
        )
        .select_from(table_of(Event))
        .outerjoin(table_of(Invitation), and_(inv.event_id == ev.id, of_members(inv.member_id)))
        .where(held_in(ev, period, now))
        .group_by(ev.kind)
    )


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
    "Owed",
    "Period",
    "PointsSummary",
    "Shortfall",
    "TypePoints",
    "member_points",
    "member_points_query",
    "member_records",
    "points_for_now",
    "proposal_points_per_member",
    "requirement_met",
    "shortfall",
]
