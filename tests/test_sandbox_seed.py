"""The sandbox's demo data agrees with itself: a committee's event invites that committee only,
attendance (and absence) is recorded only for those invited, staff are never invited, and the
digest counts the roster's 250 委员, not its 5 staff."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.core.config import load_settings
from bot.core.rules import load_rules
from bot.devtools.sandbox.seed import seed_demo
from bot.services.digest import build_digest, digest_week_for
from models import ActivityReport, Event, Invitation, Member


async def test_demo_events_invite_their_audience_and_record_only_the_invited(db, db_url) -> None:
    settings = load_settings(_env_file=None, database_url=db_url)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a Tuesday
    result = await seed_demo(db, settings, now)
    assert "held:1" in result.history
    async with db.session() as session:
        members = {m.id: m for m in (await session.exec(select(Member))).all()}
        events = (await session.exec(select(Event))).all()
        invitations = (await session.exec(select(Invitation))).all()
        records = (await session.exec(select(ActivityReport).where(ActivityReport.source_key.like("event:%")))).all()
        digest = await build_digest(session, digest_week_for(now, settings.tz), now=now,
                                    rules=load_rules(settings.rules_path), zone=settings.tz)  # fmt: skip
    invited = {(i.event_id, i.member_id) for i in invitations}
    for event in events:
        guests = [members[m] for e, m in invited if e == event.id]
        assert guests and not any(g.is_staff for g in guests), event.title
        if event.audience_kind == "committee":
            assert {g.committee for g in guests} == {event.audience_value}, event.title
    held = next(e for e in events if e.status == "closed")
    assert held.audience_kind == "committee"
    assert records and all((int(r.source_key.split(":")[1]), r.member_id) in invited for r in records)
    # Hand count of the held session: the committee's bound demo members; one asked for leave.
    committee = [m for m in members.values() if m.committee == held.audience_value and m.is_member]
    bound = [m for m in committee if m.telegram_user_id is not None]
    by_status = {s: sum(r.attendance == s for r in records) for s in ("present", "leave", "absent")}
    assert by_status == {"present": len(bound) - 1, "leave": 1, "absent": len(committee) - len(bound)}
    # The digest counts 委员 only: 250 owe the year's minimums, 245 have not bound (5 demo members have).
    assert digest.action.minimums is not None and digest.action.minimums.count == 250
    assert digest.action.unbound.count == 245
    assert (digest.current.invited, digest.current.attended) == (len(committee), len(bound) - 1)
