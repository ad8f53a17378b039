"""`lvzhi members`: import the roster, list members, issue invites, deactivate."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.services import invites, members, roster
from bot.services.sheets import csv_row
from models import Member
from models.db import Database

app = typer.Typer(help="Members of the committee.", no_args_is_help=True)
T = TypeVar("T")


def _bot_username(settings: Settings) -> str:
    """BOT_USERNAME, else ask Telegram (or the emulator) with getMe."""
    if settings.bot_username:
        return settings.bot_username.lstrip("@")
    if not settings.telegram_bot_token:
        typer.echo(t("cli.need_username", settings.locale), err=True)
        raise typer.Exit(2)
    from telegram import Bot

    async def get_me() -> str:
        async with Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url) as bot:
            return bot.username

    return asyncio.run(get_me())


def write_invites(path: Path, rows: list[tuple[str, str, str]]) -> None:
    # utf-8-sig so that Excel and WPS open the Chinese names correctly
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "code", "link"])
        writer.writerows(csv_row(row) for row in rows)  # a name like "=HYPERLINK(…)" stays text


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Roster .csv (UTF-8/GBK) or .xlsx"),
    invites_out: Path | None = typer.Option(None, "--invites", help="Write name,code,link for unbound members"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and report; change nothing"),
) -> None:
    """Import or update the roster (Chinese or English headers)."""
    from bot.cli import checked_file_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    checked = checked_file_or_exit(file, roster.check_roster, "cli.roster_unreadable", lang)
    for problem in checked.problems:
        typer.echo(t("cli.roster_problem", lang, row=problem.row, reason=problem.reason), err=True)
    if checked.problems:
        typer.echo(t("cli.roster_rejected", lang, count=len(checked.problems)), err=True)
        raise typer.Exit(1)
    if dry_run:
        typer.echo(t("cli.roster_dry_run", lang, count=len(checked.rows)))
        return
    username = _bot_username(settings) if invites_out else ""
    clock = Clock()

    async def work(db: Database) -> tuple[roster.ImportResult, list[tuple[str, str, str]]]:
        async with db.session() as session:
            try:
                result = await roster.import_roster(session, checked.rows)
            except roster.RosterConflict as exc:
                for problem in exc.problems:
                    typer.echo(t("cli.roster_problem", lang, row=problem.row, reason=problem.reason), err=True)
                typer.echo(t("cli.roster_rejected", lang, count=len(exc.problems)), err=True)
                raise typer.Exit(1) from None
            links: list[tuple[str, str, str]] = []
            if invites_out:
                for member in result.members:
                    if member.telegram_user_id is None:
                        code = await invites.new_invite(session, member, now=clock.now(),
                                                        ttl_days=settings.invite_ttl_days)
                        links.append((member.name, code, invites.invite_link(username, code)))
            return result, links

    result, links = with_database(settings, work)
    typer.echo(t("cli.roster_imported", lang, created=result.created, updated=result.updated,
                 unchanged=result.unchanged))
    if invites_out:
        write_invites(invites_out, links)
        typer.echo(t("cli.invites_written", lang, count=len(links), path=str(invites_out)))


@app.command("list")
def list_(unbound: bool = typer.Option(False, "--unbound", help="Only members who have not joined yet")) -> None:
    """Show the members as a table."""
    from bot.cli import settings_or_exit, with_database

    settings = settings_or_exit()

    async def work(db: Database) -> list[Member]:
        async with db.session() as session:
            return await members.list_members(session, unbound_only=unbound)

    rows = with_database(settings, work)
    lang = settings.locale
    typer.echo("\t".join(t(f"cli.col_{c}", lang) for c in ("name", "sector", "committee", "role", "bound", "active")))
    for m in rows:
        typer.echo("\t".join([m.name, m.sector, m.committee, t(f"cli.role_{m.role}", lang),
                              t("cli.yes" if m.telegram_user_id else "cli.no", lang),
                              t("cli.yes" if m.active else "cli.no", lang)]))
    typer.echo(t("cli.count", lang, count=len(rows)))


def _for_member(settings: Settings, name: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """`work` on the member named on the command line, or one line and exit code 1 if there is none
    by that name, or more than one."""
    from bot.cli import with_database

    try:
        return with_database(settings, work)
    except members.MemberNotFound:
        typer.echo(t("cli.member_not_found", settings.locale, name=name), err=True)
        raise typer.Exit(1) from None
    except members.AmbiguousMember as exc:
        typer.echo(t("cli.member_ambiguous", settings.locale, name=name, matches=str(exc)), err=True)
        raise typer.Exit(1) from None


@app.command()
def invite(name: str = typer.Argument(..., help="Member's name (name/sector if two share a name)")) -> None:
    """Issue a new invite code for one member; earlier codes stop working."""
    from bot.cli import settings_or_exit

    settings = settings_or_exit()
    username = _bot_username(settings)

    async def work(db: Database) -> tuple[Member, str]:
        async with db.session() as session:
            member = await members.by_name(session, name)
            code = await invites.new_invite(session, member, now=Clock().now(), ttl_days=settings.invite_ttl_days)
            return member, code

    member, code = _for_member(settings, name, work)
    typer.echo(f"{member.name}\t{code}\t{invites.invite_link(username, code)}")


@app.command()
def deactivate(name: str = typer.Argument(..., help="Member's name (name/sector if two share a name)")) -> None:
    """Deactivate a member: they can no longer use the bot and get no reminders."""
    from bot.cli import settings_or_exit

    settings = settings_or_exit()

    async def work(db: Database) -> Member:
        async with db.session() as session:
            member = await members.by_name(session, name)
            await members.deactivate(session, member)
            return member

    member = _for_member(settings, name, work)
    typer.echo(t("cli.deactivated", settings.locale, name=member.name))
