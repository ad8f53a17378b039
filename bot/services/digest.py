"""The secretariat's weekly digest: what needs action first, then the ISO week in numbers with the
change from the week before, next week's events; rendered as text through the catalogues.

Weeks are ISO weeks in the committee's zone (Monday 00:00 local to the next Monday 00:00 local),
converted to UTC for the queries. Every figure is a SQL aggregate (GROUP BY / COUNT / SUM).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, case, distinct, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import local, to_db
from bot.core.dates import read_iso_week
from bot.core.i18n import t
from bot.core.rules import INFO_LEVELS, Rules
from bot.services.figures import (
    AR,
    ART,
    IE,
    II,
    MB,
    MBT,
    Period,
    Shortfall,
    days_between,
    event_attendance_by_kind,
    members_where,
    minimums_requirements,
    run,
    shortfall,
    took_part,
)
from bot.services.info import level_label
from bot.services.proposals import figures as proposal_figures
from models.activity import CONFIRMED, PENDING
from models.base import table_of
from models.member import Member

REVIEW_WAIT = timedelta(days=3)  # reports and 社情民意 waiting longer than this need action
DEADLINE_HORIZON_DAYS = 30
NAMES_SHOWN = 10
UPCOMING_SHOWN = 15
TEXT_LIMIT = 4096  # Telegram's message length

class WeekError(ValueError):
    """Not an ISO week like 2025-W47."""


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        found = read_iso_week(text)
        if found is None:
            raise WeekError(text)
        return cls(*found)

    @classmethod
    def containing(cls, moment: datetime, zone: tzinfo) -> IsoWeek:
        year, week, _ = moment.astimezone(zone).isocalendar()
        return cls(year, week)

    @classmethod
    def of_day(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def previous(self) -> IsoWeek:
        return IsoWeek.of_day(self.monday - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.of_day(self.monday + timedelta(days=7))

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[Monday 00:00 local, next Monday 00:00 local) as aware UTC."""
        start = datetime.combine(self.monday, time(0), tzinfo=zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def period(self, zone: tzinfo) -> Period:
        start, end = self.bounds(zone)
        return Period.between(start, end, zone)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"  # for files, keys and the command line


def week_label(week: IsoWeek, lang: str, *, this_year: int | None = None) -> str:
    """How people read a week: 第48周（11月23日—29日）; the year only when it is not this year's."""
    first, last = week.monday, week.sunday
    names = {"d1": first.day, "d2": last.day, "m1": first.month, "m2": last.month, "y1": first.year,
             "y2": last.year}  # fmt: skip
    kind = "same_month" if (first.year, first.month) == (last.year, last.month) else "months"
    if first.year != last.year:
        kind = "years"
    span = t(f"digest.range_{kind}", lang, **names)
    if this_year is not None and week.year != this_year and kind != "years":
        return t("digest.week_label_year", lang, n=week.week, year=week.year, range=span)
    return t("digest.week_label", lang, n=week.week, range=span)


def digest_week_for(now: datetime, zone: tzinfo) -> IsoWeek:
    """The week a digest sent at `now` reports on: the previous ISO week."""
    return IsoWeek.containing(now, zone).previous()


# --------------------------------------------------------------------------- the figures


@dataclass
class Count:
    """Reports submitted in the week (any state) and how many of them are confirmed."""

    submitted: int = 0
    confirmed: int = 0


@dataclass
class WeekNumbers:
    reports: Count = field(default_factory=Count)
    by_type: dict[str, Count] = field(default_factory=dict)
    by_committee: dict[str, Count] = field(default_factory=dict)
    by_sector: dict[str, Count] = field(default_factory=dict)
    info_submitted: int = 0
    info_accepted: int = 0
    info_reported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INFO_LEVELS, 0))
    info_transferred: int = 0
    info_instructions: int = 0  # items that got a leader's instruction (批示) in the week
    events_held: int = 0
    invited: int = 0
    attended: int = 0
    attended_self: int = 0  # of `attended`: self-declared, not verified with the venue's code
    newly_bound: int = 0
    proposals: proposal_figures.ProposalWeek = field(default_factory=proposal_figures.ProposalWeek)

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.invited if self.invited else None


