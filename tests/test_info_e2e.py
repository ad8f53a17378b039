"""社情民意信息 end to end through the Bot API emulator: the whole /info dialog in several
messages with files and a co-author; the secretariat accepts and reports to the city level
through /inbox buttons; every author hears of each step once, in their own language; forged,
stale and wrongly-placed button presses change nothing."""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlmodel import col, func, select

from bot.core.dates import format_day
from bot.core.i18n import t
from bot.services import info
from models import DialogState, InfoAttachment, InfoAuthor, InfoEvent, InfoItem
from tests.conftest import (
    Expect,
    add_member,
    said_after,
    said_up_to,
    start_bot_process,
    stop_bot_process,
    until,
)

PDF = b"%PDF-1.4\n% test\n"
PART1 = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大。"
PART2 = "资金筹措难，审批环节多，群众反映强烈。"
PART3 = "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商推动落地。"


async def _new(user, before: int, last: Expect) -> list[dict]:
    return await said_up_to(user, before, last, 10)


async def _answer(emu, cq_id: str) -> dict:
    await emu.wait_for(lambda: cq_id in emu.callback_answers, what="callback answer")
    return emu.callback_answers[cq_id]


async def _say(user, text: str, last: Expect) -> list[dict]:
    return await said_after(user, lambda: user.send_text(text), last, 10)


async def _press(user, data: str, last: Expect, message=None) -> list[dict]:
    return await said_after(user, lambda: user.press(data, message), last, 10)


def _card_of(number: str) -> Callable[[dict], bool]:
    """The inbox card of an item (its buttons; a "done" line names the number without any)."""
    return lambda m: number in (m.get("text") or "") and bool(m.get("reply_markup"))


def _markup_has(data: str) -> Callable[[dict], bool]:
    return lambda m: data in str(m.get("reply_markup"))


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


