"""Message catalogues (zh first, en second): every word a user sees comes from here.

Catalogues live in `bot/core/locales/<lang>/<feature>.toml`; a key is `<feature>.<name>`
(nested tables add more dots). Each feature owns its own file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from bot.core.config import SUPPORTED_LOCALES

LOCALES_DIR = Path(__file__).with_name("locales")
DEFAULT = "zh"


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """All messages of one language, keyed `feature.name`."""
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(path.stem, tomllib.load(fh), out)
    return out


def supported(lang: str | None) -> str | None:
    """The supported language a member setting or a Telegram language_code names, if any."""
    lang = (lang or "").lower()
    for code in SUPPORTED_LOCALES:
        if lang == code or lang.startswith(code + "-") or lang.startswith(code + "_"):
            return code
    return None


def normalize(lang: str | None, default: str = DEFAULT) -> str:
    """A supported language code from a member setting or a Telegram language_code."""
    return supported(lang) or default


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """The message `key` in `lang`, formatted with `params`; falls back to Chinese, then the key."""
    lang = normalize(lang)
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key)
    if text is None:
        return key
    return text.format(**params) if params else text


def all_texts(key: str) -> list[str]:
    """The message in every language, e.g. to recognise a reply-keyboard button in either."""
    return [catalogue(lang)[key] for lang in SUPPORTED_LOCALES if key in catalogue(lang)]
