"""/report end to end through the Bot API emulator: the whole dialog with photos, an album, an
image sent as a file and a refused file; typed dates; an over-long description; /cancel; the
timeout draft; /myreports; and a resume after SIGKILL of a bot subprocess mid-dialog."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.i18n import t
from bot.devtools.emulator import _make_png
from models import ActivityPhoto, ActivityReport, DialogState, ReportDraft
from tests.conftest import add_member, expect_reply, start_bot_process, until
from tests.conftest import inline_buttons as _buttons


@pytest.fixture
def bot_app(bot_app_both_ways):  # type: ignore[no-untyped-def]
    """These paths run by long polling and by webhook."""
    return bot_app_both_ways


NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
ROOT = Path(__file__).parents[1]


_PHOTOS = iter(range(1, 10_000))


def _photo() -> bytes:
    """A distinct picture each time (Telegram gives the same file the same unique id)."""
    return _make_png(next(_PHOTOS), 2)


async def _rows(db, model):
    async with db.session() as session:
        return list((await session.exec(select(model))).all())


async def _submit(user) -> None:  # type: ignore[no-untyped-def]
    await expect_reply(
        user, lambda: user.press_button(t("report.btn_submit", "zh")), t("report.after_submit", "zh")
    )


async def _to_date(user, label: str) -> None:  # type: ignore[no-untyped-def]
    """/report, then the type `label`: the date is asked."""
    msg = await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(user, lambda: user.press(_buttons(msg)[label]), t("report.ask_date", "zh"))


async def _member_at_the_date(emu, db, clock, user_id: int, name: str, first_name: str, label: str):  # type: ignore[no-untyped-def]
    """A member (`name`, bound to `user_id`) on the test's day, in /report with the type `label`: the
    date is asked; returns the member's emulated Telegram user."""
    clock.frozen = NOW
    await add_member(db, name, telegram_user_id=user_id)
    user = emu.user(user_id, first_name)
    await _to_date(user, label)
    return user


async def _start_to_photos(user, label="调研") -> None:
    msg = await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    assert t("report.ask_type", "zh") in msg["text"] and "第 1 步，共 4 步" in msg["text"]
    await expect_reply(user, lambda: user.press(_buttons(msg)[label]), t("report.ask_date", "zh"))
    assert t("report.ask_date", "zh") in user.last()["text"]
    await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")), "第 3 步")
    msg = await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
    assert msg["text"].startswith("第 4 步")


@pytest.mark.one_database
async def test_whole_dialog_with_photos_album_image_file_and_refused_file(emu, bot_app, db, clock):
    clock.frozen = NOW
    member = await add_member(db, "苏建华", telegram_user_id=4001)
    user = emu.user(4001, "建华")
    await _start_to_photos(user)

    received = t("report.photo_received", "zh", count=1, max=9)
    ack = await expect_reply(user, lambda: user.send_photo(_photo()), received)
    assert ack["text"] == received
    # an album of three: one counter message, edited as the parts arrive
    album_ack = await expect_reply(
        user,
        lambda: [user.send_photo(_photo(), media_group_id="g1") for _ in range(3)],
        "张照片（最多 9 张）",
    )
    await emu.wait_for(lambda: user.last()["text"] == t("report.photo_received", "zh", count=4, max=9))
    assert user.last()["message_id"] == album_ack["message_id"]  # no message per album part
    # an image sent as a file is accepted; a PDF is refused politely and not kept
    received = t("report.photo_received", "zh", count=5, max=9)
    await expect_reply(user, lambda: user.send_document(_photo(), "现场.png", "image/png"), received)
    assert user.last()["text"] == received
    refusal = await expect_reply(
        user,
        lambda: user.send_document(b"%PDF-1.4", "议程.pdf", "application/pdf"),
        t("report.wrong_file", "zh"),
    )
    assert refusal["text"].startswith(t("report.wrong_file", "zh"))
    # the photo step is asked again, and its hint names the button that is really there
    assert t("report.ask_photos_again", "zh", count=5, max=9) in refusal["text"]
    assert list(_buttons(refusal)) == [t("report.btn_photos_done", "zh"), t("report.btn_photos_clear", "zh")]

    card = await expect_reply(user, lambda: user.press_button(t("report.btn_photos_done", "zh")), "类型：")
    assert (
        "类型：调研" in card["text"]
        and "日期：11月4日（周二）" in card["text"]
        and "照片：5 张" in card["text"]
    )
    assert TEXT in card["text"]
    await _submit(user)
    (report,) = await _rows(db, ActivityReport)
    assert (report.member_id, report.type_code, report.activity_date, report.status) == (
        member.id,
        "research",
        date(2025, 11, 4),
        "pending",
    )
    assert report.description == TEXT and report.points == 3
    photos = sorted(await _rows(db, ActivityPhoto), key=lambda p: p.position)
    assert [p.kind for p in photos] == ["photo"] * 4 + ["document"]
    assert len({p.file_unique_id for p in photos}) == 5
    assert t("report.submitted_pending", "zh", id=report.id, points="3") in user.texts()
    # the dialog is over: the summary card's buttons are gone, a second press changes nothing
    user.press("rep:ok", card["message_id"])
    await emu.wait_for(
        lambda: (
            len(emu.callback_answers) >= 1 and any(a.get("show_alert") for a in emu.callback_answers.values())
        )
    )
    assert len(await _rows(db, ActivityReport)) == 1