@dataclass
class DeadlineShort:
    title: str
    due_on: date
    days_left: int
    short: Shortfall


@dataclass
class NeedsAction:
    reports_waiting: int = 0
    reports_oldest_days: int = 0
    info_waiting: int = 0
    info_oldest_days: int = 0
    deadlines: list[DeadlineShort] = field(default_factory=list)
    period_end: date | None = None  # the assessment period ends within the horizon …
    minimums: Shortfall | None = None  # … and these members still owe minimum duties
    blocked: Shortfall = field(default_factory=Shortfall)
    unbound: Shortfall = field(default_factory=Shortfall)
    awaiting_reply: int = 0
    awaiting_oldest_days: int = 0
    proposals: proposal_figures.ProposalAction = field(default_factory=proposal_figures.ProposalAction)

    @property
    def empty(self) -> bool:
        return self.proposals.empty and not (
            self.reports_waiting
            or self.info_waiting
            or self.deadlines
            or self.minimums
            or self.blocked.count
            or self.unbound.count
            or self.awaiting_reply
        )


@dataclass
class Upcoming:
    title: str
    starts_at: datetime  # aware, committee zone
    invited: int
    attend: int
    leave: int

    @property
    def no_answer(self) -> int:
        return max(0, self.invited - self.attend - self.leave)


@dataclass
class Digest:
    week: IsoWeek
    generated_at: datetime
    action: NeedsAction
    current: WeekNumbers
    previous: WeekNumbers
    upcoming: list[Upcoming]
    zone: tzinfo = UTC
    # The proposals of the week's year so far (bot.services.proposals.figures)
    proposals_year: proposal_figures.ProposalFigures | None = None

    @property
    def zone_now(self) -> datetime:
        return self.generated_at.astimezone(self.zone)

    @property
    def so_far(self) -> bool:
        """The week is still under way: its figures are up to `generated_at`."""
        return self.generated_at < self.week.bounds(self.zone)[1]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["week"] = str(self.week)
        data.pop("zone", None)
        return data


async def week_numbers(session: AsyncSession, week: IsoWeek, zone: tzinfo, now: datetime) -> WeekNumbers:
    """The week's figures, each a GROUP BY in the database."""
    from bot.services.info import info_statistics

    period = week.period(zone)
    out = WeekNumbers()
    confirmed = func.sum(case((AR.status == CONFIRMED, 1), else_=0))
    reports = (
        select(AR.type_code, MB.committee, MB.sector, func.count(), confirmed)
        .select_from(ART)
        .join(MBT, MB.id == AR.member_id)
        .where(AR.submitted_at >= period.db_start, AR.submitted_at < period.db_end, Member.is_member, took_part())
        .group_by(AR.type_code, MB.committee, MB.sector)
    )
    for code, committee, sector, n, ok in (await run(session, reports)).all():
        n, ok = int(n), int(ok or 0)
        for table, key in (
            (out.by_type, code),
            (out.by_committee, committee or ""),
            (out.by_sector, sector or ""),
        ):
            entry = table.setdefault(key, Count())
            entry.submitted += n
            entry.confirmed += ok
        out.reports.submitted += n
        out.reports.confirmed += ok

    stats = await info_statistics(session, period.start, period.end)
    out.info_submitted, out.info_accepted, out.info_transferred, out.info_instructions = (
        stats.submitted,
        stats.accepted,
        stats.transferred,
        stats.instructions,
    )
    out.info_reported = {level: int(stats.reported.get(level, 0)) for level in INFO_LEVELS}

    for row in (await run(session, event_attendance_by_kind(period, now))).all():
        out.events_held += int(row.events)
        out.invited += int(row.invited)
        out.attended += int(row.attended)
        out.attended_self += int(row.self_declared)

    bound = (
        select(func.count())
        .select_from(MBT)
        .where(MB.bound_at >= period.db_start, MB.bound_at < period.db_end, Member.is_member)
    )
    out.newly_bound = int((await run(session, bound)).scalar_one())
    out.proposals = await proposal_figures.proposal_week(session, period)
    return out


