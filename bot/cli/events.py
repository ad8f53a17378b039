"""`lvzhi events`: add, import, list, publish and cancel events from the command line. A running
bot picks them up without a restart: invitations and reminders are outbox rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from bot.core.clock import Clock
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services import events as service
from bot.services import outcomes
from bot.services.reminders import policy_from_settings
from bot.services.roster import RosterFileError, read_table
from models.db import Database
from models.event import Event

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.core.config import Settings

R = TypeVar("R")

UNREADABLE = ("bad_datetime",)  # EventError codes of a value that is not a time at all

app = typer.Typer(help="Events: study sessions, lectures, meetings, research trips.", no_args_is_help=True)

HEADERS = {
    "title": "title",
    "标题": "title",
    "活动": "title",
    "kind": "kind",
    "类型": "kind",
    "start": "start",
    "开始": "start",
    "开始时间": "start",
    "end": "end",
    "结束": "end",
    "结束时间": "end",
    "place": "place",
    "地点": "place",
    "audience": "audience",
    "范围": "audience",
    "参加范围": "audience",
    "remind": "remind",
    "提醒": "remind",
    "tags": "tags",
    "标签": "tags",
    "系列": "tags",
    "organiser": "organiser",
    "organizer": "organiser",
    "主办": "organiser",
    "主办单位": "organiser",
    "guests": "guests",
    "邀请领导": "guests",
    "参加领导": "guests",
}


async def _create(session, row: dict[str, str], *, settings, rules, now: datetime) -> Event:  # type: ignore[no-untyped-def]
    """An event from one row (the command's options or a line of the file), with its tags,
    organiser and guests; every value is checked (a refusal names what is wrong)."""
    zone = settings.tz
    audience = await service.resolve_audience(session, row.get("audience") or "all")
    tags = outcomes.parse_tags(row.get("tags"), rules.review)
    organiser = await outcomes.parse_organiser(session, row.get("organiser"), rules.review)
    guests = outcomes.check_guests(outcomes.split_names(row.get("guests")))
    event = await service.create_event(
        session,
        title=row.get("title", ""),
        kind=(row.get("kind") or "").strip(),
        starts_at=service.parse_local_datetime(row.get("start", ""), zone, now=now),
        ends_at=service.parse_local_datetime(row["end"], zone, now=now) if row.get("end") else None,
        place=row.get("place", ""),
        audience=audience,
        offsets=row.get("remind") or None,
        now=now,
        rules=rules,
        self_declared=row.get("self_checkin") == "yes",
    )
    await outcomes.set_details(session, event, tags=tags, organiser=organiser, guests=guests)
    return event


async def _add(db: Database, row: dict[str, str], *, publish: bool, settings, rules, now: datetime) -> tuple:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        event = await _create(session, row, settings=settings, rules=rules, now=now)
        invited = (
            await service.publish_event(session, event, now=now, policy=policy_from_settings(settings))
            if publish
            else 0
        )
        return event.id, event.checkin_code, invited


@app.command()
def add(
    title: str = typer.Option(..., "--title", help="Title, e.g. 学习会：民法典"),
    kind: str = typer.Option(
        ...,
        "--kind",
        help="Activity type code of the point rules: study, meeting, plenary, research, reading…",
    ),
    start: str = typer.Option(..., "--start", help='Local start, "2025-12-01 14:30"'),
    end: str = typer.Option("", "--end", help="Local end (default: 2 hours after the start)"),
    place: str = typer.Option("", "--place"),
    audience: str = typer.Option(
        "all", "--audience", help="all | committee:NAME | sector:NAME | members:NAME,NAME | staff (机关干部 only: "
        "held and counted, no member's duty)"
    ),
    remind: str = typer.Option("24h,2h", "--remind", help="Reminders before the start: 1m, 90m, 24h, 7d"),
    publish: bool = typer.Option(False, "--publish", help="Invite the audience now (otherwise a draft)"),
    self_checkin: bool = typer.Option(
        False, "--self-checkin", help="Members check in with the button alone, recorded as self-declared "
        "(default: the button asks for the venue's 6-digit code)"
    ),
    tags: str = typer.Option("", "--tags", help="Tags from the rules file, e.g. 调研协商,轮值协商"),
    organiser: str = typer.Option("", "--organiser", help="机关 | 党组 | 主席会议 | a committee's name (经济委员会)"),
    guests: str = typer.Option("", "--guests", help="Leaders invited, e.g. 张某（区委书记）、李某（区长）"),
) -> None:
    """Add an event (a draft unless --publish)."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    row = {
        "title": title,
        "kind": kind,
        "start": start,
        "end": end,
        "place": place,
        "audience": audience,
        "remind": remind,
        "self_checkin": "yes" if self_checkin else "",
        "tags": tags,
        "organiser": organiser,
        "guests": guests,
    }
    try:
        event_id, code, invited = with_database(
            settings, lambda db: _add(db, row, publish=publish, settings=settings, rules=rules, now=Clock().now())
        )
    except Refusal as exc:
        _refuse(exc, lang)
    key = "events.cli.published" if publish else "events.cli.added"
    typer.echo(t(key, lang, id=event_id, title=title.strip(), count=invited, code=code))


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv (UTF-8/GBK) or .xlsx"),
    publish: bool = typer.Option(False, "--publish", help="Invite each event's audience now"),
) -> None:
    """Import events: columns 标题/title, 类型/kind, 开始/start, 结束/end, 地点/place, 范围/audience,
    提醒/remind, 标签/tags, 主办/organiser, 邀请领导/guests. Every row is checked first; with any problem
    nothing is imported."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    try:
        table = read_table(file)
    except RosterFileError as exc:
        typer.echo(t("events.cli.unreadable", lang, reason=str(exc)), err=True)
        raise typer.Exit(1) from None
    if not table:
        typer.echo(t("events.cli.unreadable", lang, reason="empty"), err=True)
        raise typer.Exit(1)
    columns = [HEADERS.get(h.strip().lower(), HEADERS.get(h.strip())) for h in table[0]]
    rows = [{c: v for c, v in zip(columns, cells, strict=False) if c} for cells in table[1:] if any(cells)]

    async def work(db: Database) -> list[tuple]:
        now = Clock().now()
        problems: list[tuple] = []
        results = []
        async with db.session() as session:  # check all rows inside one transaction, then roll back
            for number, row in enumerate(rows, start=2):
                try:
                    await _create(session, row, settings=settings, rules=rules, now=now)
                except Refusal as exc:
                    problems.append((number, exc.text(lang)))
            await session.rollback()
        if problems:
            return problems
        for row in rows:
            results.append(await _add(db, row, publish=publish, settings=settings, rules=rules, now=now))
        return [("ok", results)]

    outcome = with_database(settings, work)
    if outcome and outcome[0][0] != "ok":
        for number, reason in outcome:
            typer.echo(t("events.cli.problem", lang, row=number, reason=reason), err=True)
        typer.echo(t("events.cli.rejected", lang, count=len(outcome)), err=True)
        raise typer.Exit(1)
    results = outcome[0][1] if outcome else []
    typer.echo(t("events.cli.imported", lang, count=len(results), invited=sum(r[2] for r in results)))


@app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help="Include past events")) -> None:
    """Events with their status, check-in code and answers."""
    from bot.cli import settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale

    async def work(db: Database) -> list[tuple]:
        async with db.session() as session:
            found = await service.list_events(session, now=Clock().now(), include_past=all_)
            return [(e, await service.answer_counts(session, e)) for e in found]

    rows = with_database(settings, work)
    typer.echo(t("events.cli.header", lang))
    for event, counts in rows:
        typer.echo(
            t(
                "events.cli.row",
                lang,
                id=event.id,
                when=service.format_when(event.starts_at, settings.tz, lang),
                title=event.title,
                kind=event.kind,
                status=t(f"events.cli.status_{event.status}", lang),
                code=event.checkin_code,
                attend=counts.get("attend", 0),
                leave=counts.get("leave", 0),
                none=counts.get("none", 0),
                checked=counts.get("checked_in", 0),
            )
        )
    typer.echo(t("events.cli.count", lang, count=len(rows)))


def _refuse(exc: Refusal, lang: str) -> NoReturn:
    """One line; exit 2 for a value that cannot be read (a usage error), 1 for any other refusal."""
    typer.echo(exc.text(lang), err=True)
    raise typer.Exit(2 if exc.key in UNREADABLE else 1) from None


def _on_event(event_id: int, act: Callable[[AsyncSession, Event, datetime, Settings], Awaitable[R]]) -> tuple[R, str]:
    """`act(session, event, now, settings)` on one event; a refusal is one line and an exit code.
    Returns what it returned and the language to answer in."""
    from bot.cli import row_id_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    row_id_or_exit(event_id, lang)

    async def work(db: Database) -> R:
        async with db.session() as session:
            return await act(session, await service.get_event(session, event_id), Clock().now(), settings)

    try:
        return with_database(settings, work), lang
    except service.EventError as exc:
        _refuse(exc, lang)


def _change(event_id: int, action: str) -> None:
    async def act(session: AsyncSession, event: Event, now: datetime, settings: Settings) -> int:
        if action == "publish":
            return await service.publish_event(session, event, now=now, policy=policy_from_settings(settings))
        return await service.cancel_event(session, event, now=now, policy=policy_from_settings(settings))

    count, lang = _on_event(event_id, act)
    typer.echo(t(f"events.cli.{action}_done", lang, id=event_id, count=count))


@app.command()
def publish(event_id: int = typer.Argument(..., help="Event number (see `lvzhi events list`)")) -> None:
    """Publish a draft: invite its audience."""
    _change(event_id, "publish")


@app.command()
def cancel(event_id: int = typer.Argument(..., help="Event number")) -> None:
    """Cancel an event: reminders are withdrawn and invitees are told."""
    _change(event_id, "cancel")


@app.command()
def update(
    event_id: int = typer.Argument(..., help="Event number"),
    start: str = typer.Option(
        "", "--start", help='New local start, "2025-12-01 14:30" (the end moves with it)'
    ),
    end: str = typer.Option("", "--end", help="New local end"),
    place: str | None = typer.Option(None, "--place", help="New place"),
    title: str | None = typer.Option(None, "--title", help="New title"),
) -> None:
    """Change an event; invitees are told of a new time or place and reminders are planned again."""

    async def act(session: AsyncSession, event: Event, now: datetime, settings: Settings) -> bool:
        return await service.update_event(
            session,
            event,
            now=now,
            policy=policy_from_settings(settings),
            starts_at=service.parse_local_datetime(start, settings.tz, now=now) if start else None,
            ends_at=service.parse_local_datetime(end, settings.tz, now=now) if end else None,
            place=place,
            title=title,
        )

    changed, lang = _on_event(event_id, act)
    typer.echo(t("events.cli.updated" if changed else "events.cli.unchanged", lang, id=event_id))


# What an event produced, for the annual report (bot/cli/outcomes.py).
from bot.cli import outcomes as _outcomes  # noqa: E402

app.command("outcome")(_outcomes.outcome)
app.command("document")(_outcomes.document)
app.command("instruction")(_outcomes.instruction)
