"""社情民意信息 end to end through the Bot API emulator: the whole /info dialog in several
messages with files and a co-author; the secretariat accepts and reports to the city level
through /inbox buttons; every author hears of each step once, in their own language; forged,
stale and wrongly-placed button presses change nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from datetime import datetime

from sqlmodel import col, func, select

from bot import info
from bot.dates import format_day
from bot.i18n import t
from models import DialogState, InfoAttachment, InfoAuthor, InfoEvent, InfoItem
from tests.conftest import add_member, start_bot_process

PDF = b"%PDF-1.4\n% test\n"
PART1 = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。"
PART2 = "资金筹措难，审批环节多，群众反映强烈。"
PART3 = "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商推动落地。"


async def _new(user, before: int, n: int) -> list[dict]:
    """Wait until the bot sent `n` messages after the first `before`; those messages."""
    await user.emu.wait_for(lambda: len(user.messages()) >= before + n, 10, what=f"{n} replies to {user.id}")
    return user.messages()[before:]


async def _answer(emu, cq_id: str) -> dict:
    await emu.wait_for(lambda: cq_id in emu.callback_answers, 10, what="callback answer")
    return emu.callback_answers[cq_id]


async def _say(user, text: str, n: int = 1) -> list[dict]:
    before = len(user.messages())
    user.send_text(text)
    return await _new(user, before, n)


async def _press(user, data: str, n: int = 1, message=None) -> list[dict]:
    before = len(user.messages())
    user.press(data, message)
    return await _new(user, before, n)


def _button(message: dict, prefix: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("callback_data", "").startswith(prefix):
                return button["callback_data"]
    raise LookupError(f"no button {prefix!r} on {message.get('text')!r}")


async def _counts(db, item_id: int) -> tuple[str, int]:
    async with db.session() as session:
        item = await session.get(InfoItem, item_id)
        events = (
            await session.exec(
                select(func.count()).select_from(InfoEvent).where(InfoEvent.item_id == item_id)
            )
        ).one()
    return item.state, events


async def test_submit_accept_report_and_notices(emu, bot_app, db, settings):
    author_row = await add_member(db, "苏建华", telegram_user_id=3001, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=3002, language="en", sector="致公党")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=3900, language="zh")
    author, coauthor, staff = (
        emu.user(3001, "建华"),
        emu.user(3002, "Yan", language_code="en"),
        emu.user(3900, "小王"),
    )
    year = datetime.now(settings.tz).year

    # --- the dialog, with bad input along the way
    replies = await _say(author, "/info", 2)
    assert replies[-1]["text"] == "第 1 步，共 5 步：" + t("info.ask_title", "zh", min=5, max=60)
    long_title = "关于" + "老旧小区加装电梯" * 8
    replies = await _say(author, long_title, 2)
    assert t("info.err.title_long", "zh", length=len(long_title), max=60) in replies[0]["text"]
    assert replies[1]["text"] == long_title  # handed back, nothing lost
    replies = await _say(author, "电梯")
    assert replies[-1]["text"].startswith(t("info.err.title_short", "zh", length=2, min=5))
    assert replies[-1]["text"].endswith(t("info.ask_title", "zh", min=5, max=60))  # the step asks again
    replies = await _say(author, "老旧小区加装电梯推进难")
    assert replies[-1]["text"].endswith(t("info.ask_category", "zh"))
    cat_index = settings_categories(bot_app).index("民生保障")
    replies = await _press(author, f"info:cat:{cat_index}", 2)
    assert replies[-1]["text"].endswith(t("info.ask_body", "zh", min=50, max=3000, advised=1500))

    # the body in three messages, with the running length; "Done" too early is refused
    replies = await _say(author, PART1)
    assert replies[-1]["text"] == t("info.body_progress", "zh", length=len(PART1), min=50, max=3000)
    cq = author.press("info:body:done")
    assert (await _answer(emu, cq))["text"] == t("info.err.body_short", "zh", length=len(PART1), min=50)
    await _say(author, PART2)
    replies = await _say(author, PART3)
    body = "\n".join([PART1, PART2, PART3])
    assert replies[-1]["text"] == t("info.body_progress", "zh", length=len(body), min=50, max=3000)
    replies = await _press(author, "info:body:done")
    assert replies[-1]["text"].endswith(t("info.ask_files", "zh", count=0))

    # attachments: a photo and a PDF are taken; an .exe and a 21 MB PDF are refused politely
    before = len(author.messages())
    author.send_photo(caption="现场照片")
    author.send_document(PDF, "情况说明.pdf", "application/pdf")
    author.send_document(b"MZ\x90\x00", "tool.exe", "application/octet-stream")
    author.send_document(b"\0" * (21 * 1024 * 1024), "big.pdf", "application/pdf")
    texts = [m["text"] for m in await _new(author, before, 4)]
    assert texts[:2] == [t("info.file_ok", "zh", count=1), t("info.file_ok", "zh", count=2)]
    assert texts[2].startswith(t("info.err.file_kind", "zh"))
    assert texts[3].startswith(t("info.err.file_big", "zh", size="21.0", max=20))
    assert texts[3].endswith(t("info.ask_files", "zh", count=2))  # the step asks again

    # co-author by part of a name
    await _press(author, "info:att:done")
    replies = await _say(author, "Liao")
    assert _button(replies[-1], "info:co:") == f"info:co:{co_row.id}"
    replies = await _press(author, f"info:co:{co_row.id}")
    assert replies[-1]["text"] == t("info.coauthor_added", "zh", names="Liao Yan")
    replies = await _press(author, "info:co:done", 2)
    card = replies[0]["text"]
    assert "老旧小区加装电梯推进难" in card and body in card and "Liao Yan" in card
    assert replies[-1]["text"] == t("info.confirm_question", "zh")

    # submit
    replies = await _press(author, "info:ok")
    number = f"SQ-{year}-0001"
    assert replies[-1]["text"] == t("info.submitted", "zh", number=number)
    async with db.session() as session:
        item = (await session.exec(select(InfoItem))).one()
        files = (await session.exec(select(InfoAttachment).order_by(col(InfoAttachment.id)))).all()
        authors = (await session.exec(select(InfoAuthor.member_id).order_by(col(InfoAuthor.position)))).all()
    assert (item.number, item.title, item.category, item.body, item.state) == (
        number,
        "老旧小区加装电梯推进难",
        "民生保障",
        body,
        "submitted",
    )
    assert [(f.kind, f.file_name, f.caption) for f in files] == [
        ("photo", None, "现场照片"),
        ("document", "情况说明.pdf", None),
    ]
    assert list(authors) == [author_row.id, co_row.id]
    # pressing "submit" again is a stale button: still one item
    cq = author.press("info:ok")
    assert (await _answer(emu, cq))["text"] == t("common.stale_button", "zh")
    assert await _counts(db, item.id) == ("submitted", 1)

    # --- a member pressing a secretariat button, and forged data: refused, nothing changes
    cq = author.press(f"ib:m:accept:{item.id}")
    assert (await _answer(emu, cq))["text"] == t("common.not_allowed", "zh")
    assert await _counts(db, item.id) == ("submitted", 1)

    # --- the secretariat's inbox: accept, then report to the city level
    replies = await _say(staff, "/inbox", 2)
    card = replies[1]
    assert number in card["text"] and body in card["text"]
    accept = _button(card, "ib:m:accept:")
    cq = staff.press(f"ib:m:report:{item.id}", card)  # forged: not accepted yet
    assert (await _answer(emu, cq))["text"] == t("info.err.illegal_report", "zh", number=number)
    cq = staff.press("ib:m:accept:999999", card)  # forged: no such item
    assert (await _answer(emu, cq))["text"] == t("info.err.no_item", "zh")
    assert await _counts(db, item.id) == ("submitted", 1)

    replies = await _press(staff, accept, message=card)
    assert replies[-1]["text"] == t("inbox.ask_accept", "zh", number=number)
    replies = await _press(staff, "ib:do", 2)
    assert replies[0]["text"] == t("inbox.done_accept", "zh", number=number)
    new_card = replies[1]
    assert await _counts(db, item.id) == ("accepted", 2)
    cq = staff.press(accept, card)  # the old card's button is stale now
    assert (await _answer(emu, cq))["text"] == t("info.err.illegal_accept", "zh", number=number)
    assert await _counts(db, item.id) == ("accepted", 2)

    replies = await _press(staff, _button(new_card, "ib:m:report:"), message=new_card)
    assert _button(replies[-1], "ib:lvl:city") == "ib:lvl:city"
    replies = await _press(staff, "ib:lvl:city")
    assert replies[-1]["text"] == t("inbox.ask_date", "zh")
    replies = await _press(staff, "ib:today", 2)
    assert replies[0]["text"] == t("inbox.done_report", "zh", number=number)
    assert await _counts(db, item.id) == ("accepted", 3)
    today = datetime.now(settings.tz).date()

    # --- each author hears of each step exactly once, in their own language (via the outbox)
    title = "老旧小区加装电梯推进难"
    zh = {
        "accepted": t("info.notice.accepted", "zh", number=number, title=title),
        "reported": t("info.notice.reported", "zh", number=number, title=title, level="市级",
                      date=format_day(today, "zh")),  # fmt: skip
    }
    en = {
        "submitted": t("info.notice.submitted", "en", actor="苏建华", number=number, title=title),
        "accepted": t("info.notice.accepted", "en", number=number, title=title),
        "reported": t("info.notice.reported", "en", number=number, title=title, level="city",
                      date=format_day(today, "en")),  # fmt: skip
    }
    await emu.wait_for(
        lambda: zh["reported"] in author.texts() and en["reported"] in coauthor.texts(),
        15,
        what="report notices",
    )
    for user, expected in ((author, zh), (coauthor, en)):
        texts = user.texts()
        assert all(texts.count(text) == 1 for text in expected.values()), texts
        assert texts.index(expected["accepted"]) < texts.index(expected["reported"])
    notices = [x for x in author.texts() if number in x and x.startswith(("✅ 您的", "📤"))]
    assert len(notices) == 2

    # --- /myinfo shows the item with its history
    replies = await _say(author, "/myinfo", 2)
    mine = replies[-1]["text"]
    # its status follows the workflow (reported, not just 已采用), and the history names who acted
    assert number in mine and "状态：已报送市级" in mine and "报送市级（" in mine and "机关小王 登记" in mine


def settings_categories(app) -> list[str]:
    return list(app.bot_data["deps"].rules.info.categories)


async def test_returned_item_is_revised_and_resubmitted_in_chat(emu, bot_app, db):
    """退回修改 → the author revises from /myinfo and resubmits; a stranger's button does nothing."""
    author_row = await add_member(db, "苏建华", telegram_user_id=3101, language="zh")
    await add_member(db, "朱宇浩", telegram_user_id=3103, language="zh")
    staff_row = await add_member(db, "机关小王", role="secretariat", telegram_user_id=3901)
    deps = bot_app.bot_data["deps"]
    async with db.session() as session:
        item = await info.submit(
            session,
            author_id=author_row.id,
            title="老旧小区加装电梯推进难",
            category="民生保障",
            body=PART1 + PART2 + PART3,
            now=deps.clock.now(),
            tz=deps.settings.tz,
            rules=deps.rules,
        )
        await info.apply_move(
            session,
            item_id=item.id,
            move="return",
            actor=staff_row,
            now=deps.clock.now(),
            tz=deps.settings.tz,
            text="请补充具体小区数据",
        )
    author, other = emu.user(3101, "建华"), emu.user(3103, "宇浩")

    # the author hears of the return first (through the outbox)
    returned = t(
        "info.notice.returned", "zh", number=item.number, title=item.title, text="请补充具体小区数据"
    )
    await emu.wait_for(lambda: returned in author.texts(), 15, what="the return notice")

    # another member forging the revise button of someone else's item
    await _say(other, "/myinfo")
    cq = other.press(f"info:rev:{item.id}")
    assert (await _answer(emu, cq))["text"] == t("info.err.not_yours", "zh")

    replies = await _say(author, "/myinfo", 2)
    listed = replies[1]
    assert "请补充具体小区数据" in listed["text"]
    replies = await _press(author, _button(listed, "info:rev:"), 3, message=listed)
    assert replies[0]["text"] == t("info.revise_intro", "zh", number=item.number, reason="请补充具体小区数据")
    await _press(author, "info:edit")
    replies = await _press(author, "info:edit:body", 3)
    assert replies[1]["text"] == PART1 + PART2 + PART3  # the old text, to copy from
    new_body = PART1 + "涉及本区32个小区、约1.2万户居民。" + PART3
    await _say(author, new_body)
    replies = await _press(author, "info:body:done", 2)
    assert new_body in replies[0]["text"]
    replies = await _press(author, "info:ok")
    assert replies[-1]["text"] == t("info.resubmitted", "zh", number=item.number)
    async with db.session() as session:
        stored = await session.get(InfoItem, item.id)
        kinds = (
            await session.exec(
                select(InfoEvent.kind).where(InfoEvent.item_id == item.id).order_by(col(InfoEvent.id))
            )
        ).all()
    assert stored.state == "submitted" and stored.body == new_body and stored.number == item.number
    assert list(kinds) == ["submitted", "returned", "resubmitted"]