async def needs_action(session: AsyncSession, *, now: datetime, rules: Rules, zone: tzinfo) -> NeedsAction:
    from models.event import Deadline

    out = NeedsAction()
    cutoff = to_db(now - REVIEW_WAIT)
    n, oldest = (
        await run(session,
            select(func.count(), func.min(AR.submitted_at)).where(
                AR.status == PENDING, AR.submitted_at < cutoff
            )
        )
    ).one()
    out.reports_waiting, out.reports_oldest_days = int(n), days_between(oldest, now)
    n, oldest = (
        await run(session,
            select(func.count(), func.min(II.last_submitted_at)).where(
                II.state == "submitted", II.last_submitted_at < cutoff
            )
        )
    ).one()
    out.info_waiting, out.info_oldest_days = int(n), days_between(oldest, now)

    # 社情民意 transferred to a department with no feedback recorded since.
    answered = select(IE.item_id).where(IE.kind == "feedback")
    n, oldest = (
        await run(session,
            select(func.count(distinct(IE.item_id)), func.min(IE.at)).where(
                IE.kind == "transferred", IE.item_id.not_in(answered)
            )
        )
    ).one()
    out.awaiting_reply, out.awaiting_oldest_days = int(n or 0), days_between(oldest, now)

    out.proposals = await proposal_figures.proposal_action(session, now=now, zone=zone)
    out.blocked = await _members(session, and_(MB.telegram_user_id.is_not(None), MB.reachable.is_(False)))
    out.unbound = await _members(session, MB.telegram_user_id.is_(None))

    today = now.astimezone(zone).date()
    horizon = today + timedelta(days=DEADLINE_HORIZON_DAYS)
    dl = table_of(Deadline).c
    deadlines = (
        await run(session,
            select(dl.title, dl.due_on, dl.requirement)
            .where(dl.status == "active", dl.due_on >= today, dl.due_on <= horizon)
            .order_by(dl.due_on)
        )
    ).all()
    for title, due_on, requirement in deadlines:
        period = Period.of_year(due_on.year, zone)
        short = await shortfall(session, [requirement or {}], period, rules, names=NAMES_SHOWN)
        if short is not None and short.count:
            out.deadlines.append(
                DeadlineShort(title=title, due_on=due_on, days_left=(due_on - today).days, short=short)
            )
    # The assessment year's end is a deadline for the rules' minimum duties.
    year_end = date(today.year, 12, 31)
    if year_end <= horizon and rules.assessment.minimums:
        short = await shortfall(
            session, minimums_requirements(rules), Period.of_year(today.year, zone), rules, names=NAMES_SHOWN
        )
        if short is not None and short.count:
            out.period_end, out.minimums = year_end, short
    return out


async def _members(session: AsyncSession, condition) -> Shortfall:  # type: ignore[no-untyped-def]
    return await members_where(session, and_(Member.is_active_member, condition), names=NAMES_SHOWN)


async def upcoming_events(
    session: AsyncSession, start: datetime, end: datetime, zone: tzinfo
) -> list[Upcoming]:
    from models.event import ATTEND, LEAVE, PUBLISHED, Event, Invitation

    ev, inv = table_of(Event).c, table_of(Invitation).c
    query = (
        select(
            ev.id,
            ev.title,
            ev.starts_at,
            func.count(inv.id),
            func.sum(case((inv.answer == ATTEND, 1), else_=0)),
            func.sum(case((inv.answer == LEAVE, 1), else_=0)),
        )
        .select_from(table_of(Event))
        .outerjoin(table_of(Invitation), inv.event_id == ev.id)
        .where(ev.status == PUBLISHED, ev.starts_at >= to_db(start), ev.starts_at < to_db(end))
        .group_by(ev.id, ev.title, ev.starts_at)
        .order_by(ev.starts_at, ev.id)
        .limit(UPCOMING_SHOWN)
    )
    return [
        Upcoming(
            title=title, starts_at=local(starts, zone), invited=int(n), attend=int(a or 0), leave=int(lv or 0)
        )
        for _id, title, starts, n, a, lv in (await run(session, query)).all()
    ]


