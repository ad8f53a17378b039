"""`lvzhi export members|activities|info|all --period 2025 --out FILE.xlsx`: the per-member annual
record for the year-end assessment and the year's rows, one sheet per subject, Chinese headers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.core.i18n import t
from models.db import Database

app = typer.Typer(help="Excel exports for the year-end assessment.", no_args_is_help=True)

# The options every export takes.
PeriodOption = Annotated[int, typer.Option("--period", help="Assessment year, e.g. 2025")]
OutOption = Annotated[Path, typer.Option("--out", help="The .xlsx file to write")]
LangOption = Annotated[str | None, typer.Option("--lang", help="zh or en")]


def _export(subjects: tuple[str, ...], period: int, out: Path, lang: str | None) -> None:
    from bot.cli import rules_or_exit, settings_or_exit, with_database, xlsx_out_or_exit, year_or_exit
    from bot.core.i18n import normalize
    from bot.services.exports import export

    settings = settings_or_exit()
    language = normalize(lang, settings.locale)
    year_or_exit(period, language)
    xlsx_out_or_exit(out, language)
    rules = rules_or_exit(settings, language)

    async def work(db: Database) -> dict[str, int]:
        async with db.session() as session:
            return await export(session, subjects, period, out, rules=rules, zone=settings.tz, lang=language)

    counts = with_database(settings, work)
    for subject, rows in counts.items():
        typer.echo(
            t(
                "digest.cli_exported",
                language,
                subject=t(f"digest.cli_subject_{subject}", language),
                rows=rows,
                path=str(out),
            )
        )


@app.command()
def members(period: PeriodOption, out: OutOption, lang: LangOption = None) -> None:
    """Per-member annual record: points by type, reports, 社情民意, attendance, pass / excellent."""
    _export(("members",), period, out, lang)


@app.command()
def activities(period: PeriodOption, out: OutOption, lang: LangOption = None) -> None:
    """Every activity report and attendance record of the year."""
    _export(("activities",), period, out, lang)


@app.command()
def info(period: PeriodOption, out: OutOption, lang: LangOption = None) -> None:
    """社情民意 submitted in the year and how far each went."""
    _export(("info",), period, out, lang)


@app.command("all")
def all_(period: PeriodOption, out: OutOption, lang: LangOption = None) -> None:
    """All three subjects in one workbook, one sheet each."""
    _export(("members", "activities", "info"), period, out, lang)
