"""Duty activities: members report them, the secretariat confirms or returns them, and records
attendance of meetings for many members at once ("whoever organises, records").

Plain async services: they take a session and an explicit `now`, never Telegram objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import ROW_IDS, Buttons, inline_markup
from bot.core.clock import to_db
from bot.core.dates import DateProblem, check_day, format_day, today_in
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import ActivityType, Rules
from bot.services.outbox import notify_member
from models import Member
from models.activity import (
    ABSENT,
    CONFIRMED,
    LEAVE,
    PENDING,
    PRESENT,
    RETURNED,
    WITHDRAWN,
    ActivityPhoto,
    ActivityReport,
    ReportDraft,
)

log = logging.getLogger(__name__)

MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 2000
MAX_PHOTOS = 9
MAX_REASON = 500
ATTENDANCE = (PRESENT, LEAVE, ABSENT)
EDITABLE = (PENDING, RETURNED)
# ✏️ under a pending or returned report (a return notice, /myreports); handlers.report answers it.
EDIT_BUTTON = Buttons("rep")("edit", numbers=ROW_IDS)


class ReportError(Refusal):
    """A report that cannot be stored; `code` names the catalogue reason (report.error_<code>)."""

    prefix = "report.error_"
    FINAL = frozenset({"not_editable", "already_recorded"})
    FIELDS = {
        "unknown_type": "type",
        "date_future": "date",
        "date_before_period": "date",
        "too_short": "description",
        "too_long": "description",
        "too_many_photos": "photos",
    }


@dataclass(frozen=True)
class Evidence:
    """A photo, or an image sent as a document, kept as its Telegram file id."""

    kind: str  # photo / document
    file_id: str
    file_unique_id: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "file_id": self.file_id, "file_unique_id": self.file_unique_id}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Evidence:
        return cls(
            kind=str(raw.get("kind", "photo")),
            file_id=str(raw["file_id"]),
            file_unique_id=str(raw.get("file_unique_id", "")),
        )


def period_start_day(rules: Rules, now: datetime, zone: tzinfo) -> date:
    """First local day of the current assessment period."""
    start, _ = rules.period_bounds(now, zone)
    return start.astimezone(zone).date()


def description_problem(text: str) -> str | None:
    """None when the description can be stored, else "too_short" / "too_long"."""
    length = len(text.strip())
    if length < MIN_DESCRIPTION:
        return "too_short"
    if length > MAX_DESCRIPTION:
        return "too_long"
    return None


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _check(
    rules: Rules,
    type_code: str,
    day: date,
    description: str,
    photos: list[Evidence],
    now: datetime,
    zone: tzinfo,
) -> ActivityType:
    activity = rules.activities.get(type_code)
    if activity is None:
        raise ReportError("unknown_type")
    problem = check_day(day, today=today_in(now, zone), period_start=period_start_day(rules, now, zone))
    if problem is not None:
        raise ReportError(f"date_{problem.value}")
    text_problem = description_problem(description)
    if text_problem is not None:
        raise ReportError(
            text_problem, limit=MAX_DESCRIPTION if text_problem == "too_long" else MIN_DESCRIPTION
        )
    if len(photos) > MAX_PHOTOS:
        raise ReportError("too_many_photos", limit=MAX_PHOTOS)
    return activity


async def _already_recorded(
    session: AsyncSession, member_id: int, type_code: str, day: date, exclude_id: int | None
) -> bool:
    """The secretariat already recorded this member's attendance of this type on this day."""
    query = select(ActivityReport.id).where(
        ActivityReport.member_id == member_id,
        ActivityReport.type_code == type_code,
        ActivityReport.activity_date == day,
        col(ActivityReport.attendance).is_not(None),
        col(ActivityReport.status) != WITHDRAWN,
    )
    if exclude_id is not None:
        query = query.where(ActivityReport.id != exclude_id)
    return (await session.exec(query)).first() is not None


async def _replace_photos(session: AsyncSession, report_id: int, photos: list[Evidence]) -> None:
    await session.exec(delete(ActivityPhoto).where(col(ActivityPhoto.report_id) == report_id))
    session.add_all(
        [
            ActivityPhoto(
                report_id=report_id,
                position=i,
                kind=p.kind,
                file_id=p.file_id,
                file_unique_id=p.file_unique_id,
            )
            for i, p in enumerate(photos)
        ]
    )


