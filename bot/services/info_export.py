"""`lvzhi info export`: every item of a year with all its fields, and its full history, as xlsx."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from openpyxl import Workbook
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.i18n import t
from bot.services import info
from bot.services.sheets import Column, Sheet, When, without_empty
from models import InfoItem, Member

# (column, width); `body`, `feedback` and the original text wrap.
ITEM_COLUMNS = (
    ("number", 14), ("title", 30), ("category", 10), ("state", 9), ("author", 10), ("coauthors", 16),
    ("submitted_at", 17), ("accepted_at", 17), ("highest", 10), ("reported", 22), ("transferred", 22),
    ("instructions", 24), ("feedback", 30), ("duplicate", 14), ("attachments", 20), ("body", 60),
    ("original_title", 24), ("original_body", 40),
)  # fmt: skip
HISTORY_COLUMNS = (
    ("number", 14), ("time", 17), ("step", 10), ("level", 8), ("target", 20), ("date", 12), ("text", 40),
    ("actor", 10),
)  # fmt: skip
WRAPPED = ("body", "feedback", "original_body", "text")
# Left out of a workbook in which no item (or step) has them: no always-empty columns.
OPTIONAL = (
    "coauthors", "accepted_at", "highest", "reported", "transferred", "instructions", "feedback", "duplicate",
    "attachments", "original_title", "original_body", "level", "target", "date", "text", "actor",
)  # fmt: skip


def item_header(column: str, lang: str) -> str:
    # The highest level is the same figure as `lvzhi export info`'s: one header for both.
    return t("digest.xlsx.highest_level", lang) if column == "highest" else t(f"info.export.{column}", lang)


def _columns(spec: tuple[tuple[str, float], ...], lang: str, rows: list[dict]) -> list[Column]:
    columns = [
        Column(key, item_header(key, lang), width, wrap=key in WRAPPED, optional=key in OPTIONAL)
        for key, width in spec
    ]
    return without_empty(columns, rows)


async def build_workbook(
    session: AsyncSession, year: int, tz: tzinfo, lang: str = "zh"
) -> tuple[Workbook, int]:
    """The workbook for `year` (the year in the tracking number) and how many items it holds."""
    items = list(
        (await session.exec(select(InfoItem).where(InfoItem.year == year).order_by(col(InfoItem.seq)))).all()
    )
    views = await info.item_views(session, items)
    actor_ids = {e.actor_id for v in views for e in v.events if e.actor_id}
    names = {
        m.id: m.name
        for m in (await session.exec(select(Member).where(col(Member.id).in_(actor_ids or [0])))).all()
    }
    sep = "、" if lang == "zh" else ", "

    def level(code: str | None) -> str:
        return info.level_label(code, lang) if code else ""

    item_rows: list[dict] = []
    history_rows: list[dict] = []
    for view in views:
        item, events = view.item, view.events
        accepted = next((e.at for e in events if e.kind == "accepted"), None)
        reported = [e for e in events if e.kind == "reported"]
        top = info.highest_level(item.state == "accepted", {e.level for e in reported if e.level})
        row = {
            "number": item.number,
            "title": item.title,
            "category": item.category,
            "state": info.state_label(item.state, lang),
            "author": view.authors[0].name if view.authors else "",
            "coauthors": sep.join(m.name for m in view.authors[1:]),
            "submitted_at": When(item.submitted_at, tz),
            "accepted_at": When(accepted, tz),
            "highest": level(top),
            "reported": sep.join(f"{level(e.level)} {e.on_date or ''}".strip() for e in reported),
            "transferred": sep.join(
                f"{e.target} {e.on_date or ''}".strip() for e in events if e.kind == "transferred"
            ),
            "instructions": sep.join(
                f"{level(e.level)} {e.text or ''}".strip() for e in events if e.kind == "instruction"
            ),
            "feedback": "\n".join(e.text or "" for e in events if e.kind == "feedback"),
            "duplicate": item.duplicate_of or "",
            "attachments": "\n".join(a.file_name or f"{a.kind} {a.file_unique_id}" for a in view.attachments),
            "body": item.body,
            "original_title": item.original_title or "",
            "original_body": item.original_body or "",
        }
        item_rows.append(row)
        for event in events:
            history_rows.append(
                {
                    "number": item.number,
                    "time": When(event.at, tz),
                    "step": t(f"info.step.{event.kind}", lang),
                    "level": level(event.level),
                    "target": event.target or "",
                    "date": event.on_date,
                    "text": event.text or "",
                    "actor": names.get(event.actor_id or 0, ""),
                }
            )
    book = Workbook(write_only=True)
    for title, spec, rows in (
        ("info.export.sheet_items", ITEM_COLUMNS, item_rows),
        ("info.export.sheet_history", HISTORY_COLUMNS, history_rows),
    ):
        sheet = Sheet(book, t(title, lang), _columns(spec, lang, rows))
        for row in rows:
            sheet.append(row)
    return book, len(items)


async def export_year(session: AsyncSession, year: int, out: Path, tz: tzinfo, lang: str = "zh") -> int:
    from bot.services.exports import save

    book, count = await build_workbook(session, year, tz, lang)
    save(book, out)
    return count
