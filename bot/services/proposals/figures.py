"""The proposal figures (提案): the year's counts for `lvzhi annual` and the year in review, the
week's counts and what needs action for the digest, and the per-unit figures of the export.

Every figure is a SQL aggregate (COUNT / SUM with CASE) over the proposal tables; no query
brings the year's rows into Python. What each figure counts, so that a hand count of the data
gives the same number:

- The year of a proposal is `Proposal.year`: the year of its first submission in the
  committee's zone. A proposal counts in that year whatever happens to it later.
- submitted (收到): proposals of the year that reached the secretariat, i.e. every state but
  COSIGNING (still with the invited co-proposers).
- waiting (待审查): state SUBMITTED; returned (退回修改): state RETURNED.
- filed (立案): state in FILED_STATES (filed, assigned, answered): proposals with a filing number.
- not_filed (不予立案): state NOT_FILED; by reason: the reason of its latest "not_filed" step
  (a proposal without one counts under "other").
- merged (并案): state MERGED; converted (转为社情民意): state CONVERTED.
  submitted = waiting + returned + filed + not_filed + merged + converted.
- assigned (办理中): state ASSIGNED (includes a 重办 in progress).
- answered (已办复): state ANSWERED.
- answered_rate (办复率): answered ÷ filed × 100, one decimal (None when nothing is filed).
- on_time (按期办复): answered proposals none of whose answering assignments (主办 / 分办, state
  answered) was answered after its due day: the answer's local day (committee zone) ≤ due_on.
  After a 重办 the assignment's latest answer counts against the due day the 重办 gave it (due_on
  is the round's). on_time_rate = on_time ÷ answered × 100.
- ratings (满意度), per question (办理态度 attitude, 办理结果 result): each proposer's latest rating
  of each proposal of the year (the highest round they rated), counted by 满意 / 基本满意 / 不满意;
  satisfied_rate = (满意 + 基本满意) ÷ ratings × 100.
- key (重点): proposals of the year marked 重点, listed with their state; excellent (优秀) likewise.
- by category: the proposal's category; by committee and by sector: the lead proposer's
  (第一提案人) committee and sector. Each row: submitted, filed, answered as above.
- The figures of a year in which no proposal at all is recorded are None (the committee does
  not run its proposals through the bot: the report says "no data", not 0).

Per unit (the export): a unit's assignments on proposals of the year, not withdrawn: assigned
(distinct proposals), answered (assignments answered), on_time (answered on or before due_on),
overdue (not answered, due_on before today), and the latest ratings of the proposals it answered
(主办 / 分办), per question.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, and_, case, distinct, exists, func, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.i18n import t
from bot.services.figures import MB, MBT, PR, PRT, Period, days_between, run
from models.base import table_of
from models.proposal import (
    A_ANSWERED,
    A_ASSIGNED,
    A_SIGNED,
    A_WITHDRAWN,
    AGREED,
    ANSWERED,
    ANSWERING_ROLES,
    ASSIGNED,
    BASICALLY,
    CONVERTED,
    COSIGNING,
    FILED_STATES,
    LEAD,
    MERGED,
    NOT_FILED,
    NOT_FILED_REASONS,
    RETURNED,
    SATISFIED,
    SUBMITTED,
    UNSATISFIED,
    HandlingUnit,
    ProposalAssignment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
)

PAST, PRAT, PET, HUT, PAUT = (
    table_of(m) for m in (ProposalAssignment, ProposalRating, ProposalEvent, HandlingUnit, ProposalAuthor)
)
PAS, PRA, PE, HU, PAU = PAST.c, PRAT.c, PET.c, HUT.c, PAUT.c

REVIEW_WAIT = timedelta(days=7)  # waiting for the filing review longer than this needs action
DUE_SOON_DAYS = 7  # answers due within this many days need action
RATING_WAIT = timedelta(days=15)  # answered this long ago and not rated by every proposer
OPEN_ASSIGNMENT = (A_ASSIGNED, A_SIGNED)  # an answer still owed (an objection waits for re-assignment)


# --------------------------------------------------------------------------- the local day in SQL


class local_day(_ColumnElement[date]):  # noqa: N801 (used like a SQL function)
    """The committee zone's calendar day of a stored (naive UTC) moment. PostgreSQL converts with
    the zone's rules; SQLite (no zone database) adds the zone's UTC offset of 1 July this year
    (exact for zones without summer time, such as Asia/Shanghai)."""

    inherit_cache = False
    type = Date()

    def __init__(self, moment: ColumnElement, zone: tzinfo) -> None:
        self.moment, self.zone = moment, zone

    @property
    def zone_name(self) -> str:
        return str(getattr(self.zone, "key", "UTC"))

    def offset_minutes(self) -> int:
        offset = datetime(datetime.now(UTC).year, 7, 1, tzinfo=UTC).astimezone(self.zone).utcoffset()
        return int((offset or timedelta(0)).total_seconds() // 60)


@compiles(local_day)
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.moment, **kw)}, '{element.offset_minutes():+d} minutes')"


@compiles(local_day, "postgresql")
def _local_day_pg(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    zone = element.zone_name.replace("'", "")
    return f"CAST(({compiler.process(element.moment, **kw)} AT TIME ZONE 'UTC') AT TIME ZONE '{zone}' AS DATE)"


def answered_late(zone: tzinfo) -> ColumnElement[bool]:
    """An answered assignment whose answer came after its due day (local day > due_on)."""
    return and_(PAS.state == A_ANSWERED, local_day(PAS.answered_at, zone) > PAS.due_on)


def answered_on_time(zone: tzinfo) -> ColumnElement[bool]:
    return and_(PAS.state == A_ANSWERED, local_day(PAS.answered_at, zone) <= PAS.due_on)


# --------------------------------------------------------------------------- the year


@dataclass
class Ratings:
    """Ratings of one question: 满意 / 基本满意 / 不满意."""

    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0

    @property
    def total(self) -> int:
        return self.satisfied + self.basically + self.unsatisfied

    @property
    def satisfied_rate(self) -> float | None:
        """(满意 + 基本满意) ÷ ratings × 100."""
        return percent(self.satisfied + self.basically, self.total)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total, "satisfied_rate": self.satisfied_rate}


@dataclass
class Counts:
    submitted: int = 0
    filed: int = 0
    answered: int = 0


@dataclass
class KeyProposal:
    number: str | None
    title: str
    leader: str | None  # 领衔督办
    state: str
    lead: str  # 第一提案人


@dataclass
class ProposalFigures:
    year: int
    submitted: int = 0
    waiting: int = 0
    returned: int = 0
    filed: int = 0
    not_filed: int = 0
    not_filed_by_reason: dict[str, int] = field(default_factory=dict)
    merged: int = 0
    converted: int = 0
    assigned: int = 0
    answered: int = 0
    on_time: int = 0
    key_count: int = 0
    excellent: int = 0
    attitude: Ratings = field(default_factory=Ratings)
    result: Ratings = field(default_factory=Ratings)
    key: list[KeyProposal] = field(default_factory=list)
    by_category: dict[str, Counts] = field(default_factory=dict)
    by_committee: dict[str, Counts] = field(default_factory=dict)
    by_sector: dict[str, Counts] = field(default_factory=dict)
    recorded: int = 0  # every proposal of the year, COSIGNING included (0: no proposals at all)

    @property
    def answered_rate(self) -> float | None:
        """办复率: answered ÷ filed × 100."""
        return percent(self.answered, self.filed)

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.on_time, self.answered)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["attitude"], data["result"] = self.attitude.as_dict(), self.result.as_dict()
        data["answered_rate"], data["on_time_rate"] = self.answered_rate, self.on_time_rate
        return data


def percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def in_year(year: int) -> ColumnElement[bool]:
    return PR.year == year


def _n(condition: ColumnElement[bool]) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def counts_columns() -> list[ColumnElement]:
    """submitted, filed, answered of the rows grouped."""
    return [
        _n(PR.state != COSIGNING).label("submitted"),
        _n(PR.state.in_(FILED_STATES)).label("filed"),
        _n(PR.state == ANSWERED).label("answered"),
    ]


def on_time_condition(zone: tzinfo) -> ColumnElement[bool]:
    """An answered proposal none of whose answering assignments was answered late."""
    late = (
        select(PAS.id)
        .where(PAS.proposal_id == PR.id, PAS.role.in_(ANSWERING_ROLES), answered_late(zone))
        .correlate(PRT)
    )
    return and_(PR.state == ANSWERED, not_(exists(late)))


def totals_query(year: int, zone: tzinfo) -> Select:
    """The year's counts by state, 重点 and 优秀, and on-time answers, in one scan."""
    return select(
        func.count().label("recorded"),
        *counts_columns(),
        _n(PR.state == SUBMITTED).label("waiting"),
        _n(PR.state == RETURNED).label("returned"),
        _n(PR.state == NOT_FILED).label("not_filed"),
        _n(PR.state == MERGED).label("merged"),
        _n(PR.state == CONVERTED).label("converted"),
        _n(PR.state == ASSIGNED).label("assigned"),
        _n(PR.key.is_(True)).label("key_count"),
        _n(PR.excellent.is_(True)).label("excellent"),
        _n(on_time_condition(zone)).label("on_time"),
    ).where(in_year(year))