@pytest.mark.one_database
async def test_typed_dates_too_long_description_and_change_before_submitting(emu, bot_app, db, clock):
    user = await _member_at_the_date(emu, db, clock, 4002, "廖艳", "廖艳", "视察")
    answer = await expect_reply(user, lambda: user.send_text("明年"), t("report.date_unreadable", "zh"))
    assert answer["text"].startswith(t("report.date_unreadable", "zh"))
    assert t("report.ask_date", "zh") in answer["text"] and t("report.btn_today", "zh") in _buttons(answer)
    future = t("report.date_future", "zh", date="11月20日（周四）", start="1月1日（周三）")
    answer = await expect_reply(user, lambda: user.send_text("2025-11-20"), future)
    assert answer["text"].startswith(future)
    answer = await expect_reply(user, lambda: user.send_text("2024-12-30"), "本考核周期")
    assert "本考核周期" in answer["text"]
    await expect_reply(user, lambda: user.send_text("上周五"), "第 3 步")
    assert t("report.chosen_date", "zh", date="10月31日（周五）") in user.texts()

    long_text = "调" * 2500
    too_long = t("report.description_too_long", "zh", length=2500, limit=2000)
    answer = await expect_reply(user, lambda: user.send_text(long_text), too_long)
    assert answer["text"] == too_long
    await expect_reply(user, lambda: user.press_button(t("report.btn_keep_first", "zh", limit=2000)), "第 4 步")
    # skip photos, then change the type on the summary card
    card = await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：")
    assert "照片：0 张" in card["text"]
    await expect_reply(
        user, lambda: user.press_button(t("report.btn_fix", "zh")), t("report.fix_which", "zh")
    )
    await expect_reply(
        user, lambda: user.press_button(t("report.btn_fix_type", "zh")), t("report.ask_type", "zh")
    )
    card = await expect_reply(user, lambda: user.press(_buttons(user.last())["民主监督"]), "类型：")
    assert "类型：民主监督" in card["text"]
    await _submit(user)
    (report,) = await _rows(db, ActivityReport)
    assert report.type_code == "supervision" and report.activity_date == date(2025, 10, 31)
    assert report.description == "调" * 2000


