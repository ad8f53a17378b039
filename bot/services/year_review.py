"""The year in review as the committee writes it (履职工作回眸): the rules file's
[[report.heading]] list, each heading a sentence in the committee's style and the figures it
quotes, evaluated over a calendar year in the committee's zone.

Every figure is one SQL aggregate (COUNT / SUM over the matching rows); the rows behind each
number come from the same conditions (`figure_rows`), so the workbook a secretary checks adds up
to the figure printed. What each kind of figure counts:

- events, attendances, attendees, guests: events held in the year (closed out, or published and
  started) matching tags / kinds / organisers / units / audience / with_guests; people present
  (委员 at members' events, staff at staff-only events); leaders invited.
- reports, reporters: members' confirmed reports that show they took part (bot.services.figures.took_part).
- quantity: an outcome summed over matching events and members' confirmed reports of the year.
- documents: output documents of the year (by their day); `instructed`: those with a 批示.
- log: the committee's work log of the year (by day), summed counts; `marked`: with the kind's mark.
- info: 社情民意 steps recorded in the year, each item counted once per figure (an item reported
  to two higher levels is one item reported upward).
- roster: serving 委员, bound to the bot, passing, excellent.
- proposals: `bot.services.proposals.figures` (the year of a proposal is that of its submission):
  received = every state but still with the co-proposers, registered = filed (FILED_STATES),
  answered, answered_rate = answered ÷ registered × 100, key, not_filed, merged, converted,
  on_time (answered by every due day), on_time_rate = on_time ÷ answered × 100, excellent.
  None when no proposal at all is recorded for the year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, distinct, false, func, not_, or_, select
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import local
from bot.core.i18n import t
from bot.core.review_rules import Figure, Heading, ReviewRules
from bot.core.rules import Rules
from bot.services.figures import (
    AR,
    ART,
    IE,
    II,
    MB,
    MBT,
    PR,
    PRT,
    Period,
    attended_invitation,
    held_in,
    member_points_query,
    of_members,
    took_part,
)
from bot.services.info import HOTLINE, level_label
from bot.services.proposals import figures as proposal_figures_of
from bot.services.proposals.common import state_label as proposal_state_label
from models.activity import CONFIRMED
from models.event import STAFF_AUDIENCE, Event, Invitation
from models.event_detail import EventGuest, EventTag, OutcomeQuantity, OutputDocument
from models.info import InfoEvent, InfoItem
from models.member import Member
from models.worklog import WorkLogEntry

EV, INV = Event.__table__.c, Invitation.__table__.c  # type: ignore[attr-defined]
TG, GU = EventTag.__table__.c, EventGuest.__table__.c  # type: ignore[attr-defined]
OQ, OD, WL = OutcomeQuantity.__table__.c, OutputDocument.__table__.c, WorkLogEntry.__table__.c  # type: ignore[attr-defined]
EVT, INVT, GUT = Event.__table__, Invitation.__table__, EventGuest.__table__  # type: ignore[attr-defined]
OQT, ODT, WLT = OutcomeQuantity.__table__, OutputDocument.__table__, WorkLogEntry.__table__  # type: ignore[attr-defined]
IET, IIT = InfoEvent.__table__, InfoItem.__table__  # type: ignore[attr-defined]

Value = int | float | None
# The info figures and the history step each counts.
INFO_KINDS = {"collected": "submitted", "accepted": "accepted", "reported": "reported", "adopted": "adopted",
              "transferred": "transferred", "instructions": "instruction", "feedback": "feedback"}  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """What a figure is evaluated over: the year, the moment (events held by then) and the rules."""

    year: int
    period: Period
    now: datetime
    rules: Rules
    zone: tzinfo

    @classmethod
    def of_year(cls, year: int, *, rules: Rules, zone: tzinfo, now: datetime | None = None) -> Scope:
        return cls(year, Period.of_year(year, zone), now or datetime.now(UTC), rules, zone)


# --------------------------------------------------------------------------- conditions


def event_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    """Events held in the year that the figure's filters pick (AND between filters, OR within one)."""
    where: list[ColumnElement[bool]] = [held_in(EV, scope.period, scope.now)]
    if figure.kinds:
        where.append(EV.kind.in_(figure.kinds))
    if figure.tags:
        where.append(EV.id.in_(select(TG.event_id).where(TG.tag.in_(figure.tags))))
    if figure.organisers:
        where.append(EV.organiser.in_(figure.organisers))
    if figure.units:
        where.append(EV.organiser_unit.in_(figure.units))
    if figure.audience == "staff":
        where.append(EV.audience_kind == STAFF_AUDIENCE)
    elif figure.audience == "members":
        where.append(EV.audience_kind != STAFF_AUDIENCE)
    if figure.with_guests:
        where.append(EV.id.in_(select(GU.event_id)))
    return where


