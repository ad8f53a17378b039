"""The deployment files (deploy/, docs/deploy.md) start the bot the way the tests do: `lvzhi run`
(the same program as `python -m bot run`) with the settings of deploy/lvzhi.env.example and each
unit's LISTEN, which the settings accept as webhook mode; the proxy routes the webhook's path to
both units' ports by /readyz."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from bot.core.config import load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name)
    return parser


def environment(parser: configparser.ConfigParser) -> dict[str, str]:
    key, _, value = parser["Service"]["Environment"].partition("=")
    return {key: value}


def test_the_two_units_run_the_same_command_and_differ_only_in_their_port():
    a, b = unit("lvzhi-a.service"), unit("lvzhi-b.service")
    assert a["Service"]["ExecStart"].endswith("/bin/lvzhi run")
    pyproject = (DEPLOY.parent / "pyproject.toml").read_text()
    assert 'lvzhi = "bot.cli:main"' in pyproject  # `lvzhi` is `python -m bot` (bot/__main__.py)
    assert "from bot.cli import main" in (DEPLOY.parent / "bot" / "__main__.py").read_text()
    for section in ("Service", "Install"):
        same = {k: v for k, v in a[section].items() if k != "Environment"}
        assert same == {k: v for k, v in b[section].items() if k != "Environment"}
    assert environment(a) == {"LISTEN": "127.0.0.1:8443"} and environment(b) == {"LISTEN": "127.0.0.1:8444"}
    assert a["Service"]["EnvironmentFile"] == "/etc/lvzhi/lvzhi.env"
    assert a["Service"]["KillSignal"] == "SIGTERM"


@pytest.mark.parametrize("name", ["lvzhi-a.service", "lvzhi-b.service"])
def test_the_shipped_settings_with_each_units_port_are_webhook_mode_on_postgresql(name):
    own = {key.lower(): value for key, value in environment(unit(name)).items()}  # the unit's LISTEN
    settings = load_settings(_env_file=DEPLOY / "lvzhi.env.example", **own)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.webhook_url.startswith("https://") and settings.webhook_path == "/telegram"
    assert settings.listen_address in (("127.0.0.1", 8443), ("127.0.0.1", 8444))
    assert settings.log_format == "json"


def test_the_proxy_sends_the_webhook_path_to_both_ports_by_readyz():
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "handle /telegram {" in caddy
    proxied = re.search(r"reverse_proxy ([^{]+)\{", caddy)
    assert proxied is not None and proxied.group(1).split() == ["127.0.0.1:8443", "127.0.0.1:8444"]
    assert re.search(r"health_uri /readyz\b", caddy) and re.search(r"health_status 200\b", caddy)


def test_the_backup_dumps_in_custom_format_and_keeps_30_days():
    script = (DEPLOY / "backup.sh").read_text()
    assert "pg_dump --format=custom" in script and "-mtime +30 -delete" in script
    assert unit("lvzhi-backup.service")["Service"]["ExecStart"].endswith("backup.sh")
    assert unit("lvzhi-backup.timer")["Timer"]["OnCalendar"]