@pytest.mark.one_database
async def test_cancel_at_a_step_stores_nothing_and_a_short_text_is_asked_again(emu, bot_app, db, clock):
    user = await _member_at_the_date(emu, db, clock, 4003, "朱宇浩", "宇浩", "调研")
    await expect_reply(user, lambda: user.press_button(t("report.btn_today", "zh")), "第 3 步")
    too_short = t("report.description_too_short", "zh", length=2, min=10)
    answer = await expect_reply(user, lambda: user.send_text("开会"), too_short)
    assert answer["text"].startswith(too_short)
    assert t("report.ask_description", "zh", min=10, max=2000) in answer["text"]
    await expect_reply(user, lambda: user.send_text("/cancel"), t("report.after_cancel", "zh"))
    assert t("report.cancelled", "zh") in user.texts()
    # after /cancel the dialog is over: text is not taken as a description
    await expect_reply(user, lambda: user.send_text(TEXT), t("common.not_understood", "zh"))
    assert user.last()["text"] == t("common.not_understood", "zh")
    assert await _rows(db, ActivityReport) == [] and await _rows(db, ReportDraft) == []


@pytest.mark.one_database
async def test_timeout_keeps_a_draft_that_report_offers_to_resume(emu, db, clock, settings):
    from bot.assemble import make_deps, running

    clock.frozen = NOW
    settings.dialog_timeout_minutes = 0.02  # about a second: the real PTB timeout job fires
    deps = make_deps(settings, db, clock)
    member = await add_member(db, "丁欣怡", telegram_user_id=4004)
    user = emu.user(4004, "欣怡")
    async with running(deps, poll_timeout=1):
        await _to_date(user, "学习培训")
        await expect_reply(user, lambda: user.send_text("11月3日"), "第 3 步")
        notice = t("report.timeout_kept", "zh", minutes=0.02)
        await emu.wait_for(
            lambda: notice in user.texts(), what="the timeout notice via the outbox"
        )
        (draft,) = await _rows(db, ReportDraft)
        assert draft.member_id == member.id
        assert draft.data["type"] == "study" and draft.data["date"] == "2025-11-03"

        resume_offer = t(
            "report.resume_offer", "zh", type="学习培训、专题讲座", date="11月3日（周一）", photos=0
        )
        offer = await expect_reply(user, lambda: user.send_text("/report"), resume_offer)
        assert offer["text"] == resume_offer
        ask = await expect_reply(user, lambda: user.press_button(t("report.btn_resume", "zh")), "第")
        assert ask["text"].startswith("第 3 步")  # the description is next: type and date were kept
        await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
        await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：")
        await _submit(user)
    (report,) = await _rows(db, ActivityReport)
    assert report.type_code == "study" and report.activity_date == date(2025, 11, 3)
    assert await _rows(db, ReportDraft) == []


async def test_a_dialog_open_at_a_restart_still_times_out_with_its_notice(emu, db, clock, settings):
    from bot.assemble import make_deps, running

    clock.frozen = NOW
    await add_member(db, "丁欣怡", telegram_user_id=4007)
    user = emu.user(4007, "欣怡")
    async with running(make_deps(settings, db, clock), poll_timeout=1):  # the usual 30 minutes
        await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
        await expect_reply(user, lambda: user.press("rep:type:study"), t("report.ask_date", "zh"))
    # the bot stops with the dialog open; it comes back configured with a timeout already passed
    settings.dialog_timeout_minutes = 0.01
    async with running(make_deps(settings, db, clock), poll_timeout=1):
        notice = t("report.timeout_kept", "zh", minutes=0.01)
        await emu.wait_for(lambda: notice in user.texts(), what="the timeout notice after the restart")
        (draft,) = await _rows(db, ReportDraft)
        assert draft.data["type"] == "study"
        # the dialog is over: a typed date is not taken as an answer any more
        await expect_reply(user, lambda: user.send_text("11月3日"), t("common.not_understood", "zh"))


