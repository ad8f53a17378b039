"""The year in review: the figures a committee's annual work report quotes (学习、协商、调研视察、
民主监督、进基层服务, 社情民意 collected / reported upward per level / transferred / with
instructions, members' reports by committee), as Chinese (or English) text and as JSON.

Every figure is a SQL aggregate over the calendar year in the committee's zone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo

from sqlalchemy import case, distinct, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.i18n import t
from bot.core.rules import INFO_LEVELS, Rules
from bot.services.figures import (
    AR,
    ART,
    MB,
    MBT,
    Period,
    event_attendance_by_kind,
    member_points_query,
    of_members,
    run,
    took_part,
)
from bot.services.info import level_label
from models.activity import CONFIRMED
from models.member import Member

# The headings of an annual work report and the activity types each gathers.
GROUPS: dict[str, tuple[str, ...]] = {
    "study": ("study", "reading"),
    "consultation": ("consultation",),
    "research": ("research", "inspection"),
    "supervision": ("supervision",),
    "service": ("service",),
}


@dataclass
class GroupFigures:
    events: int = 0  # events held (organised through the bot)
    event_attendances: int = 0  # members present at them
    participations: int = 0  # confirmed reports and records: member-times
    members: int = 0  # distinct members who took part


@dataclass
class CommitteeFigures:
    members: int = 0  # active members of the committee
    reporting: int = 0  # of them, with at least one confirmed report
    reports: int = 0  # confirmed reports


@dataclass
class AnnualFigures:
    year: int
    members: int = 0
    bound: int = 0
    groups: dict[str, GroupFigures] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    events_held: int = 0
    event_invitations: int = 0
    event_attendances: int = 0
    event_attendances_self: int = 0  # of those: self-declared, not verified with the venue's code
    info_collected: int = 0
    info_accepted: int = 0
    info_reported: dict[str, int] = field(default_factory=dict)
    info_transferred: int = 0
    info_instructions: int = 0
    info_feedback: int = 0
    by_committee: dict[str, CommitteeFigures] = field(default_factory=dict)
    passed: int = 0
    excellent: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


async def annual_figures(
    session: AsyncSession, year: int, *, rules: Rules, zone: tzinfo, now: datetime | None = None
) -> AnnualFigures:
    """The year's figures; events count once held (closed out, or started by `now`)."""
    from bot.services.info import info_statistics

    period = Period.of_year(year, zone)
    out = AnnualFigures(year=year)
    out.members, out.bound = (
        int(v or 0)
        for v in (
            await run(session,
                select(func.count(), func.sum(case((MB.telegram_user_id.is_not(None), 1), else_=0))).where(
                    Member.is_active_member
                )
            )
        ).one()
    )

    in_year = (
        of_members(AR.member_id),
        AR.status == CONFIRMED,
        AR.activity_date >= period.first_day,
        AR.activity_date < period.end_day,
        took_part(),
    )
    for code, n in (
        await run(session, select(AR.type_code, func.count()).where(*in_year).group_by(AR.type_code))
    ).all():
        out.by_type[code] = int(n)

    events_by_kind: dict[str, tuple[int, int, int]] = {}
    query = event_attendance_by_kind(period, now or datetime.now(UTC))
    for kind, n, invited, attended, self_declared in (await run(session, query)).all():
        events_by_kind[kind] = (int(n), int(invited or 0), int(attended or 0))
        out.events_held += int(n)
        out.event_invitations += int(invited or 0)
        out.event_attendances += int(attended or 0)
        out.event_attendances_self += int(self_declared or 0)

    # Distinct members per heading, all in one pass over the year's reports.
    distinct_members = [
        func.count(distinct(case((AR.type_code.in_(codes), AR.member_id), else_=None)))
        for codes in GROUPS.values()
    ]
    counts = (await run(session, select(*distinct_members).where(*in_year))).one()
    for (name, codes), members in zip(GROUPS.items(), counts, strict=True):
        figures = GroupFigures(members=int(members or 0))
        for code in codes:
            n, _invited, attended = events_by_kind.get(code, (0, 0, 0))
            figures.events += n
            figures.event_attendances += attended
            figures.participations += out.by_type.get(code, 0)
        out.groups[name] = figures

    stats = await info_statistics(session, period.start, period.end)
    out.info_collected, out.info_accepted = stats.submitted, stats.accepted
    out.info_reported = {level: int(stats.reported.get(level, 0)) for level in INFO_LEVELS}
    out.info_transferred, out.info_instructions, out.info_feedback = (
        stats.transferred,
        stats.instructions,
        stats.feedback,
    )

    committees = select(MB.committee, func.count()).where(Member.is_active_member).group_by(MB.committee)
    for committee, n in (await run(session, committees)).all():
        out.by_committee.setdefault(committee or "", CommitteeFigures()).members += int(n)
    reports = (
        select(MB.committee, func.count(), func.count(distinct(AR.member_id)))
        .select_from(ART)
        .join(MBT, MB.id == AR.member_id)
        .where(*in_year)  # the same took-part rule as the figures by type: the totals agree
        .group_by(MB.committee)
    )
    for committee, n, reporting in (await run(session, reports)).all():
        entry = out.by_committee.setdefault(committee or "", CommitteeFigures())
        entry.reports, entry.reporting = int(n), int(reporting)

    points = member_points_query(period, rules).where(MB.active.is_(True)).subquery("points")
    passed, excellent = (
        await run(session,
            select(
                func.sum(case((points.c.total >= rules.assessment.pass_mark, 1), else_=0)),
                func.sum(case((points.c.total >= rules.assessment.excellent_mark, 1), else_=0)),
            )
        )
    ).one()
    out.passed, out.excellent = int(passed or 0), int(excellent or 0)
    return out


