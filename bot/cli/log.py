"""`lvzhi log add|list`: the committee's own work log (向区委请示报告, 接待来访调研考察, 出版/编纂,
宣传简讯 and whether it was reprinted), kinds from the rules file; the annual report sums it."""

from __future__ import annotations

import typer

from bot.core.clock import Clock
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services import worklog
from models.db import Database

app = typer.Typer(help="The committee's work log (工作记录) for the annual report.", no_args_is_help=True)


@app.command()
def add(
    kind: str = typer.Option(..., "--kind", help="A [[log]] kind of the rules file: 请示报告, 接待考察, 出版编纂, 宣传简讯"),
    day: str = typer.Option(..., "--date", help="The day it happened: 2026-03-02, 昨天, 3月2日"),
    count: int = typer.Option(1, "--count", help="How many (e.g. 3 批次 on one day)"),
    note: str = typer.Option("", "--note", help="What it was (a title, a delegation)"),
    marked: bool = typer.Option(False, "--marked", help="The kind's mark applies (a 简讯: 被转载)"),
) -> None:
    """Record one entry."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        now = Clock().now()
        entry = worklog.LogEntryIn(
            kind=worklog.kind_code(kind, rules.review),
            on_date=worklog.parse_log_day(day, now=now, zone=settings.tz),
            count=worklog.parse_count(count),
            note=worklog.check_note(note),
            marked=marked,
        )
        async with db.session() as session:
            return await worklog.add_entry(session, entry, review=rules.review, now=now, zone=settings.tz)

    try:
        row = with_database(settings, work)
    except Refusal as exc:
        typer.echo(exc.text(lang), err=True)
        raise typer.Exit(2 if exc.code in ("bad_date", "bad_count") else 1) from None
    entry_kind = rules.review.log_kinds[row.kind]
    mark = t("worklog.cli.with_mark", lang, mark=entry_kind.mark(lang)) if row.marked else ""
    typer.echo(t("worklog.cli.added", lang, id=row.id, kind=entry_kind.label(lang), day=row.on_date.isoformat(),
                 count=row.count, unit=entry_kind.unit(lang), mark=mark))  # fmt: skip


@app.command("list")
def list_(year: int = typer.Option(None, "--year", help="Calendar year (default: this year)")) -> None:
    """The entries of a year, with a total per kind."""
    from datetime import date

    from bot.cli import rules_or_exit, settings_or_exit, with_database, year_or_exit

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    wanted = year_or_exit(Clock().now().astimezone(settings.tz).year if year is None else year, lang)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await worklog.entries(session, first_day=date(wanted, 1, 1), end_day=date(wanted + 1, 1, 1))

    rows = with_database(settings, work)
    totals: dict[str, list[int]] = {}
    for row in rows:
        kind = rules.review.log_kinds.get(row.kind)
        label = kind.label(lang) if kind else row.kind
        mark = kind.mark(lang) if kind and row.marked else ""
        typer.echo(t("worklog.cli.row", lang, id=row.id, day=row.on_date.isoformat(), kind=label, count=row.count,
                     note=row.note, mark=mark))  # fmt: skip
        total = totals.setdefault(row.kind, [0, 0])
        total[0] += row.count
        total[1] += row.count if row.marked else 0
    for code, (n, marked) in totals.items():
        kind = rules.review.log_kinds.get(code)
        label, unit = (kind.label(lang), kind.unit(lang)) if kind else (code, "")
        extra = t("worklog.cli.total_marked", lang, n=marked, mark=kind.mark(lang)) if kind and kind.mark_zh else ""
        typer.echo(t("worklog.cli.total", lang, kind=label, n=n, unit=unit, marked=extra))
    typer.echo(t("worklog.cli.count", lang, count=len(rows), year=wanted))
