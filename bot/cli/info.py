"""`lvzhi info`: 社情民意信息 for the secretariat's files (export to Excel)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from bot.core.i18n import t
from models.db import Database

app = typer.Typer(help="Social-condition information (社情民意信息).", no_args_is_help=True)


@app.command()
def export(
    year: int = typer.Option(None, "--year", help="Year of the tracking numbers (default: this year)"),
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write"),
) -> None:
    """Every item of a year with all its fields, and its full history, as an Excel workbook."""
    from bot.cli import settings_or_exit, with_database, year_or_exit
    from bot.services.exports import export_info_year

    settings = settings_or_exit()
    wanted = year_or_exit(datetime.now(settings.tz).year if year is None else year, settings.locale)

    async def work(db: Database) -> int:
        async with db.session() as session:
            return await export_info_year(session, wanted, out, zone=settings.tz, lang=settings.locale)

    count = with_database(settings, work)
    typer.echo(t("info.export.done", settings.locale, count=count, path=str(out)))
