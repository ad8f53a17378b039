"""`lvzhi activities record`: record a meeting's attendance for many members at once
("whoever organises, records").

    lvzhi activities record --type plenary --date 2025-01-08 --members all --leave leave.txt --absent absent.txt
    lvzhi activities record --type standing --date 2025-03-01 --members present.csv

A list file has one member per line (or a CSV whose first column, or a "name"/"姓名" column, holds
the names; "name/sector" where two share a name). `--members all` means every active member not
on leave or absent. Recording the same meeting again adds only what is new.
"""

from __future__ import annotations

import csv
from pathlib import Path

import typer

from bot.core.clock import Clock
from bot.core.dates import parse_activity_date, today_in
from bot.core.i18n import t
from bot.services import activities
from models.db import Database

app = typer.Typer(help="Duty activities: record meeting attendance.", no_args_is_help=True)


def read_names(path: Path) -> list[str]:
    """Names from a text or CSV file (UTF-8 with or without BOM, or GBK as Excel saves it)."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gbk"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("not UTF-8 or GBK text")
    if path.suffix.lower() != ".csv":
        return activities.split_names(text.replace(",", "\n"))
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(h) for h in ("name", "姓名") if h in header), None)
    body = rows[1:] if column is not None else rows
    column = column or 0
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]


@app.command("record")
def record(
    type_code: str = typer.Option(..., "--type", help="Activity type code from the rules, e.g. plenary"),
    day: str = typer.Option(..., "--date", help="Day of the meeting, e.g. 2025-01-08"),
    members_arg: str = typer.Option(..., "--members", help="File of members present, or 'all'"),
    leave: Path | None = typer.Option(
        None, "--leave", exists=True, dir_okay=False, help="File of members on leave"
    ),
    absent: Path | None = typer.Option(
        None, "--absent", exists=True, dir_okay=False, help="File of members absent without leave"
    ),
    title: str | None = typer.Option(None, "--title", help="Name of the meeting, shown in reports"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the lists and show the counts; record nothing"
    ),
) -> None:
    """Record attendance (present / leave / absent) of one meeting."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings, lang)
    activity = rules.activities.get(type_code)
    if activity is None:
        typer.echo(
            t("review.cli_unknown_type", lang, code=type_code, codes=", ".join(rules.activities)), err=True
        )
        raise typer.Exit(2)
    clock = Clock()
    meeting_day = parse_activity_date(day, today=today_in(clock.now(), settings.tz)).day  # the one day parser
    if meeting_day is None or meeting_day > today_in(clock.now(), settings.tz):
        typer.echo(t("review.cli_bad_date", lang, date=day), err=True)
        raise typer.Exit(2)

    lists: dict[str, list[str] | None] = {}
    sources: dict[str, str] = {}
    for status, source in (
        ("present", None if members_arg == "all" else Path(members_arg)),
        ("leave", leave),
        ("absent", absent),
    ):
        if source is None:
            lists[status] = None if status == "present" else []
            continue
        sources[status] = str(source)
        try:
            lists[status] = read_names(source)
        except (OSError, ValueError) as exc:
            typer.echo(t("review.cli_unreadable", lang, file=str(source), reason=str(exc)), err=True)
            raise typer.Exit(1) from None

    async def work(db: Database) -> tuple[activities.AttendancePlan, dict[str, int] | None]:
        async with db.session() as session:
            ids: dict[str, list[int] | None] = {}
            for status, names in lists.items():
                if names is None:
                    ids[status] = None
                    continue
                matched = await activities.match_names(session, names)
                if matched.unknown or matched.ambiguous:
                    typer.echo(
                        t(
                            "review.cli_names_problem",
                            lang,
                            file=sources.get(status, status),
                            unknown="、".join(matched.unknown) or "—",
                            ambiguous="、".join(matched.ambiguous) or "—",
                        ),
                        err=True,
                    )
                    raise typer.Exit(1)
                ids[status] = [matched.found[n] for n in names]
            everyone = await activities.active_member_ids(session)
            try:
                plan = activities.plan_attendance(
                    ids["present"], ids["leave"] or [], ids["absent"] or [], everyone
                )
            except activities.ReportError as exc:
                typer.echo(t("review.cli_listed_twice", lang, **exc.params), err=True)
                raise typer.Exit(1) from None
            if dry_run:
                return plan, None
            created = await activities.record_plan(
                session, plan, type_code=type_code, day=meeting_day, now=clock.now(), rules=rules, title=title
            )
            return plan, created

    plan, created = with_database(settings, work)
    typer.echo(
        t(
            "review.cli_plan",
            lang,
            type=activity.label(lang),
            date=meeting_day.isoformat(),
            present=len(plan.present),
            leave=len(plan.leave),
            absent=len(plan.absent),
        )
    )
    if created is None:
        typer.echo(t("review.cli_dry_run", lang))
        return
    typer.echo(
        t(
            "review.cli_recorded",
            lang,
            present=created["present"],
            leave=created["leave"],
            absent=created["absent"],
        )
    )
