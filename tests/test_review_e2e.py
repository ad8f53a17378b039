"""/review, /record and `lvzhi activities record` end to end: two reviewers racing on one card,
forged and stale buttons, a member pressing a secretariat button, returning with a reason and
the member's correction, and the member's /me after approval."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import select

from bot.core.i18n import t
from bot.devtools.emulator import _make_png
from bot.services import activities
from bot.services.activities import Evidence
from models import ActivityReport, Outbox
from tests.conftest import add_member, expect_reply
from tests.conftest import inline_buttons as _buttons

NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"


async def _report(db, deps, member_id, *, type_code="research", photos=0, day=date(2025, 11, 3), emu=None):
    # evidence the member sent earlier: files the emulator knows, as Telegram would
    files = (
        [emu._store_file(_make_png(i + 1, 3), "photo", "image/jpeg") for i in range(photos)] if emu else []
    )
    async with db.session() as session:
        return await activities.submit_report(
            session,
            member_id=member_id,
            type_code=type_code,
            day=day,
            description=TEXT,
            photos=[Evidence("photo", f["file_id"], f["file_unique_id"]) for f in files],
            now=deps.clock.now(),
            rules=deps.rules,
            zone=deps.settings.tz,
        )


async def _status(db, report_id) -> str:
    async with db.session() as session:
        return (await session.get(ActivityReport, report_id)).status


async def test_two_reviewers_race_forged_and_member_presses_then_member_sees_points(
    emu, bot_app, db, deps, clock
):
    clock.frozen = NOW
    member = await add_member(db, "苏建华", telegram_user_id=6001)
    await add_member(db, "机关甲", role="secretariat", telegram_user_id=6101)
    await add_member(db, "机关乙", role="secretariat", telegram_user_id=6102)
    report = await _report(db, deps, member.id, photos=2, emu=emu)
    alice, bob, owner = emu.user(6101, "甲"), emu.user(6102, "乙"), emu.user(6001, "建华")

    # both open /review: the album of evidence, then the card with three buttons
    card_a = await expect_reply(alice, lambda: alice.send_text("/review"), "待审核 1 份")
    card_b = await expect_reply(bob, lambda: bob.send_text("/review"), "待审核 1 份")
    assert len(emu.calls_of("sendMediaGroup")) == 2
    assert "苏建华" in card_a["text"] and TEXT in card_a["text"]
    approve = _buttons(card_a)[t("review.btn_approve", "zh")]
    assert approve == f"rv:ok:{report.id}"

    # a member pressing the secretariat's button (forged): refused, nothing changes
    await expect_reply(owner, lambda: owner.send_text("/help"), t("onboarding.help_header", "zh", name="苏建华"))
    answer_id = owner.press(approve)
    await emu.wait_for(lambda: answer_id in emu.callback_answers)
    assert emu.callback_answers[answer_id]["text"] == t("common.not_allowed", "zh")
    assert await _status(db, report.id) == "pending"

    # forged ids and malformed data from a reviewer: refused, nothing changes
    for data in ("rv:ok:999999", "rv:ok:abc", f"rv:ok:{report.id}0"):
        answer_id = alice.press(data, card_a["message_id"])
        await emu.wait_for(lambda answer_id=answer_id: answer_id in emu.callback_answers)
        assert emu.callback_answers[answer_id].get("show_alert")
    assert await _status(db, report.id) == "pending"

    # both press 通过 at once: exactly one decides; the other is told it was handled
    first = alice.press(approve, card_a["message_id"])
    second = bob.press(_buttons(card_b)[t("review.btn_approve", "zh")], card_b["message_id"])
    await emu.wait_for(lambda: first in emu.callback_answers and second in emu.callback_answers)
    answers = [emu.callback_answers[first].get("text"), emu.callback_answers[second].get("text")]
    assert sorted(answers, key=str) == sorted(
        [t("review.approved", "zh"), t("review.already_handled", "zh")], key=str
    )
    async with db.session() as session:
        stored = await session.get(ActivityReport, report.id)
        notices = list((await session.exec(select(Outbox).where(Outbox.member_id == member.id))).all())
    assert stored.status == "confirmed" and stored.reviewed_by is not None
    assert len(notices) == 1 and notices[0].dedupe_key == f"report:{report.id}:approved"
    # the member is notified once, through the outbox
    notice = t("review.notice_approved", "zh", date="2025年11月3日（周一）", type="调研", points="3")
    await emu.wait_for(lambda: notice in owner.texts(), what="approval notice")

    # /me after approval: 3 confirmed points for 调研, what is still owed, the report listed
    me = await expect_reply(owner, lambda: owner.send_text("/me"), t("me.totals", "zh", confirmed="3", pending="0"))
    assert t("me.totals", "zh", confirmed="3", pending="0") in me["text"]
    assert "· 调研：3 分（1 次）" in me["text"]
    assert "还需提交 1 篇社情民意信息" in me["text"] and "还需参加 1 次全体会议" in me["text"]
    assert f"#{report.id} 11月3日（周一） 调研 — 已确认" in me["text"]
    # a confirmed report cannot be edited or withdrawn
    answer_id = owner.press(f"my:wdy:{report.id}")
    await emu.wait_for(lambda: answer_id in emu.callback_answers)
    assert await _status(db, report.id) == "confirmed"


async def test_return_with_reason_then_member_corrects_and_reviewer_skips(emu, bot_app, db, deps, clock):
    clock.frozen = NOW
    member = await add_member(db, "廖艳", telegram_user_id=6002)
    await add_member(db, "机关", role="secretariat", telegram_user_id=6103)
    older = await _report(db, deps, member.id)
    newer = await _report(db, deps, member.id, type_code="inspection")
    staff, owner = emu.user(6103, "机关"), emu.user(6002, "廖艳")

    card = await expect_reply(staff, lambda: staff.send_text("/review"), "· 报告 #")
    assert f"#{older.id}" in card["text"]  # oldest first
    card2 = await expect_reply(staff, lambda: staff.press_button(t("review.btn_skip", "zh")), "· 报告 #")
    assert f"#{newer.id}" in card2["text"]
    ask_reason = t("review.ask_reason", "zh", id=newer.id, max=activities.MAX_REASON)
    ask = await expect_reply(staff, lambda: staff.press_button(t("review.btn_return", "zh")), ask_reason)
    assert ask["text"] == ask_reason
    assert "委员会" not in ask["text"]  # it is the member who reads the reason, not a committee
    # too short: the reason is asked again
    await expect_reply(staff, lambda: staff.send_text("差"), lambda m: (m.get("text") or "").endswith(ask_reason))
    assert await _status(db, newer.id) == "pending"
    await expect_reply(
        staff, lambda: staff.send_text("请补充调研地点和照片"), t("review.none_left_skipped", "zh", skipped=1)
    )
    assert await _status(db, newer.id) == "returned"
    assert t("review.none_left_skipped", "zh", skipped=1) in staff.texts()
    # the returned card is closed like an approved one: it says so and has no buttons left
    closed = next(m for m in staff.messages() if m["message_id"] == card2["message_id"])
    assert t("review.marked_returned", "zh", reviewer="机关", reason="请补充调研地点和照片") in closed["text"]
    assert not closed.get("reply_markup")

    notice = t(
        "review.notice_returned", "zh", date="2025年11月3日（周一）", type="视察", reason="请补充调研地点和照片"
    )
    await emu.wait_for(lambda: notice in owner.texts(), what="return notice")
    returned_msg = next(m for m in owner.messages() if m.get("text") == notice)
    # the member corrects it from the notice's button and resubmits
    await expect_reply(owner, lambda: owner.press_button(t("report.btn_correct", "zh"), returned_msg), "类型：")
    await expect_reply(owner, lambda: owner.press_button(t("report.btn_fix", "zh")), t("report.fix_which", "zh"))
    await expect_reply(owner, lambda: owner.press_button(t("report.btn_fix_description", "zh")), "第 3 步")
    await expect_reply(owner, lambda: owner.send_text(TEXT + "地点：城东街道。"), "地点：城东街道。")
    await expect_reply(
        owner, lambda: owner.press_button(t("report.btn_submit", "zh")), t("report.after_submit", "zh")
    )
    async with db.session() as session:
        again = await session.get(ActivityReport, newer.id)
    assert again.status == "pending" and again.description.endswith("城东街道。")
    # the reviewer sees the resubmission with the earlier reason
    card = await expect_reply(staff, lambda: staff.send_text("/review"), "· 报告 #")
    assert f"#{older.id}" in card["text"]
    card = await expect_reply(staff, lambda: staff.press_button(t("review.btn_approve", "zh")), "· 报告 #")
    assert f"#{newer.id}" in card["text"] and "请补充调研地点和照片" in card["text"]
    # a stale press on the first card (already approved) changes nothing
    answer_id = staff.press(f"rv:ret:{older.id}", card["message_id"])
    await emu.wait_for(lambda: answer_id in emu.callback_answers)
    assert emu.callback_answers[answer_id]["text"] == t("review.already_handled", "zh")
    assert await _status(db, older.id) == "confirmed"


async def test_record_attendance_in_chat(emu, bot_app, db, clock):
    clock.frozen = NOW
    staff_member = await add_member(db, "机关", role="secretariat", telegram_user_id=6104)
    names = ["张三", "李四", "王五", "赵六"]
    people = [await add_member(db, n) for n in names]
    staff = emu.user(6104, "机关")
    member = emu.user(6003, "路人")
    await add_member(db, "普通委员", telegram_user_id=6003)
    # a member cannot use /record
    refusal = await expect_reply(member, lambda: member.send_text("/record"), t("common.not_allowed", "zh"))
    assert refusal["text"] == t("common.not_allowed", "zh")

    ask = await expect_reply(staff, lambda: staff.send_text("/record"), t("review.record_ask_type", "zh"))
    await expect_reply(staff, lambda: staff.press(_buttons(ask)["全体会议"]), t("review.record_ask_date", "zh"))
    await expect_reply(staff, lambda: staff.send_text("2025-01-08"), "出勤名单")
    listing = "出席：全体\n请假：李四\n缺席：王五、钱七"
    before = {m["message_id"] for m in staff.history()}
    # asked again, the list handed back after the problem
    await expect_reply(staff, lambda: staff.send_text(listing), lambda m: m.get("text") == listing)
    problem = next(m for m in staff.messages() if m["message_id"] not in before and "找不到" in m["text"])
    assert "钱七" in problem["text"]
    summary = await expect_reply(
        staff, lambda: staff.send_text("出席：全体\n请假：李四\n缺席：王五"), "请确认登记"
    )
    # every 委员 but the two excused: 张三, 赵六, 普通委员 (the staff member is not a 委员)
    assert summary["text"] == t(
        "review.record_summary", "zh", type="全体会议", date="1月8日（周三）", present=3, leave=1, absent=1
    )
    staff.press_button(t("review.btn_record_confirm", "zh"))
    done = t("review.record_done", "zh", present=3, leave=1, absent=1)
    await emu.wait_for(lambda: any(done in text for text in staff.texts()))
    async with db.session() as session:
        rows = {r.member_id: r for r in (await session.exec(select(ActivityReport))).all()}
    assert rows[people[1].id].attendance == "leave" and rows[people[1].id].points == 20
    assert rows[people[2].id].attendance == "absent" and rows[people[2].id].points == -10
    assert rows[people[0].id].points == 30 and rows[people[0].id].recorded_by == staff_member.id
    assert len(rows) == 5 and staff_member.id not in rows


def test_cli_records_a_meeting_once(db_url, tmp_path):
    import asyncio

    from models.db import Database

    async def seed() -> list[int]:
        db = Database(db_url)
        try:
            return [(await add_member(db, n)).id for n in ("张三", "李四", "王五", "赵六")]
        finally:
            await db.dispose()

    ids = asyncio.run(seed())
    (tmp_path / "leave.txt").write_text("李四\n", encoding="utf-8")
    (tmp_path / "absent.csv").write_text("姓名,界别\n王五,民建\n", encoding="utf-8-sig")
    (tmp_path / "bad.txt").write_text("张三、钱七", encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": ""}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", "activities", "record", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad = cli("--type", "plenary", "--date", "2025-01-08", "--members", "bad.txt")
    assert bad.returncode == 1 and "钱七" in bad.stderr
    assert cli("--type", "nonsense", "--date", "2025-01-08", "--members", "all").returncode == 2
    assert cli("--type", "plenary", "--date", "2999-01-01", "--members", "all").returncode == 2
    args = (
        "--type",
        "plenary",
        "--date",
        "2025-01-08",
        "--members",
        "all",
        "--leave",
        "leave.txt",
        "--absent",
        "absent.csv",
    )
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert t("review.cli_recorded", "zh", present=2, leave=1, absent=1) in first.stdout
    again = cli(*args)
    assert t("review.cli_recorded", "zh", present=0, leave=0, absent=0) in again.stdout

    async def stored() -> dict[int, ActivityReport]:
        db = Database(db_url)
        try:
            async with db.session() as session:
                return {r.member_id: r for r in (await session.exec(select(ActivityReport))).all()}
        finally:
            await db.dispose()

    rows = asyncio.run(stored())
    assert sorted(rows) == sorted(ids)
    assert [rows[i].attendance for i in ids] == ["present", "leave", "absent", "present"]
    assert Path(tmp_path / "leave.txt").exists()