def present() -> ColumnElement[bool]:
    """A person present at an event: a 委员 at a members' event, staff at a staff-only one."""
    return and_(attended_invitation(INV), or_(EV.audience_kind == STAFF_AUDIENCE, of_members(INV.member_id)))


def report_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    """Members' confirmed reports of the year that show they took part, of the figure's types."""
    where = [
        AR.status == CONFIRMED,
        AR.activity_date >= scope.period.first_day,
        AR.activity_date < scope.period.end_day,
        took_part(),
        of_members(AR.member_id),
    ]
    if figure.types:
        where.append(AR.type_code.in_(figure.types))
    return where


def quantity_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    """Quantities of matching events and of matching members' reports. Each quantity row looks up
    its own owner (EXISTS by primary key): the quantities are few, the reports of a province many."""
    owners = []
    if "events" in figure.sources:
        owner = select(EV.id).where(EV.id == OQ.event_id, *event_conditions(figure, scope)).correlate(OQT)
        owners.append(and_(OQ.event_id.is_not(None), owner.exists()))
    if "reports" in figure.sources:
        owner = select(AR.id).where(AR.id == OQ.report_id, *report_conditions(figure, scope)).correlate(OQT)
        owners.append(and_(OQ.report_id.is_not(None), owner.exists()))
    return [OQ.code == figure.quantity, or_(*owners) if owners else false()]


def document_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    where = [OD.kind.in_(figure.documents), OD.on_date >= scope.period.first_day, OD.on_date < scope.period.end_day]
    if figure.instructed:
        where.append(OD.instruction_by.is_not(None))
    return where


def log_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    where = [WL.kind.in_(figure.log), WL.on_date >= scope.period.first_day, WL.on_date < scope.period.end_day]
    if figure.marked:
        where.append(WL.marked.is_(True))
    return where


def info_conditions(figure: Figure, scope: Scope) -> list[ColumnElement[bool]]:
    """History steps recorded in the year (as bot.services.info.info_statistics counts them)."""
    assert figure.info is not None
    where = [IE.kind == INFO_KINDS[figure.info], IE.at >= scope.period.db_start, IE.at < scope.period.db_end]
    if figure.levels:
        where.append(IE.level.in_(figure.levels))
    if figure.target == "hotline":
        where.append(IE.target.contains(HOTLINE, autoescape=True))
    elif figure.target == "departments":
        where.append(not_(func.coalesce(IE.target, "").contains(HOTLINE, autoescape=True)))
    return where


# --------------------------------------------------------------------------- figures


def roster_aggregate(scope: Scope, which: Iterable[str]) -> Select:
    """Serving 委员, bound, passing and excellent in one query (points only when asked for)."""
    wanted = set(which)
    if not wanted & {"passed", "excellent"}:
        return select(
            func.count().label("serving"),
            func.sum(case((MB.telegram_user_id.is_not(None), 1), else_=0)).label("bound"),
        ).where(Member.is_active_member)
    points = member_points_query(scope.period, scope.rules).subquery("points")
    marks = scope.rules.assessment
    return (
        select(
            func.count().label("serving"),
            func.sum(case((MB.telegram_user_id.is_not(None), 1), else_=0)).label("bound"),
            func.sum(case((points.c.total >= marks.pass_mark, 1), else_=0)).label("passed"),
            func.sum(case((points.c.total >= marks.excellent_mark, 1), else_=0)).label("excellent"),
        )
        .select_from(MBT)
        .join(points, points.c.member_id == MB.id)
        .where(Member.is_active_member)
    )


