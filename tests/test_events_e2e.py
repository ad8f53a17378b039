"""The real bot through the Bot API emulator: the secretariat creates an event in the guided chat,
members get the invitation from the outbox, answer 参加 / 请假 (with a reason), list their events,
and check in with the venue code; forged presses and non-staff are refused politely."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.core.clock import Clock
from models import ActivityReport, Outbox
from models.event import Invitation
from tests.conftest import add_member

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
START = datetime(2025, 11, 5, 14, 30, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=NOW)


async def wait_text(emu, user, fragment: str) -> dict:  # type: ignore[no-untyped-def]
    """The newest bot message to `user` containing `fragment` (waits for it to arrive)."""

    def found() -> bool:
        return any(fragment in text for text in user.texts())

    await emu.wait_for(found, 10.0, what=f"a message with {fragment!r} to {user.id}")
    return [m for m in user.messages() if fragment in m.get("text", "")][-1]


async def test_event_from_guided_chat_to_check_in(bot_app, emu, db, clock):
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001, committee="")
    alice = await add_member(db, "苏建华", telegram_user_id=9101, committee="经济委员会")
    bob = await add_member(db, "廖艳", telegram_user_id=9102, committee="经济委员会")
    staff, a, b = emu.user(9001, "王秘书"), emu.user(9101, "苏建华"), emu.user(9102, "廖艳")

    # A member cannot start the secretariat's dialog.
    a.send_text("/newevent")
    await wait_text(emu, a, "仅限政协机关")

    staff.send_text("/newevent")
    await wait_text(emu, staff, "请输入活动标题")
    staff.send_text("学习会：民法典")
    await wait_text(emu, staff, "请选择活动类型")
    staff.press("ne:k:study")
    ask_start = await wait_text(emu, staff, "活动什么时候开始")
    assert "例如 11月10日 14:30" in ask_start["text"]  # the example lies ahead: a week from today
    staff.send_text("明天下午")  # not a time: asked again, nothing stored
    await wait_text(emu, staff, "没有看懂时间")
    staff.send_text("11月5日 14:30")  # the style /report accepts, with a time
    await wait_text(emu, staff, "什么时候结束")
    staff.send_text("16:30")
    await wait_text(emu, staff, "在哪里举行")
    staff.send_text("政协三楼会议室")
    await wait_text(emu, staff, "请哪些委员参加")
    staff.press("ne:a:committee")
    committees = await wait_text(emu, staff, "请点选专委会")
    assert [b["text"] for row in committees["reply_markup"]["inline_keyboard"] for b in row] == ["经济委员会（2 人）"]
    staff.send_text("经济")  # part of the name is enough
    await wait_text(emu, staff, "活动前多久提醒")
    staff.press("ne:skip")
    summary = await wait_text(emu, staff, "请确认")
    # plain words on the card: no internal codes
    assert "时间：2025年11月5日（周三）14:30–16:30" not in summary["text"]
    assert "时间：11月5日（周三）14:30–16:30" in summary["text"]
    assert "参加：经济委员会（2 人，已绑定 2 人）" in summary["text"]
    assert "提醒：提前 24 小时、2 小时" in summary["text"]
    assert "committee:" not in summary["text"] and "24h" not in summary["text"]
    staff.press("ne:pub", summary)
    done = await wait_text(emu, staff, "已发布活动")
    closed = next(m for m in staff.messages() if m["message_id"] == summary["message_id"])
    assert not closed.get("reply_markup")  # the handled card keeps no live buttons
    code = re.search(r"签到码：(\d{6})", done["text"]).group(1)  # type: ignore[union-attr]

    # The dispatcher job delivers the invitations with their buttons.
    invitation = await wait_text(emu, a, "活动通知：学习会：民法典")
    assert "11月5日（周三）14:30" in invitation["text"] and "政协三楼会议室" in invitation["text"]
    buttons = [b["callback_data"] for b in invitation["reply_markup"]["inline_keyboard"][0]]
    event_id = int(buttons[0].split(":")[2])
    assert buttons == [f"ev:a:{event_id}", f"ev:l:{event_id}"]
    await wait_text(emu, b, "活动通知：学习会：民法典")

    a.press(f"ev:a:{event_id}", invitation)
    await wait_text(emu, a, "已登记：您将参加")
    b.press(f"ev:l:{event_id}")
    await wait_text(emu, b, "请假原因")
    b.send_text("当天在外地出差")
    await wait_text(emu, b, "已登记请假")

    # A forged button changes nothing and gets a polite alert.
    cq = a.press("ev:l:999", invitation)
    await emu.wait_for(lambda: cq in emu.callback_answers, 5)
    assert emu.callback_answers[cq].get("show_alert")

    async with db.session() as session:
        answers = {
            i.member_id: (i.answer, i.leave_reason) for i in (await session.exec(select(Invitation))).all()
        }
        reminders = (await session.exec(select(Outbox).where(Outbox.kind == "reminder"))).all()
    assert answers == {alice.id: ("attend", None), bob.id: ("leave", "当天在外地出差")}
    assert {r.status for r in reminders if r.member_id == bob.id} == {"dropped"}
    assert {r.status for r in reminders if r.member_id == alice.id} == {"pending"}

    a.send_text("/events")
    item = await wait_text(emu, a, "您的答复：参加")
    assert "学习会：民法典" in item["text"]

    # At the venue: the check-in notice arrives with its button; the code works too.
    clock.advance(START + timedelta(minutes=5) - NOW)
    notice = await wait_text(emu, a, "开始签到了")
    assert notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"ev:c:{event_id}"
    # the button alone checks no one in: it asks for the venue's code
    a.press(f"ev:c:{event_id}", notice)
    await wait_text(emu, a, "请输入现场公布的 6 位签到码")
    a.send_text("000000")
    wrong = await wait_text(emu, a, "签到码不正确")
    assert "请输入现场公布的 6 位签到码" in wrong["text"]  # asked again
    async with db.session() as session:
        assert (await session.exec(select(ActivityReport))).all() == []
    a.send_text(code)
    await wait_text(emu, a, "签到成功")
    # /checkin without a code asks for it too
    b.send_text("/checkin")
    await wait_text(emu, b, "请输入现场公布的 6 位签到码（例如 123456）")
    cq = a.press(f"ev:c:{event_id}", notice)  # a second check-in is answered with an alert
    await emu.wait_for(lambda: cq in emu.callback_answers, 5)
    assert "已经签到过" in emu.callback_answers[cq]["text"]
    async with db.session() as session:
        report = (
            await session.exec(
                select(ActivityReport).where(
                    ActivityReport.member_id == alice.id,
                    col(ActivityReport.source_key) == f"event:{event_id}",
                )
            )
        ).one()
        # the reminders fell due while "away" (the clock jumped past the start): dropped, not sent late
        stale = (
            await session.exec(select(Outbox).where(Outbox.kind == "reminder", Outbox.status == "sent"))
        ).all()
    assert report.attendance == "present" and report.type_code == "study"
    assert stale == []
    assert not any("活动提醒" in text for text in a.texts())


async def test_an_event_set_to_self_declared_checks_in_by_button_and_says_so(bot_app, emu, db, clock):
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=9002, committee="")
    alice = await add_member(db, "苏建华", telegram_user_id=9103, committee="经济委员会")
    staff, a = emu.user(9002, "王秘书"), emu.user(9103, "苏建华")
    steps = [
        (lambda: staff.send_text("/newevent"), "请输入活动标题"),
        (lambda: staff.send_text("读书会"), "请选择活动类型"),
        (lambda: staff.press("ne:k:reading"), "活动什么时候开始"),
        (lambda: staff.send_text("后天 14:30"), "什么时候结束"),
        (lambda: staff.press("ne:skip"), "在哪里举行"),
        (lambda: staff.press("ne:skip"), "请哪些委员参加"),
        (lambda: staff.press("ne:a:all"), "活动前多久提醒"),
        (lambda: staff.press("ne:skip"), "签到：输入现场公布的签到码"),
        (lambda: staff.press("ne:self"), "签到：委员自报出席"),
        (lambda: staff.press("ne:pub"), "已发布活动"),
    ]
    for act, wanted in steps:
        since = len(staff.messages())
        act()
        await emu.wait_for(lambda w=wanted, n=since: any(w in x for x in staff.texts()[n:]), 10, what=wanted)
    await wait_text(emu, a, "活动通知：读书会")
    clock.advance(START + timedelta(minutes=5) - NOW)  # the day after tomorrow, 14:35
    notice = await wait_text(emu, a, "本次活动由委员自报出席")
    a.press(notice["reply_markup"]["inline_keyboard"][0][0]["callback_data"], notice)
    await wait_text(emu, a, "签到成功")
    async with db.session() as session:
        invitation = (await session.exec(select(Invitation).where(Invitation.member_id == alice.id))).one()
        report = (await session.exec(select(ActivityReport).where(ActivityReport.member_id == alice.id))).one()
    assert invitation.checkin_method == "self"
    assert report.attendance == "present" and "自报出席" in report.description