def not_filed_reasons_query(year: int) -> Select:
    last = (
        select(PE.proposal_id, func.max(PE.id).label("id"))
        .where(PE.kind == "not_filed")
        .group_by(PE.proposal_id)
        .subquery("last_not_filed")
    )
    reason = func.coalesce(PE.reason, "other")
    return (
        select(reason.label("reason"), func.count())
        .select_from(PRT)
        .outerjoin(last, last.c.proposal_id == PR.id)
        .outerjoin(PET, PE.id == last.c.id)
        .where(in_year(year), PR.state == NOT_FILED)
        .group_by(reason)
    )


def latest_ratings() -> Select:
    """Each proposer's latest rating of each proposal (proposal_id, member_id, round)."""
    return select(PRA.proposal_id, PRA.member_id, func.max(PRA.round).label("round")).group_by(
        PRA.proposal_id, PRA.member_id
    )


def ratings_columns() -> list[ColumnElement]:
    return [
        _n(PRA.attitude == SATISFIED).label("a_satisfied"),
        _n(PRA.attitude == BASICALLY).label("a_basically"),
        _n(PRA.attitude == UNSATISFIED).label("a_unsatisfied"),
        _n(PRA.result == SATISFIED).label("r_satisfied"),
        _n(PRA.result == BASICALLY).label("r_basically"),
        _n(PRA.result == UNSATISFIED).label("r_unsatisfied"),
    ]