async def submit_report(
    session: AsyncSession,
    *,
    member_id: int,
    type_code: str,
    day: date,
    description: str,
    photos: list[Evidence],
    now: datetime,
    rules: Rules,
    zone: tzinfo,
    report_id: int | None = None,
    submit_key: str | None = None,
) -> ActivityReport:
    """Store a member's report: pending, or confirmed at once when its type needs no review.

    With `report_id`, the member's own pending or returned report is corrected and resubmitted.
    `submit_key` names the draft: submitted again (a confirm repeated after a crash, a doubled
    press), the report stored the first time is returned as it is.
    Raises ReportError (nothing stored) when something is wrong.
    """
    if report_id is None and (earlier := await submitted_from(session, member_id, submit_key)) is not None:
        return earlier
    activity = _check(rules, type_code, day, description, photos, now, zone)
    if await _already_recorded(session, member_id, type_code, day, report_id):
        raise ReportError("already_recorded")
    status = PENDING if activity.review else CONFIRMED
    values: dict[str, Any] = {
        "type_code": type_code,
        "activity_date": day,
        "description": description.strip(),
        "status": status,
        "points": activity.points,
        "submitted_at": to_db(now),
        "updated_at": to_db(now),
        "reviewed_at": None if activity.review else to_db(now),
        "reviewed_by": None,
    }
    if report_id is None:
        report = ActivityReport(member_id=member_id, submit_key=submit_key, **values)
        session.add(report)
        await session.flush()
    else:
        # Conditional: a report confirmed or withdrawn meanwhile is not changed.
        result = await session.exec(
            update(ActivityReport)
            .where(*_still_open(report_id, member_id))
            .values(**values)
        )
        if result.rowcount != 1:
            raise ReportError("not_editable")
        stored = await session.get(ActivityReport, report_id, populate_existing=True)
        assert stored is not None
        report = stored
    assert report.id is not None
    await _replace_photos(session, report.id, photos)
    log.info("report %s by member %s stored as %s", report.id, member_id, status)
    return report


async def submitted_from(session: AsyncSession, member_id: int, submit_key: str | None) -> ActivityReport | None:
    """The member's report submitted from the draft `submit_key`, if any."""
    if not submit_key:
        return None
    query = select(ActivityReport).where(
        ActivityReport.member_id == member_id, ActivityReport.submit_key == submit_key
    )
    return (await session.exec(query)).first()


def _still_open(report_id: int, member_id: int) -> tuple:
    """The member's own report, still pending or returned, not an attendance record: only such a
    report may change (a conditional UPDATE, so a report confirmed meanwhile stays as it is)."""
    return (
        col(ActivityReport.id) == report_id,
        col(ActivityReport.member_id) == member_id,
        col(ActivityReport.status).in_(EDITABLE),
        col(ActivityReport.attendance).is_(None),
    )


async def withdraw_report(session: AsyncSession, *, report_id: int, member_id: int, now: datetime) -> bool:
    """The member takes back their own pending or returned report. False if it was not theirs or not open."""
    result = await session.exec(
        update(ActivityReport)
        .where(*_still_open(report_id, member_id))
        .values(status=WITHDRAWN, updated_at=to_db(now))
    )
    return result.rowcount == 1


async def own_report(session: AsyncSession, report_id: int, member_id: int) -> ActivityReport | None:
    report = await session.get(ActivityReport, report_id)
    return report if report is not None and report.member_id == member_id else None


async def photos_of(session: AsyncSession, report_id: int) -> list[Evidence]:
    query = (
        select(ActivityPhoto)
        .where(ActivityPhoto.report_id == report_id)
        .order_by(col(ActivityPhoto.position))
    )
    return [Evidence(p.kind, p.file_id, p.file_unique_id) for p in (await session.exec(query)).all()]


async def list_reports(
    session: AsyncSession, member_id: int, *, offset: int = 0, limit: int = 5
) -> tuple[list[ActivityReport], int]:
    """A member's reports, newest activity first (withdrawn ones left out), and how many there are."""
    where = (col(ActivityReport.member_id) == member_id, col(ActivityReport.status) != WITHDRAWN)
    total = (await session.exec(select(func.count()).select_from(ActivityReport).where(*where))).one()
    query = (
        select(ActivityReport)
        .where(*where)
        .order_by(col(ActivityReport.activity_date).desc(), col(ActivityReport.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(query)).all()), int(total)


# ---------------------------------------------------------------- review by the secretariat


class Decision(StrEnum):
    DONE = "done"
    ALREADY_HANDLED = "already_handled"
    NOT_FOUND = "not_found"


async def pending_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ActivityReport).where(ActivityReport.status == PENDING)
    return int((await session.exec(query)).one())


