"""`lvzhi db`: schema migrations."""

from __future__ import annotations

import typer

from bot.core.i18n import t

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Bring the database schema to the newest version (other commands do this by themselves)."""
    from bot.cli import settings_or_exit
    from models.db import upgrade as do_upgrade

    settings = settings_or_exit()
    do_upgrade(settings.database_url)
    typer.echo(t("cli.db_upgraded", settings.locale))
