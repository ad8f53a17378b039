"""Settings: defaults, derived file URL, one-line errors with exit code 2, the token explanation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.core.config import ConfigError, load_settings
from tests import launcher


def test_defaults_and_derived_file_url():
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///lvzhi.db"
    assert settings.timezone == "Asia/Shanghai" and settings.locale == "zh"
    assert settings.telegram_api_file_url == "https://api.telegram.org/file/bot"
    assert settings.invite_ttl_days == 30 and settings.secretariat_chat_id is None
    local = load_settings(_env_file=None, telegram_api_base_url="http://127.0.0.1:8081/bot")
    assert local.telegram_api_file_url == "http://127.0.0.1:8081/file/bot"


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("locale", "fr", "LOCALE: unknown locale 'fr'"),
    ("timezone", "Asia/Beijing", "TIMEZONE: unknown time zone"),
    ("telegram_api_base_url", "api.telegram.org", "TELEGRAM_API_BASE_URL: not an http(s) URL"),
    ("database_url", "mysql://x", "DATABASE_URL: unsupported database URL"),
    ("invite_ttl_days", 0, "INVITE_TTL_DAYS: must be a positive number"),
    ("digest_time", "someday 9", "DIGEST_TIME"),
    ("quiet_hours", "late", "QUIET_HOURS"),
    ("deadline_remind_days", "7,x", "DEADLINE_REMIND_DAYS: expected whole days"),
    ("deadline_remind_time", "9am", "DEADLINE_REMIND_TIME: expected HH:MM"),
    # numbers and lists are checked against the range the bot can use, not only their form
    ("deadline_remind_days", "7,400", "DEADLINE_REMIND_DAYS: at most 60 days"),
    ("deadline_remind_days", "10,9,8,7,6,5,4", "DEADLINE_REMIND_DAYS: at most 6 reminders"),
    ("invite_ttl_days", 100_000_000, "INVITE_TTL_DAYS: at most 365"),
    ("dialog_timeout_minutes", 10**12, "DIALOG_TIMEOUT_MINUTES: at most 1440"),
    ("dialog_timeout_minutes", -1, "DIALOG_TIMEOUT_MINUTES: must be a positive number"),
    ("secretariat_chat_id", 10**20, "SECRETARIAT_CHAT_ID: not a Telegram chat id"),
    ("secretariat_chat_id", 0, "SECRETARIAT_CHAT_ID: not a Telegram chat id"),
    ("sandbox_port", 70000, "SANDBOX_PORT: expected a port from 0 to 65535"),
    ("log_level", "LOUD", "LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR"),
    ("log_format", "xml", "LOG_FORMAT: expected text or json"),
    ("webhook_url", "http://bot.example.org/tg", "WEBHOOK_URL: expected the public https:// URL"),
    ("listen", "8443", "LISTEN: expected host:port"),
    ("listen", "127.0.0.1:99999", "LISTEN: expected host:port"),
])
def test_bad_values_name_the_setting(name, value, needle):
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **{name: value})
    assert needle in str(info.value) and "\n" not in str(info.value)


def _run(env: dict[str, str], tmp_path, *, fresh: bool = False) -> subprocess.CompletedProcess:
    """`lvzhi run` with `env`: a process forked from the tests' warm launcher (tests/launcher.py),
    or, `fresh`, `python -m bot run` in a new interpreter (the entry point itself)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LOCALE", "TIMEZONE"))}
    if not fresh:
        return launcher.run(["run"], env={**clean, **env}, cwd=tmp_path)
    return subprocess.run([sys.executable, "-m", "bot", "run"], env={**clean, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_run_without_token_explains_and_exits_2(tmp_path):
    result = _run({}, tmp_path, fresh=True)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_stops_with_one_line(tmp_path):
    result = _run({"TIMEZONE": "Mars/Olympus", "TELEGRAM_BOT_TOKEN": "1:x"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "TIMEZONE" in result.stderr


WEBHOOK = {"webhook_url": "https://bot.example.org/telegram", "listen": "127.0.0.1:8443"}


@pytest.mark.parametrize(("secret", "needle"), [
    ("", "WEBHOOK_SECRET: required with WEBHOOK_URL"),
    ("has space", "WEBHOOK_SECRET: 1 to 256 characters"),
    ("秘密", "WEBHOOK_SECRET: 1 to 256 characters"),
    ("x" * 257, "WEBHOOK_SECRET: 1 to 256 characters"),
])
def test_a_webhook_needs_a_secret_telegram_accepts(secret, needle):
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None, **WEBHOOK, webhook_secret=secret)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_webhook_needs_listen_and_a_good_one_is_taken():
    with pytest.raises(ConfigError, match="LISTEN: required with WEBHOOK_URL"):
        load_settings(_env_file=None, webhook_url=WEBHOOK["webhook_url"], webhook_secret="s3cret_-X")
    ok = load_settings(_env_file=None, **WEBHOOK, webhook_secret="A" * 256)
    assert ok.webhook_path == "/telegram" and ok.listen_address == ("127.0.0.1", 8443)
    assert load_settings(_env_file=None, listen="[::1]:9000").listen_address == ("::1", 9000)


def test_a_bad_webhook_secret_stops_run_with_one_line(tmp_path):
    result = _run({"TELEGRAM_BOT_TOKEN": "1:x", "WEBHOOK_URL": WEBHOOK["webhook_url"], "LISTEN": "127.0.0.1:0",
                   "WEBHOOK_SECRET": "not allowed!"}, tmp_path)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "WEBHOOK_SECRET" in result.stderr


def test_broken_rules_file_stops_with_file_and_line(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('[assessment]\npass_mark = 60\n\n[[activity]]\ncode = "study"\nzh = "学习"\n', encoding="utf-8")
    result = _run({"TELEGRAM_BOT_TOKEN": "1:x", "RULES_FILE": str(rules)}, tmp_path)
    assert result.returncode == 2
    assert f"{rules}:5: activity 'study' lacks points" in result.stderr


def test_env_file_in_working_folder_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("LOCALE=en\nINVITE_TTL_DAYS=7\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.locale == "en" and settings.invite_ttl_days == 7


def test_every_command_that_needs_the_rules_stops_cleanly_on_a_broken_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[assessment\n", encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LOCALE", "TIMEZONE"))}
    env = {**clean, "RULES_FILE": str(rules), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for args in (["deadlines", "list"], ["annual", "--year", "2025"]):
        result = launcher.run(args, env=env, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert f"{rules}:1:" in result.stderr and "Traceback" not in result.stderr


def test_every_activity_type_has_a_button_label_that_fits_a_phone():
    from pathlib import Path

    import pytest

    from bot.core.rules import SHORT_MAX, RulesError, load_rules, parse_rules

    rules = load_rules(Path(__file__).resolve().parents[1] / "bot" / "core" / "rules.default.toml")
    assert all(len(a.button("zh")) <= SHORT_MAX for a in rules.activities.values())
    service = rules.activities["service"]
    assert service.button("zh") == "进基层服务" and service.label("zh") == "进基层服务（送法律、送医疗、送文化等）"
    base = '[[activity]]\ncode = "study"\nzh = "学习培训、专题讲座"\npoints = 1\n'
    with pytest.raises(RulesError, match="zh_short"):  # a long name needs a short one for its buttons
        parse_rules(base)
    with pytest.raises(RulesError, match="zh_short"):
        parse_rules(base + 'zh_short = "学习培训和专题讲座"\n')
    assert parse_rules(base + 'zh_short = "学习培训"\n').activities["study"].button("zh") == "学习培训"


@pytest.mark.parametrize(
    "code", ["Study", "my study", "rep:edit", "1st", "_study", "学习", "study-tour", "a" * 33, "study\\n"]
)
def test_an_activity_code_a_button_could_not_carry_is_refused_with_its_line(code):
    """Button data is `prefix:action:ids`: a code with `:`, a space or capitals would break the
    type buttons, so the rules file is refused at the code's line."""
    from bot.core.rules import RulesError, parse_rules

    text = (
        '[[activity]]\ncode = "plenary"\nzh = "全会"\npoints = 1\n\n'
        f'[[activity]]\nzh = "学习"\ncode = "{code}"\npoints = 1\n'
    )
    with pytest.raises(RulesError, match=r"^rules\.toml:8: activity code .* lowercase letters"):
        parse_rules(text, "rules.toml")


def test_a_plain_activity_code_of_up_to_32_characters_is_taken():
    from bot.core.rules import parse_rules

    for code in ("a", "study", "visit_needy2", "a" + "b_9" * 10 + "c"):
        text = f'[[activity]]\ncode = "{code}"\nzh = "学习"\npoints = 1\n'
        assert list(parse_rules(text).activities) == [code]
