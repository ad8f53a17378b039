"""Excel workbooks for the secretariat (openpyxl, write-only mode so a province's rows stream to
disk instead of piling up in memory): the digest's attachment (the week's rows and per-member
totals for the period) and `lvzhi export members|activities|info` (one sheet per subject,
headers in Chinese by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import and_, case, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.i18n import t
from bot.core.rules import INFO_LEVELS, Rules
from bot.services.figures import AR, ART, IA, IAT, IE, II, IIT, MB, MBT, Period, _level_rank, member_records
from bot.services.info import level_label
from bot.services.sheets import Column, Sheet, When
from models.activity import RETURNED
from models.member import Member

SUBJECTS = ("members", "activities", "info")
STREAM_BATCH = 2000


def new_book() -> Workbook:
    return Workbook(write_only=True)


@contextmanager
def building(book: Workbook) -> Iterator[Workbook]:
    """Abandon a write-only workbook cleanly when building it fails or is cancelled (e.g. Ctrl-C
    while the digest is written): otherwise its row writers are closed later by the garbage
    collector, after their temp files, and print a traceback. openpyxl has no public call for it."""
    try:
        yield book
    except BaseException:
        for sheet in book.worksheets:
            with suppress(Exception):
                rows = getattr(sheet, "_rows", None)
                if rows is not None:
                    rows.close()
            with suppress(Exception):
                writer = getattr(sheet, "_writer", None)
                if writer is not None:
                    writer.close()
                    writer.cleanup()
        raise


def _yes(value: bool, lang: str) -> str:
    return t("digest.xlsx.yes" if value else "digest.xlsx.no", lang)


def _type(rules: Rules, code: str, lang: str) -> str:
    activity = rules.activities.get(code)
    return activity.label(lang) if activity else code


def _status(status: str | None, lang: str) -> str:
    return t(f"digest.status.{status}", lang) if status else ""


# --------------------------------------------------------------------------- members


def _columns(
    lang: str, spec: Iterable[tuple[str, float]], *, wrap: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> list[Column]:
    """Columns from (key, width) pairs; the header is the catalogue's digest.xlsx.<key>."""
    return [
        Column(key, t(f"digest.xlsx.{key}", lang), width, wrap=key in wrap, optional=key in optional)
        for key, width in spec
    ]


MEMBER_TOTALS = (
    ("activity_points", 10), ("info_submitted", 10), ("info_points", 10), ("total", 8),
    ("reports_confirmed", 10), ("reports_pending", 10), ("reports_returned", 9),
    ("att_present", 9), ("att_leave", 9), ("att_absent", 9), ("events_invited", 9), ("events_attended", 9),
    ("passed", 6), ("excellent", 6), ("owed", 22), ("bound", 7),
)  # fmt: skip


def member_columns(rules: Rules, lang: str) -> list[Column]:
    return (
        _columns(lang, (("name", 10), ("sector", 12), ("committee", 16)))
        + [
            Column(f"p_{code}", t("digest.xlsx.points_of", lang, type=a.label(lang)), 10)
            for code, a in rules.activities.items()
        ]
        + _columns(lang, MEMBER_TOTALS)
    )


def member_row(record: dict, rules: Rules, lang: str) -> dict[str, Any]:
    sep = "、" if lang == "zh" else ", "
    return {
        **record,
        "passed": _yes(record["passed"], lang),
        "excellent": _yes(record["excellent"], lang),
        "owed": sep.join(_owed_label(rules, key, lang) for key in record["owed"]),
        "bound": _yes(record["bound"], lang),
    }


def _owed_label(rules: Rules, key: str, lang: str) -> str:
    if key in ("activity", "info"):
        return t(f"digest.xlsx.owed_{key}", lang)
    return _type(rules, key, lang)


async def write_members(
    book: Workbook,
    session: AsyncSession,
    period: Period,
    rules: Rules,
    lang: str,
    title_key: str = "digest.xlsx.sheet_members",
    now: datetime | None = None,
    records: list[dict] | None = None,
) -> int:
    sheet = Sheet(book, t(title_key, lang), member_columns(rules, lang))
    if records is None:
        records = await member_records(session, period, rules, now=now)
    for record in records:
        sheet.append(member_row(record, rules, lang))
    return sheet.rows


# --------------------------------------------------------------------------- activity reports


ACTIVITY_COLUMNS = (
    ("report_id", 8), ("name", 10), ("sector", 12), ("committee", 16), ("type", 18), ("activity_date", 12),
    ("title", 20), ("status", 8), ("points", 7), ("attendance", 9), ("submitted_at", 17), ("reviewed_at", 17),
    ("return_reason", 24), ("description", 50),
)  # fmt: skip
ACTIVITY_OPTIONAL = ("title", "attendance", "reviewed_at", "return_reason")  # the order of the counts below


