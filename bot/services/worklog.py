"""The committee's own work log (向区委请示报告, 接待来访调研考察, 出版/编纂, 宣传简讯 被转载):
entries of a kind from the rules file, a day, a count and a note, recorded by the secretariat on the
command line (`lvzhi log add`) or in the chat (/log). The annual report sums them (bot.services.year_review).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.clock import to_db
from bot.core.dates import check_day, parse_activity_date, today_in, year_in_range
from bot.core.refusals import Refusal
from bot.core.review_rules import ReviewRules, find
from models.worklog import WorkLogEntry

MAX_COUNT = 10_000
MAX_NOTE = 500


class LogError(Refusal):
    """Refused input for the work log: `worklog.error.<code>`."""

    prefix = "worklog.error."
    FIELDS = {"bad_date": "date", "future": "date", "bad_count": "count", "too_long": "note"}


@dataclass(frozen=True)
class LogEntryIn:
    kind: str
    on_date: date
    count: int = 1
    note: str = ""
    marked: bool = False


def kind_code(text: str, review: ReviewRules) -> str:
    """A kind by its code or any of its names (请示报告, briefing …)."""
    code = find(review.log_kinds, text)
    if code is None:
        raise LogError("unknown_kind", name=text[:40], known="、".join(k.zh for k in review.log_kinds.values()))
    return code


def parse_log_day(text: str, *, now: datetime, zone: tzinfo) -> date:
    """The day it happened, as typed (2026-03-02, 昨天, 3月2日), not in the future."""
    today = today_in(now, zone)
    answer = parse_activity_date(text, today=today)
    if answer.day is None or not year_in_range(answer.day.year):
        raise LogError("bad_date", text=text.strip()[:20])
    if answer.problem is not None:
        raise LogError("future")
    return answer.day


def parse_count(text: str | int) -> int:
    value = str(text).strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise LogError("bad_count", text=value[:20], max=MAX_COUNT)
    return int(value)


def check_note(text: str | None) -> str:
    note = (text or "").strip()
    if len(note) > MAX_NOTE:
        raise LogError("too_long", length=len(note), limit=MAX_NOTE)
    return note


async def add_entry(
    session: AsyncSession,
    entry: LogEntryIn,
    *,
    review: ReviewRules,
    now: datetime,
    zone: tzinfo,
    actor_id: int | None = None,
    entry_key: str | None = None,
) -> WorkLogEntry:
    """One entry. `entry_key` names the chat dialog it was made in: saved again (a confirm
    repeated after a crash, a doubled press), the entry stored the first time is returned."""
    if entry_key is not None:
        earlier = (await session.exec(select(WorkLogEntry).where(WorkLogEntry.entry_key == entry_key))).first()
        if earlier is not None:
            return earlier
    if entry.kind not in review.log_kinds:
        kind_code(entry.kind, review)  # refuses with the known kinds
    if check_day(entry.on_date, today=today_in(now, zone)) is not None:
        raise LogError("future")
    if not year_in_range(entry.on_date.year):
        raise LogError("bad_date", text=entry.on_date.isoformat())
    count = parse_count(entry.count)
    if entry.marked and not review.log_kinds[entry.kind].mark_zh:
        raise LogError("no_mark", kind=review.log_kinds[entry.kind].zh)
    row = WorkLogEntry(kind=entry.kind, on_date=entry.on_date, count=count, note=check_note(entry.note),
                       marked=entry.marked, recorded_by=actor_id, entry_key=entry_key, created_at=to_db(now))  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def entries(session: AsyncSession, *, first_day: date, end_day: date) -> list[WorkLogEntry]:
    """Entries of the days [first_day, end_day), in day order."""
    query = (
        select(WorkLogEntry)
        .where(col(WorkLogEntry.on_date) >= first_day, col(WorkLogEntry.on_date) < end_day)
        .order_by(col(WorkLogEntry.on_date), col(WorkLogEntry.id))
    )
    return list((await session.exec(query)).all())