def ratings_query(year: int) -> Select:
    last = latest_ratings().subquery("last_rating")
    return (
        select(*ratings_columns())
        .select_from(PRAT)
        .join(last, and_(last.c.proposal_id == PRA.proposal_id, last.c.member_id == PRA.member_id,
                         last.c.round == PRA.round))  # fmt: skip
        .join(PRT, PR.id == PRA.proposal_id)
        .where(in_year(year))
    )


def ratings_of(row: Any) -> tuple[Ratings, Ratings]:
    return (
        Ratings(int(row.a_satisfied), int(row.a_basically), int(row.a_unsatisfied)),
        Ratings(int(row.r_satisfied), int(row.r_basically), int(row.r_unsatisfied)),
    )


async def proposal_figures(session: AsyncSession, year: int, *, zone: tzinfo) -> ProposalFigures:
    """The year's proposal figures (see the module docstring for what each counts)."""
    out = ProposalFigures(year=year)
    row = (await run(session, totals_query(year, zone))).one()
    for name in ("recorded", "submitted", "filed", "answered", "waiting", "returned", "not_filed", "merged",
                 "converted", "assigned", "key_count", "excellent", "on_time"):  # fmt: skip
        setattr(out, name, int(getattr(row, name) or 0))
    if not out.recorded:
        return out
    reasons = dict.fromkeys(NOT_FILED_REASONS, 0)
    for reason, n in (await run(session, not_filed_reasons_query(year))).all():
        reasons[reason] = reasons.get(reason, 0) + int(n)
    out.not_filed_by_reason = reasons
    out.attitude, out.result = ratings_of((await run(session, ratings_query(year))).one())
    key = (
        select(PR.number, PR.title, PR.key_leader, PR.state, MB.name)
        .select_from(PRT)
        .join(MBT, MB.id == PR.lead_id)
        .where(in_year(year), PR.key.is_(True))
        .order_by(PR.seq, PR.id)
    )
    out.key = [KeyProposal(number, title, leader, state, lead) for number, title, leader, state, lead in
               (await run(session, key)).all()]  # fmt: skip
    by_category = select(PR.category, *counts_columns()).where(in_year(year)).group_by(PR.category)
    for category, submitted, filed, answered in (await run(session, by_category)).all():
        out.by_category[category] = Counts(int(submitted), int(filed), int(answered))
    by_lead = (
        select(MB.committee, MB.sector, *counts_columns())
        .select_from(PRT)
        .join(MBT, MB.id == PR.lead_id)
        .where(in_year(year))
        .group_by(MB.committee, MB.sector)
    )
    for committee, sector, submitted, filed, answered in (await run(session, by_lead)).all():
        for table, name in ((out.by_committee, committee or ""), (out.by_sector, sector or "")):
            entry = table.setdefault(name, Counts())
            entry.submitted += int(submitted)
            entry.filed += int(filed)
            entry.answered += int(answered)
    return out


