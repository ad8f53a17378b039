"""`lvzhi info export`: every item of a year with all its fields, and its full history, as xlsx."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import info
from bot.clock import local
from bot.i18n import t
from models import InfoItem, Member

ITEM_COLUMNS = (
    "number",
    "title",
    "category",
    "state",
    "author",
    "coauthors",
    "submitted_at",
    "accepted_at",
    "highest",
    "reported",
    "transferred",
    "instructions",
    "feedback",
    "duplicate",
    "attachments",
    "body",
    "original_title",
    "original_body",
)
HISTORY_COLUMNS = ("number", "time", "step", "level", "target", "date", "text", "actor")
# Excel rejects control characters other than tab and newlines in cell text.
_CONTROL = dict.fromkeys(i for i in range(32) if i not in (9, 10, 13))


def _clean(value: object) -> object:
    return value.translate(_CONTROL) if isinstance(value, str) else value


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

    def when(moment: object) -> str:
        return local(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else ""  # type: ignore[arg-type]

    def level(code: str | None) -> str:
        return t(f"info.level.{code}", lang) if code else ""

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = t("info.export.sheet_items", lang)
    sheet.append([t(f"info.export.{c}", lang) for c in ITEM_COLUMNS])
    history = book.create_sheet(t("info.export.sheet_history", lang))
    history.append([t(f"info.export.{c}", lang) for c in HISTORY_COLUMNS])
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
            "submitted_at": when(item.submitted_at),
            "accepted_at": when(accepted),
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
        sheet.append([_clean(row[c]) for c in ITEM_COLUMNS])
        for event in events:
            history.append(
                [
                    _clean(v)
                    for v in (
                        item.number,
                        when(event.at),
                        t(f"info.step.{event.kind}", lang),
                        level(event.level),
                        event.target or "",
                        event.on_date.isoformat() if event.on_date else "",
                        event.text or "",
                        names.get(event.actor_id or 0, ""),
                    )
                ]
            )
    for ws in (sheet, history):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    for letter, width in (("A", 14), ("B", 36), ("P", 60)):
        sheet.column_dimensions[letter].width = width
    for cell in sheet["P"][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return book, len(items)


async def export_year(session: AsyncSession, year: int, out: Path, tz: tzinfo, lang: str = "zh") -> int:
    book, count = await build_workbook(session, year, tz, lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return count
