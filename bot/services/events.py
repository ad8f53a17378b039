"""Events (学习会, 讲座, 读书活动, meetings, research trips): creating, publishing to an audience,
answers (参加 / 请假), changes and cancellations, check-in and the attendance close-out that
credits points. Invitations, reminders and notices are outbox rows, so a bot started later (or
running while the CLI adds an event) sends them.

Outbox dedupe keys all start with `event:<id>:`; reminders carry the event's version
(`event:<id>:v<version>:…`), bumped when time or place change, so replanned rows are new rows.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.buttons import ROW_IDS, Buttons, inline_markup
from bot.core.clock import from_db, local, to_db
from bot.core.dates import DateProblem, format_moment, parse_moment
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.core.rules import Rules
from bot.services import members as members_service
from bot.services.outbox import Queued, drop_pending, enqueue_many
from bot.services.reminders import (
    DEFAULT_OFFSETS,
    OffsetError,
    ReminderPolicy,
    parse_offsets,
    plan_event_times,
)
from models import Member, Outbox
from models.event import (
    ATTEND,
    CANCELLED,
    CLOSED,
    DRAFT,
    LEAVE,
    NO_ANSWER,
    PUBLISHED,
    STAFF_AUDIENCE,
    Event,
    Invitation,
)
from models.member import Role

log = logging.getLogger(__name__)

MAX_TITLE = 120
MAX_PLACE = 120
MAX_REASON = 200
DEFAULT_LENGTH = timedelta(hours=2)
CHECKIN_BEFORE = timedelta(minutes=30)
AUDIENCE_KINDS = ("all", "committee", "sector", "members", STAFF_AUDIENCE)
# Audiences named by a word alone (no committee, sector or names after it).
WHOLE_AUDIENCES = ("all", STAFF_AUDIENCE)


class EventError(Refusal):
    """Bad input for an event; `key` is a catalogue key under `events.error.`, with `params`."""

    prefix = "events.error."
    FINAL = frozenset({"not_draft", "not_open", "no_such_event"})
    FIELDS = {"in_past": "start", "end_before_start": "end", "empty_audience": "audience"}


@dataclass(frozen=True)
class Audience:
    kind: str = "all"
    value: str = ""
    member_ids: tuple[int, ...] = ()


def format_when(moment: datetime, zone: tzinfo, lang: str, today: date | None = None) -> str:
    """When an event starts, as members read it: 12月8日（周二）14:30."""
    return format_moment(moment, zone, lang, today)


def parse_local_datetime(text: str, zone: tzinfo, *, now: datetime | None = None, day: date | None = None) -> datetime:
    """A day and time as typed (bot.core.dates.parse_moment: 2025-12-01 14:30, 12月8日 14:30, 下周二 14:30 …)
    in the committee's zone → aware UTC; a time alone is on `day`. Raises EventError."""
    answer = parse_moment(text, now=now or datetime.now(UTC), zone=zone, day=day)
    if answer.at is None:
        key = "no_time" if answer.problem is DateProblem.NO_TIME else "bad_datetime"
        raise EventError(key, text=text.strip()[:40])
    return answer.at


def local_start(iso: str, zone: tzinfo) -> datetime:
    """An ISO moment kept in a dialog, in the committee's zone."""
    return datetime.fromisoformat(iso).astimezone(zone)


