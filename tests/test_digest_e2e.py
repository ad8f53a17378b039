"""/digest through the Bot API emulator: the secretariat gets text, chart and workbook; a member
and a stranger are refused; a bad week gets a polite answer."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from PIL import Image

from bot.clock import to_db
from bot.digest import IsoWeek, digest_week_for
from bot.i18n import t
from models import ActivityReport
from tests.conftest import add_member, expect_reply


def _workbook(week: str):  # type: ignore[no-untyped-def]
    """The digest's last message: the workbook of `week`."""
    return lambda m: m.get("document", {}).get("file_name") == f"履职周报-{week}.xlsx"


async def test_secretariat_gets_text_chart_and_workbook(emu, bot_app, db) -> None:
    deps = bot_app.bot_data["deps"]
    zone = deps.settings.tz
    week = digest_week_for(deps.clock.now(), zone)
    member = await add_member(db, "苏建华", telegram_user_id=2001)
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=2005)
    start, _ = week.bounds(zone)
    async with db.session() as session:
        session.add(
            ActivityReport(
                member_id=member.id,
                type_code="study",
                activity_date=start.astimezone(zone).date(),
                description="参加学习会并做笔记",
                status="confirmed",
                points=1,
                submitted_at=to_db(start + timedelta(hours=1)),
            )
        )
    staff = emu.user(2005, "晓燕")
    await expect_reply(staff, lambda: staff.send_text("/digest"), _workbook(str(week)))
    text, photo, document = staff.messages()
    assert text["text"].startswith(f"📊 履职周报 {week}")
    assert (
        t("digest.row", "zh", label="学习培训、专题讲座", submitted=1, confirmed=1, trend="↑1")
        in text["text"]
    )
    assert photo["caption"] == t("digest.caption_chart", "zh", week=str(week))
    png = emu.files[photo["photo"][-1]["file_id"]]
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert document["document"]["file_name"] == f"履职周报-{week}.xlsx"
    book = load_workbook(io.BytesIO(emu.files[document["document"]["file_id"]]))
    assert book.sheetnames == ["本周履职报告", "本周社情民意", "本年度各委员合计"]
    assert book["本周履职报告"].max_row == 2

    await expect_reply(staff, lambda: staff.send_text("/digest 2025-W47"), _workbook("2025-W47"))
    assert staff.messages()[3]["text"].startswith("📊 履职周报 2025-W47")
    bad_week = t("digest.bad_week", "zh", text="下周")
    answer = (await expect_reply(staff, lambda: staff.send_text("/digest 下周"), bad_week))["text"]
    assert answer == bad_week
    future = IsoWeek.containing(datetime.now(UTC), zone).next()
    future_week = t("digest.future_week", "zh", week=str(future))
    assert (await expect_reply(staff, lambda: staff.send_text(f"/digest {future}"), future_week))["text"] == future_week
    assert len(staff.messages()) == 8


async def test_member_and_stranger_are_refused(emu, bot_app, db) -> None:
    await add_member(db, "苏建华", telegram_user_id=2001)
    member = emu.user(2001, "建华")
    refusal = await expect_reply(member, lambda: member.send_text("/digest"), t("common.not_allowed", "zh"))
    assert refusal["text"] == t("common.not_allowed", "zh") and len(member.messages()) == 1
    stranger = emu.user(2999, "路人")
    refusal = await expect_reply(stranger, lambda: stranger.send_text("/digest"), t("onboarding.stranger", "zh"))
    assert refusal["text"] == t("onboarding.stranger", "zh")
    assert emu.calls_of("sendPhoto") == [] and emu.calls_of("sendDocument") == []
