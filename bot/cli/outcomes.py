"""`lvzhi events outcome|document|instruction`: what an event produced, for the annual report —
named quantities (建议=15, 走访=30), tags, organiser and invited leaders, output documents
(协商报告 / 调研报告) and the 批示 one received. Registered under `lvzhi events` (bot/cli/events.py)."""

from __future__ import annotations

from typing import NoReturn

import typer

from bot.core.clock import Clock
from bot.core.dates import parse_activity_date, today_in
from bot.core.i18n import t
from bot.core.refusals import Refusal
from bot.services import outcomes
from models.db import Database


def _fail(exc: Refusal, lang: str) -> NoReturn:
    typer.echo(exc.text(lang), err=True)
    raise typer.Exit(1) from None


def _day_or_exit(text: str, settings, lang: str):  # type: ignore[no-untyped-def]
    """A day that took place, as typed (2026-05-01, 昨天, 5月1日); one line and exit 2 otherwise."""
    answer = parse_activity_date(text, today=today_in(Clock().now(), settings.tz))
    if answer.day is None or not answer.ok:
        typer.echo(t("outcomes.cli.bad_day", lang, text=text[:20]), err=True)
        raise typer.Exit(2)
    return answer.day


def outcome(
    event_id: int = typer.Argument(0, help="Event number (see `lvzhi events list --all`)"),
    quantity: list[str] = typer.Option(
        [], "--quantity", "-q", help="A named quantity of the rules file, e.g. 建议=15, 走访=30 (0 removes it); repeatable"
    ),
    report: int = typer.Option(0, "--report", help="A member's own report instead of an event (quantities only)"),
    tags: str | None = typer.Option(None, "--tags", help="Replace the tags, e.g. 调研协商,轮值协商"),
    organiser: str | None = typer.Option(None, "--organiser", help="机关 | 党组 | 主席会议 | a committee's name"),
    guests: str | None = typer.Option(None, "--guests", help="Replace the leaders invited: 张某（区委书记）、李某"),
) -> None:
    """Record what an event produced (or a member's report's quantity) and show all that is recorded."""
    from bot.cli import row_id_or_exit, rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    if bool(event_id) == bool(report):
        typer.echo(t("outcomes.cli.event_or_report", lang), err=True)
        raise typer.Exit(2)
    row_id_or_exit(event_id or report, lang)
    if report and (tags is not None or organiser is not None or guests is not None):
        typer.echo(t("outcomes.cli.report_quantities_only", lang), err=True)
        raise typer.Exit(2)

    async def work(db: Database) -> list[str]:
        now = Clock().now()
        amounts = outcomes.parse_quantities(quantity, rules.review)
        async with db.session() as session:
            if report:
                for code, amount in amounts.items():
                    await outcomes.set_quantity(session, code=code, amount=amount, rules=rules, now=now,
                                                report_id=report)  # fmt: skip
                return [t("outcomes.cli.report_done", lang, id=report, count=len(amounts))]
            event = await outcomes.event_outcomes(session, event_id)
            await outcomes.set_details(
                session,
                event.event,
                tags=outcomes.parse_tags(tags, rules.review) if tags is not None else None,
                organiser=await outcomes.parse_organiser(session, organiser, rules.review) if organiser is not None else None,
                guests=outcomes.split_names(guests) if guests is not None else None,
            )
            for code, amount in amounts.items():
                await outcomes.set_quantity(session, code=code, amount=amount, rules=rules, now=now, event_id=event_id)
            recorded = await outcomes.event_outcomes(session, event_id)
            lines = outcomes.describe_outcomes(recorded, rules.review, lang)
            head = t("outcomes.cli.event_head", lang, id=event_id, title=recorded.event.title)
            return [head, *(lines or [t("outcomes.cli.nothing_yet", lang)])]

    try:
        lines = with_database(settings, work)
    except Refusal as exc:
        _fail(exc, lang)
    typer.echo("\n".join(lines))


def document(
    kind: str = typer.Option(..., "--kind", help="A document kind of the rules file: 协商报告, 调研报告"),
    title: str = typer.Option(..., "--title", help="The document's title"),
    event_id: int = typer.Option(0, "--event", help="The event it came from (its day is the document's day)"),
    day: str = typer.Option("", "--date", help="Its day when it is no event's (default: the event's day, or today)"),
) -> None:
    """Record an output document (协商报告, 调研报告); prints its number for a later 批示."""
    from bot.cli import row_id_or_exit, rules_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    rules = rules_or_exit(settings)
    if event_id:
        row_id_or_exit(event_id, lang)
    on_date = _day_or_exit(day, settings, lang) if day else None

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await outcomes.add_document(session, kind=kind, title=title, rules=rules, now=Clock().now(),
                                               zone=settings.tz, event_id=event_id or None, on_date=on_date)  # fmt: skip

    try:
        doc = with_database(settings, work)
    except Refusal as exc:
        _fail(exc, lang)
    label = rules.review.documents[doc.kind].label(lang)
    typer.echo(t("outcomes.cli.document_done", lang, id=doc.id, kind=label, title=doc.title, day=doc.on_date.isoformat()))


def instruction(
    document_id: int = typer.Argument(..., help="Document number (printed by `lvzhi events document`)"),
    by: str = typer.Option(..., "--by", help="Who gave the 批示, e.g. 区委书记张某"),
    day: str = typer.Option("", "--date", help="When (default: today)"),
) -> None:
    """Record the 批示 a document received (by whom, when)."""
    from bot.cli import row_id_or_exit, settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale
    row_id_or_exit(document_id, lang)
    on_date = _day_or_exit(day, settings, lang) if day else today_in(Clock().now(), settings.tz)

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await outcomes.record_instruction(session, document_id=document_id, by=by, on_date=on_date)

    try:
        doc = with_database(settings, work)
    except Refusal as exc:
        _fail(exc, lang)
    typer.echo(t("outcomes.cli.instruction_done", lang, id=doc.id, title=doc.title, by=doc.instruction_by,
                 day=on_date.isoformat()))  # fmt: skip
