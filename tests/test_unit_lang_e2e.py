"""A handling unit's contact switches its language like anyone the bot knows, and still gets no
member command."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core.i18n import t
from models import HandlingUnit, Member, Role
from tests.conftest import expect_reply

pytestmark = pytest.mark.one_database  # the chat path: SQL-neutral


async def test_a_units_contact_switches_to_english_and_keeps_the_unit_commands_only(emu, db, bot_app) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        unit = HandlingUnit(name="区住房和城乡建设局")
        session.add(unit)
        await session.flush()
        session.add(Member(name="张科长", role=Role.UNIT.value, unit_id=unit.id, telegram_user_id=3101, language="zh"))
    contact = emu.user(3101, "张科长")
    await expect_reply(contact, lambda: contact.send_text("/lang en"), t("onboarding.lang_set", "en"))
    async with db.session() as session:
        stored = (await session.exec(select(Member).where(Member.telegram_user_id == 3101))).one()
    assert stored.language == "en"
    help_text = await expect_reply(contact, lambda: contact.send_text("/help"), "/myunit")
    assert "/lang" in help_text["text"] and "/report" not in help_text["text"]
    await expect_reply(contact, lambda: contact.send_text("/report"), t("common.unit_commands_only", "en"))