def render_text(figures: AnnualFigures, lang: str, rules: Rules) -> str:
    sep = "，" if lang == "zh" else ", "
    lines = [
        t("digest.annual.title", lang, year=figures.year),
        t("digest.annual.members", lang, members=figures.members, bound=figures.bound),
        "",
    ]
    for name, group in figures.groups.items():
        lines.append(
            t(
                f"digest.annual.group_{name}",
                lang,
                events=group.events,
                attendances=group.event_attendances,
                participations=group.participations,
                members=group.members,
            )
        )
    lines.append(
        t(
            "digest.annual.events",
            lang,
            events=figures.events_held,
            invited=figures.event_invitations,
            attended=figures.event_attendances,
            by_code=figures.event_attendances - figures.event_attendances_self,
            self_declared=figures.event_attendances_self,
        )
    )
    reported = sep.join(
        t(
            "digest.annual.level",
            lang,
            level=level_label(lv, lang),
            n=figures.info_reported.get(lv, 0),
        )
        for lv in INFO_LEVELS
    )
    lines += [
        "",
        t(
            "digest.annual.info",
            lang,
            collected=figures.info_collected,
            accepted=figures.info_accepted,
            reported=reported,
            transferred=figures.info_transferred,
            instructions=figures.info_instructions,
            feedback=figures.info_feedback,
        ),
        "",
    ]
    lines.append(t("digest.annual.by_type", lang))
    for code, activity in rules.activities.items():
        lines.append(
            t("digest.annual.type_row", lang, label=activity.label(lang), n=figures.by_type.get(code, 0))
        )
    for code in sorted(set(figures.by_type) - set(rules.activities)):
        lines.append(t("digest.annual.type_row", lang, label=code, n=figures.by_type[code]))
    lines += ["", t("digest.annual.by_committee", lang)]
    for committee, entry in sorted(figures.by_committee.items(), key=lambda kv: (-kv[1].reports, kv[0])):
        lines.append(
            t(
                "digest.annual.committee_row",
                lang,
                committee=committee or t("digest.unassigned", lang),
                reports=entry.reports,
                reporting=entry.reporting,
                members=entry.members,
            )
        )
    lines += [
        "",
        t(
            "digest.annual.assessment",
            lang,
            passed=figures.passed,
            excellent=figures.excellent,
            members=figures.members,
            pass_mark=_num(rules.assessment.pass_mark),
            excellent_mark=_num(rules.assessment.excellent_mark),
        ),
    ]
    return "\n".join(lines)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
