"""Excel workbooks for the secretariat (openpyxl, write-only mode so a province's rows stream to
disk instead of piling up in memory): the digest's attachment (the week's rows and per-member
totals for the period), `lvzhi export members|activities|info` (one sheet per subject, headers in
Chinese by default) and `lvzhi info export` (the year's 社情民意 with every field and step).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import defer
from sqlmodel import col
from sqlmodel import select as model_select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.i18n import t
from bot.core.rules import INFO_LEVELS, Rules
from bot.services.figures import AR, ART, MB, MBT, Period, member_records, run
from bot.services.info import ItemView, highest_level, item_views, level_label, state_label
from bot.services.sheets import Column, Sheet, When, without_empty
from models.activity import RETURNED
from models.info import InfoEvent, InfoItem
from models.member import Member

if TYPE_CHECKING:
    from bot.services.digest import IsoWeek

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
        + [
            Column("proposals", t("proposals_figures.xlsx.member_proposals", lang), 10),
            Column("proposal_points", t("proposals_figures.xlsx.member_proposal_points", lang), 10),
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
    if key == "proposal":
        return t("proposals_figures.xlsx.owed_proposal", lang)
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
    where: list[Any] = [Member.is_member]  # a staff member's own rows are not the committee's
    if submitted is not None:
        where += [AR.submitted_at >= submitted.db_start, AR.submitted_at < submitted.db_end]
    if activity_days is not None:
        where += [AR.activity_date >= activity_days.first_day, AR.activity_date < activity_days.end_day]
    # Which optional columns any row fills (one aggregate, so the rows still stream).
    returned_reason = case((and_(AR.status == RETURNED, AR.return_reason.is_not(None)), 1), else_=None)
    counts = (
        await run(session,
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


# One row per item, built from the item, its authors, attachments and history (bot.services.info.item_views),
# for both workbooks: the figures' sheet (`lvzhi export info`, the digest's week: how far each item
# went) and the full record (`lvzhi info export`: every field, and every step on a second sheet).
# Columns: (key in the row, header in the catalogue, width).
INFO_COLUMNS = (
    ("number", "digest.xlsx.number", 14), ("title", "digest.xlsx.info_title", 30),
    ("category", "digest.xlsx.category", 10), ("state", "digest.xlsx.info_state", 9),
    ("author", "digest.xlsx.author", 10), ("coauthor_count", "digest.xlsx.coauthors", 9),
    ("submitted_at", "digest.xlsx.submitted_at", 17), ("highest_level", "digest.xlsx.highest_level", 10),
    ("reported_levels", "digest.xlsx.reported_levels", 20), ("transfer_count", "digest.xlsx.transferred", 8),
    ("instruction_count", "digest.xlsx.instruction", 6), ("feedback_count", "digest.xlsx.feedback", 6),
)  # fmt: skip
INFO_RECORD_COLUMNS = (
    ("number", "info.export.number", 14), ("title", "info.export.title", 30),
    ("category", "info.export.category", 10), ("state", "info.export.state", 9),
    ("author", "info.export.author", 10), ("coauthors", "info.export.coauthors", 16),
    ("submitted_at", "info.export.submitted_at", 17), ("accepted_at", "info.export.accepted_at", 17),
    ("highest_level", "digest.xlsx.highest_level", 10), ("reported", "info.export.reported", 22),
    ("transferred", "info.export.transferred", 22), ("instructions", "info.export.instructions", 24),
    ("feedback", "info.export.feedback", 30), ("duplicate", "info.export.duplicate", 14),
    ("attachments", "info.export.attachments", 20), ("body", "info.export.body", 60),
    ("original_title", "info.export.original_title", 24), ("original_body", "info.export.original_body", 40),
)  # fmt: skip
INFO_HISTORY_COLUMNS = (
    ("number", "info.export.number", 14), ("time", "info.export.time", 17), ("step", "info.export.step", 10),
    ("level", "info.export.level", 8), ("target", "info.export.target", 20), ("date", "info.export.date", 12),
    ("text", "info.export.text", 40), ("actor", "info.export.actor", 10),
)  # fmt: skip
INFO_WRAPPED = ("body", "feedback", "original_body", "text")
# Left out of a workbook in which no item (or step) has them: no always-empty columns.
INFO_OPTIONAL = (
    "coauthors", "accepted_at", "highest_level", "reported_levels", "reported", "transferred", "instructions",
    "feedback", "duplicate", "attachments", "original_title", "original_body", "level", "target", "date", "text",
    "actor",
)  # fmt: skip
INFO_BATCH = 500  # items whose authors, attachments and history are read together


def _info_columns(spec: Iterable[tuple[str, str, float]], lang: str) -> list[Column]:
    return [
        Column(key, t(header, lang), width, wrap=key in INFO_WRAPPED, optional=key in INFO_OPTIONAL)
        for key, header, width in spec
    ]


async def info_views(session: AsyncSession, period: Period) -> list[ItemView]:
    """Items first submitted in the period, in the order of submission (the order of their numbers)."""
    query = (
        model_select(InfoItem)
        .where(col(InfoItem.submitted_at) >= period.db_start, col(InfoItem.submitted_at) < period.db_end)
        .order_by(col(InfoItem.submitted_at), col(InfoItem.id))
        .options(defer(InfoItem.bigrams), defer(InfoItem.signature))  # type: ignore[arg-type]
    )
    items = list((await session.exec(query)).all())
    views: list[ItemView] = []
    for first in range(0, len(items), INFO_BATCH):
        views += await item_views(session, items[first : first + INFO_BATCH])
    return views


def info_row(view: ItemView, zone: tzinfo, lang: str) -> dict[str, Any]:
    """Every figure of one item, by column key (each workbook shows its columns of them)."""
    item, events = view.item, view.events
    sep = "、" if lang == "zh" else ", "

    def level(code: str | None) -> str:
        return level_label(code, lang) if code else ""

    def steps(kind: str) -> list[InfoEvent]:
        return [e for e in events if e.kind == kind]

    reported, transferred = steps("reported"), steps("transferred")
    instructions, feedback = steps("instruction"), steps("feedback")
    return {
        "number": item.number,
        "title": item.title,
        "category": item.category,
        "state": state_label(item.state, lang),  # one name per state in both workbooks: its card's
        "author": view.authors[0].name if view.authors else "",
        "coauthors": sep.join(m.name for m in view.authors[1:]),
        "coauthor_count": len(view.authors[1:]),
        "submitted_at": When(item.submitted_at, zone),
        "accepted_at": When(next((e.at for e in events if e.kind == "accepted"), None), zone),
        "highest_level": level(highest_level(item.state == "accepted", view.reported_levels)),
        "reported_levels": sep.join(level(lv) for lv in INFO_LEVELS if lv in view.reported_levels),
        "reported": sep.join(f"{level(e.level)} {e.on_date or ''}".strip() for e in reported),
        "transferred": sep.join(f"{e.target} {e.on_date or ''}".strip() for e in transferred),
        "transfer_count": len(transferred),
        "instructions": sep.join(f"{level(e.level)} {e.text or ''}".strip() for e in instructions),
        "instruction_count": len(instructions),
        "feedback": "\n".join(e.text or "" for e in feedback),
        "feedback_count": len(feedback),
        "duplicate": item.duplicate_of or "",
        "attachments": "\n".join(a.file_name or f"{a.kind} {a.file_unique_id}" for a in view.attachments),
        "body": item.body,
        "original_title": item.original_title or "",
        "original_body": item.original_body or "",
    }


def info_history_rows(view: ItemView, zone: tzinfo, lang: str) -> list[dict[str, Any]]:
    """Every step of one item's history."""
    return [
        {
            "number": view.item.number,
            "time": When(event.at, zone),
            "step": t(f"info.step.{event.kind}", lang),
            "level": level_label(event.level, lang) if event.level else "",
            "target": event.target or "",
            "date": event.on_date,
            "text": event.text or "",
            "actor": view.actors.get(event.actor_id or 0, ""),
        }
        for event in view.events
    ]