def aggregate(figure: Figure, scope: Scope) -> Select | None:
    """The one SQL aggregate behind a figure (None: nothing to count, e.g. proposals)."""
    count = figure.count
    if count == "events":
        return select(func.count()).select_from(EVT).where(*event_conditions(figure, scope))
    if count in ("attendances", "attendees"):
        what = func.count() if count == "attendances" else func.count(distinct(INV.member_id))
        return (
            select(what)
            .select_from(INVT)
            .join(EVT, EV.id == INV.event_id)
            .where(*event_conditions(figure, scope), present())
        )
    if count == "guests":
        return select(func.count()).select_from(GUT).join(EVT, EV.id == GU.event_id).where(*event_conditions(figure, scope))
    if count in ("reports", "reporters"):
        what = func.count() if count == "reports" else func.count(distinct(AR.member_id))
        return select(what).select_from(ART).where(*report_conditions(figure, scope))
    if count == "quantity":
        return select(func.coalesce(func.sum(OQ.amount), 0)).select_from(OQT).where(*quantity_conditions(figure, scope))
    if count == "documents":
        return select(func.count()).select_from(ODT).where(*document_conditions(figure, scope))
    if count == "log":
        return select(func.coalesce(func.sum(WL.count), 0)).select_from(WLT).where(*log_conditions(figure, scope))
    if count == "info":
        return select(func.count(distinct(IE.item_id))).select_from(IET).where(*info_conditions(figure, scope))
    if count == "roster":
        return roster_aggregate(scope, [figure.roster or "serving"])
    return None  # proposals: bot.services.proposals.figures (several aggregates, see proposal_value)


# Which attribute of ProposalFigures each proposals figure of the rules file reads.
PROPOSAL_VALUES = {"received": "submitted", "registered": "filed", "answered": "answered",
                   "answered_rate": "answered_rate", "key": "key_count", "not_filed": "not_filed",
                   "merged": "merged", "converted": "converted", "on_time": "on_time",
                   "on_time_rate": "on_time_rate", "excellent": "excellent"}  # fmt: skip


def proposal_value(figures: proposal_figures_of.ProposalFigures, figure: Figure) -> Value:
    """A proposals figure; None for a year with no proposal recorded at all (or a rate of nothing)."""
    if not figures.recorded:
        return None
    value = getattr(figures, PROPOSAL_VALUES[figure.proposals or "received"])
    return value if value is None or isinstance(value, float) else int(value)


def proposal_conditions(figure: Figure, scope: Scope) -> tuple[list[ColumnElement[bool]], ColumnElement[bool] | None]:
    """The proposals a proposals figure counts (and, for a rate, which of them count as 1)."""
    from models.proposal import ANSWERED, CONVERTED, COSIGNING, FILED_STATES, MERGED, NOT_FILED

    pf = proposal_figures_of
    base: list[ColumnElement[bool]] = [pf.in_year(scope.year)]
    which = figure.proposals or "received"
    on_time = pf.on_time_condition(scope.zone)
    conditions: dict[str, tuple[ColumnElement[bool], ColumnElement[bool] | None]] = {
        "received": (PR.state != COSIGNING, None),
        "registered": (PR.state.in_(FILED_STATES), None),
        "answered": (PR.state == ANSWERED, None),
        "answered_rate": (PR.state.in_(FILED_STATES), PR.state == ANSWERED),
        "key": (PR.key.is_(True), None),
        "not_filed": (PR.state == NOT_FILED, None),
        "merged": (PR.state == MERGED, None),
        "converted": (PR.state == CONVERTED, None),
        "on_time": (on_time, None),
        "on_time_rate": (PR.state == ANSWERED, on_time),
        "excellent": (PR.excellent.is_(True), None),
    }
    where, counted = conditions[which]
    return [*base, where], counted