@pytest.mark.one_database
async def test_myreports_edit_and_withdraw(emu, bot_app, db, clock):
    clock.frozen = NOW
    await add_member(db, "邓子涵", telegram_user_id=4005)
    user = emu.user(4005, "子涵")
    for label in ("调研", "视察"):
        await _start_to_photos(user, label)
        await expect_reply(user, lambda: user.press_button(t("report.btn_photos_skip", "zh")), "类型：")
        await _submit(user)
    first, second = sorted(await _rows(db, ActivityReport), key=lambda r: r.id)
    listing = await expect_reply(user, lambda: user.send_text("/myreports"), f"#{first.id}")
    assert f"#{first.id}" in listing["text"] and "待审核" in listing["text"]
    # edit the first: change the description and resubmit
    card = await expect_reply(
        user, lambda: user.press(f"rep:edit:{first.id}", listing["message_id"]), "类型："
    )
    assert card["text"].startswith(t("report.summary_edit_header", "zh"))
    await expect_reply(
        user, lambda: user.press_button(t("report.btn_fix", "zh")), t("report.fix_which", "zh")
    )
    await expect_reply(user, lambda: user.press_button(t("report.btn_fix_description", "zh")), "第 3 步")
    await expect_reply(user, lambda: user.send_text(TEXT + "（补充）"), "（补充）")
    await _submit(user)
    # withdraw the second, with a confirmation
    confirm = await expect_reply(
        user,
        lambda: user.press(f"my:wd:{second.id}", listing["message_id"]),
        t("me.withdraw_confirm", "zh", id=second.id),
    )
    await expect_reply(
        user,
        lambda: user.press(f"my:wdy:{second.id}", confirm["message_id"]),
        t("me.withdrawn", "zh", id=second.id),
    )
    async with db.session() as session:
        assert (await session.get(ActivityReport, first.id)).description == TEXT + "（补充）"
        assert (await session.get(ActivityReport, second.id)).status == "withdrawn"
    # someone else's report id, forged: refused, nothing changes
    other = await add_member(db, "薛桂英", telegram_user_id=4006)
    intruder = emu.user(4006, "桂英")
    await expect_reply(
        intruder, lambda: intruder.send_text("/help"), t("onboarding.help_header", "zh", name="薛桂英")
    )
    intruder.press(f"my:wdy:{first.id}")
    intruder.press(f"rep:edit:{first.id}")
    await emu.wait_for(lambda: sum(1 for a in emu.callback_answers.values() if a.get("show_alert")) >= 2)
    async with db.session() as session:
        assert (await session.get(ActivityReport, first.id)).status == "pending"
    assert other.id is not None


# ---------------------------------------------------------------- SIGKILL of a bot subprocess


async def test_dialog_continues_after_sigkill_of_the_bot_process(emu, db, db_url, tmp_path):
    await add_member(db, "尹华", telegram_user_id=4010)
    user = emu.user(4010, "尹华")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await _to_date(user, "调研")
        await expect_reply(user, lambda: user.press_button(t("report.btn_today", "zh")), "第 3 步")
        ask = await expect_reply(user, lambda: user.send_text(TEXT), "第 4 步")
        assert ask["text"].startswith("第 4 步")
        await expect_reply(
            user, lambda: user.send_photo(_photo()), t("report.photo_received", "zh", count=1, max=9)
        )
        # the step is written as the update finishes, just after its answer went out
        rows: dict = {}

        async def photo_stored() -> bool:
            nonlocal rows
            async with db.session() as session:
                rows = {r.key: r.data for r in (await session.exec(select(DialogState))).all()}
            return bool(rows.get("user:4010", {}).get("report", {}).get("photos"))

        await until(photo_stored, "the photo step stored")
        assert any(k.startswith("conv:report:") for k in rows)
        assert rows["user:4010"]["report"]["description"] == TEXT
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        # same step: another photo is accepted as the second one
        received = t("report.photo_received", "zh", count=2, max=9)
        ack = await expect_reply(user, lambda: user.send_photo(_photo()), received)
        assert ack["text"] == received
        card = await expect_reply(
            user, lambda: user.press_button(t("report.btn_photos_done", "zh")), "类型："
        )
        assert "照片：2 张" in card["text"]
        await _submit(user)
        (report,) = await _rows(db, ActivityReport)
        assert report.description == TEXT and report.type_code == "research"
        assert len(await _rows(db, ActivityPhoto)) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    await asyncio.sleep(0)
