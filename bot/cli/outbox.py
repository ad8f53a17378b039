"""`lvzhi outbox failed`: the messages the bot could not deliver, or may not have delivered, in
plain words (who, what kind, when, why) — without the messages themselves or phone numbers."""

from __future__ import annotations

import typer

from bot.core.clock import local
from bot.core.i18n import t
from bot.services.undelivered import undelivered
from models.db import Database

app = typer.Typer(help="Messages the bot sends on its own (notices, reminders, digests).", no_args_is_help=True)


@app.command()
def failed() -> None:
    """Messages that could not be delivered, or may not have been (no answer from Telegram)."""
    from bot.cli import settings_or_exit, with_database

    settings = settings_or_exit()
    lang = settings.locale

    async def work(db: Database):  # type: ignore[no-untyped-def]
        async with db.session() as session:
            return await undelivered(session)

    rows = with_database(settings, work)
    if not rows:
        typer.echo(t("outbox.failed_none", lang, days=settings.outbox_retention_days))
        return
    typer.echo(t("outbox.failed_header", lang, count=len(rows), days=settings.outbox_retention_days))
    for row in rows:
        typer.echo(
            t(
                f"outbox.line_{row.status}",
                lang,
                id=row.row_id,
                when=local(row.at, settings.tz).strftime("%Y-%m-%d %H:%M"),
                who=row.member or t("outbox.not_a_member", lang),
                what=t(f"outbox.what.{row.what}", lang),
                why=t(f"outbox.why.{row.why}", lang),
            )
        )
