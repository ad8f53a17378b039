"""`lvzhi deadlines`: add and list assessment deadlines. Reminders are planned by the running
bot's sweep when their moment comes, only for members who do not meet the requirement yet."""

from __future__ import annotations

import typer

from bot.core.clock import Clock
from bot.core.dates import parse_day, today_in
from bot.core.i18n import t
from bot.services import deadlines as service
from models.db import Database

app = typer.Typer(help="Assessment deadlines and their reminders.", no_args_is_help=True)


@app.command()
def add(
    title: str = typer.Option(..., "--title"),
    due: str = typer.Option(..., "--due", help="Last day, YYYY-MM-DD (local)"),
    requirement: str = typer.Option(
        ..., "--requirement", help="info[:N] | points:N | activity:CODE[:N] (this assessment period)"
    ),
) -> None:
    """Add a deadline."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    due_on = parse_day(due, today=today_in(Clock().now(), settings.tz), ahead=True).day  # the one day parser
    if due_on is None:
        typer.echo(t("deadlines.error.bad_date", lang, text=due[:20]), err=True)
        raise typer.Exit(2)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await service.create_deadline(
                session,
                title=title,
                due_on=due_on,
                requirement=service.parse_requirement(requirement, rules),
                now=Clock().now(),
                zone=settings.tz,
            )

    try:
        deadline = with_database(settings, work)
    except service.DeadlineError as exc:
        typer.echo(exc.text(lang), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("deadlines.saved", lang, title=deadline.title, due=deadline.due_on.isoformat()))


@app.command("list")
def list_(all_: bool = typer.Option(False, "--all", help="Include past and cancelled deadlines")) -> None:
    """Deadlines with their requirement."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await service.list_deadlines(
                session, include_past=all_, now=Clock().now(), zone=settings.tz
            )

    rows = with_database(settings, work)
    typer.echo(t("deadlines.list_header", lang))
    for deadline in rows:
        typer.echo(
            f"#{deadline.id} "
            + t(
                "deadlines.list_item",
                lang,
                title=deadline.title,
                due=deadline.due_on.isoformat(),
                requirement=service.describe(deadline.requirement, rules, lang),
            )
        )
