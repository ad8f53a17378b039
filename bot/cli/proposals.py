"""`lvzhi proposals export --year 2026 --out FILE.xlsx [--lang en]`: the year's 提案汇编 (one row
per proposal), the history of every step and the handling units' figures, in one workbook."""

from __future__ import annotations

from pathlib import Path

import typer

from models.db import Database

app = typer.Typer(help="Proposals (提案): the year's workbook.", no_args_is_help=True)


@app.command()
def export(
    year: int = typer.Option(..., "--year", help="The year of submission, e.g. 2026"),
    out: Path = typer.Option(..., "--out", help="The .xlsx file to write"),
    lang: str = typer.Option(None, "--lang", help="zh or en (default: LOCALE)"),
) -> None:
    """提案汇编: proposers, category, number, state, units, dates, answer category, ratings; the
    history; per unit: assigned, answered, on time, satisfaction."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database, xlsx_out_or_exit, year_or_exit
    from bot.core.clock import Clock
    from bot.core.i18n import normalize, t
    from bot.services.proposal_export import Written, write_export

    settings = settings_or_exit()
    language = normalize(lang, settings.locale)
    year_or_exit(year, language)
    xlsx_out_or_exit(out, language)
    rules = rules_or_exit(settings, language)
    now = Clock().now()

    async def work(db: Database) -> Written:
        async with db.session() as session:
            return await write_export(session, year, out, rules=rules, zone=settings.tz, now=now, lang=language)

    written = with_database(settings, work)
    typer.echo(t("proposals_figures.xlsx.written", language, path=str(out), proposals=written.proposals,
                 steps=written.steps, units=written.units))  # fmt: skip