async def figure_value(session: AsyncSession, figure: Figure, scope: Scope) -> Value:
    if figure.count == "proposals":
        return proposal_value(await proposal_figures_of.proposal_figures(session, scope.year, zone=scope.zone), figure)
    query = aggregate(figure, scope)
    if query is None:
        return None
    row = (await session.exec(query)).one()  # type: ignore[call-overload]
    if figure.count == "roster":
        return int(getattr(row, figure.roster or "serving") or 0)
    return int((row[0] if isinstance(row, tuple) or hasattr(row, "_mapping") else row) or 0)


@dataclass
class HeadingResult:
    heading: Heading
    figures: dict[str, Value] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.heading.key

    @property
    def complete(self) -> bool:
        return all(value is not None for value in self.figures.values())

    def sentence(self, lang: str) -> str:
        """The heading's sentence with its figures; a heading without data says so."""
        if not self.complete:
            return t("year_review.no_data", lang, label=self.heading.label(lang))
        values = {name: _shown(value) for name, value in self.figures.items()}
        template = self.heading.en_text if lang == "en" else self.heading.zh_text
        if not template:  # an English reader of a heading with only a Chinese sentence
            joiner = ", "
            return f"{self.heading.label(lang)}: " + joiner.join(f"{k} {v}" for k, v in values.items())
        return template.format(**values)


@dataclass
class YearReview:
    year: int
    headings: list[HeadingResult] = field(default_factory=list)

    def as_dict(self, lang: str = "zh") -> dict:
        """Every figure by heading key (null where there is no data yet), with label and sentence."""
        return {
            "year": self.year,
            "headings": {
                h.key: {"label": h.heading.label(lang), "sentence": h.sentence(lang), "figures": dict(h.figures)}
                for h in self.headings
            },
        }


def _shown(value: Value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value)) if value is not None else "—"


async def year_review(
    session: AsyncSession, year: int, *, rules: Rules, zone: tzinfo, now: datetime | None = None
) -> YearReview:
    """Every heading of the rules' report definition, evaluated for the calendar year."""
    scope = Scope.of_year(year, rules=rules, zone=zone, now=now)
    out = YearReview(year=year)
    roster_wanted = {f.roster for h in rules.review.headings for f in h.figures if f.count == "roster" and f.roster}
    roster_row = None
    proposals = None
    reports_of: dict[tuple[str, ...], tuple[int, int]] = {}  # types -> (reports, reporters): one scan each
    for heading in rules.review.headings:
        result = HeadingResult(heading)
        for figure in heading.figures:
            if figure.count == "roster":  # one query for all roster figures (the points are the cost)
                if roster_row is None:
                    roster_row = (await session.exec(roster_aggregate(scope, roster_wanted))).one()  # type: ignore[call-overload]
                result.figures[figure.name] = int(getattr(roster_row, figure.roster or "serving") or 0)
            elif figure.count == "proposals":  # one set of aggregates for all proposals figures
                if proposals is None:
                    proposals = await proposal_figures_of.proposal_figures(session, year, zone=zone)
                result.figures[figure.name] = proposal_value(proposals, figure)
            elif figure.count in ("reports", "reporters"):
                if figure.types not in reports_of:
                    both = select(func.count(), func.count(distinct(AR.member_id))).where(*report_conditions(figure, scope))
                    n, people = (await session.exec(both)).one()  # type: ignore[call-overload]
                    reports_of[figure.types] = (int(n or 0), int(people or 0))
                result.figures[figure.name] = reports_of[figure.types][0 if figure.count == "reports" else 1]
            else:
                result.figures[figure.name] = await figure_value(session, figure, scope)
        out.headings.append(result)
    return out