async def next_pending(session: AsyncSession, *, skip: list[int] | None = None) -> ActivityReport | None:
    """The oldest pending report not skipped in this review round."""
    query = select(ActivityReport).where(ActivityReport.status == PENDING)
    if skip:
        query = query.where(col(ActivityReport.id).not_in(skip))
    query = query.order_by(col(ActivityReport.submitted_at), col(ActivityReport.id)).limit(1)
    return (await session.exec(query)).first()


async def _decide(session: AsyncSession, report_id: int, values: dict[str, Any]) -> tuple[Decision, Any]:
    # The conditional UPDATE is the first statement of the transaction: of two reviewers pressing
    # at once, exactly one changes the row; the other sees rowcount 0.
    result = await session.exec(
        update(ActivityReport)
        .where(col(ActivityReport.id) == report_id, col(ActivityReport.status) == PENDING)
        .values(**values)
    )
    if result.rowcount == 1:
        report = await session.get(ActivityReport, report_id, populate_existing=True)
        return Decision.DONE, report
    exists = await session.get(ActivityReport, report_id)
    return (Decision.ALREADY_HANDLED if exists is not None else Decision.NOT_FOUND), exists


async def approve_report(
    session: AsyncSession,
    *,
    report_id: int,
    reviewer_id: int,
    now: datetime,
    rules: Rules,
    default_lang: str = "zh",
) -> Decision:
    """Confirm a pending report: its points count from now on; the member is told (outbox)."""
    decision, report = await _decide(
        session,
        report_id,
        {
            "status": CONFIRMED,
            "reviewed_at": to_db(now),
            "reviewed_by": reviewer_id,
            "updated_at": to_db(now),
        },
    )
    if decision is Decision.DONE:
        # Credit the points the rules give now (the rules may have changed since submission).
        activity = rules.activities.get(report.type_code)
        points = activity.points if activity is not None else report.points
        report.points = points
        session.add(report)
        member = await session.get(Member, report.member_id)
        if member is not None:
            lang = member.language or default_lang
            await notify_member(
                session,
                member,
                "review.notice_approved",
                dedupe_key=f"report:{report_id}:approved",
                now=now,
                default_lang=default_lang,
                kind="report",
                type=_label(rules, report.type_code, lang),
                date=format_day(report.activity_date, lang),
                points=_points_text(points),
            )
        log.info("report %s approved by member %s", report_id, reviewer_id)
    return decision


async def return_report(
    session: AsyncSession,
    *,
    report_id: int,
    reviewer_id: int,
    reason: str,
    now: datetime,
    rules: Rules,
    default_lang: str = "zh",
) -> Decision:
    """Send a pending report back with a reason; the member can correct and resubmit it."""
    reason = reason.strip()[:MAX_REASON]
    decision, report = await _decide(
        session,
        report_id,
        {
            "status": RETURNED,
            "return_reason": reason,
            "reviewed_at": to_db(now),
            "reviewed_by": reviewer_id,
            "updated_at": to_db(now),
        },
    )
    if decision is Decision.DONE:
        member = await session.get(Member, report.member_id)
        if member is not None:
            lang = member.language or default_lang
            button = inline_markup([[(t("report.btn_correct", lang), EDIT_BUTTON(report_id))]])
            # A report can be returned again after a resubmission, so the key carries the moment.
            await notify_member(
                session,
                member,
                "review.notice_returned",
                dedupe_key=f"report:{report_id}:returned:{int(now.timestamp())}",
                now=now,
                default_lang=default_lang,
                kind="report",
                reply_markup=button,
                type=_label(rules, report.type_code, lang),
                date=format_day(report.activity_date, lang),
                reason=reason,
            )
        log.info("report %s returned by member %s", report_id, reviewer_id)
    return decision


def _label(rules: Rules, code: str, lang: str) -> str:
    activity = rules.activities.get(code)
    return activity.label(lang) if activity else code