async def resolve_audience(session: AsyncSession, spec: str) -> Audience:
    """`all`, `committee:NAME`, `sector:NAME`, `members:NAME,NAME` or `staff` (the secretariat's
    staff only; Chinese 全体 / 专委会: / 界别: / 机关干部 too)."""
    spec = spec.strip()
    head, sep, rest = spec.replace("：", ":").partition(":")
    head = {"全体": "all", "专委会": "committee", "界别": "sector", "委员": "members", "机关干部": STAFF_AUDIENCE,
            "机关": STAFF_AUDIENCE}.get(head.strip(), head.strip())  # fmt: skip
    if not sep and head in ("all", ""):
        return Audience()
    if not sep and head == STAFF_AUDIENCE:
        return Audience(STAFF_AUDIENCE)
    rest = rest.strip()
    if head not in AUDIENCE_KINDS or not rest:
        raise EventError("bad_audience", text=spec[:60])
    if head in ("committee", "sector"):
        column = Member.committee if head == "committee" else Member.sector
        found = (
            await session.exec(select(Member.id).where(column == rest, Member.is_active_member))
        ).first()
        if found is None:
            raise EventError("empty_audience", text=rest[:60])
        return Audience(head, rest)
    ids: list[int] = []
    for name in [n for n in rest.replace("，", ",").replace("、", ",").split(",") if n.strip()]:
        try:
            member = await members_service.by_name(session, name.strip())
        except members_service.MemberNotFound:
            raise EventError("unknown_member", name=name.strip()[:40]) from None
        except members_service.AmbiguousMember:
            raise EventError("ambiguous_member", name=name.strip()[:40]) from None
        if not member.is_active_member:  # staff are not invited as 委员
            raise EventError("unknown_member", name=name.strip()[:40])
        assert member.id is not None
        ids.append(member.id)
    return Audience("members", "", tuple(dict.fromkeys(ids)))


def _audience_query(kind: str, value: str, member_ids: list[int] | tuple[int, ...]):  # type: ignore[no-untyped-def]
    """Serving 委员 of an audience (one definition for invitations, counts and descriptions; staff
    only when the roster says they are 委员 too) — or, for a staff-only event, the active staff."""
    if kind == STAFF_AUDIENCE:
        staff = [role.value for role in Role if role.is_staff]
        return select(Member).where(col(Member.active).is_(True), col(Member.role).in_(staff)).order_by(col(Member.id))
    query = select(Member).where(Member.is_active_member).order_by(col(Member.id))
    if kind == "committee":
        query = query.where(Member.committee == value)
    elif kind == "sector":
        query = query.where(Member.sector == value)
    elif kind == "members":
        query = query.where(col(Member.id).in_(list(member_ids or [-1])))
    return query


async def audience_members(session: AsyncSession, event: Event) -> list[Member]:
    """Active members the event is for."""
    query = _audience_query(event.audience_kind, event.audience_value, event.audience_member_ids)
    return list((await session.exec(query)).all())


async def audience_choices(session: AsyncSession, kind: str) -> list[tuple[str, int]]:
    """The committees (or sectors) an event can be for, with how many members each has."""
    attribute = "committee" if kind == "committee" else "sector"
    counts: dict[str, int] = {}
    for member in (await session.exec(_audience_query("all", "", ()))).all():
        name = getattr(member, attribute)
        if name:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts.items(), key=lambda pair: pair[0])


def matching_choices(names: list[str], text: str) -> list[str]:
    """The names `text` points to: the exact one, else every name containing it (partial names
    such as 社会法制 match 社会和法制委员会 too: the characters in order)."""
    wanted = "".join(text.split())
    if not wanted:
        return []
    if wanted in names:
        return [wanted]
    found = [n for n in names if wanted in n]
    if found:
        return found
    pattern = re.compile(".*?".join(re.escape(ch) for ch in wanted))
    return [n for n in names if pattern.search(n)]


async def describe_audience(session: AsyncSession, audience: Audience, lang: str) -> str:
    """An audience as people say it: 社会和法制委员会（43 人，已绑定 3 人）."""
    members = list((await session.exec(_audience_query(audience.kind, audience.value, audience.member_ids))).all())
    bound = sum(1 for m in members if m.telegram_user_id is not None)
    if audience.kind in WHOLE_AUDIENCES:
        name = t(f"events.admin.audience_{audience.kind}", lang)
    elif audience.kind == "members":
        joiner = "、" if lang == "zh" else ", "
        name = joiner.join(m.name for m in members[:10]) + ("…" if len(members) > 10 else "")
    else:
        name = audience.value
    return t("events.audience_size", lang, name=name, count=len(members), bound=bound)