def render_text(review: YearReview, lang: str) -> str:
    lines = [t("year_review.title", lang, year=review.year), ""]
    for result in review.headings:
        lines.append(t("year_review.line", lang, label=result.heading.label(lang), sentence=result.sentence(lang)))
    return "\n".join(lines)


def breakdown_text(figures: Any, rules: Rules, lang: str) -> str:
    """After the headings: the members' confirmed reports by type and by committee
    (bot.services.annual.reports_breakdown), so the secretariat can check who did what."""
    lines = [t("year_review.breakdown", lang), t("digest.annual.by_type", lang)]
    for code, activity in rules.activities.items():
        lines.append(t("digest.annual.type_row", lang, label=activity.label(lang), n=figures.by_type.get(code, 0)))
    for code in sorted(set(figures.by_type) - set(rules.activities)):
        lines.append(t("digest.annual.type_row", lang, label=code, n=figures.by_type[code]))
    lines.append(t("digest.annual.by_committee", lang))
    for committee, entry in sorted(figures.by_committee.items(), key=lambda kv: (-kv[1].reports, kv[0])):
        lines.append(t("digest.annual.committee_row", lang, committee=committee or t("digest.unassigned", lang),
                       reports=entry.reports, reporting=entry.reporting, members=entry.members))  # fmt: skip
    return "\n".join(lines)


# --------------------------------------------------------------------------- what a figure counts, in words


def describe(figure: Figure, rules: Rules, lang: str) -> str:
    """A figure in plain words for the workbook: 活动场次（标签：调研协商、轮值协商）."""
    review = rules.review
    joiner = "、" if lang == "zh" else ", "

    def names(codes: Iterable[str], entries: dict) -> str:
        return joiner.join(entries[c].label(lang) if c in entries else c for c in codes)

    if figure.count == "quantity":
        entry = review.quantities.get(figure.quantity or "")
        head = t("year_review.what.quantity", lang, quantity=entry.label(lang) if entry else figure.quantity)
    elif figure.count == "documents":
        head = t("year_review.what.documents", lang, documents=names(figure.documents, review.documents))
        if figure.instructed:
            head += t("year_review.what.instructed", lang)
    elif figure.count == "log":
        head = t("year_review.what.log", lang, log=names(figure.log, review.log_kinds))
        if figure.marked:
            marks = joiner.join(review.log_kinds[c].mark(lang) for c in figure.log if c in review.log_kinds)
            head += t("year_review.what.marked", lang, mark=marks)
    elif figure.count in ("info", "roster", "proposals"):
        head = t(f"year_review.what.{figure.count}_{getattr(figure, figure.count)}", lang)
    else:
        head = t(f"year_review.what.{figure.count}", lang)
    parts = []
    if figure.tags:
        parts.append(t("year_review.filter.tags", lang, names=names(figure.tags, review.tags)))
    if figure.kinds:
        parts.append(t("year_review.filter.kinds", lang, names=names(figure.kinds, rules.activities)))
    if figure.organisers:
        parts.append(t("year_review.filter.organisers", lang, names=names(figure.organisers, review.organisers)))
    if figure.units:
        parts.append(t("year_review.filter.units", lang, names=joiner.join(figure.units)))
    if figure.audience:
        parts.append(t(f"year_review.filter.audience_{figure.audience}", lang))
    if figure.with_guests:
        parts.append(t("year_review.filter.with_guests", lang))
    if figure.types and figure.count in ("reports", "reporters", "quantity"):
        parts.append(t("year_review.filter.types", lang, names=names(figure.types, rules.activities)))
    if figure.count == "quantity" and tuple(figure.sources) != ("events", "reports"):
        parts.append(t(f"year_review.filter.from_{figure.sources[0]}", lang))
    if figure.levels:
        parts.append(t("year_review.filter.levels", lang, names=joiner.join(level_label(lv, lang) for lv in figure.levels)))
    if figure.target:
        parts.append(t(f"year_review.filter.target_{figure.target}", lang))
    if not parts:
        return head
    return head + (f"（{'；'.join(parts)}）" if lang == "zh" else f" ({'; '.join(parts)})")