def _write(book: Workbook, title: str, columns: list[Column], rows: list[dict[str, Any]]) -> int:
    sheet = Sheet(book, title, without_empty(columns, rows))
    for row in rows:
        sheet.append(row)
    return sheet.rows


async def write_info(
    book: Workbook,
    session: AsyncSession,
    period: Period,
    zone: tzinfo,
    lang: str,
    title_key: str = "digest.xlsx.sheet_info",
) -> int:
    """Items first submitted in the period, with how far each went."""
    rows = [info_row(view, zone, lang) for view in await info_views(session, period)]
    return _write(book, t(title_key, lang), _info_columns(INFO_COLUMNS, lang), rows)


async def write_info_record(book: Workbook, session: AsyncSession, period: Period, zone: tzinfo, lang: str) -> int:
    """Items first submitted in the period with all their fields, and their history on a second sheet."""
    views = await info_views(session, period)
    rows = [info_row(view, zone, lang) for view in views]
    _write(book, t("info.export.sheet_items", lang), _info_columns(INFO_RECORD_COLUMNS, lang), rows)
    history = [step for view in views for step in info_history_rows(view, zone, lang)]
    _write(book, t("info.export.sheet_history", lang), _info_columns(INFO_HISTORY_COLUMNS, lang), history)
    return len(rows)


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
    week: IsoWeek,
    target: Path | IO[bytes],
    *,
    rules: Rules,
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


async def export_info_year(
    session: AsyncSession, year: int, target: Path | IO[bytes], *, zone: tzinfo, lang: str = "zh"
) -> int:
    """`lvzhi info export`: every item of the year (the year of its number, which is the year of its
    first submission in the committee's zone) with all its fields and its history; returns the items."""
    with building(new_book()) as book:
        count = await write_info_record(book, session, Period.of_year(year, zone), zone, lang)
        save(book, target)
    return count