# --------------------------------------------------------------------------- the week and what needs action


@dataclass
class ProposalWeek:
    """Proposals first submitted, filed and answered in the week (by the moment of each step)."""

    submitted: int = 0
    filed: int = 0
    answered: int = 0


async def proposal_week(session: AsyncSession, period: Period) -> ProposalWeek:
    def within(moment: ColumnElement) -> ColumnElement[bool]:
        return and_(moment >= period.db_start, moment < period.db_end)

    query = select(
        _n(and_(within(PR.submitted_at), PR.state != COSIGNING)),
        _n(and_(within(PR.filed_at), PR.state.in_(FILED_STATES))),
        _n(and_(within(PR.answered_at), PR.state == ANSWERED)),
    ).where(or_(within(PR.submitted_at), within(PR.filed_at), within(PR.answered_at)))
    submitted, filed, answered = (await run(session, query)).one()
    return ProposalWeek(int(submitted), int(filed), int(answered))


@dataclass
class ProposalAction:
    """What needs the secretariat's action now."""

    review_waiting: int = 0  # SUBMITTED for more than REVIEW_WAIT since (re)submission
    review_oldest_days: int = 0
    overdue: int = 0  # answers owed (assignments of answering roles) past their due day
    due_soon: int = 0  # answers owed due today or within DUE_SOON_DAYS
    unrated: int = 0  # answered more than RATING_WAIT ago, some proposer has not rated this round
    unrated_oldest_days: int = 0

    @property
    def empty(self) -> bool:
        return not (self.review_waiting or self.overdue or self.due_soon or self.unrated)


