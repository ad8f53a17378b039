"""Assessment points of a member for one period: confirmed and pending, per activity type with
the per-period caps of the rules, 社情民意 points, and the minimum duties still owed.

Points are computed from the stored reports every time (there is no running total to drift).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.rules import Rules
from bot.services.info import member_info_summary
from models.activity import ABSENT, CONFIRMED, LEAVE, PENDING, ActivityReport, took_part

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TypePoints:
    """One activity type in a period."""

    code: str
    confirmed_count: int  # confirmed items the member took part in (not leave or absence records)
    confirmed_raw: float  # sum of the items' points, before the cap
    confirmed: float  # what counts, after the cap
    pending_count: int
    pending: float  # what the pending items would add, within the cap
    cap: float | None
    leave_count: int = 0  # recorded leaves and absences: they count for points, not as participation
    leave_points: float = 0.0
    absent_count: int = 0
    absent_points: float = 0.0

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.confirmed_raw > self.cap


@dataclass(frozen=True)
class Owed:
    """A minimum duty not yet met: `key` is an activity code, "activity" (any) or "info"."""

    key: str
    required: int
    done: int

    @property
    def missing(self) -> int:
        return max(0, self.required - self.done)


@dataclass(frozen=True)
class PointsSummary:
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    by_type: list[TypePoints]
    info_points: float  # 社情民意, capped by its feature
    info_submitted: int
    pass_mark: float
    excellent_mark: float
    owed: list[Owed] = field(default_factory=list)

    @property
    def confirmed(self) -> float:
        return sum(t.confirmed for t in self.by_type) + self.info_points

    @property
    def pending(self) -> float:
        return sum(t.pending for t in self.by_type)

    @property
    def passed(self) -> bool:
        return self.confirmed >= self.pass_mark

    @property
    def excellent(self) -> bool:
        return self.confirmed >= self.excellent_mark


def _capped(total: float, cap: float | None) -> float:
    return total if cap is None else min(total, cap)


async def _info_summary(
    session: AsyncSession, member_id: int, start: datetime, end: datetime, rules: Rules
) -> tuple[int, float]:
    """社情民意 points and submissions: the ONE call site of the info feature (bot/services/info.py)."""
    # ---- 社情民意 call site (bot.services.info.member_info_summary, owned by the info feature) ----
    summary = await member_info_summary(session, member_id, start, end, rules)
    return int(summary.submitted), float(summary.points)


async def member_points(
    session: AsyncSession, member_id: int, *, start: datetime, end: datetime, rules: Rules, zone: Any = None
) -> PointsSummary:
    """Points of one member for the period [start, end) (aware UTC bounds of the period).

    A report counts in the period of its activity day in the committee's zone (`zone`, by default
    the default committee zone, Asia/Shanghai).
    """
    zone = zone or DEFAULT_ZONE
    first_day = start.astimezone(zone).date()
    end_day = end.astimezone(zone).date()  # exclusive
    query = (
        select(
            ActivityReport.type_code,
            ActivityReport.status,
            ActivityReport.attendance,
            func.count(),
            func.sum(ActivityReport.points),
        )
        .where(
            ActivityReport.member_id == member_id,
            col(ActivityReport.status).in_([CONFIRMED, PENDING]),
            col(ActivityReport.activity_date) >= first_day,
            col(ActivityReport.activity_date) < end_day,
        )
        .group_by(ActivityReport.type_code, ActivityReport.status, ActivityReport.attendance)
    )
    rows = (await session.exec(query)).all()  # type: ignore[call-overload]
    confirmed_raw: dict[str, float] = {}
    attended: dict[str, int] = {}  # confirmed items that show the member took part (not leave/absent)
    excused: dict[tuple[str, str], tuple[int, float]] = {}  # (code, leave|absent) -> count, points
    pending_raw: dict[str, float] = {}
    pending_count: dict[str, int] = {}
    for type_code, status, attendance, count, total in rows:
        if status == CONFIRMED:
            confirmed_raw[type_code] = confirmed_raw.get(type_code, 0) + float(total or 0)
            if took_part(attendance):
                attended[type_code] = attended.get(type_code, 0) + int(count)
            else:
                n, points = excused.get((type_code, attendance), (0, 0.0))
                excused[(type_code, attendance)] = (n + int(count), points + float(total or 0))
        else:
            pending_raw[type_code] = pending_raw.get(type_code, 0) + float(total or 0)
            pending_count[type_code] = pending_count.get(type_code, 0) + int(count)

    by_type: list[TypePoints] = []
    known = list(rules.activities) + sorted((set(confirmed_raw) | set(pending_raw)) - set(rules.activities))
    for code in known:
        if code not in confirmed_raw and code not in pending_raw:
            continue
        activity = rules.activities.get(code)
        cap = activity.cap if activity else None
        raw = confirmed_raw.get(code, 0.0)
        counted = _capped(raw, cap)
        with_pending = _capped(raw + pending_raw.get(code, 0.0), cap)
        by_type.append(
            TypePoints(
                code=code,
                confirmed_count=attended.get(code, 0),
                confirmed_raw=raw,
                confirmed=counted,
                pending_count=pending_count.get(code, 0),
                pending=max(0.0, with_pending - counted),
                cap=cap,
                leave_count=excused.get((code, LEAVE), (0, 0.0))[0],
                leave_points=excused.get((code, LEAVE), (0, 0.0))[1],
                absent_count=excused.get((code, ABSENT), (0, 0.0))[0],
                absent_points=excused.get((code, ABSENT), (0, 0.0))[1],
            )
        )

    info_submitted, info_points = await _info_summary(session, member_id, start, end, rules)
    owed = []
    minimums = rules.assessment.minimums
    for key, required in minimums.items():
        if key == "info":
            done = info_submitted
        elif key == "activity":
            # any duty activity the member took part in, apart from types with their own minimum
            done = sum(n for code, n in attended.items() if code not in minimums)
        else:
            done = attended.get(key, 0)
        if done < required:
            owed.append(Owed(key=key, required=required, done=done))
    return PointsSummary(
        start=start,
        end=end,
        by_type=by_type,
        info_points=info_points,
        info_submitted=info_submitted,
        pass_mark=rules.assessment.pass_mark,
        excellent_mark=rules.assessment.excellent_mark,
        owed=owed,
    )


async def points_for_now(
    session: AsyncSession, member_id: int, *, now: datetime, rules: Rules, zone: Any
) -> PointsSummary:
    """The current period's points (what /me shows)."""
    start, end = rules.period_bounds(now, zone)
    return await member_points(session, member_id, start=start, end=end, rules=rules, zone=zone)


__all__ = ["Owed", "PointsSummary", "TypePoints", "member_points", "points_for_now"]