@pytest.mark.one_database
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
    replies = await _say(author, "/info", t("info.ask_title", "zh", min=5, max=60))
    assert replies[-1]["text"] == "第 1 步，共 5 步：" + t("info.ask_title", "zh", min=5, max=60)
    long_title = "关于" + "老旧小区加装电梯" * 8
    replies = await _say(author, long_title, lambda m: m.get("text") == long_title)
    assert t("info.err.title_long", "zh", length=len(long_title), max=60) in replies[0]["text"]
    assert replies[1]["text"] == long_title  # handed back, nothing lost
    replies = await _say(author, "电梯", t("info.err.title_short", "zh", length=2, min=5))
    assert replies[-1]["text"].startswith(t("info.err.title_short", "zh", length=2, min=5))
    assert replies[-1]["text"].endswith(t("info.ask_title", "zh", min=5, max=60))  # the step asks again
    replies = await _say(author, "老旧小区加装电梯推进难", t("info.ask_category", "zh"))
    assert replies[-1]["text"].endswith(t("info.ask_category", "zh"))
    cat_index = settings_categories(bot_app).index("民生保障")
    ask_body = t("info.ask_body", "zh", min=50, max=3000, advised=1500)
    replies = await _press(author, f"info:cat:{cat_index}", ask_body)
    assert replies[-1]["text"].endswith(ask_body)

    # the body in three messages, with the running length; "Done" too early is refused
    progress = t("info.body_progress", "zh", length=len(PART1), min=50, max=3000)
    replies = await _say(author, PART1, progress)
    assert replies[-1]["text"] == progress
    cq = author.press("info:body:done")
    assert (await _answer(emu, cq))["text"] == t("info.err.body_short", "zh", length=len(PART1), min=50)
    two_parts = len(PART1) + 1 + len(PART2)
    await _say(author, PART2, t("info.body_progress", "zh", length=two_parts, min=50, max=3000))
    body = "\n".join([PART1, PART2, PART3])
    progress = t("info.body_progress", "zh", length=len(body), min=50, max=3000)
    replies = await _say(author, PART3, progress)
    assert replies[-1]["text"] == progress
    replies = await _press(author, "info:body:done", t("info.ask_files", "zh", count=0))
    assert replies[-1]["text"].endswith(t("info.ask_files", "zh", count=0))

    # attachments: a photo and a PDF are taken; an .exe and a 21 MB PDF are refused politely
    before = len(author.messages())
    author.send_photo(caption="现场照片")
    author.send_document(PDF, "情况说明.pdf", "application/pdf")
    author.send_document(b"MZ\x90\x00", "tool.exe", "application/octet-stream")
    author.send_document(b"\0" * (21 * 1024 * 1024), "big.pdf", "application/pdf")
    texts = [m["text"] for m in await _new(author, before, t("info.err.file_big", "zh", size="21.0", max=20))]
    assert texts[:2] == [t("info.file_ok", "zh", count=1), t("info.file_ok", "zh", count=2)]
    assert texts[2].startswith(t("info.err.file_kind", "zh"))
    assert texts[3].startswith(t("info.err.file_big", "zh", size="21.0", max=20))
    assert texts[3].endswith(t("info.ask_files", "zh", count=2))  # the step asks again

    # co-author by part of a name
    await _press(author, "info:att:done", t("info.ask_coauthors", "zh", names=t("info.none", "zh")))
    replies = await _say(author, "Liao", t("info.coauthor_found", "zh"))
    assert _button(replies[-1], "info:co:") == f"info:co:{co_row.id}"
    replies = await _press(author, f"info:co:{co_row.id}", t("info.coauthor_added", "zh", names="Liao Yan"))
    assert replies[-1]["text"] == t("info.coauthor_added", "zh", names="Liao Yan")
    replies = await _press(author, "info:co:done", t("info.confirm_question", "zh"))
    card = replies[0]["text"]
    assert "老旧小区加装电梯推进难" in card and body in card and "Liao Yan" in card
    assert replies[-1]["text"] == t("info.confirm_question", "zh")

    # submit
    number = f"SQ-{year}-0001"
    replies = await _press(author, "info:ok", t("info.submitted", "zh", number=number))
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
    replies = await _say(staff, "/inbox", _card_of(number))
    card = replies[1]
    assert number in card["text"] and body in card["text"]
    accept = _button(card, "ib:m:accept:")
    cq = staff.press(f"ib:m:report:{item.id}", card)  # forged: not accepted yet
    assert (await _answer(emu, cq))["text"] == t("info.err.illegal_report", "zh", number=number)
    cq = staff.press("ib:m:accept:999999", card)  # forged: no such item
    assert (await _answer(emu, cq))["text"] == t("info.err.no_item", "zh")
    assert await _counts(db, item.id) == ("submitted", 1)

    replies = await _press(staff, accept, t("inbox.ask_accept", "zh", number=number), message=card)
    assert replies[-1]["text"] == t("inbox.ask_accept", "zh", number=number)
    replies = await _press(staff, "ib:do", _card_of(number))
    assert replies[0]["text"] == t("inbox.done_accept", "zh", number=number)
    new_card = replies[1]
    assert await _counts(db, item.id) == ("accepted", 2)
    cq = staff.press(accept, card)  # the old card's button is stale now
    assert (await _answer(emu, cq))["text"] == t("info.err.illegal_accept", "zh", number=number)
    assert await _counts(db, item.id) == ("accepted", 2)

    replies = await _press(staff, _button(new_card, "ib:m:report:"), _markup_has("ib:lvl:city"), message=new_card)
    assert _button(replies[-1], "ib:lvl:city") == "ib:lvl:city"
    replies = await _press(staff, "ib:lvl:city", t("inbox.ask_date", "zh"))
    assert replies[-1]["text"] == t("inbox.ask_date", "zh")
    replies = await _press(staff, "ib:today", _card_of(number))
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
    replies = await _say(author, "/myinfo", lambda m: number in (m.get("text") or ""))
    mine = replies[-1]["text"]
    # its status follows the workflow (reported, not just 已采用), and the history names who acted
    assert number in mine and "状态：已报送市级" in mine and "报送市级（" in mine and "机关小王 登记" in mine


def settings_categories(app) -> list[str]:
    return list(app.bot_data["deps"].rules.info.categories)


@pytest.mark.one_database
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
    await emu.wait_for(lambda: returned in author.texts(), what="the return notice")

    # another member forging the revise button of someone else's item
    await _say(other, "/myinfo", t("info.my_none", "zh"))
    cq = other.press(f"info:rev:{item.id}")
    assert (await _answer(emu, cq))["text"] == t("info.err.not_yours", "zh")

    replies = await _say(author, "/myinfo", _markup_has("info:rev:"))
    listed = replies[1]
    assert "请补充具体小区数据" in listed["text"]
    replies = await _press(author, _button(listed, "info:rev:"), t("info.confirm_question", "zh"), message=listed)
    assert replies[0]["text"] == t("info.revise_intro", "zh", number=item.number, reason="请补充具体小区数据")
    await _press(author, "info:edit", t("info.edit_which", "zh"))
    ask_body = t("info.ask_body", "zh", min=50, max=3000, advised=1500)
    replies = await _press(author, "info:edit:body", ask_body)
    assert replies[1]["text"] == PART1 + PART2 + PART3  # the old text, to copy from
    new_body = PART1 + "涉及本区32个小区、约1.2万户居民。" + PART3
    await _say(author, new_body, "已收到正文")
    replies = await _press(author, "info:body:done", t("info.confirm_question", "zh"))
    assert new_body in replies[0]["text"]
    replies = await _press(author, "info:ok", t("info.resubmitted", "zh", number=item.number))
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