async def build_digest(
    session: AsyncSession, week: IsoWeek, *, now: datetime, rules: Rules, zone: tzinfo
) -> Digest:
    """The digest of `week` as of `now` (what needs action is as of now)."""
    _, end = week.bounds(zone)
    upcoming_from = max(end, now)
    return Digest(
        week=week,
        generated_at=now,
        action=await needs_action(session, now=now, rules=rules, zone=zone),
        current=await week_numbers(session, week, zone, now),
        previous=await week_numbers(session, week.previous(), zone, now),
        upcoming=await upcoming_events(session, upcoming_from, upcoming_from + timedelta(days=7), zone),
        zone=zone,
        proposals_year=await proposal_figures.proposal_figures(session, week.sunday.year, zone=zone),
    )


# --------------------------------------------------------------------------- text


def trend(now: int | float, before: int | float, lang: str) -> str:
    """`↑3`, `↓2` or `持平` / `=` against the week before."""
    diff = now - before
    if diff > 0:
        return t("digest.up", lang, n=_num(diff))
    if diff < 0:
        return t("digest.down", lang, n=_num(-diff))
    return t("digest.same", lang)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _names(short: Shortfall, lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    text = sep.join(short.names)
    if short.count > len(short.names):
        text += t("digest.and_more", lang, n=short.count)
    return text


def type_label(rules: Rules, code: str, lang: str) -> str:
    activity = rules.activities.get(code)
    return activity.label(lang) if activity else code


def _rate(numbers: WeekNumbers) -> str:
    rate = numbers.attendance_rate
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _breakdown(lang: str, current: dict[str, Count], previous: dict[str, Count], label) -> list[str]:  # type: ignore[no-untyped-def]
    keys = sorted(set(current) | set(previous), key=lambda k: (-current.get(k, Count()).submitted, k))
    lines = []
    for key in keys:
        now, before = current.get(key, Count()), previous.get(key, Count())
        lines.append(
            t(
                "digest.row",
                lang,
                label=label(key),
                submitted=now.submitted,
                confirmed=now.confirmed,
                trend=trend(now.submitted, before.submitted, lang),
            )
        )
    return lines or [t("digest.none", lang)]


def render_action(action: NeedsAction, lang: str) -> list[str]:
    lines = [t("digest.action_header", lang)]
    if action.empty:
        lines.append(t("digest.action_none", lang))
        return lines
    if action.reports_waiting:
        lines.append(
            t("digest.action_reports", lang, n=action.reports_waiting, days=action.reports_oldest_days)
        )
    if action.info_waiting:
        lines.append(t("digest.action_info", lang, n=action.info_waiting, days=action.info_oldest_days))
    for item in action.deadlines:
        lines.append(
            t(
                "digest.action_deadline",
                lang,
                title=item.title,
                due=item.due_on.isoformat(),
                days=item.days_left,
                n=item.short.count,
                names=_names(item.short, lang),
            )
        )
    if action.minimums and action.period_end:
        lines.append(
            t(
                "digest.action_minimums",
                lang,
                due=action.period_end.isoformat(),
                n=action.minimums.count,
                names=_names(action.minimums, lang),
            )
        )
    if action.blocked.count:
        lines.append(
            t("digest.action_blocked", lang, n=action.blocked.count, names=_names(action.blocked, lang))
        )
    if action.unbound.count:
        lines.append(
            t("digest.action_unbound", lang, n=action.unbound.count, names=_names(action.unbound, lang))
        )
    if action.awaiting_reply:
        lines.append(
            t("digest.action_awaiting", lang, n=action.awaiting_reply, days=action.awaiting_oldest_days)
        )
    lines += proposal_figures.render_action(action.proposals, lang)
    return lines


def render_text(digest: Digest, lang: str, rules: Rules) -> str:
    """The digest as one message (cut to Telegram's limit; the XLSX has everything)."""
    cur, prev = digest.current, digest.previous
    lines = [title(digest, lang), ""]
    lines += render_action(digest.action, lang)
    lines += ["", t("digest.numbers_header", lang)]
    lines.append(
        t(
            "digest.reports_total",
            lang,
            submitted=cur.reports.submitted,
            confirmed=cur.reports.confirmed,
            trend=trend(cur.reports.submitted, prev.reports.submitted, lang),
        )
    )
    lines.append(t("digest.by_type", lang))
    lines += _breakdown(lang, cur.by_type, prev.by_type, lambda code: type_label(rules, code, lang))
    lines.append(t("digest.by_committee", lang))
    lines += _breakdown(
        lang, cur.by_committee, prev.by_committee, lambda k: k or t("digest.unassigned", lang)
    )
    lines.append(t("digest.by_sector", lang))
    lines += _breakdown(lang, cur.by_sector, prev.by_sector, lambda k: k or t("digest.unassigned", lang))
    levels = "，" if lang == "zh" else ", "
    reported = levels.join(
        t(
            "digest.level",
            lang,
            level=level_label(lv, lang),
            n=cur.info_reported.get(lv, 0),
            trend=trend(cur.info_reported.get(lv, 0), prev.info_reported.get(lv, 0), lang),
        )
        for lv in INFO_LEVELS
    )
    lines.append(
        t(
            "digest.info",
            lang,
            submitted=cur.info_submitted,
            submitted_trend=trend(cur.info_submitted, prev.info_submitted, lang),
            accepted=cur.info_accepted,
            accepted_trend=trend(cur.info_accepted, prev.info_accepted, lang),
            transferred=cur.info_transferred,
            transferred_trend=trend(cur.info_transferred, prev.info_transferred, lang),
            instructions=cur.info_instructions,
            instructions_trend=trend(cur.info_instructions, prev.info_instructions, lang),
            reported=reported,
        )
    )
    lines.append(
        t(
            "digest.events",
            lang,
            n=cur.events_held,
            trend=trend(cur.events_held, prev.events_held, lang),
            attended=cur.attended,
            invited=cur.invited,
            by_code=cur.attended - cur.attended_self,
            self_declared=cur.attended_self,
            rate=_rate(cur),
            previous_rate=_rate(prev),
        )
    )
    year = digest.proposals_year
    if year is not None and (year.recorded or cur.proposals.submitted or prev.proposals.submitted):
        lines.append(proposal_figures.render_week(cur.proposals, prev.proposals, year, lang, trend))
    lines.append(
        t("digest.bound", lang, n=cur.newly_bound, trend=trend(cur.newly_bound, prev.newly_bound, lang))
    )
    lines += ["", t("digest.upcoming_header", lang)]
    if not digest.upcoming:
        lines.append(t("digest.none", lang))
    for event in digest.upcoming:
        lines.append(
            t(
                "digest.upcoming",
                lang,
                when=event.starts_at.strftime("%m-%d %H:%M"),
                title=event.title,
                attend=event.attend,
                leave=event.leave,
                none=event.no_answer,
            )
        )
    lines += ["", t("digest.footer", lang)]
    text = "\n".join(lines)
    if len(text) > TEXT_LIMIT:
        cut = t("digest.cut", lang)
        text = text[: TEXT_LIMIT - len(cut) - 1].rsplit("\n", 1)[0] + "\n" + cut
    return text


def label(digest: Digest, lang: str) -> str:
    """The digest's week as people read it."""
    return week_label(digest.week, lang, this_year=digest.zone_now.year)


def title(digest: Digest, lang: str) -> str:
    """The first line; a week still under way says up to when it counts."""
    if digest.so_far:
        moment = digest.zone_now
        until = t("digest.until", lang, m=moment.month, d=moment.day, hm=moment.strftime("%H:%M"))
        return t("digest.title_so_far", lang, week=label(digest, lang), until=until)
    return t("digest.title", lang, week=label(digest, lang))


def caption(digest: Digest, lang: str, what: str, subject: str = "") -> str:
    return t(f"digest.caption_{what}", lang, week=label(digest, lang), subject=subject)