async def _stream(session: AsyncSession, query) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    result = await session.stream(query.execution_options(yield_per=STREAM_BATCH))
    async for row in result:
        yield row


async def write_activities(
    book: Workbook,
    session: AsyncSession,
    rules: Rules,
    zone: tzinfo,
    lang: str,
    *,
    submitted: Period | None = None,
    activity_days: Period | None = None,
    title_key: str = "digest.xlsx.sheet_activities",
) -> int:
    """Reports submitted in `submitted` (the digest's week) or done in `activity_days` (a year)."""
    where = [Member.is_member]  # a staff member's own rows are not the committee's
    if submitted is not None:
        where += [AR.submitted_at >= submitted.db_start, AR.submitted_at < submitted.db_end]
    if activity_days is not None:
        where += [AR.activity_date >= activity_days.first_day, AR.activity_date < activity_days.end_day]
    # Which optional columns any row fills (one aggregate, so the rows still stream).
    returned_reason = case((and_(AR.status == RETURNED, AR.return_reason.is_not(None)), 1), else_=None)
    counts = (
        await session.exec(
            select(
                func.count(func.nullif(AR.title, "")),
                func.count(AR.attendance),
                func.count(AR.reviewed_at),
                func.count(returned_reason),
            )
            .select_from(ART)
            .join(MBT, MB.id == AR.member_id)
            .where(*where)
        )
    ).one()
    present = {key for key, n in zip(ACTIVITY_OPTIONAL, counts, strict=True) if n}
    columns = _columns(lang, ACTIVITY_COLUMNS, wrap=("description",), optional=ACTIVITY_OPTIONAL)
    sheet = Sheet(book, t(title_key, lang), [c for c in columns if not c.optional or c.key in present])
    query = (
        select(
            AR.id,
            MB.name,
            MB.sector,
            MB.committee,
            AR.type_code,
            AR.activity_date,
            AR.title,
            AR.status,
            AR.points,
            AR.attendance,
            AR.submitted_at,
            AR.reviewed_at,
            AR.return_reason,
            AR.description,
        )
        .select_from(ART)
        .join(MBT, MB.id == AR.member_id)
        .where(*where)
        .order_by(AR.submitted_at, AR.id)
    )
    async for row in _stream(session, query):
        sheet.append(
            {
                "report_id": row.id,
                "name": row.name,
                "sector": row.sector,
                "committee": row.committee,
                "type": _type(rules, row.type_code, lang),
                "activity_date": row.activity_date,
                "title": row.title or "",
                "status": _status(row.status, lang),
                "points": row.points,
                "attendance": t(f"digest.attendance.{row.attendance}", lang) if row.attendance else "",
                "submitted_at": When(row.submitted_at, zone),
                "reviewed_at": When(row.reviewed_at, zone),
                # a resubmitted report's old reason is history, not its state
                "return_reason": (row.return_reason or "") if row.status == RETURNED else "",
                "description": row.description or "",
            }
        )
    return sheet.rows


# --------------------------------------------------------------------------- 社情民意


INFO_COLUMNS = (
    ("number", 14), ("info_title", 30), ("category", 10), ("info_state", 9), ("author", 10),
    ("coauthors", 9), ("submitted_at", 17), ("highest_level", 10), ("reported_levels", 20),
    ("transferred", 8), ("instruction", 6), ("feedback", 6),
)  # fmt: skip