async def proposal_action(session: AsyncSession, *, now: datetime, zone: tzinfo) -> ProposalAction:
    out = ProposalAction()
    resubmitted = (
        select(func.max(PE.at)).where(PE.proposal_id == PR.id, PE.kind == "resubmitted").correlate(PRT).scalar_subquery()
    )
    since = func.coalesce(resubmitted, PR.submitted_at)
    n, oldest = (
        await run(session, select(func.count(), func.min(since)).where(PR.state == SUBMITTED, since < to_db(now - REVIEW_WAIT)))
    ).one()
    out.review_waiting, out.review_oldest_days = int(n), days_between(oldest, now)

    today = now.astimezone(zone).date()
    owed = (
        select(
            _n(PAS.due_on < today),
            _n(and_(PAS.due_on >= today, PAS.due_on <= today + timedelta(days=DUE_SOON_DAYS))),
        )
        .select_from(PAST)
        .join(PRT, PR.id == PAS.proposal_id)
        .where(PR.state == ASSIGNED, PAS.role.in_(ANSWERING_ROLES), PAS.state.in_(OPEN_ASSIGNMENT))
    )
    out.overdue, out.due_soon = (int(v) for v in (await run(session, owed)).one())

    current_round = (
        select(func.max(PAS.round)).where(PAS.proposal_id == PR.id, PAS.state != A_WITHDRAWN).correlate(PRT).scalar_subquery()
    )
    raters = (
        select(func.count())
        .where(PAU.proposal_id == PR.id, PAU.consent.in_([LEAD, AGREED]))
        .correlate(PRT)
        .scalar_subquery()
    )
    rated = (
        select(func.count())
        .where(PRA.proposal_id == PR.id, PRA.round == func.coalesce(current_round, 1))
        .correlate(PRT)
        .scalar_subquery()
    )
    n, oldest = (
        await run(session,
            select(func.count(), func.min(PR.answered_at)).where(
                PR.state == ANSWERED, PR.answered_at < to_db(now - RATING_WAIT), rated < raters
            )
        )
    ).one()  # fmt: skip
    out.unrated, out.unrated_oldest_days = int(n), days_between(oldest, now)
    return out


# --------------------------------------------------------------------------- per unit


@dataclass
class UnitFigures:
    unit_id: int
    name: str
    assigned: int = 0  # distinct proposals
    answered: int = 0  # assignments answered
    on_time: int = 0
    overdue: int = 0
    attitude: Ratings = field(default_factory=Ratings)
    result: Ratings = field(default_factory=Ratings)


async def unit_figures(session: AsyncSession, year: int, *, now: datetime, zone: tzinfo) -> list[UnitFigures]:
    """Per handling unit, for the assignments on proposals of the year that were not withdrawn."""
    today = now.astimezone(zone).date()
    live = and_(in_year(year), PAS.state != A_WITHDRAWN)
    query = (
        select(
            HU.id,
            HU.name,
            func.count(distinct(PAS.proposal_id)),
            _n(PAS.state == A_ANSWERED),
            _n(answered_on_time(zone)),
            _n(and_(PAS.state.in_(OPEN_ASSIGNMENT), PAS.due_on < today)),
        )
        .select_from(PAST)
        .join(PRT, PR.id == PAS.proposal_id)
        .join(HUT, HU.id == PAS.unit_id)
        .where(live)
        .group_by(HU.id, HU.name)
        .order_by(HU.name)
    )
    units = {
        uid: UnitFigures(uid, name, int(assigned), int(answered), int(on_time), int(overdue))
        for uid, name, assigned, answered, on_time, overdue in (await run(session, query)).all()
    }
    last = latest_ratings().subquery("last_rating")
    answering = (
        select(PAS.proposal_id, PAS.unit_id)
        .select_from(PAST)
        .join(PRT, PR.id == PAS.proposal_id)
        .where(live, PAS.role.in_(ANSWERING_ROLES), PAS.state == A_ANSWERED)
        .distinct()
        .subquery("answering")
    )
    ratings = (
        select(answering.c.unit_id, *ratings_columns())
        .select_from(PRAT)
        .join(last, and_(last.c.proposal_id == PRA.proposal_id, last.c.member_id == PRA.member_id,
                         last.c.round == PRA.round))  # fmt: skip
        .join(answering, answering.c.proposal_id == PRA.proposal_id)
        .group_by(answering.c.unit_id)
    )
    for row in (await run(session, ratings)).all():
        if row.unit_id in units:
            units[row.unit_id].attitude, units[row.unit_id].result = ratings_of(row)
    return list(units.values())


# --------------------------------------------------------------------------- text


def _rate(value: float | None) -> str:
    return "—" if value is None else (f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}")


def _counts_rows(lang: str, table: dict[str, Counts], unnamed: str) -> list[str]:
    return [
        t("proposals_figures.annual.row", lang, name=name or unnamed, submitted=c.submitted, filed=c.filed,
          answered=c.answered, rate=_rate(percent(c.answered, c.filed)))  # fmt: skip
        for name, c in sorted(table.items(), key=lambda kv: (-kv[1].submitted, kv[0]))
    ]


