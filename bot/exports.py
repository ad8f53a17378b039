"""Excel workbooks for the secretariat (openpyxl, write-only mode so a province's rows stream to
disk instead of piling up in memory): the digest's attachment (the week's rows and per-member
totals for the period) and `lvzhi export members|activities|info` (one sheet per subject,
headers in Chinese by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy import case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import local
from bot.figures import AR, ART, IA, IAT, IE, II, IIT, MB, MBT, Period, _level_rank, member_records
from bot.i18n import t
from bot.rules import INFO_LEVELS, Rules

SUBJECTS = ("members", "activities", "info")
STREAM_BATCH = 2000
# Excel rejects control characters other than tab and newlines in cell text.
_CONTROL = dict.fromkeys(i for i in range(32) if i not in (9, 10, 13))


def _clean(value: Any) -> Any:
    return value.translate(_CONTROL) if isinstance(value, str) else value


class Sheet:
    """A write-only sheet with a bold header row and frozen panes."""

    def __init__(
        self, book: Workbook, title: str, headers: list[str], widths: list[int] | None = None
    ) -> None:
        self.ws = book.create_sheet(title[:31])
        self.ws.freeze_panes = "A2"
        for index, width in enumerate(widths or [], start=1):
            self.ws.column_dimensions[_column(index)].width = width
        bold = Font(bold=True)
        cells = []
        for header in headers:
            cell = WriteOnlyCell(self.ws, value=header)
            cell.font = bold
            cells.append(cell)
        self.ws.append(cells)
        self.rows = 0

    def append(self, values: Iterable[Any]) -> None:
        self.ws.append([_clean(v) for v in values])
        self.rows += 1


def _column(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


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


def _when(moment: datetime | None, zone: tzinfo) -> str:
    return local(moment, zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _type(rules: Rules, code: str, lang: str) -> str:
    activity = rules.activities.get(code)
    return activity.label(lang) if activity else code


def _status(status: str | None, lang: str) -> str:
    return t(f"digest.status.{status}", lang) if status else ""


# --------------------------------------------------------------------------- members


def member_headers(rules: Rules, lang: str) -> list[str]:
    x = "digest.xlsx."
    return (
        [t(x + "name", lang), t(x + "sector", lang), t(x + "committee", lang)]
        + [t(x + "points_of", lang, type=a.label(lang)) for a in rules.activities.values()]
        + [
            t(x + key, lang)
            for key in (
                "activity_points",
                "info_submitted",
                "info_points",
                "total",
                "reports_confirmed",
                "reports_pending",
                "reports_returned",
                "att_present",
                "att_leave",
                "att_absent",
                "events_invited",
                "events_attended",
                "passed",
                "excellent",
                "owed",
                "bound",
            )
        ]
    )


def member_row(record: dict, rules: Rules, lang: str) -> list[Any]:
    sep = "、" if lang == "zh" else ", "
    owed = sep.join(_owed_label(rules, key, lang) for key in record["owed"])
    return (
        [record["name"], record["sector"], record["committee"]]
        + [record[f"p_{code}"] for code in rules.activities]
        + [
            record["activity_points"],
            record["info_submitted"],
            record["info_points"],
            record["total"],
            record["reports_confirmed"],
            record["reports_pending"],
            record["reports_returned"],
            record["att_present"],
            record["att_leave"],
            record["att_absent"],
            record["events_invited"],
            record["events_attended"],
            _yes(record["passed"], lang),
            _yes(record["excellent"], lang),
            owed,
            _yes(record["bound"], lang),
        ]
    )


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
    sheet = Sheet(book, t(title_key, lang), member_headers(rules, lang), [10, 10, 14])
    if records is None:
        records = await member_records(session, period, rules, now=now)
    for record in records:
        sheet.append(member_row(record, rules, lang))
    return sheet.rows


# --------------------------------------------------------------------------- activity reports


def activity_headers(lang: str) -> list[str]:
    return [
        t(f"digest.xlsx.{key}", lang)
        for key in (
            "report_id",
            "name",
            "sector",
            "committee",
            "type",
            "activity_date",
            "title",
            "status",
            "points",
            "attendance",
            "submitted_at",
            "reviewed_at",
            "return_reason",
            "description",
        )
    ]


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
    sheet = Sheet(
        book, t(title_key, lang), activity_headers(lang), [8, 10, 10, 14, 16, 12, 20, 8, 6, 8, 16, 16]
    )
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
        .order_by(AR.submitted_at, AR.id)
    )
    if submitted is not None:
        query = query.where(AR.submitted_at >= submitted.db_start, AR.submitted_at < submitted.db_end)
    if activity_days is not None:
        query = query.where(
            AR.activity_date >= activity_days.first_day, AR.activity_date < activity_days.end_day
        )
    async for row in _stream(session, query):
        (
            rid,
            name,
            sector,
            committee,
            code,
            day,
            title,
            status,
            points,
            attendance,
            submitted_at,
            reviewed_at,
            reason,
            description,
        ) = row
        sheet.append(
            [
                rid,
                name,
                sector,
                committee,
                _type(rules, code, lang),
                day.isoformat() if isinstance(day, date) else day,
                title or "",
                _status(status, lang),
                points,
                t(f"digest.attendance.{attendance}", lang) if attendance else "",
                _when(submitted_at, zone),
                _when(reviewed_at, zone),
                reason or "",
                description or "",
            ]
        )
    return sheet.rows


# --------------------------------------------------------------------------- 社情民意


def info_headers(lang: str) -> list[str]:
    return [
        t(f"digest.xlsx.{key}", lang)
        for key in (
            "number",
            "info_title",
            "category",
            "info_state",
            "author",
            "coauthors",
            "submitted_at",
            "highest_level",
            "reported_levels",
            "transferred",
            "instruction",
            "feedback",
        )
    ]


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
    sheet = Sheet(book, t(title_key, lang), info_headers(lang), [14, 30, 10, 8, 10, 8, 16, 10, 20, 6, 6, 6])
    sep = "、" if lang == "zh" else ", "
    async for row in _stream(session, query):
        (
            number,
            title,
            category,
            state,
            author,
            coauthors,
            submitted_at,
            rank,
            transferred,
            instructions,
            feedback,
        ) = row[:11]
        per_level = row[11:]
        reached = rank or (1 if state == "accepted" else 0)
        highest = t(f"digest.level_{INFO_LEVELS[reached - 1]}", lang) if reached else ""
        levels = sep.join(
            t(f"digest.level_{lv}", lang) for lv, n in zip(INFO_LEVELS, per_level, strict=True) if n
        )
        sheet.append(
            [
                number,
                title,
                category,
                t(f"digest.info_state.{state}", lang),
                author or "",
                int(coauthors or 0),
                _when(submitted_at, zone),
                highest,
                levels,
                int(transferred or 0),
                int(instructions or 0),
                int(feedback or 0),
            ]
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