def _points_text(points: float) -> str:
    return f"{points:g}"


# ---------------------------------------------------------------- attendance ("whoever organises, records")


def attendance_points(activity: ActivityType, status: str) -> float:
    if status == PRESENT:
        return activity.points
    if status == LEAVE:
        return activity.leave_points or 0.0
    return activity.absence_points or 0.0


def attendance_key(type_code: str, day: date) -> str:
    """One meeting's records share this key, in chat and on the command line alike."""
    return f"attendance:{type_code}:{day.isoformat()}"


async def record_attendance(
    session: AsyncSession,
    *,
    member_ids: list[int],
    type_code: str,
    day: date,
    status: str,
    now: datetime,
    rules: Rules,
    source_key: str,
    recorded_by: int | None = None,
    title: str | None = None,
    note: str | None = None,
) -> int:
    """Confirmed records of `status` for many members; idempotent per (source_key, member).
    `note` is added to the record's description (e.g. that the attendance was self-declared).

    A member who already reported the same type on the same day themselves has that report taken
    over (confirmed, with the attendance) instead of getting a second one. Returns rows created
    or taken over.
    """
    if status not in ATTENDANCE:
        raise ValueError(f"unknown attendance status {status!r}")
    activity = rules.activities.get(type_code)
    if activity is None:
        raise ReportError("unknown_type")
    points = attendance_points(activity, status)
    wanted = sorted(set(member_ids))
    if not wanted:
        return 0
    already = set(
        (
            await session.exec(
                select(ActivityReport.member_id).where(
                    ActivityReport.source_key == source_key, col(ActivityReport.member_id).in_(wanted)
                )
            )
        ).all()
    )
    todo = [m for m in wanted if m not in already]
    taken_over = 0
    own = (
        (
            await session.exec(
                select(ActivityReport).where(
                    col(ActivityReport.member_id).in_(todo),
                    ActivityReport.type_code == type_code,
                    ActivityReport.activity_date == day,
                    col(ActivityReport.source_key).is_(None),
                    col(ActivityReport.attendance).is_(None),
                    col(ActivityReport.status).in_([PENDING, CONFIRMED, RETURNED]),
                )
            )
        ).all()
        if todo
        else []
    )
    for report in own:
        if report.member_id not in todo:
            continue
        result = await session.exec(
            update(ActivityReport)
            .where(
                col(ActivityReport.id) == report.id,
                col(ActivityReport.source_key).is_(None),
            )
            .values(
                source_key=source_key,
                attendance=status,
                status=CONFIRMED,
                points=points,
                reviewed_at=to_db(now),
                reviewed_by=recorded_by,
                recorded_by=recorded_by,
                updated_at=to_db(now),
            )
        )
        if result.rowcount == 1:
            taken_over += 1
            todo.remove(report.member_id)
    created = 0
    insert = _insert(session)
    stamp = to_db(now)
    for start in range(0, len(todo), 200):
        rows = [
            {
                "member_id": m,
                "type_code": type_code,
                "activity_date": day,
                "title": title,
                "description": " ".join(part for part in (title, note) if part),
                "status": CONFIRMED,
                "points": points,
                "attendance": status,
                "source_key": source_key,
                "recorded_by": recorded_by,
                "submitted_at": stamp,
                "reviewed_at": stamp,
                "reviewed_by": recorded_by,
                "created_at": stamp,
                "updated_at": stamp,
            }
            for m in todo[start : start + 200]
        ]
        stmt = (
            insert(ActivityReport)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["member_id", "source_key"])
            .returning(ActivityReport.id)
        )
        created += len((await session.exec(stmt)).all())
    log.info(
        "attendance %s recorded: %s %s for %d member(s)", source_key, type_code, status, created + taken_over
    )
    return created + taken_over


@dataclass(frozen=True)
class NameMatch:
    found: dict[str, int]  # name as written -> member id
    unknown: list[str]
    ambiguous: list[str]


def split_names(text: str) -> list[str]:
    """Names separated by new lines, spaces or Chinese/English commas, semicolons, 、."""
    import re

    return [n for n in (part.strip() for part in re.split(r"[\s,，、;；]+", text or "")) if n]


