"""`lvzhi events`: add, import, list, publish and cancel events from the command line. A running
bot picks them up without a restart: invitations and reminders are outbox rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NoReturn

import typer

from bot.core.clock import Clock
from bot.core.i18n import t
from bot.services import events as service
from bot.services.reminders import policy_from_settings
from bot.services.roster import RosterFileError, read_table
from models.db import Database

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
}


async def _add(db: Database, row: dict[str, str], *, publish: bool, settings, rules, now: datetime) -> tuple:  # type: ignore[no-untyped-def]
    zone = settings.tz
    async with db.session() as session:
        audience = await service.resolve_audience(session, row.get("audience") or "all")
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
        "all", "--audience", help="all | committee:NAME | sector:NAME | members:NAME,NAME"
    ),
    remind: str = typer.Option("24h,2h", "--remind", help="Reminders before the start: 1m, 90m, 24h, 7d"),
    publish: bool = typer.Option(False, "--publish", help="Invite the audience now (otherwise a draft)"),
    self_checkin: bool = typer.Option(
        False, "--self-checkin", help="Members check in with the button alone, recorded as self-declared "
        "(default: the button asks for the venue's 6-digit code)"
    ),
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
    }
    try:
        event_id, code, invited = with_database(
            settings, lambda db: _add(db, row, publish=publish, settings=settings, rules=rules, now=Clock().now())
        )
    except service.EventError as exc:
        _refuse(exc, lang)
    key = "events.cli.published" if publish else "events.cli.added"
    typer.echo(t(key, lang, id=event_id, title=title.strip(), count=invited, code=code))


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".csv (UTF-8/GBK) or .xlsx"),
    publish: bool = typer.Option(False, "--publish", help="Invite each event's audience now"),
) -> None:
    """Import events: columns 标题/title, 类型/kind, 开始/start, 结束/end, 地点/place, 范围/audience,
    提醒/remind. Every row is checked first; with any problem nothing is imported."""
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
                    audience = await service.resolve_audience(session, row.get("audience") or "all")
                    await service.create_event(
                        session,
                        title=row.get("title", ""),
                        kind=(row.get("kind") or "").strip(),
                        starts_at=service.parse_local_datetime(row.get("start", ""), settings.tz, now=now),
                        ends_at=service.parse_local_datetime(row["end"], settings.tz, now=now)
                        if row.get("end")
                        else None,
                        place=row.get("place", ""),
                        audience=audience,
                        offsets=row.get("remind") or None,
                        now=now,
                        rules=rules,
                    )
                except service.EventError as exc:
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


def _refuse(exc: service.EventError, lang: str) -> NoReturn:
    """One line; exit 2 for a value that cannot be read (a usage error), 1 for any other refusal."""
    typer.echo(exc.text(lang), err=True)
    raise typer.Exit(2 if exc.key in UNREADABLE else 1) from None


def _change(event_id: int, action: str) -> None:
    from bot.cli import row_id_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    row_id_or_exit(event_id, lang)

    async def work(db: Database) -> int:
        now = Clock().now()
        async with db.session() as session:
            event = await service.get_event(session, event_id)
            if action == "publish":
                return await service.publish_event(
                    session, event, now=now, policy=policy_from_settings(settings)
                )
            return await service.cancel_event(session, event, now=now, policy=policy_from_settings(settings))

    try:
        count = with_database(settings, work)
    except service.EventError as exc:
        _refuse(exc, lang)
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
    from bot.cli import row_id_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    row_id_or_exit(event_id, lang)

    async def work(db: Database) -> bool:
        now = Clock().now()
        async with db.session() as session:
            event = await service.get_event(session, event_id)
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

    try:
        changed = with_database(settings, work)
    except service.EventError as exc:
        _refuse(exc, lang)
    typer.echo(t("events.cli.updated" if changed else "events.cli.unchanged", lang, id=event_id))
