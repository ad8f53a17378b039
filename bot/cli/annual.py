"""`lvzhi annual --year 2025 [--json]`: the figures of the committee's annual work report."""

from __future__ import annotations

import json

import typer

from models.db import Database

app = typer.Typer(help="The year in review (年度履职数据).", invoke_without_command=True)


@app.callback()
def annual(
    year: int = typer.Option(None, "--year", help="Calendar year (default: this year)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text"),
    lang: str = typer.Option(None, "--lang", help="zh or en (default: LOCALE)"),
) -> None:
    """Print the year's figures as text (Chinese by default) or JSON."""
    from datetime import datetime

    from bot.cli import rules_or_exit, settings_or_exit, with_database, year_or_exit
    from bot.core.i18n import normalize
    from bot.services.annual import annual_figures, render_text

    settings = settings_or_exit()
    language = normalize(lang, settings.locale)
    wanted = year_or_exit(datetime.now(settings.tz).year if year is None else year, language)
    rules = rules_or_exit(settings, language)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await annual_figures(session, wanted, rules=rules, zone=settings.tz)

    figures = with_database(settings, work)
    if as_json:
        typer.echo(json.dumps(figures.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(figures, language, rules))
