"""/digest through the Bot API emulator: the secretariat chooses 上周 or 本周至今 and gets text, one
chart per subject and the workbook; a member and a stranger are refused; a bad week gets a
polite answer; weeks read 第48周（11月23日—29日）, and 批示 is counted."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.core.clock import to_db
from bot.core.i18n import t
from bot.services.digest import IsoWeek, digest_week_for, week_label
from models import ActivityReport
from tests.conftest import add_member

# the /digest dialog; the digest's figures run on both databases in test_digest.py: SQLite only (tests/conftest.py)
pytestmark = pytest.mark.one_database


def _report(member_id: int, day, submitted: datetime) -> ActivityReport:  # type: ignore[no-untyped-def]
    return ActivityReport(
        member_id=member_id, type_code="study", activity_date=day, description="参加学习会并做笔记",
        status="confirmed", points=1, submitted_at=to_db(submitted),
    )


async def test_secretariat_chooses_last_week_or_this_week_so_far(emu, bot_app, db) -> None:
    deps = bot_app.bot_data["deps"]
    zone = deps.settings.tz
    now = deps.clock.now()
    this_week, last_week = IsoWeek.containing(now, zone), digest_week_for(now, zone)
    member = await add_member(db, "苏建华", telegram_user_id=2001)
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=2005)
    last_start, _ = last_week.bounds(zone)
    async with db.session() as session:
        session.add(_report(member.id, last_start.astimezone(zone).date(), last_start + timedelta(hours=1)))
        session.add(_report(member.id, now.astimezone(zone).date(), now - timedelta(minutes=1)))
    staff = emu.user(2005, "晓燕")
    staff.send_text("/digest")
    await emu.wait_for(lambda: any(t("digest.choose_week", "zh") in x for x in staff.texts()), what="choice")
    last_label = t("digest.btn_last_week", "zh", week=week_label(last_week, "zh"))
    this_label = t("digest.btn_this_week", "zh", week=week_label(this_week, "zh"))
    assert last_label.startswith("上周 · 第") and this_label.startswith("本周至今 · 第")

    staff.press_button(this_label)
    title = f"📊 履职周报 · 本周至今 · {week_label(this_week, 'zh')}，截至"
    await emu.wait_for(lambda: any("document" in m for m in staff.messages()), what="this week's workbook")
    messages = staff.messages()
    text = next(m["text"] for m in messages if m.get("text", "").startswith(title))
    assert t("digest.row", "zh", label="学习培训、专题讲座", submitted=1, confirmed=1, trend="持平") in text
    photos = [m for m in messages if "photo" in m]
    assert [p["caption"].rsplit(" · ", 1)[1] for p in photos] == ["履职报告（按类型）", "履职报告（按专委会）", "社情民意"]
    for photo in photos:
        image = Image.open(io.BytesIO(emu.files[photo["photo"][-1]["file_id"]]))
        assert image.format == "PNG" and image.width == 800  # sharp at a phone's 400 px
    document = next(m for m in messages if "document" in m)
    assert document["document"]["file_name"] == f"履职周报-{this_week.year}年第{this_week.week}周.xlsx"
    book = load_workbook(io.BytesIO(emu.files[document["document"]["file_id"]]))
    assert book.sheetnames == ["本周履职报告", "本周社情民意", "本年度各委员合计"]
    assert book["本周履职报告"].max_row == 2

    before = len(staff.messages())
    staff.press_button(last_label, messages[0])
    last_title = f"📊 履职周报 · {week_label(last_week, 'zh')}"
    await emu.wait_for(lambda: sum("document" in m for m in staff.messages()) == 2, what="last week's workbook")
    assert any(m.get("text", "").startswith(last_title + "\n") for m in staff.messages()[before:])

    staff.send_text("/digest 2025-W47")  # the command line form still works
    await emu.wait_for(lambda: any(x.startswith("📊 履职周报 · 2025年第47周（11月17日—23日）") or
                                   x.startswith("📊 履职周报 · 第47周（11月17日—23日）") for x in staff.texts()),
                       10, what="2025-W47")  # fmt: skip
    staff.send_text("/digest 下周")
    await emu.wait_for(lambda: t("digest.bad_week", "zh", text="下周") in staff.texts(), what="bad week")
    future = IsoWeek.containing(datetime.now(UTC), zone).next()
    staff.send_text(f"/digest {future}")
    answer = t("digest.future_week", "zh", week=week_label(future, "zh"))
    await emu.wait_for(lambda: answer in staff.texts(), what="future week")


async def test_a_forged_week_press_is_refused_and_a_member_cannot_press(emu, bot_app, db) -> None:
    await add_member(db, "苏建华", telegram_user_id=2001)
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=2005)
    staff = emu.user(2005, "晓燕")
    staff.send_text("/digest")
    await emu.wait_for(lambda: any(t("digest.choose_week", "zh") in x for x in staff.texts()), what="choice")
    staff.press("dg:w:0001-W99")
    await emu.wait_for(lambda: bool(emu.calls_of("answerCallbackQuery")), what="the press answered")
    assert emu.calls_of("answerCallbackQuery")[-1].params.get("text") == t("common.stale_button", "zh")
    member = emu.user(2001, "建华")
    member.send_text("/help")
    await emu.wait_for(lambda: bool(member.texts()), what="help")
    member.press("dg:w:2025-W47", member.messages()[0])
    await emu.wait_for(lambda: len(emu.calls_of("answerCallbackQuery")) == 2, what="the member's press")
    assert emu.calls_of("answerCallbackQuery")[-1].params.get("text") == t("common.not_allowed", "zh")
    assert emu.calls_of("sendPhoto") == [] and emu.calls_of("sendDocument") == []


async def test_member_and_stranger_are_refused(emu, bot_app, db) -> None:
    await add_member(db, "苏建华", telegram_user_id=2001)
    member = emu.user(2001, "建华")
    member.send_text("/digest")
    await emu.wait_for(lambda: t("common.not_allowed", "zh") in member.texts(), what="refusal")
    stranger = emu.user(2999, "路人")
    stranger.send_text("/digest")
    await emu.wait_for(lambda: t("onboarding.stranger", "zh") in stranger.texts(), what="stranger")
    assert emu.calls_of("sendPhoto") == [] and emu.calls_of("sendDocument") == []


def test_weeks_read_as_people_say_them() -> None:
    assert week_label(IsoWeek(2026, 48), "zh") == "第48周（11月23日—29日）"
    assert week_label(IsoWeek(2026, 49), "zh") == "第49周（11月30日—12月6日）"
    assert week_label(IsoWeek(2026, 53), "zh") == "第53周（2026年12月28日—2027年1月3日）"
    assert week_label(IsoWeek(2025, 47), "zh", this_year=2026) == "2025年第47周（11月17日—23日）"
    assert week_label(IsoWeek(2026, 48), "en") == "week 48 (11/23–29)"
    assert IsoWeek.parse("2026-W48") == IsoWeek(2026, 48)  # the command line still takes ISO weeks
