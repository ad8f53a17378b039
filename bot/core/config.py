"""Settings from the environment and `.env`, validated once at start-up.

A bad value stops the program with one line naming the setting (see `load_settings`).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.schedule import parse_days, parse_digest_time, parse_quiet_hours

SUPPORTED_LOCALES = ("zh", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Numbers beyond these are typos: an invite link valid for more than a year, a dialog kept open for
# more than a day (beyond them, dates overflow or timers cannot be set).
UPPER_BOUNDS = {
    "invite_ttl_days": 365,
    "dialog_timeout_minutes": 24 * 60,
    "proposal_cosign_hours": 30 * 24,
    "proposal_object_days": 90,
    "proposal_answer_days": 365,
    "proposal_max_days": 365,
    "proposal_rework_days": 365,
}
MIN_OUTBOX_RETENTION_DAYS = 14
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token
LOG_FORMATS = ("text", "json")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # plain http is fine only on this machine (tests)


class ConfigError(Exception):
    """A setting has a bad value; the message names the setting and the reason."""


class Settings(BaseSettings):
    """Every setting of the bot; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = ""
    bot_username: str = ""
    database_url: str = "sqlite:///lvzhi.db"
    timezone: str = "Asia/Shanghai"
    locale: str = "zh"
    secretariat_chat_id: int | None = None
    invite_ttl_days: int = 30
    # 提案: how long co-proposers have to answer, how long a unit may object to its assignment,
    # the answer deadline from 交办, the latest an extension may reach (days from 交办), and the
    # new answer deadline of a 重办 (days from the 重办).
    proposal_cosign_hours: int = 72
    proposal_object_days: int = 10
    proposal_answer_days: int = 90
    proposal_max_days: int = 180
    proposal_rework_days: int = 30
    rules_file: str = ""
    dialog_timeout_minutes: int = 30
    quiet_hours: str = "21:00-08:00"
    deadline_remind_days: str = "7,3,1"
    deadline_remind_time: str = "09:00"
    holidays_file: str = ""
    digest_time: str = "MON 09:00"
    sandbox_port: int = 8080
    data_dir: str = ""
    log_level: str = "INFO"
    outbox_retention_days: int = 90
    log_format: str = "text"
    # Webhook mode (empty URL: long polling). The order matters: each check reads the ones before it.
    webhook_url: str = ""
    webhook_secret: str = ""
    listen: str = ""

    @field_validator("secretariat_chat_id", mode="before")
    @classmethod
    def _empty_chat_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("telegram_api_base_url", "telegram_api_file_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError(f"not an http(s) URL: {value!r}")
        if value and "://" in value and not value.split("://", 1)[1].strip("/"):
            raise ValueError(f"URL has no host: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"unknown locale {value!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not (value.startswith("sqlite") or value.startswith("postgresql")):
            raise ValueError(f"unsupported database URL {value!r}; use sqlite:///… or postgresql+psycopg://…")
        return value

    @field_validator(
        "invite_ttl_days",
        "dialog_timeout_minutes",
        "proposal_cosign_hours",
        "proposal_object_days",
        "proposal_answer_days",
        "proposal_max_days",
        "proposal_rework_days",
    )
    @classmethod
    def _positive(cls, value: int, info: ValidationInfo) -> int:
        if value <= 0:
            raise ValueError("must be a positive number")
        highest = UPPER_BOUNDS[info.field_name or ""]
        if value > highest:
            raise ValueError(f"at most {highest}, not {value}")
        return value

    @field_validator("outbox_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        # a sent row's dedupe key keeps it from being queued again (the weekly digest looks back a week)
        if value < MIN_OUTBOX_RETENTION_DAYS:
            raise ValueError(f"must be at least {MIN_OUTBOX_RETENTION_DAYS} days")
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        parse_digest_time(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("holidays_file")
    @classmethod
    def _holidays_file(cls, value: str) -> str:
        from bot.core.holidays import HolidayFileError, load_calendar

        try:
            load_calendar(value)  # a missing or broken file stops the start, not a reminder later
        except HolidayFileError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("deadline_remind_time")
    @classmethod
    def _remind_time(cls, value: str) -> str:
        from bot.core.dates import read_clock

        if read_clock(value) is None:
            raise ValueError(f"expected HH:MM, not {value!r}")
        return value

    @field_validator("deadline_remind_days")
    @classmethod
    def _remind_days(cls, value: str) -> str:
        parse_days(value)  # the parse the reminder policy uses, so what passes here works there
        return value

    @field_validator("secretariat_chat_id")
    @classmethod
    def _chat_id(cls, value: int | None) -> int | None:
        # Telegram chat ids have at most 52 significant bits (and are never 0).
        if value is not None and not 0 < abs(value) < 2**52:
            raise ValueError(f"not a Telegram chat id: {value}")
        return value

    @field_validator("sandbox_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(f"expected a port from 0 to 65535, not {value}")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"expected {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}, not {value[:20]!r}")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in LOG_FORMATS:
            raise ValueError(f"expected text or json, not {value[:20]!r}")
        return value.lower()

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        if not value:
            return value
        scheme, _, rest = value.partition("://")
        host = rest.split("/", 1)[0].rsplit(":", 1)[0] if rest else ""
        if scheme == "http" and host in LOOPBACK_HOSTS:
            return value
        if scheme != "https" or not host:
            raise ValueError(f"expected the public https:// URL Telegram posts to, not {value[:60]!r}")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str, info: ValidationInfo) -> str:
        if value and not WEBHOOK_SECRET.fullmatch(value):
            raise ValueError("1 to 256 characters, each A-Z, a-z, 0-9, _ or -")
        if info.data.get("webhook_url") and not value:
            raise ValueError("required with WEBHOOK_URL (1 to 256 characters, each A-Z, a-z, 0-9, _ or -)")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            if info.data.get("webhook_url"):
                raise ValueError("required with WEBHOOK_URL: host:port the webhook listens on, e.g. 127.0.0.1:8443")
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"expected host:port, e.g. 127.0.0.1:8443, not {value[:40]!r}")
        return value

    @model_validator(mode="after")
    def _derive_file_url(self) -> Settings:
        if not self.telegram_api_file_url:
            base = self.telegram_api_base_url.rstrip("/")
            head, _, tail = base.rpartition("/")
            self.telegram_api_file_url = f"{head}/file/{tail}" if tail == "bot" else f"{base}/file/bot"
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def listen_address(self) -> tuple[str, int] | None:
        """LISTEN as (host, port); None: no HTTP server."""
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the webhook is served (the proxy passes it on as it is)."""
        rest = self.webhook_url.partition("://")[2]
        path = "/" + rest.partition("/")[2] if "/" in rest else "/"
        return path.split("?", 1)[0]

    @property
    def rules_path(self) -> Path:
        return Path(self.rules_file) if self.rules_file else Path(__file__).with_name("rules.default.toml")


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with a one-line, setting-named reason on a bad value."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        reason = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {reason}") from None
