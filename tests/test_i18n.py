"""The catalogues: both languages carry every key with the same placeholders."""

from __future__ import annotations

import string

from bot.core.i18n import catalogue, normalize, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_zh_and_en_have_the_same_keys_and_placeholders():
    zh, en = catalogue("zh"), catalogue("en")
    assert sorted(set(zh) ^ set(en)) == []
    mismatched = [key for key in zh if _fields(zh[key]) != _fields(en[key])]
    assert mismatched == []


def test_lookup_formats_and_falls_back():
    assert t("onboarding.welcome", "zh", name="苏建华").startswith("苏建华委员")
    assert t("onboarding.welcome", "en", name="Su").startswith("Welcome, Su")
    assert normalize("zh-hans") == "zh" and normalize("en-GB") == "en" and normalize("de") == "zh"
    assert t("no.such.key", "en") == "no.such.key"
