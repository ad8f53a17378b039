"""Hostile input through the Bot API emulator: forged button data with ids no row can have,
edited messages in the middle of a dialog, and the bot in group chats. Each is answered politely
(every press answered), changes no row and logs no ERROR."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.core.i18n import t
from bot.devtools.emulator import DEFAULT_PHOTO
from bot.services import activities, info
from bot.services.activities import Evidence
from tests.conftest import add_member

# what the handlers answer; ids beyond MAX_ROW_ID never reach SQL: SQLite only (tests/conftest.py)
pytestmark = pytest.mark.one_database

HUGE = "99999999999999999999"  # 20 digits: beyond every integer column
TABLES = ("activity_report", "activity_photo", "info_item", "info_event", "info_author", "invitation", "event")


async def _snapshot(db) -> dict[str, list]:
    async with db.session() as session:
        return {name: [tuple(row) for row in (await session.exec(text(f"SELECT * FROM {name} ORDER BY id")))]
                for name in TABLES}


async def _answer(emu, cq_id: str) -> dict:
    await emu.wait_for(lambda: cq_id in emu.callback_answers, what=f"an answer to press {cq_id}")
    return emu.callback_answers[cq_id]


def _errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def _step(emu, user, action, fragment: str) -> None:
    """Do something as the user and wait for one more bot message containing `fragment`."""
    seen = sum(fragment in x for x in user.texts())
    action()
    await emu.wait_for(lambda: sum(fragment in x for x in user.texts()) > seen, what=repr(fragment[:40]))


async def _world(bot_app, db, emu):
    """A member with a pending report (with a photo the emulator knows) and a submitted 社情民意
    item, and a secretary."""
    deps = bot_app.bot_data["deps"]
    member = await add_member(db, "苏建华", telegram_user_id=5101, language="zh")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=5901, language="zh")
    now = deps.clock.now()
    photo = emu._store_file(DEFAULT_PHOTO, "photo", "image/jpeg")
    async with db.session() as session:
        await activities.submit_report(
            session, member_id=member.id, type_code="research", day=now.astimezone(deps.settings.tz).date(),
            description="到社区调研老旧小区加装电梯的推进情况",
            photos=[Evidence("photo", photo["file_id"], photo["file_unique_id"])],
            now=now, rules=deps.rules, zone=deps.settings.tz)
        await info.submit(
            session, author_id=member.id, title="老旧小区加装电梯推进难", category="民生保障",
            body="我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。" * 3 + "建议简化审批流程。",
            now=now, tz=deps.settings.tz, rules=deps.rules)
    return member


MEMBER_PRESSES = [f"rep:edit:{HUGE}", f"info:rev:{HUGE}", f"my:wd:{HUGE}", f"my:wdy:{HUGE}",
                  f"my:page:{HUGE}", f"ev:a:{HUGE}", f"ev:l:{HUGE}", f"ev:c:{HUGE}", f"rv:ok:{HUGE}"]
STAFF_PRESSES = [f"ib:m:accept:{HUGE}", f"ib:m:reject:{HUGE}", f"ib:q:submitted:{HUGE}", f"rv:ok:{HUGE}",
                 f"rv:ret:{HUGE}", f"rv:skip:{HUGE}", f"info:rev:{HUGE}", f"rep:edit:{HUGE}"]


async def test_button_data_with_ids_no_row_can_have_is_refused_politely(emu, bot_app, db, caplog):
    caplog.set_level(logging.INFO)
    await _world(bot_app, db, emu)
    before = await _snapshot(db)
    member, staff = emu.user(5101, "建华"), emu.user(5901, "小王")
    for user, presses in ((member, MEMBER_PRESSES), (staff, STAFF_PRESSES)):
        user.send_text("/help")  # a bot message to press on
        await emu.wait_for(lambda u=user: len(u.messages()) >= 1, 10, what="the help text")
        for data in presses:
            answer = await _answer(emu, user.press(data))
            assert answer.get("text") and answer.get("show_alert"), (data, answer)
            assert answer["text"] != t("common.error", "zh"), f"{data} crashed into the apology"
    assert _errors(caplog) == []
    assert await _snapshot(db) == before


async def test_a_press_in_a_dialog_with_an_oversized_id_is_refused_and_the_step_stays(emu, bot_app, db, caplog):
    """info:co:<huge> at the co-author step: refused, and the step still takes the real answer."""
    caplog.set_level(logging.INFO)
    await add_member(db, "苏建华", telegram_user_id=5102, language="zh")
    user = emu.user(5102, "建华")
    await _info_to_files(emu, user)
    await _step(emu, user, lambda: user.press("info:att:done"), t("info.ask_coauthors", "zh",
                                                                      names=t("info.none", "zh")))
    answer = await _answer(emu, user.press(f"info:co:{HUGE}"))
    assert answer["text"] == t("common.stale_button", "zh") and answer.get("show_alert")
    assert _errors(caplog) == []
    await _step(emu, user, lambda: user.press("info:co:done"), t("info.confirm_question", "zh"))


async def _info_to_files(emu, user) -> None:
    """/info through title, category and body, up to the attachments step."""
    await _step(emu, user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
    await _step(emu, user, lambda: user.send_text("老旧小区加装电梯推进难"), t("info.ask_category", "zh"))
    await _step(emu, user, lambda: user.press("info:cat:0"), t("info.ask_body", "zh", min=50, max=3000,
                                                                     advised=1500))
    body = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。" * 3
    await _step(emu, user, lambda: user.send_text(body), t("info.body_progress", "zh", length=len(body),
                                                                min=50, max=3000))
    await _step(emu, user, lambda: user.press("info:body:done"), t("info.ask_files", "zh", count=0))


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "0000-W01"])
async def test_digest_of_a_week_outside_the_calendar_is_refused(emu, bot_app, db, caplog, week):
    caplog.set_level(logging.INFO)
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=5903, language="zh")
    staff = emu.user(5903, "小王")
    staff.send_text(f"/digest {week}")
    refusal = t("digest.bad_week", "zh", text=week)
    await emu.wait_for(lambda: refusal in staff.texts(), what="the refusal of the week")
    assert _errors(caplog) == []


# ---------------------------------------------------------------- edited messages in every dialog


async def _edit_world(bot_app, db, emu) -> dict:
    """What the dialogs act on: a pending report, a submitted item, a published event."""
    from datetime import timedelta

    from bot.services import events
    from bot.services.reminders import policy_from_settings

    deps = bot_app.bot_data["deps"]
    member = await _world(bot_app, db, emu)
    now = deps.clock.now()
    async with db.session() as session:
        event = await events.create_event(
            session, title="学习会：民法典", kind="study", starts_at=now + timedelta(days=2), now=now,
            rules=deps.rules)
        await events.publish_event(session, event, now=now, policy=policy_from_settings(deps.settings))
        report_id = (await session.exec(text("SELECT id FROM activity_report"))).one()[0]
        item = (await session.exec(text("SELECT id, number FROM info_item"))).one()
    return {"member": member, "event": event.id, "report": report_id, "item": item[0], "number": item[1]}


# dialog: (who, steps to reach a step that waits for typed text, the typed answer, what follows it)
EDIT_CASES = {
    "info": ("member", [("/info", "请发送标题")], "老旧小区加装电梯推进难", "请选择分类"),
    "report": ("member", [("/report", "第 1 步"), (("press", "rep:type:research"), "第 2 步")], "今天", "第 3 步"),
    "events": ("member", [("/events", "您近期的活动"), (("press", "ev:l:{event}"), "请假原因")], "出差在外",
               "已登记请假"),
    "deadline_admin": ("staff", [("/deadline", "新建考核截止事项")], "年度履职报告", "截止日期是哪一天"),
    "event_admin": ("staff", [("/newevent", "新建活动")], "学习会：民法典", "请选择活动类型"),
    "inbox": ("staff", [("/inbox", "{number}"), (("press", "ib:m:return:{item}"), "请发送退回")], "请补充数据",
              "已退回修改"),
    "review": ("staff", [("/review", "#{report}"), (("press", "rv:ret:{report}"), "请输入退回报告")], "请补充照片",
               "已退回"),
    "record": ("staff", [("/record", "登记会议出勤"), (("press", "rec:type:plenary"), "会议是哪一天")], "今天",
               "出勤名单"),
    "worklog": ("staff", [("/log", "登记哪一类工作"), (("press", "lg:k:briefing"), "是哪一天")], "昨天", "数量是多少"),
}


@pytest.mark.parametrize("name", list(EDIT_CASES))
async def test_an_edited_message_in_a_dialog_gets_a_polite_answer_and_the_step_stays(
    emu, bot_app, db, caplog, name
):
    caplog.set_level(logging.INFO)
    world = await _edit_world(bot_app, db, emu)
    who, steps, answer, follows = EDIT_CASES[name]
    user = emu.user(5101, "建华") if who == "member" else emu.user(5901, "小王")
    sent = None
    for action, expected in steps:
        expected = expected.format(**world)
        if isinstance(action, tuple):
            await _step(emu, user, lambda a=action: user.press(a[1].format(**world)), expected)
        else:
            await _step(emu, user, lambda a=action: user.send_text(a), expected)
            sent = user.emu._chat(user.id).messages  # the user's own messages, as the emulator keeps them
    mine = [m for m in sent.values() if m.get("from", {}).get("id") == user.id]
    note = t("common.edit_ignored", "zh")
    await _step(emu, user, lambda: user.edit_text(mine[-1], answer), note)
    assert not any(follows in x for x in user.texts()), "the edit was taken as the answer"
    assert _errors(caplog) == []
    await _step(emu, user, lambda: user.send_text(answer), follows)


# ---------------------------------------------------------------- group chats

SECRETARIAT = {"id": -1001000777, "type": "supergroup", "title": "政协机关工作群"}
ELSEWHERE = {"id": -1001000555, "type": "supergroup", "title": "某个微信转来的群"}


async def test_in_groups_the_bot_speaks_only_where_and_what_the_secretariat_group_allows(
    emu, db, db_url, clock, caplog
):
    from bot.assemble import make_deps, running
    from tests.conftest import make_settings

    caplog.set_level(logging.INFO)
    clock.frozen = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # Monday 08:00: the weekly digest is not due yet
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=SECRETARIAT["id"]), db, clock)
    await add_member(db, "苏建华", telegram_user_id=5101, language="zh")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=5901, language="zh")
    member, staff, stranger = emu.user(5101, "建华"), emu.user(5901, "小王"), emu.user(777, "路人")
    async with running(deps, poll_timeout=1):
        sends = [
            # Anywhere but the secretariat group: nothing at all, not even a refusal or the stranger text.
            (staff, "/digest", ELSEWHERE), (staff, "/digest@lvzhi_test_bot", ELSEWHERE), (staff, "/inbox", ELSEWHERE),
            (member, "/digest", ELSEWHERE), (member, "/report", ELSEWHERE), (member, "大家好", ELSEWHERE),
            (stranger, "/start", ELSEWHERE), (stranger, "这是什么机器人", ELSEWHERE),
            # In the secretariat group: a member's /digest, a staff command meant for a private chat
            # and a stranger's text get nothing; a secretary's /digest posts the digest there.
            (member, "/digest", SECRETARIAT), (staff, "/report", SECRETARIAT), (stranger, "你好", SECRETARIAT),
        ]
        for user, text_, chat in sends:
            user.send_text(text_, chat)
        staff.send_text("/digest", SECRETARIAT)
        choose = t("digest.choose_week", "zh")
        await emu.wait_for(lambda: any(m.get("text") == choose for m in emu.sent_to(SECRETARIAT["id"])), 30,
                           what="the digest's week choice in the secretariat group")
        offer = next(m for m in emu.sent_to(SECRETARIAT["id"]) if m.get("text") == choose)
        last_week = offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        member.press(last_week, offer, chat=SECRETARIAT)  # a member's press there: answered, nothing posted
        staff.press(last_week, offer, chat=SECRETARIAT)
        await emu.wait_for(lambda: any("document" in m for m in emu.sent_to(SECRETARIAT["id"])), 30,
                           what="the digest workbook in the secretariat group")
        # A press on a (forged) group message is answered, silently.
        pressed = {"id": "9900001", "from": dict(member.user), "chat_instance": "1", "data": f"rep:edit:{HUGE}",
                   "message": {"message_id": 1, "chat": ELSEWHERE, "date": 0, "text": "x",
                               "from": emu.bot_user}}
        emu.inject({"callback_query": pressed})
        answer = await _answer(emu, "9900001")
        # Each person's updates are handled in order: their private /help answered means the group
        # messages before it were handled too.
        for user in (member, staff, stranger):
            user.send_text("/help")
        for user in (member, staff, stranger):
            await emu.wait_for(lambda u=user: len(u.messages()) >= 1, 10, what=f"/help answered to {user.id}")
    assert emu.sent_to(ELSEWHERE["id"]) == []
    posted = emu.sent_to(SECRETARIAT["id"])
    kinds = [next(k for k in ("text", "photo", "document") if k in m) for m in posted]
    assert kinds == ["text", "text", "photo", "photo", "photo", "document"]  # the choice, then the digest
    assert not answer.get("text")
    assert _errors(caplog) == []


# ---------------------------------------------------------------- uploads checked by their content

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _jpeg(broken: bool = False) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    data = out.getvalue()
    return data[: len(data) // 2] if broken else data  # a photo cut off half way


def _docx() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


async def test_info_files_are_checked_by_their_content(emu, bot_app, db, caplog):
    caplog.set_level(logging.INFO)
    await add_member(db, "苏建华", telegram_user_id=5103, language="zh")
    user = emu.user(5103, "建华")
    await _info_to_files(emu, user)
    fake = t("uploads.not_a_document", "zh")
    await _step(emu, user, lambda: user.send_document(EXE, "setup.exe", "application/pdf"), fake)
    await _step(emu, user, lambda: user.send_document(EXE, "说明.pdf", "application/pdf"), fake)
    await _step(emu, user, lambda: user.send_document(b"PK\x03\x04junk", "说明.docx", "application/msword"), fake)
    await _step(emu, user, lambda: user.send_photo(_jpeg(broken=True)), t("uploads.broken_image", "zh"))
    await _step(emu, user, lambda: user.send_document(PDF, "情况说明.pdf", "application/pdf"),
                t("info.file_ok", "zh", count=1))
    await _step(emu, user, lambda: user.send_document(_docx(), "附件.docx", "application/octet-stream"),
                t("info.file_ok", "zh", count=2))
    await _step(emu, user, lambda: user.send_photo(_jpeg()), t("info.file_ok", "zh", count=3))
    assert [a["file_name"] for a in bot_app.user_data[5103]["info"]["attachments"]] == [
        "情况说明.pdf", "附件.docx", None]
    assert _errors(caplog) == []


async def test_report_evidence_is_checked_by_its_content(emu, bot_app, db, caplog):
    caplog.set_level(logging.INFO)
    await add_member(db, "苏建华", telegram_user_id=5104, language="zh")
    user = emu.user(5104, "建华")
    await _step(emu, user, lambda: user.send_text("/report"), "第 1 步")
    await _step(emu, user, lambda: user.press("rep:type:research"), "第 2 步")
    await _step(emu, user, lambda: user.press("rep:day:0"), "第 3 步")
    await _step(emu, user, lambda: user.send_text("到社区调研老旧小区加装电梯的推进情况，走访三个小区。"),
                         "第 4 步")
    broken = t("uploads.broken_image", "zh")
    await _step(emu, user, lambda: user.send_document(EXE, "photo.exe", "image/png"), broken)
    await _step(emu, user, lambda: user.send_document(_jpeg(broken=True), "现场.jpg", "image/jpeg"), broken)
    await _step(emu, user, lambda: user.send_photo(_jpeg(broken=True)), broken)
    await _step(emu, user, lambda: user.send_photo(_jpeg()), t("report.photo_received", "zh", count=1, max=9))
    assert len(bot_app.user_data[5104]["report"]["photos"]) == 1
    assert _errors(caplog) == []