# --------------------------------------------------------------------------- the rows behind a figure


@dataclass
class Row:
    """One row behind a number: its amount adds up to the figure."""

    day: date | None
    item: str
    amount: int
    detail: str = ""
    ref: str = ""


async def figure_rows(session: AsyncSession, figure: Figure, scope: Scope, lang: str) -> list[Row]:
    """The rows a figure counts, from the same conditions as its aggregate."""
    review = scope.rules.review
    joiner = "、" if lang == "zh" else ", "
    count = figure.count
    if count in ("events", "attendances", "guests"):
        query = select(EV.id, EV.title, EV.starts_at, EV.kind, EV.organiser, EV.organiser_unit).where(
            *event_conditions(figure, scope)
        )
        events = {row.id: row for row in (await session.exec(query.order_by(EV.starts_at, EV.id))).all()}  # type: ignore[call-overload]
        tags = await _tags_of(session, list(events))
        if count == "guests":
            guests = select(GU.event_id, GU.name).where(GU.event_id.in_(list(events) or [-1])).order_by(GU.event_id, GU.position)
            return [
                Row(_day(events[eid].starts_at, scope), events[eid].title, 1, name, t("year_review.ref_event", lang, id=eid))
                for eid, name in (await session.exec(guests)).all()  # type: ignore[call-overload]
            ]
        present_of: dict[int, int] = {}
        if count == "attendances":
            counts = (
                select(INV.event_id, func.count())
                .select_from(INVT)
                .join(EVT, EV.id == INV.event_id)
                .where(*event_conditions(figure, scope), present())
                .group_by(INV.event_id)
            )
            present_of = {eid: int(n) for eid, n in (await session.exec(counts)).all()}  # type: ignore[call-overload]
        return [
            Row(
                _day(row.starts_at, scope),
                row.title,
                present_of.get(eid, 0) if count == "attendances" else 1,
                _event_detail(row, tags.get(eid, []), review, lang, joiner),
                t("year_review.ref_event", lang, id=eid),
            )
            for eid, row in events.items()
        ]
    if count == "attendees":
        query = (
            select(MB.name, MB.committee, func.count())
            .select_from(INVT)
            .join(EVT, EV.id == INV.event_id)
            .join(MBT, MB.id == INV.member_id)
            .where(*event_conditions(figure, scope), present())
            .group_by(MB.id, MB.name, MB.committee)
            .order_by(MB.name)
        )
        return [
            Row(None, name, 1, t("year_review.times", lang, n=int(n)), committee or "")
            for name, committee, n in (await session.exec(query)).all()  # type: ignore[call-overload]
        ]
    if count in ("reports", "reporters"):
        query = (
            select(MB.name, MB.committee, func.count())
            .select_from(ART)
            .join(MBT, MB.id == AR.member_id)
            .where(*report_conditions(figure, scope))
            .group_by(MB.id, MB.name, MB.committee)
            .order_by(MB.name)
        )
        return [
            Row(None, name, int(n) if count == "reports" else 1, t("year_review.times", lang, n=int(n)), committee or "")
            for name, committee, n in (await session.exec(query)).all()  # type: ignore[call-overload]
        ]
    if count == "quantity":
        query = (
            select(OQ.amount, EV.id.label("event_id"), EV.title, EV.starts_at, AR.id.label("report_id"), AR.activity_date,
                   AR.title.label("report_title"), MB.name)  # fmt: skip
            .select_from(OQT)
            .outerjoin(EVT, EV.id == OQ.event_id)
            .outerjoin(ART, AR.id == OQ.report_id)
            .outerjoin(MBT, MB.id == AR.member_id)
            .where(*quantity_conditions(figure, scope))
            .order_by(OQ.id)
        )
        out = []
        for row in (await session.exec(query)).all():  # type: ignore[call-overload]
            if row.event_id is not None:
                out.append(Row(_day(row.starts_at, scope), row.title, int(row.amount), "",
                               t("year_review.ref_event", lang, id=row.event_id)))  # fmt: skip
            else:
                item = t("year_review.member_report", lang, name=row.name, title=row.report_title or "")
                out.append(Row(row.activity_date, item, int(row.amount), "", t("year_review.ref_report", lang, id=row.report_id)))
        return out
    if count == "documents":
        query = (
            select(OD.id, OD.kind, OD.title, OD.on_date, OD.instruction_by, OD.instruction_on, EV.title.label("event"))
            .select_from(ODT)
            .outerjoin(EVT, EV.id == OD.event_id)
            .where(*document_conditions(figure, scope))
            .order_by(OD.on_date, OD.id)
        )
        out = []
        for row in (await session.exec(query)).all():  # type: ignore[call-overload]
            kind = review.documents[row.kind].label(lang) if row.kind in review.documents else row.kind
            detail = [kind] + ([row.event] if row.event else [])
            if row.instruction_by:
                detail.append(t("year_review.instruction", lang, by=row.instruction_by, day=str(row.instruction_on or "")))
            out.append(Row(row.on_date, row.title, 1, joiner.join(detail), t("year_review.ref_document", lang, id=row.id)))
        return out
    if count == "log":
        query = select(WLT).where(*log_conditions(figure, scope)).order_by(WL.on_date, WL.id)
        out = []
        for row in (await session.exec(query)).all():  # type: ignore[call-overload]
            kind = review.log_kinds.get(row.kind)
            said = kind.label(lang) if kind else row.kind
            if row.marked and kind is not None:
                said += joiner + kind.mark(lang)
            out.append(Row(row.on_date, row.note, int(row.count), said, t("year_review.ref_log", lang, id=row.id)))
        return out
    if count == "info":
        query = (
            select(II.number, II.title, func.min(IE.at).label("at"), func.min(IE.level).label("level"),
                   func.min(IE.target).label("target"))  # fmt: skip
            .select_from(IET)
            .join(IIT, II.id == IE.item_id)
            .where(*info_conditions(figure, scope))
            .group_by(II.id, II.number, II.title)
            .order_by(II.number)
        )
        out = []
        for row in (await session.exec(query)).all():  # type: ignore[call-overload]
            where_to = level_label(row.level, lang) if row.level else (row.target or "")
            out.append(Row(_day(row.at, scope), row.title, 1, where_to, row.number))
        return out
    if count == "roster":
        which = figure.roster or "serving"
        query = select(MB.name, MB.committee).where(Member.is_active_member)
        if which == "bound":
            query = query.where(MB.telegram_user_id.is_not(None))
        elif which in ("passed", "excellent"):
            points = member_points_query(scope.period, scope.rules).subquery("points")
            mark = scope.rules.assessment.pass_mark if which == "passed" else scope.rules.assessment.excellent_mark
            query = (
                select(MB.name, MB.committee, points.c.total)
                .select_from(MBT)
                .join(points, points.c.member_id == MB.id)
                .where(Member.is_active_member, points.c.total >= mark)
            )
        rows = (await session.exec(query.order_by(MB.name))).all()  # type: ignore[call-overload]
        return [
            Row(None, row.name, 1, t("year_review.points", lang, points=round(float(row.total), 1)) if len(row) > 2 else "",
                row.committee or "")  # fmt: skip
            for row in rows
        ]
    if count == "proposals":
        where, counted = proposal_conditions(figure, scope)
        amount = case((counted, 1), else_=0) if counted is not None else None
        query = (
            select(PR.number, PR.title, PR.submitted_at, PR.state, MB.name,
                   *([amount.label("amount")] if amount is not None else []))  # fmt: skip
            .select_from(PRT)
            .join(MBT, MB.id == PR.lead_id)
            .where(*where)
            .order_by(PR.seq, PR.submitted_at, PR.id)
        )
        return [
            Row(_day(row.submitted_at, scope), row.title, int(row.amount) if amount is not None else 1,
                joiner.join([proposal_state_label(row.state, lang), row.name]), row.number or "")  # fmt: skip
            for row in (await session.exec(query)).all()  # type: ignore[call-overload]
        ]
    return []