# ---------------------------------------------------------------- SIGKILL of a bot subprocess


def _stop(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def test_half_written_item_survives_sigkill(emu, db, db_url, tmp_path):
    """Killed after the first part of the body: the restarted bot continues the same draft."""
    await add_member(db, "尹华", telegram_user_id=4110, language="zh")
    user = emu.user(4110, "尹华")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await _say(user, "/info", 2)
        await _say(user, "老旧小区加装电梯推进难")
        await _press(user, "info:cat:1", 2)
        replies = await _say(user, PART1)
        assert replies[-1]["text"] == t("info.body_progress", "zh", length=len(PART1), min=50, max=3000)
        # the step reaches the database right after the reply (persistence flushes after the handlers)
        rows: dict = {}
        for _ in range(500):
            async with db.session() as session:
                rows = {r.key: r.data for r in (await session.exec(select(DialogState))).all()}
            if rows.get("user:4110", {}).get("info", {}).get("body") == PART1:
                break
            await asyncio.sleep(0.02)
        assert any(k.startswith("conv:info:") for k in rows)
        assert rows["user:4110"]["info"]["body"] == PART1
    finally:
        _stop(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        replies = await _say(user, PART2 + PART3)
        body = PART1 + "\n" + PART2 + PART3
        assert replies[-1]["text"] == t("info.body_progress", "zh", length=len(body), min=50, max=3000)
        await _press(user, "info:body:done")
        await _press(user, "info:att:done")
        await _press(user, "info:co:done", 2)
        await _press(user, "info:ok")
        async with db.session() as session:
            (item,) = (await session.exec(select(InfoItem))).all()
        assert item.body == body and item.title == "老旧小区加装电梯推进难"
    finally:
        _stop(proc, signal.SIGTERM)