async def match_names(session: AsyncSession, names: list[str]) -> NameMatch:
    """Serving 委员 by name (or `name/sector` when two share a name); staff are not found."""
    members = (await session.exec(select(Member).where(Member.is_active_member))).all()
    by_name: dict[str, list[Member]] = {}
    for m in members:
        by_name.setdefault(m.name, []).append(m)
    found: dict[str, int] = {}
    unknown: list[str] = []
    ambiguous: list[str] = []
    for written in names:
        name, _, sector = written.partition("/")
        matches = [m for m in by_name.get(name.strip(), []) if not sector or m.sector == sector.strip()]
        if not matches:
            unknown.append(written)
        elif len(matches) > 1:
            ambiguous.append(written)
        else:
            assert matches[0].id is not None
            found[written] = matches[0].id
    return NameMatch(found, unknown, ambiguous)


async def active_member_ids(session: AsyncSession) -> list[int]:
    query = select(Member.id).where(Member.is_active_member).order_by(col(Member.id))
    return [i for i in (await session.exec(query)).all() if i is not None]


@dataclass(frozen=True)
class AttendancePlan:
    present: list[int]
    leave: list[int]
    absent: list[int]

    @property
    def total(self) -> int:
        return len(self.present) + len(self.leave) + len(self.absent)


def plan_attendance(
    present: list[int] | None, leave: list[int], absent: list[int], everyone: list[int]
) -> AttendancePlan:
    """`present=None` means everyone not on leave or absent. A member listed twice is an error."""
    clash = (set(leave) & set(absent)) | (set(present or []) & (set(leave) | set(absent)))
    if clash:
        raise ReportError("listed_twice", count=len(clash))
    excused = set(leave) | set(absent)
    chosen = [m for m in everyone if m not in excused] if present is None else sorted(set(present))
    return AttendancePlan(present=chosen, leave=sorted(set(leave)), absent=sorted(set(absent)))


async def record_plan(
    session: AsyncSession,
    plan: AttendancePlan,
    *,
    type_code: str,
    day: date,
    now: datetime,
    rules: Rules,
    recorded_by: int | None = None,
    title: str | None = None,
) -> dict[str, int]:
    """Record a whole meeting; returns rows created per attendance status."""
    key = attendance_key(type_code, day)
    out = {}
    for status, ids in ((PRESENT, plan.present), (LEAVE, plan.leave), (ABSENT, plan.absent)):
        out[status] = await record_attendance(
            session,
            member_ids=ids,
            type_code=type_code,
            day=day,
            status=status,
            now=now,
            rules=rules,
            source_key=key,
            recorded_by=recorded_by,
            title=title,
        )
    return out


# ---------------------------------------------------------------- drafts


async def save_draft(session: AsyncSession, member_id: int, data: dict[str, Any], now: datetime) -> bool:
    """Keep what the member entered (a dialog that timed out); one draft per member. A draft that
    was submitted already (a crash came before its dialog's end was saved) is not kept: False."""
    if await submitted_from(session, member_id, data.get("key")) is not None:
        return False
    insert = _insert(session)
    stmt = insert(ReportDraft).values(member_id=member_id, data=data, updated_at=to_db(now))
    stmt = stmt.on_conflict_do_update(
        index_elements=["member_id"],
        set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
    )
    await session.exec(stmt)
    return True


async def load_draft(session: AsyncSession, member_id: int) -> dict[str, Any] | None:
    draft = await session.get(ReportDraft, member_id)
    return dict(draft.data) if draft is not None else None


async def discard_draft(session: AsyncSession, member_id: int) -> None:
    await session.exec(delete(ReportDraft).where(col(ReportDraft.member_id) == member_id))


__all__ = [
    "ATTENDANCE",
    "MAX_DESCRIPTION",
    "MAX_PHOTOS",
    "MIN_DESCRIPTION",
    "AttendancePlan",
    "DateProblem",
    "Decision",
    "Evidence",
    "NameMatch",
    "ReportError",
    "active_member_ids",
    "approve_report",
    "attendance_key",
    "attendance_points",
    "description_problem",
    "discard_draft",
    "list_reports",
    "load_draft",
    "match_names",
    "next_pending",
    "own_report",
    "pending_count",
    "period_start_day",
    "photos_of",
    "plan_attendance",
    "record_attendance",
    "record_plan",
    "return_report",
    "save_draft",
    "split_names",
    "submit_report",
    "submitted_from",
    "withdraw_report",
]
