"""The `lvzhi` command line: run the bot, migrate, manage the roster (and each feature's commands)."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.dates import FIRST_YEAR, LAST_YEAR, year_in_range
from bot.core.i18n import t
from bot.core.rules import Rules, RulesError, load_rules
from models.base import MAX_ROW_ID
from models.db import Database, open_database

T = TypeVar("T")
C = TypeVar("C")  # what a file check returns

app = typer.Typer(help="履职助手 lvzhi — CPPCC duty assistant bot.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)

# Feature command groups: module path -> name under `lvzhi`. Each module has `app = typer.Typer()`.
SUBCOMMANDS: dict[str, str] = {
    "bot.cli.db": "db",
    "bot.cli.members": "members",
    "bot.cli.events": "events",
    "bot.cli.deadlines": "deadlines",
    "bot.cli.info": "info",
    "bot.cli.sandbox": "sandbox",
    "bot.cli.activities": "activities",
    "bot.cli.digest": "digest",
    "bot.cli.export": "export",
    "bot.cli.annual": "annual",
    "bot.cli.outbox": "outbox",
    "bot.cli.log": "log",
    "bot.cli.units": "units",
    "bot.cli.proposals": "proposals",
}


def settings_or_exit() -> Settings:
    """Settings, or one line naming the bad setting and exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        typer.echo(t("cli.config_error", "zh", reason=str(exc)), err=True)
        raise typer.Exit(2) from None


def rules_or_exit(settings: Settings, lang: str | None = None) -> Rules:
    """The point rules, or one line with file, line and reason and exit code 2."""
    try:
        return load_rules(settings.rules_path)
    except RulesError as exc:
        typer.echo(t("cli.rules_error", lang or settings.locale, reason=str(exc)), err=True)
        raise typer.Exit(2) from None


def row_id_or_exit(value: int, lang: str) -> int:
    """A row number given on the command line, or one line and exit code 2 when no row can have it."""
    if not 1 <= value <= MAX_ROW_ID:
        typer.echo(t("cli.bad_row_id", lang, value=str(value)[:24], max=MAX_ROW_ID), err=True)
        raise typer.Exit(2)
    return value


def year_or_exit(year: int, lang: str) -> int:
    """A year given on the command line, or one line and exit code 2 outside the supported years."""
    if not year_in_range(year):
        typer.echo(t("digest.cli_bad_year", lang, year=str(year)[:24], first=FIRST_YEAR, last=LAST_YEAR), err=True)
        raise typer.Exit(2)
    return year


def xlsx_out_or_exit(out: Path, lang: str) -> Path:
    """The workbook to write, or one line and exit code 2 when its name does not end in .xlsx."""
    if out.suffix.lower() != ".xlsx":
        typer.echo(t("digest.cli_bad_out", lang, path=str(out)), err=True)
        raise typer.Exit(2)
    return out


def checked_file_or_exit(
    file: Path, check: Callable[[list[list[str]]], C], unreadable_key: str, lang: str
) -> C:
    """`check` of the rows of a .csv or .xlsx file (bot.services.roster.read_table), or the reason
    the file cannot be read (catalogue `unreadable_key`) and exit code 1."""
    from bot.services.roster import RosterFileError, read_table

    try:
        return check(read_table(file))
    except RosterFileError as exc:
        typer.echo(t(unreadable_key, lang, reason=str(exc)), err=True)
        raise typer.Exit(1) from None


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate to head, open the database, run `work`, close."""

    async def main() -> T:
        db = await open_database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def setup_logging(level: str, fmt: str = "text") -> None:
    from bot.core.logs import configure

    configure(level, fmt)


@app.command()
def run() -> None:
    """Run the bot (long polling, or a webhook with WEBHOOK_URL) until SIGTERM or Ctrl-C; on
    PostgreSQL a second one waits as the standby."""
    settings = settings_or_exit()
    if not settings.telegram_bot_token:
        typer.echo(t("cli.no_token", settings.locale), err=True)
        raise typer.Exit(2)
    setup_logging(settings.log_level, settings.log_format)
    from bot.assemble import run as run_bot
    from bot.telegram.leader import AlreadyRunning
    from bot.telegram.runtime import LostLeadership

    rules_or_exit(settings)
    try:
        run_bot(settings)
    except AlreadyRunning as exc:
        typer.echo(t("cli.already_running", settings.locale, path=str(exc)), err=True)
        raise typer.Exit(2) from None
    except LostLeadership:
        typer.echo(t("cli.lost_leadership", settings.locale), err=True)
        raise typer.Exit(1) from None


for module_name, command_name in SUBCOMMANDS.items():
    app.add_typer(importlib.import_module(module_name).app, name=command_name)


def main() -> None:
    app(prog_name="lvzhi")


if __name__ == "__main__":
    main()
