"""One clock for the whole bot: UTC inside, the committee's zone at the edges.

Tests and the sandbox move time by shifting the clock instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


class Clock:
    """Wall-clock time in UTC, optionally shifted (sandbox) or frozen (tests)."""

    def __init__(self, frozen: datetime | None = None) -> None:
        self.offset = timedelta(0)
        self.frozen = frozen

    def now(self) -> datetime:
        """Aware UTC now."""
        base = self.frozen if self.frozen is not None else datetime.now(UTC)
        return base.astimezone(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def to_db(moment: datetime) -> datetime:
    """Naive UTC for storage: SQLite keeps no zone, so the database holds naive UTC everywhere."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_db(moment: datetime | None) -> datetime | None:
    """Aware UTC from a stored naive UTC value."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local(moment: datetime, zone: tzinfo) -> datetime:
    """A stored or aware moment shown in the committee's zone."""
    aware = from_db(moment)
    assert aware is not None
    return aware.astimezone(zone)


def utcnow() -> datetime:
    """Naive UTC now, for column defaults."""
    return datetime.now(UTC).replace(tzinfo=None)