def render_text(figures: ProposalFigures, lang: str) -> str:
    """The proposals section of `lvzhi annual`: the counts, the rates, the ratings, the key
    proposals, then by category, committee and sector."""
    from bot.services.proposals.common import reason_label, state_label

    lines = [t("proposals_figures.annual.header", lang, year=figures.year)]
    if not figures.recorded:
        lines.append(t("proposals_figures.annual.none", lang))
        return "\n".join(lines)
    sep = "，" if lang == "zh" else ", "
    reasons = sep.join(
        t("proposals_figures.annual.reason", lang, reason=reason_label(code, lang), n=n)
        for code, n in figures.not_filed_by_reason.items()
        if n
    )
    lines += [
        t("proposals_figures.annual.totals", lang, submitted=figures.submitted, filed=figures.filed,
          not_filed=figures.not_filed, merged=figures.merged, converted=figures.converted,
          waiting=figures.waiting, returned=figures.returned),  # fmt: skip
        t("proposals_figures.annual.handled", lang, assigned=figures.assigned, answered=figures.answered,
          answered_rate=_rate(figures.answered_rate), on_time=figures.on_time,
          on_time_rate=_rate(figures.on_time_rate)),  # fmt: skip
    ]
    if reasons:
        lines.append(t("proposals_figures.annual.reasons", lang, reasons=reasons))
    for question, ratings in (("attitude", figures.attitude), ("result", figures.result)):
        lines.append(
            t(f"proposals_figures.annual.ratings_{question}", lang, satisfied=ratings.satisfied,
              basically=ratings.basically, unsatisfied=ratings.unsatisfied, total=ratings.total,
              rate=_rate(ratings.satisfied_rate))  # fmt: skip
        )
    lines.append(t("proposals_figures.annual.key", lang, n=figures.key_count, excellent=figures.excellent))
    for item in figures.key:
        lines.append(
            t("proposals_figures.annual.key_row", lang, number=item.number or "—", title=item.title,
              leader=item.leader or "—", lead=item.lead, state=state_label(item.state, lang))  # fmt: skip
        )
    unnamed = t("digest.unassigned", lang)
    lines.append(t("proposals_figures.annual.by_category", lang))
    lines += _counts_rows(lang, figures.by_category, unnamed)
    lines.append(t("proposals_figures.annual.by_committee", lang))
    lines += _counts_rows(lang, figures.by_committee, unnamed)
    lines.append(t("proposals_figures.annual.by_sector", lang))
    lines += _counts_rows(lang, figures.by_sector, unnamed)
    return "\n".join(lines)


def render_action(action: ProposalAction, lang: str) -> list[str]:
    """The digest's needs-action lines for proposals (none when nothing waits)."""
    lines = []
    if action.review_waiting:
        lines.append(t("proposals_figures.digest.review", lang, n=action.review_waiting, days=action.review_oldest_days))
    if action.overdue:
        lines.append(t("proposals_figures.digest.overdue", lang, n=action.overdue))
    if action.due_soon:
        lines.append(t("proposals_figures.digest.due_soon", lang, n=action.due_soon, days=DUE_SOON_DAYS))
    if action.unrated:
        lines.append(t("proposals_figures.digest.unrated", lang, n=action.unrated, days=action.unrated_oldest_days))
    return lines


def render_week(week: ProposalWeek, before: ProposalWeek, year: ProposalFigures, lang: str, trend) -> str:  # type: ignore[no-untyped-def]
    """The digest's proposals line: the week's steps with the change, and the year so far."""
    return t(
        "proposals_figures.digest.week", lang,
        submitted=week.submitted, submitted_trend=trend(week.submitted, before.submitted, lang),
        filed=week.filed, filed_trend=trend(week.filed, before.filed, lang),
        answered=week.answered, answered_trend=trend(week.answered, before.answered, lang),
        year=year.year, year_submitted=year.submitted, year_filed=year.filed, year_answered=year.answered,
        rate=_rate(year.answered_rate),
    )  # fmt: skip
