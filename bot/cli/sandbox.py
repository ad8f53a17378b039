"""`lvzhi sandbox`: try the whole bot in a browser, no Telegram token needed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from bot.core.config import ConfigError, load_settings
from bot.core.i18n import t

app = typer.Typer(
    help="Offline sandbox: the real bot and a chat page in the browser, no token needed.",
    invoke_without_command=True,
    subcommand_metavar="",  # no subcommands: `lvzhi sandbox` itself runs it
)


@app.callback()
def sandbox(
    ctx: typer.Context,
    port: int | None = typer.Option(
        None,
        "--port",
        min=0,
        max=65535,
        help="Port of the chat page (default: SANDBOX_PORT, 8080; 0 = any free port)",
    ),
    data_dir: Path = typer.Option(
        Path("lvzhi-sandbox"), "--data-dir", file_okay=False, help="Folder for the sandbox's own SQLite file"
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Keep the previous run's data instead of starting afresh"
    ),
) -> None:
    """Start the bot against the built-in Telegram emulator and serve the chat page."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.cli import setup_logging
    from bot.devtools.sandbox import PortBusy, serve

    try:
        # Only the page's port, language and log level come from the environment here;
        # the sandbox builds the bot's own settings (database, token) itself.
        base = load_settings(
            _env_file=None, database_url="sqlite://", telegram_api_base_url="http://127.0.0.1/bot"
        )
    except ConfigError as exc:
        typer.echo(t("cli.config_error", "zh", reason=str(exc)), err=True)
        raise typer.Exit(2) from None
    lang = base.locale
    setup_logging("WARNING" if base.log_level.upper() == "INFO" else base.log_level)
    # APScheduler reports every tick (INFO) and every overlapping dispatcher tick (WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    def started(sandbox) -> None:  # type: ignore[no-untyped-def]
        typer.echo(
            t(
                "sandbox.console_started",
                lang,
                url=sandbox.url,
                data=str(sandbox.data_dir / "sandbox.db"),
                keep=t("sandbox.console_kept" if sandbox.kept else "sandbox.console_fresh", lang),
            ),
        )

    try:
        asyncio.run(
            serve(
                port=base.sandbox_port if port is None else port,
                data_dir=data_dir,
                keep=keep,
                started=started,
            )
        )
    except KeyboardInterrupt:
        pass  # Ctrl-C before the signal handler was in place: still a normal stop
    except ConfigError as exc:  # e.g. TIMEZONE in the environment is not a zone
        typer.echo(t("cli.config_error", lang, reason=str(exc)), err=True)
        raise typer.Exit(2) from None
    except PortBusy as exc:
        typer.echo(
            t(
                "sandbox.console_port_busy",
                lang,
                port=port if port is not None else base.sandbox_port,
                reason=str(exc),
            ),
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(t("sandbox.console_stopped", lang))