async def test_half_written_item_survives_sigkill(emu, db, db_url, tmp_path):
    """Killed after the first part of the body: the restarted bot continues the same draft."""
    await add_member(db, "尹华", telegram_user_id=4110, language="zh")
    user = emu.user(4110, "尹华")
    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        await _say(user, "/info", t("info.ask_title", "zh", min=5, max=60))
        await _say(user, "老旧小区加装电梯推进难", t("info.ask_category", "zh"))
        await _press(user, "info:cat:1", t("info.ask_body", "zh", min=50, max=3000, advised=1500))
        progress = t("info.body_progress", "zh", length=len(PART1), min=50, max=3000)
        replies = await _say(user, PART1, progress)
        assert replies[-1]["text"] == progress
        # the step reaches the database right after the reply (persistence flushes after the handlers)
        rows: dict = {}

        async def body_stored() -> bool:
            nonlocal rows
            async with db.session() as session:
                rows = {r.key: r.data for r in (await session.exec(select(DialogState))).all()}
            return rows.get("user:4110", {}).get("info", {}).get("body") == PART1

        await until(body_stored, "the first part of the body stored")
        assert any(k.startswith("conv:info:") for k in rows)
        assert rows["user:4110"]["info"]["body"] == PART1
    finally:
        stop_bot_process(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL

    proc = start_bot_process(db_url, emu, tmp_path)
    try:
        body = PART1 + "\n" + PART2 + PART3
        progress = t("info.body_progress", "zh", length=len(body), min=50, max=3000)
        replies = await _say(user, PART2 + PART3, progress)
        assert replies[-1]["text"] == progress
        await _press(user, "info:body:done", t("info.ask_files", "zh", count=0))
        await _press(user, "info:att:done", t("info.ask_coauthors", "zh", names=t("info.none", "zh")))
        await _press(user, "info:co:done", t("info.confirm_question", "zh"))
        await _press(user, "info:ok", "已提交，编号")
        async with db.session() as session:
            (item,) = (await session.exec(select(InfoItem))).all()
        assert item.body == body and item.title == "老旧小区加装电梯推进难"
    finally:
        stop_bot_process(proc)


@pytest.mark.one_database
async def test_a_long_card_drops_its_oldest_history_lines_not_the_newest(emu, bot_app, db):
    """A full body and a long history exceed one Telegram message: the newest steps stay on the card."""
    author_row = await add_member(db, "苏建华", telegram_user_id=3201, language="zh")
    staff_row = await add_member(db, "机关小王", role="secretariat", telegram_user_id=3902, language="zh")
    deps = bot_app.bot_data["deps"]
    body = (PART1 + PART2 + PART3) * 30
    body = body[: info.BODY_MAX]
    async with db.session() as session:
        item = await info.submit(session, author_id=author_row.id, title="老旧小区加装电梯推进难",
                                 category="民生保障", body=body, now=deps.clock.now(), tz=deps.settings.tz,
                                 rules=deps.rules)
        await info.apply_move(session, item_id=item.id, move="accept", actor=staff_row,
                              now=deps.clock.now(), tz=deps.settings.tz)
        for n in range(1, 9):
            await info.apply_move(session, item_id=item.id, move="feedback", actor=staff_row,
                                  now=deps.clock.now(), tz=deps.settings.tz,
                                  text=f"第{n}号反馈：" + "住建局已答复，正在推进。" * 30)
    staff = emu.user(3902, "小王")
    staff.send_text(f"/inbox {item.number}")  # found by its number
    await emu.wait_for(lambda: any(item.number in x and "第8号反馈" in x for x in staff.texts()), 10,
                       what="the card with its newest feedback")
    card = next(x for x in staff.texts() if item.number in x and "处理记录" in x)
    assert len(card) <= 4000 and body in card
    assert "第1号反馈" not in card
    lines = card.splitlines()
    shown = [x for x in lines if x.startswith("· ")]
    assert 0 < len(shown) < 10  # submitted, accepted and 8 feedbacks: the oldest are left off
    note = lines[lines.index(t("info.card_history", "zh")) + 1]
    assert note == t("info.card_history_cut", "zh", count=10 - len(shown))
