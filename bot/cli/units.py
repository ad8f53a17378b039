"""`lvzhi units`: import the handling units (承办单位) and their contacts, list them, issue a
contact's invite link."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.core.clock import Clock
from bot.core.i18n import t
from bot.services import invites, roster, units
from models import HandlingUnit, Member
from models.db import Database

app = typer.Typer(help="Handling units (承办单位) and their contacts.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Units .csv (UTF-8/GBK) or .xlsx"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and report; change nothing"),
) -> None:
    """Import or update the units: unit name, short name, contact name, phone (Chinese or English headers)."""
    from bot.cli import checked_file_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    checked = checked_file_or_exit(file, units.check_units, "proposals_unit.cli_unreadable", lang)
    clock = Clock()

    async def work(db: Database) -> tuple[list[roster.RowProblem], units.UnitImport | None]:
        async with db.session() as session:
            conflicts = await units.phone_conflicts(session, checked.rows)
            if conflicts or checked.problems or dry_run:
                return conflicts, None
            return [], await units.import_units(session, checked.rows, now=clock.now())

    conflicts, result = with_database(settings, work)
    problems = sorted([*checked.problems, *conflicts], key=lambda p: p.row)
    for problem in problems:
        typer.echo(t("cli.roster_problem", lang, row=problem.row, reason=problem.reason), err=True)
    if problems:
        typer.echo(t("proposals_unit.cli_rejected", lang, count=len(problems)), err=True)
        raise typer.Exit(1)
    if result is None:
        typer.echo(t("proposals_unit.cli_dry_run", lang, count=len(checked.rows)))
        return
    typer.echo(t("proposals_unit.cli_imported", lang, created=result.created, updated=result.updated,
                 unchanged=result.unchanged))


@app.command("list")
def list_() -> None:
    """Show the units with their contacts and whether the contact has joined."""
    from bot.cli import settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale

    async def work(db: Database) -> list[tuple[HandlingUnit, Member | None]]:
        async with db.session() as session:
            return await units.list_units(session)

    rows = with_database(settings, work)
    typer.echo("\t".join(t(f"proposals_unit.cli_col_{c}", lang) for c in ("name", "short", "contact", "bound")))
    for unit, contact in rows:
        bound = contact is not None and contact.telegram_user_id is not None
        typer.echo("\t".join([unit.name, unit.short_name, contact.name if contact else "",
                              t("cli.yes" if bound else "cli.no", lang)]))
    typer.echo(t("proposals_unit.cli_count", lang, count=len(rows)))


@app.command()
def invite(name: str = typer.Argument(..., help="The unit's name or short name")) -> None:
    """Issue a new invite link for the unit's contact; earlier links stop working."""
    from bot.cli import settings_or_exit, with_database
    from bot.cli.members import _bot_username

    settings = settings_or_exit()
    username = _bot_username(settings)

    async def work(db: Database) -> tuple[HandlingUnit, Member, str]:
        async with db.session() as session:
            unit = await units.by_name(session, name)
            contact, code = await units.invite_contact(session, unit, now=Clock().now(),
                                                       ttl_days=settings.invite_ttl_days)
            return unit, contact, code

    try:
        unit, contact, code = with_database(settings, work)
    except units.UnitNotFound:
        typer.echo(t("proposals_unit.cli_not_found", settings.locale, name=name), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{unit.name}\t{contact.name}\t{code}\t{invites.invite_link(username, code)}")