def describe_offsets(tokens: list[str] | tuple[str, ...], lang: str) -> str:
    """Reminder offsets as people say them: 提前 1 天、2 小时."""
    joiner = "、" if lang == "zh" else ", "
    parts = [t(f"events.unit_{token[-1]}", lang, n=int(token[:-1])) for token in tokens]
    return t("events.remind_before", lang, offsets=joiner.join(parts))


async def _new_code(session: AsyncSession) -> str:
    """A six-digit check-in code not used by another event still open."""
    while True:
        code = f"{secrets.randbelow(900000) + 100000}"
        clash = await session.exec(
            select(Event.id).where(Event.checkin_code == code, col(Event.status).in_([DRAFT, PUBLISHED]))
        )
        if clash.first() is None:
            return code


def _check_fields(title: str, place: str, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if not title.strip():
        raise EventError("empty_title")
    if len(title.strip()) > MAX_TITLE:
        raise EventError("too_long", what=t("events.field.title", "zh"), limit=MAX_TITLE)
    if len(place.strip()) > MAX_PLACE:
        raise EventError("too_long", what=t("events.field.place", "zh"), limit=MAX_PLACE)
    if starts_at <= now:
        raise EventError("in_past")
    if ends_at <= starts_at:
        raise EventError("end_before_start")


async def create_event(
    session: AsyncSession,
    *,
    title: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    place: str = "",
    audience: Audience | None = None,
    offsets: list[str] | str | None = None,
    now: datetime,
    rules: Rules,
    created_by: int | None = None,
    create_key: str | None = None,
    self_declared: bool = False,
) -> Event:
    """A draft event (publish it with `publish_event`). Times are aware.
    `create_key` names the dialog it is made in: made again (发布 repeated after a crash, a doubled
    press), the event made the first time is returned as it is. `self_declared`: members check in
    with the 📍 button alone (recorded as self-declared) instead of the venue's code."""
    if create_key is not None:
        earlier = (await session.exec(select(Event).where(Event.create_key == create_key))).first()
        if earlier is not None:
            return earlier
    if kind not in rules.activities:
        raise EventError("unknown_kind", kind=kind[:32], kinds=", ".join(rules.activities))
    ends_at = ends_at or starts_at + DEFAULT_LENGTH
    _check_fields(title, place, starts_at, ends_at, now)
    try:
        tokens = parse_offsets(offsets) if isinstance(offsets, str) else list(offsets or DEFAULT_OFFSETS)
        tokens = parse_offsets(",".join(tokens))
    except OffsetError:
        raise EventError("bad_offsets", text=str(offsets)[:40]) from None
    audience = audience or Audience()
    event = Event(
        title=title.strip(),
        kind=kind,
        starts_at=to_db(starts_at),
        ends_at=to_db(ends_at),
        place=place.strip(),
        audience_kind=audience.kind,
        audience_value=audience.value,
        audience_member_ids=list(audience.member_ids),
        remind_offsets=tokens,
        checkin_opens_at=to_db(starts_at - CHECKIN_BEFORE),
        checkin_closes_at=to_db(ends_at),
        checkin_code=await _new_code(session),
        checkin_self_declared=self_declared,
        status=DRAFT,
        created_by=created_by,
        create_key=create_key,
        created_at=to_db(now),
        updated_at=to_db(now),
    )
    session.add(event)
    await session.flush()
    return event


# The invitation's buttons (handlers.events answers them).
BUTTONS = Buttons("ev")
ATTEND_BUTTON = BUTTONS("a", numbers=ROW_IDS)
LEAVE_BUTTON = BUTTONS("l", numbers=ROW_IDS)
CHECKIN_BUTTON = BUTTONS("c", numbers=ROW_IDS)


def _keyboard(event: Event, lang: str) -> dict:
    assert event.id is not None
    attend, leave = t("events.btn_attend", lang), t("events.btn_leave", lang)
    return inline_markup([[(attend, ATTEND_BUTTON(event.id)), (leave, LEAVE_BUTTON(event.id))]])


def checkin_keyboard(event: Event, lang: str) -> dict:
    assert event.id is not None
    return inline_markup([[(t("events.btn_checkin", lang), CHECKIN_BUTTON(event.id))]])


def _params(event: Event, policy: ReminderPolicy, lang: str) -> dict[str, str]:
    return {
        "title": event.title,
        "when": format_when(event.starts_at, policy.zone, lang),
        "place": event.place or t("events.place_tbd", lang),
    }


def _can_receive(member: Member) -> bool:
    return member.telegram_user_id is not None and member.reachable and member.active


def _messages(
    event: Event,
    members: list[Member],
    policy: ReminderPolicy,
    *,
    key: str,
    text_key: str,
    kind: str,
    now: datetime,
    expires_at: datetime | None = None,
    buttons: bool = True,
) -> list[Queued]:
    """One outbox row per member who can receive it, in their own language."""
    rows = []
    for member in members:
        if not _can_receive(member):
            continue
        lang = member.language or policy.default_lang
        rows.append(
            Queued(
                f"event:{event.id}:{key}:{member.id}",
                member.telegram_user_id,  # type: ignore[arg-type]
                t(text_key, lang, **_params(event, policy, lang)),
                member.id,
                kind,
                now,
                expires_at,
                _keyboard(event, lang) if buttons else None,
            )
        )
    return rows


def _reminder_rows(
    event: Event, recipients: list[Member], *, now: datetime, policy: ReminderPolicy
) -> list[Queued]:
    """Reminder and check-in rows of the event's current version for these members."""
    start = from_db(event.starts_at)
    assert start is not None and event.id is not None
    times = plan_event_times(start, list(event.remind_offsets), policy.zone, policy.quiet, now)
    prefix = f"event:{event.id}:v{event.version}"
    opens, closes = from_db(event.checkin_opens_at), from_db(event.checkin_closes_at)
    rows: list[Queued] = []
    for member in recipients:
        if not _can_receive(member):
            continue
        assert member.telegram_user_id is not None  # _can_receive
        lang = member.language or policy.default_lang
        params = _params(event, policy, lang)
        text = t("events.reminder", lang, **params)
        for planned in times:
            rows.append(
                Queued(
                    f"{prefix}:r{planned.offset}:{member.id}",
                    member.telegram_user_id,
                    text,
                    member.id,
                    "reminder",
                    planned.at,
                    start,
                    _keyboard(event, lang),
                )
            )
        if closes is not None and closes > now:
            rows.append(
                Queued(
                    f"{prefix}:checkin:{member.id}",
                    member.telegram_user_id,
                    t("events.checkin_open_self" if event.checkin_self_declared else "events.checkin_open", lang, **params),
                    member.id,
                    "checkin",
                    max(opens or now, now),
                    closes,
                    checkin_keyboard(event, lang),
                )
            )
    return rows


async def _invitations(session: AsyncSession, event: Event) -> list[tuple[Invitation, Member]]:
    query = (
        select(Invitation, Member)
        .join(Member, col(Member.id) == Invitation.member_id)
        .where(Invitation.event_id == event.id)
        .order_by(col(Member.id))
    )
    return list((await session.exec(query)).all())


async def publish_event(session: AsyncSession, event: Event, *, now: datetime, policy: ReminderPolicy) -> int:
    """Invite the audience (invitation rows, outbox invitations with 参加/请假) and plan reminders.
    Returns how many members were invited."""
    if event.status != DRAFT:
        raise EventError("not_draft")
    if from_db(event.starts_at) <= now:  # type: ignore[operator]
        raise EventError("in_past")
    audience = await audience_members(session, event)
    if not audience:
        raise EventError("empty_audience", text=event.audience_value or event.audience_kind)
    rows = [
        {"event_id": event.id, "member_id": m.id, "answer": NO_ANSWER, "invited_at": to_db(now)}
        for m in audience
    ]
    await session.exec(insert(Invitation), params=rows)  # executemany: fast for a few thousand members
    event.status, event.published_at, event.updated_at = PUBLISHED, to_db(now), to_db(now)
    session.add(event)
    start = from_db(event.starts_at)
    invitations = _messages(
        event,
        audience,
        policy,
        key="invite",
        text_key="events.invitation",
        kind="invitation",
        now=now,
        expires_at=start,
    )
    await enqueue_many(session, invitations, now=now)
    await enqueue_many(session, _reminder_rows(event, audience, now=now, policy=policy), now=now)
    log.info("event %s published to %d member(s)", event.id, len(audience))
    return len(audience)


async def publish_once(session: AsyncSession, event: Event, *, now: datetime, policy: ReminderPolicy) -> int:
    """`publish_event`, except that an event already published (the same 发布 repeated) is left as
    it is. Returns how many members are invited."""
    if event.status == PUBLISHED:
        return len(await _invitations(session, event))
    return await publish_event(session, event, now=now, policy=policy)
async def invite_late_member(session: AsyncSession, member: Member, *, now: datetime, policy: ReminderPolicy) -> int:
    """A member who binds (or joins the roster) after events were published: the invitation and
    reminders of every published event still ahead whose audience includes them. Each outbox row
    has the dedupe key a publication would have used, so nobody is invited twice. Returns how many
    events they were invited to."""
    ahead = (
        await session.exec(select(Event).where(Event.status == PUBLISHED, col(Event.starts_at) > to_db(now)))
    ).all()
    invited = 0
    for event in ahead:
        query = _audience_query(event.audience_kind, event.audience_value, event.audience_member_ids)
        if (await session.exec(query.where(Member.id == member.id))).first() is None:
            continue
        _, invitation = await invitation_for(session, event.id, member)  # type: ignore[arg-type]
        if invitation is None:
            invitation = Invitation(event_id=event.id, member_id=member.id, answer=NO_ANSWER, invited_at=to_db(now))  # type: ignore[arg-type]
            session.add(invitation)
            await session.flush()
        start = from_db(event.starts_at)
        rows = _messages(event, [member], policy, key="invite", text_key="events.invitation", kind="invitation",
                         now=now, expires_at=start)  # fmt: skip
        if invitation.answer != LEAVE:
            rows += _reminder_rows(event, [member], now=now, policy=policy)
        await enqueue_many(session, rows, now=now)
        invited += 1
    if invited:
        log.info("member %s invited to %d event(s) published before they joined", member.id, invited)
    return invited


async def get_event(session: AsyncSession, event_id: int) -> Event:
    event = await session.get(Event, event_id)
    if event is None:
        raise EventError("no_such_event", id=event_id)
    return event


async def update_event(
    session: AsyncSession,
    event: Event,
    *,
    now: datetime,
    policy: ReminderPolicy,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    place: str | None = None,
    title: str | None = None,
) -> bool:
    """Change an event. A published event's invitees are told of a new time or place and its
    reminders are planned again (the old ones are withdrawn). True if something changed."""
    if event.status not in (DRAFT, PUBLISHED):
        raise EventError("not_open")
    old_start, old_end = from_db(event.starts_at), from_db(event.ends_at)
    assert old_start is not None and old_end is not None
    new_start = starts_at or old_start
    new_end = ends_at or (old_end + (new_start - old_start))
    new_place = event.place if place is None else place.strip()
    new_title = event.title if title is None else title.strip()
    _check_fields(new_title, new_place, new_start, new_end, now)
    moved = new_start != old_start or new_end != old_end or new_place != event.place
    if not moved and new_title == event.title:
        return False
    old_version = event.version
    event.title, event.place = new_title, new_place
    event.starts_at, event.ends_at = to_db(new_start), to_db(new_end)
    event.checkin_opens_at, event.checkin_closes_at = to_db(new_start - CHECKIN_BEFORE), to_db(new_end)
    event.updated_at = to_db(now)
    if moved:
        event.version += 1
    session.add(event)
    if event.status != PUBLISHED or not moved:
        return True
    await drop_pending(
        session, key_prefix=f"event:{event.id}:v{old_version}:", reason="event changed; replanned"
    )
    invited = await _invitations(session, event)
    notices = _messages(
        event,
        [member for _invitation, member in invited],
        policy,
        key=f"v{event.version}:changed",
        text_key="events.changed",
        kind="notice",
        now=now,
        expires_at=new_start,
    )
    await enqueue_many(session, notices, now=now)
    remind = [member for invitation, member in invited if invitation.answer != LEAVE]
    await enqueue_many(session, _reminder_rows(event, remind, now=now, policy=policy), now=now)
    log.info("event %s changed (version %d); %d invitee(s) told", event.id, event.version, len(notices))
    return True


async def cancel_event(session: AsyncSession, event: Event, *, now: datetime, policy: ReminderPolicy) -> int:
    """Cancel: withdraw its queued messages and tell those who received the invitation. Returns
    how many were told."""
    if event.status not in (DRAFT, PUBLISHED):
        raise EventError("not_open")
    was_published = event.status == PUBLISHED
    event.status, event.cancelled_at, event.updated_at = CANCELLED, to_db(now), to_db(now)
    session.add(event)
    if not was_published:
        return 0
    await drop_pending(session, key_prefix=f"event:{event.id}:", reason="event cancelled")
    # Members whose invitation never went out need no cancellation either.
    reached = set(
        (
            await session.exec(
                select(Outbox.member_id).where(
                    col(Outbox.dedupe_key).startswith(f"event:{event.id}:invite:"),
                    col(Outbox.status).in_(["sent", "sending", "uncertain"]),
                )
            )
        ).all()
    )
    told = [member for _invitation, member in await _invitations(session, event) if member.id in reached]
    notices = _messages(
        event,
        told,
        policy,
        key="cancelled",
        text_key="events.cancelled",
        kind="notice",
        now=now,
        buttons=False,
    )
    await enqueue_many(session, notices, now=now)
    log.info("event %s cancelled; %d invitee(s) told", event.id, len(notices))
    return len(notices)


class Answer(StrEnum):
    RECORDED = "recorded"
    NO_EVENT = "no_event"  # unknown or cancelled
    NOT_INVITED = "not_invited"
    CLOSED = "closed"  # the event has started
    NEED_REASON = "need_reason"
    REASON_TOO_LONG = "reason_too_long"


async def invitation_for(
    session: AsyncSession, event_id: int, member: Member
) -> tuple[Event | None, Invitation | None]:
    event = await session.get(Event, event_id)
    if event is None:
        return None, None
    invitation = (
        await session.exec(
            select(Invitation).where(Invitation.event_id == event_id, Invitation.member_id == member.id)
        )
    ).first()
    return event, invitation


async def check_answerable(
    session: AsyncSession, *, event_id: int, member: Member, now: datetime
) -> tuple[Answer, Event | None]:
    """Whether the member may answer this invitation now (checked on every button press)."""
    event, invitation = await invitation_for(session, event_id, member)
    if event is None or event.status != PUBLISHED:
        return Answer.NO_EVENT, event
    if invitation is None:
        return Answer.NOT_INVITED, event
    if from_db(event.starts_at) <= now:  # type: ignore[operator]
        return Answer.CLOSED, event
    return Answer.RECORDED, event


async def answer_invitation(
    session: AsyncSession,
    *,
    event_id: int,
    member: Member,
    answer: str,
    now: datetime,
    policy: ReminderPolicy,
    reason: str | None = None,
) -> tuple[Answer, Event | None]:
    """参加 or 请假 (with a reason); may change until the event starts. Leave withdraws the
    member's reminders; attending again brings back the ones still ahead."""
    outcome, event = await check_answerable(session, event_id=event_id, member=member, now=now)
    if outcome is not Answer.RECORDED or event is None:
        return outcome, event
    reason = (reason or "").strip()
    if answer == LEAVE and not reason:
        return Answer.NEED_REASON, event
    if len(reason) > MAX_REASON:
        return Answer.REASON_TOO_LONG, event
    _, invitation = await invitation_for(session, event_id, member)
    assert invitation is not None
    previous = invitation.answer
    invitation.answer = answer
    invitation.leave_reason = reason if answer == LEAVE else None
    invitation.answered_at = to_db(now)
    session.add(invitation)
    prefix = f"event:{event.id}:v{event.version}:"
    if answer == LEAVE:
        await drop_pending(
            session,
            key_prefix=prefix,
            member_id=member.id,
            kinds=("reminder", "checkin"),
            reason="member on leave",
        )
    elif previous == LEAVE:
        await session.exec(
            update(Outbox)
            .where(
                col(Outbox.dedupe_key).startswith(prefix, autoescape=True),
                col(Outbox.member_id) == member.id,
                col(Outbox.status) == "dropped",
                col(Outbox.kind).in_(["reminder", "checkin"]),
                col(Outbox.send_after) > to_db(now),
            )
            .values(status="pending", last_error=None)
        )
        await enqueue_many(session, _reminder_rows(event, [member], now=now, policy=policy), now=now)
    return Answer.RECORDED, event


class CheckIn(StrEnum):
    DONE = "done"
    ALREADY = "already"
    NOT_OPEN = "not_open"
    BAD_CODE = "bad_code"
    NO_EVENT = "no_event"
    NOT_INVITED = "not_invited"
    NEED_CODE = "need_code"  # the button of an event that wants the venue's code


def _window_open(event: Event, now: datetime) -> bool:
    return event.status == PUBLISHED and event.checkin_opens_at <= to_db(now) < event.checkin_closes_at


def activity_day(event: Event, zone: tzinfo) -> date:
    return local(event.starts_at, zone).date()


async def check_in(
    session: AsyncSession,
    *,
    member: Member,
    now: datetime,
    rules: Rules,
    zone: tzinfo,
    event_id: int | None = None,
    code: str | None = None,
    default_lang: str = "zh",
) -> tuple[CheckIn, Event | None]:
    """签到 by the code shown at the venue (`code`; a member who was not invited but is there is
    added), or by the 📍 button (`event_id`) where the event lets invitees declare attendance
    themselves; the record says which. Credits the event's points at once."""
    event: Event | None
    if code is not None:
        code = code.strip()
        candidates = (
            list(
                (
                    await session.exec(
                        select(Event).where(
                            Event.checkin_code == code, col(Event.status).in_([PUBLISHED, CLOSED])
                        )
                    )
                ).all()
            )
            if code.isdigit()
            else []
        )
        if not candidates:
            return CheckIn.BAD_CODE, None
        open_now = [e for e in candidates if _window_open(e, now)]
        if not open_now:
            return CheckIn.NOT_OPEN, candidates[0]
        event = open_now[0]
    else:
        event = await session.get(Event, event_id) if event_id is not None else None
        if event is None or event.status not in (PUBLISHED, CLOSED):
            return CheckIn.NO_EVENT, event
        if not _window_open(event, now):
            return CheckIn.NOT_OPEN, event
    assert event.id is not None and member.id is not None
    _, invitation = await invitation_for(session, event.id, member)
    if code is None and invitation is not None and invitation.checked_in_at is None:
        if not event.checkin_self_declared:
            return CheckIn.NEED_CODE, event
    if invitation is None:
        # staff at the venue are not 委员 attending; 委员 at a staff-only event are not staff
        expected = member.is_staff if event.audience_kind == STAFF_AUDIENCE else member.is_active_member
        if code is None or not expected:
            return CheckIn.NOT_INVITED, event
        invitation = Invitation(
            event_id=event.id,
            member_id=member.id,
            answer=ATTEND,
            answered_at=to_db(now),
            invited_at=to_db(now),
        )
    if invitation.checked_in_at is not None:
        return CheckIn.ALREADY, event
    invitation.checked_in_at = to_db(now)
    invitation.checkin_method = "code" if code is not None else "self"
    session.add(invitation)
    await session.flush()
    note = None if code is not None else t("events.self_declared_note", default_lang)
    await _record(session, event, [member.id], "present", now=now, rules=rules, zone=zone, note=note)
    return CheckIn.DONE, event


async def _record(
    session: AsyncSession,
    event: Event,
    member_ids: list[int],
    status: str,
    *,
    now: datetime,
    rules: Rules,
    zone: tzinfo,
    note: str | None = None,
) -> int:
    if not member_ids or event.audience_kind == STAFF_AUDIENCE:  # held and counted, but no 委员's duty
        return 0
    from bot.services.activities import record_attendance

    return await record_attendance(
        session,
        member_ids=member_ids,
        type_code=event.kind,
        day=activity_day(event, zone),
        status=status,
        now=now,
        rules=rules,
        source_key=f"event:{event.id}",
        recorded_by=event.created_by,
        title=event.title[:120],
        note=note,
    )


async def close_attendance(
    session: AsyncSession, event: Event, *, now: datetime, rules: Rules, zone: tzinfo
) -> dict[str, int]:
    """After check-in closes: checked in → present, 请假 → leave, everyone else → absent, each
    credited as the rules define for the event's activity type."""
    if event.status != PUBLISHED:
        return {}
    groups: dict[str, list[int]] = {"present": [], "leave": [], "absent": []}
    for invitation, member in await _invitations(session, event):
        status = (
            "present" if invitation.checked_in_at else ("leave" if invitation.answer == LEAVE else "absent")
        )
        invitation.attendance = status
        session.add(invitation)
        groups[status].append(member.id)  # type: ignore[arg-type]
    for status, ids in groups.items():
        await _record(session, event, ids, status, now=now, rules=rules, zone=zone)
    event.status, event.closed_at, event.updated_at = CLOSED, to_db(now), to_db(now)
    session.add(event)
    log.info("event %s closed: %s", event.id, {k: len(v) for k, v in groups.items()})
    return {k: len(v) for k, v in groups.items()}


async def close_due_events(session: AsyncSession, *, now: datetime, rules: Rules, zone: tzinfo) -> int:
    """Close every published event whose check-in window has ended."""
    due = (
        await session.exec(
            select(Event).where(Event.status == PUBLISHED, col(Event.checkin_closes_at) <= to_db(now))
        )
    ).all()
    for event in due:
        await close_attendance(session, event, now=now, rules=rules, zone=zone)
    return len(due)


async def upcoming_for_member(
    session: AsyncSession, member: Member, *, now: datetime
) -> list[tuple[Event, Invitation]]:
    """The member's events that have not ended, soonest first."""
    query = (
        select(Event, Invitation)
        .join(Invitation, col(Invitation.event_id) == Event.id)
        .where(
            Invitation.member_id == member.id,
            Event.status == PUBLISHED,
            col(Event.checkin_closes_at) > to_db(now),
        )
        .order_by(col(Event.starts_at))
    )
    return list((await session.exec(query)).all())


async def list_events(session: AsyncSession, *, now: datetime, include_past: bool = False) -> list[Event]:
    query = select(Event).order_by(col(Event.starts_at))
    if not include_past:
        query = query.where(col(Event.ends_at) > to_db(now))
    return list((await session.exec(query)).all())


async def answer_counts(session: AsyncSession, event: Event) -> dict[str, int]:
    counts = {ATTEND: 0, LEAVE: 0, NO_ANSWER: 0, "checked_in": 0}
    for invitation, _member in await _invitations(session, event):
        counts[invitation.answer] = counts.get(invitation.answer, 0) + 1
        if invitation.checked_in_at:
            counts["checked_in"] += 1
    return counts
