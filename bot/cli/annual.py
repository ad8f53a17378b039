"""`lvzhi annual --year 2026 [--json] [--xlsx FILE]`: the committee's annual work report
(履职工作回眸) as the rules file's [[report.heading]] list defines it, heading by heading, then the
members' reports by type and by committee, then the proposals (提案: filed, answered, 办复率, on
time, ratings, key proposals, by category / committee / sector; `--json`: key "proposals", what
each figure counts is in bot.services.proposals.figures); `--xlsx` writes the rows behind every figure."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from models.db import Database

app = typer.Typer(help="The year in review (履职工作回眸).", invoke_without_command=True)


@app.callback()
def annual(
    year: int = typer.Option(None, "--year", help="Calendar year (default: this year)"),
    as_json: bool = typer.Option(False, "--json", help="Print every figure by heading key as JSON"),
    xlsx: Path = typer.Option(None, "--xlsx", help="Also write a workbook: one sheet per heading, the rows behind each number"),
    lang: str = typer.Option(None, "--lang", help="zh or en (default: LOCALE)"),
) -> None:
    """Print the report's headings as sentences (Chinese by default) or as JSON."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database, year_or_exit
    from bot.core.clock import Clock
    from bot.core.i18n import normalize, t
    from bot.services.annual import reports_breakdown
    from bot.services.proposals.figures import proposal_figures
    from bot.services.proposals.figures import render_text as proposals_text
    from bot.services.year_review import breakdown_text, render_text, write_workbook, year_review

    settings = settings_or_exit()
    language = normalize(lang, settings.locale)
    now = Clock().now()
    wanted = year_or_exit(now.astimezone(settings.tz).year if year is None else year, language)
    rules = rules_or_exit(settings, language)
    if not rules.review.headings:
        typer.echo(t("year_review.cli_no_headings", language), err=True)
        raise typer.Exit(2)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            review = await year_review(session, wanted, rules=rules, zone=settings.tz, now=now)
            figures = await reports_breakdown(session, wanted, zone=settings.tz)
            proposals = await proposal_figures(session, wanted, zone=settings.tz)
            rows = None
            if xlsx is not None:
                rows = await write_workbook(session, review, xlsx, rules=rules, zone=settings.tz, lang=language, now=now)
            return review, figures, proposals, rows

    review, figures, proposals, rows = with_database(settings, work)
    if as_json:
        data = review.as_dict(language)
        data["breakdown"] = figures.as_dict()
        data["proposals"] = proposals.as_dict()
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(review, language))
        typer.echo("")
        typer.echo(breakdown_text(figures, rules, language))
        typer.echo("")
        typer.echo(proposals_text(proposals, language))
    if rows is not None:
        typer.echo(t("year_review.cli_written", language, path=str(xlsx), sheets=len(rows), rows=sum(rows.values())),
                   err=as_json)  # fmt: skip