async def write_info(
    book: Workbook,
    session: AsyncSession,
    period: Period,
    zone: tzinfo,
    lang: str,
    title_key: str = "digest.xlsx.sheet_info",
) -> int:
    """Items first submitted in the period, with how far each went (aggregated per item in SQL)."""
    steps = (
        select(
            IE.item_id,
            func.max(case((IE.kind == "reported", _level_rank(IE.level)), else_=0)).label("rank"),
            func.sum(case((IE.kind == "transferred", 1), else_=0)).label("transferred"),
            func.sum(case((IE.kind == "instruction", 1), else_=0)).label("instructions"),
            func.sum(case((IE.kind == "feedback", 1), else_=0)).label("feedback"),
            *[
                func.sum(case(((IE.kind == "reported") & (IE.level == lv), 1), else_=0)).label(f"r_{lv}")
                for lv in INFO_LEVELS
            ],
        )
        .where(IE.kind.in_(["reported", "transferred", "instruction", "feedback"]))
        .group_by(IE.item_id)
        .subquery("steps")
    )
    first = (
        select(IA.item_id, MB.name)
        .select_from(IAT)
        .join(MBT, MB.id == IA.member_id)
        .where(IA.position == 0)
        .subquery("first_author")
    )
    others = (
        select(IA.item_id, func.count().label("n"))
        .where(IA.position > 0)
        .group_by(IA.item_id)
        .subquery("coauthors")
    )
    query = (
        select(
            II.number,
            II.title,
            II.category,
            II.state,
            first.c.name,
            others.c.n,
            II.submitted_at,
            steps.c.rank,
            steps.c.transferred,
            steps.c.instructions,
            steps.c.feedback,
            *[steps.c[f"r_{lv}"] for lv in INFO_LEVELS],
        )
        .select_from(IIT)
        .outerjoin(steps, steps.c.item_id == II.id)
        .outerjoin(first, first.c.item_id == II.id)
        .outerjoin(others, others.c.item_id == II.id)
        .where(II.submitted_at >= period.db_start, II.submitted_at < period.db_end)
        .order_by(II.submitted_at, II.id)
    )
    listed = query.subquery("listed")
    reached_any, reported_any = (
        await session.exec(
            select(
                func.count(case((or_(listed.c.rank > 0, listed.c.state == "accepted"), 1), else_=None)),
                func.count(case((listed.c.rank > 0, 1), else_=None)),
            )
        )
    ).one()
    present = {key for key, n in (("highest_level", reached_any), ("reported_levels", reported_any)) if n}
    columns = _columns(lang, INFO_COLUMNS, optional=("highest_level", "reported_levels"))
    sheet = Sheet(book, t(title_key, lang), [c for c in columns if not c.optional or c.key in present])
    sep = "、" if lang == "zh" else ", "
    async for row in _stream(session, query):
        per_level = row[11:]
        reached = row.rank or (1 if row.state == "accepted" else 0)
        sheet.append(
            {
                "number": row.number,
                "info_title": row.title,
                "category": row.category,
                "info_state": t(f"digest.info_state.{row.state}", lang),
                "author": row.name or "",
                "coauthors": int(row.n or 0),
                "submitted_at": When(row.submitted_at, zone),
                "highest_level": level_label(INFO_LEVELS[reached - 1], lang) if reached else "",
                "reported_levels": sep.join(
                    level_label(lv, lang) for lv, n in zip(INFO_LEVELS, per_level, strict=True) if n
                ),
                "transferred": int(row.transferred or 0),
                "instruction": int(row.instructions or 0),
                "feedback": int(row.feedback or 0),
            }
        )
    return sheet.rows


# --------------------------------------------------------------------------- workbooks


def save(book: Workbook, target: Path | IO[bytes]) -> None:
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        book.save(tmp)
        tmp.replace(target)  # a half-written file is never sent or opened
    else:
        book.save(target)


async def digest_workbook(
    session: AsyncSession,
    week,
    target: Path | IO[bytes],
    *,
    rules: Rules,  # type: ignore[no-untyped-def]
    zone: tzinfo,
    lang: str,
) -> None:
    """The digest's attachment: the week's reports and 社情民意, and per-member totals for the
    assessment period (the calendar year) up to the week's end."""
    period = week.period(zone)
    year = Period.of_year(week.sunday.year, zone)
    to_date = Period(
        start=year.start,
        end=min(year.end, period.end),
        first_day=year.first_day,
        end_day=min(year.end_day, period.end_day),
    )
    with building(new_book()) as book:
        await write_activities(
            book, session, rules, zone, lang, submitted=period, title_key="digest.xlsx.sheet_week_reports"
        )
        await write_info(book, session, period, zone, lang, title_key="digest.xlsx.sheet_week_info")
        await write_members(book, session, to_date, rules, lang, title_key="digest.xlsx.sheet_period_totals")
        save(book, target)


async def export(
    session: AsyncSession,
    subjects: Iterable[str],
    year: int,
    target: Path | IO[bytes],
    *,
    rules: Rules,
    zone: tzinfo,
    lang: str = "zh",
) -> dict[str, int]:
    """`lvzhi export`: one sheet per subject for the calendar year; returns rows per subject."""
    period = Period.of_year(year, zone)
    counts: dict[str, int] = {}
    with building(new_book()) as book:
        for subject in subjects:
            if subject == "members":
                counts[subject] = await write_members(book, session, period, rules, lang)
            elif subject == "activities":
                counts[subject] = await write_activities(
                    book, session, rules, zone, lang, activity_days=period
                )
            elif subject == "info":
                counts[subject] = await write_info(book, session, period, zone, lang)
            else:
                raise ValueError(subject)
        save(book, target)
    return counts