async def _tags_of(session: AsyncSession, event_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not event_ids:
        return out
    for eid, tag in (await session.exec(select(TG.event_id, TG.tag).where(TG.event_id.in_(event_ids)))).all():  # type: ignore[call-overload]
        out.setdefault(eid, []).append(tag)
    return out


def _day(moment: datetime | None, scope: Scope) -> date | None:
    return local(moment, scope.zone).date() if moment is not None else None


def _event_detail(row: Any, tags: list[str], review: ReviewRules, lang: str, joiner: str) -> str:
    parts = [review.tags[c].label(lang) if c in review.tags else c for c in tags]
    if row.organiser_unit:
        parts.append(row.organiser_unit)
    elif row.organiser:
        entry = review.organisers.get(row.organiser)
        parts.append(entry.label(lang) if entry else row.organiser)
    return joiner.join(parts)


# --------------------------------------------------------------------------- the workbook


async def write_workbook(
    session: AsyncSession, review: YearReview, target: Path | IO[bytes], *, rules: Rules, zone: tzinfo,
    lang: str = "zh", now: datetime | None = None,
) -> dict[str, int]:  # fmt: skip
    """A summary sheet of every figure, then one sheet per heading with the rows behind each
    number (column 数量 of a figure's rows adds up to it). Returns rows per heading."""
    from bot.services.exports import building, new_book, save
    from bot.services.sheets import Column, Sheet

    scope = Scope.of_year(review.year, rules=rules, zone=zone, now=now)
    summary_columns = [
        Column("heading", t("year_review.xlsx.heading", lang), 16),
        Column("figure", t("year_review.xlsx.figure", lang), 16),
        Column("what", t("year_review.xlsx.what", lang), 48, wrap=True),
        Column("value", t("year_review.xlsx.value", lang), 10),
    ]
    row_columns = [
        Column("figure", t("year_review.xlsx.figure", lang), 16),
        Column("what", t("year_review.xlsx.what", lang), 36, wrap=True),
        Column("day", t("year_review.xlsx.day", lang), 12),
        Column("item", t("year_review.xlsx.item", lang), 40, wrap=True),
        Column("amount", t("year_review.xlsx.amount", lang), 8),
        Column("detail", t("year_review.xlsx.detail", lang), 30, wrap=True),
        Column("ref", t("year_review.xlsx.ref", lang), 14),
    ]
    counts: dict[str, int] = {}
    with building(new_book()) as book:
        summary = Sheet(book, t("year_review.xlsx.summary", lang), summary_columns)
        used: set[str] = {summary.ws.title}
        for result in review.headings:
            for figure in result.heading.figures:
                summary.append({"heading": result.heading.label(lang), "figure": figure.name,
                                "what": describe(figure, rules, lang),
                                "value": result.figures.get(figure.name)})  # fmt: skip
        for result in review.headings:
            sheet = Sheet(book, _sheet_title(result.heading.label(lang), used), row_columns)
            for figure in result.heading.figures:
                what = describe(figure, rules, lang)
                for row in await figure_rows(session, figure, scope, lang):
                    sheet.append({"figure": figure.name, "what": what, "day": row.day, "item": row.item,
                                  "amount": row.amount, "detail": row.detail, "ref": row.ref})  # fmt: skip
            counts[result.key] = sheet.rows
        save(book, target)
    return counts


def _sheet_title(label: str, used: set[str]) -> str:
    """A sheet name Excel accepts (≤ 31 characters, none of []:*?/\\), unique in the workbook."""
    base = "".join(" " if ch in "[]:*?/\\" else ch for ch in label)[:28].strip() or "sheet"
    title, n = base, 2
    while title in used:
        title, n = f"{base} {n}", n + 1
    used.add(title)
    return title

