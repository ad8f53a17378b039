"""`lvzhi digest [--week 2025-W47] [--send]`: the secretariat's weekly digest in the terminal, or
queued for the secretariat through the outbox (the running bot delivers it)."""

from __future__ import annotations

import typer

from bot.core.clock import Clock
from bot.core.i18n import t
from models.db import Database

app = typer.Typer(help="The secretariat's weekly digest (履职周报).", invoke_without_command=True)


@app.callback()
def digest(
    week: str = typer.Option(None, "--week", help="ISO week, e.g. 2025-W47 (default: last week)"),
    send: bool = typer.Option(False, "--send", help="Queue it for the secretariat (sent once per week)"),
    lang: str = typer.Option(None, "--lang", help="zh or en (default: LOCALE)"),
) -> None:
    """Print the digest of an ISO week; with --send also queue it for the secretariat."""
    from bot.cli import rules_or_exit, settings_or_exit, with_database
    from bot.core.i18n import normalize
    from bot.services.digest import IsoWeek, WeekError, build_digest, digest_week_for, render_text, week_label
    from bot.services.digest_send import queue_weekly_digest

    settings = settings_or_exit()
    language = normalize(lang, settings.locale)
    now = Clock().now()
    try:
        wanted = IsoWeek.parse(week) if week else digest_week_for(now, settings.tz)
    except WeekError:
        typer.echo(t("digest.bad_week", language, text=week), err=True)
        raise typer.Exit(2) from None
    rules = rules_or_exit(settings, language)

    async def work(db: Database) -> tuple[str, int | None]:
        async with db.session() as session:
            text = render_text(
                await build_digest(session, wanted, now=now, rules=rules, zone=settings.tz), language, rules
            )
        queued = await queue_weekly_digest(db, settings, rules, now=now, week=wanted) if send else None
        return text, queued

    text, queued = with_database(settings, work)
    typer.echo(text)
    if queued is not None:
        typer.echo(t("digest.cli_queued", language, n=queued, week=week_label(wanted, language)))
