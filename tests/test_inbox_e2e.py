"""The secretariat reaches any 社情民意 item from /inbox: newest first, views that follow the workflow
(待处理 / 已采用待报送 / 已报送待反馈), and finding an item by its number or a word of its title;
and a member searching for co-authors is told when more match than are shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.i18n import t
from bot.services import info
from tests.conftest import add_member

# the /inbox views: handlers, not SQL: SQLite only (tests/conftest.py)
pytestmark = pytest.mark.one_database

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
BODY = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。建议区住建局牵头简化审批流程，设立专项补贴。"
TITLES = ["老旧小区加装电梯推进难", "背街小巷路灯长期不亮", "学校门口交通拥堵", "菜市场油烟扰民", "公园厕所太少"]


async def _wait_text(emu, user, fragment: str, since: int = 0) -> dict:  # type: ignore[no-untyped-def]
    def found() -> dict | None:
        return next((m for m in user.messages()[since:] if fragment in m.get("text", "")), None)

    await emu.wait_for(lambda: found() is not None, what=f"{fragment!r}")
    return found()  # type: ignore[return-value]


def _buttons(message: dict) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}


async def test_inbox_newest_first_workflow_views_and_finding_an_item(emu, bot_app, db, deps, clock):
    clock.frozen = NOW
    author = await add_member(db, "苏建华", telegram_user_id=5101)
    staff_row = await add_member(db, "王秘书", role="secretariat", telegram_user_id=5901, committee="")
    numbers = []
    for hours, title in enumerate(TITLES):
        async with db.session() as session:
            item = await info.submit(session, author_id=author.id, title=title, category="民生保障",
                                     body=BODY + title, now=NOW - timedelta(hours=10 - hours),
                                     tz=deps.settings.tz, rules=deps.rules)  # fmt: skip
            numbers.append((item.id, item.number))
    # the two oldest are adopted; the oldest of them is reported to the city level
    for item_id, _number in numbers[:2]:
        async with db.session() as session:
            await info.apply_move(session, item_id=item_id, move="accept", actor=staff_row, now=NOW, tz=deps.settings.tz)
    async with db.session() as session:
        await info.apply_move(session, item_id=numbers[0][0], move="report", actor=staff_row, now=NOW,
                              tz=deps.settings.tz, level="city")  # fmt: skip
    staff = emu.user(5901, "王秘书")

    # /inbox: what waits for a decision, newest first
    staff.send_text("/inbox")
    head = await _wait_text(emu, staff, "待处理：共 3 条")
    await _wait_text(emu, staff, TITLES[2])
    cards = [m["text"] for m in staff.messages() if m["text"].startswith("SQ-")]
    assert [next(x for x in TITLES if x in c) for c in cards] == [TITLES[4], TITLES[3], TITLES[2]]
    views = _buttons(head)
    assert set(views) >= {"待处理 3", "已采用待报送 1", "已报送待反馈 1"}

    # 已采用待报送: adopted and not yet reported; 已报送待反馈: reported, no feedback yet
    since = len(staff.messages())
    staff.press(views["已采用待报送 1"], head["message_id"])
    await _wait_text(emu, staff, "已采用待报送：共 1 条", since)
    card = await _wait_text(emu, staff, TITLES[1], since)
    assert "📤 报送" in _buttons(card)
    since = len(staff.messages())
    staff.press(views["已报送待反馈 1"], head["message_id"])
    await _wait_text(emu, staff, "已报送待反馈：共 1 条", since)
    card = await _wait_text(emu, staff, TITLES[0], since)
    assert "状态：已报送市级" in card["text"]  # the status follows 报送, not 已采用

    # by number, in any case and without the zeros, and by a word of the title
    since = len(staff.messages())
    number = numbers[3][1]
    staff.send_text("/inbox " + number.lower().replace("-000", "-"))
    await _wait_text(emu, staff, "找到 1 条", since)
    card = await _wait_text(emu, staff, number, since)
    assert TITLES[3] in card["text"] and "✅ 采用" in _buttons(card)
    since = len(staff.messages())
    staff.send_text("/inbox 路灯")
    await _wait_text(emu, staff, "查找「路灯」：找到 1 条", since)
    await _wait_text(emu, staff, TITLES[1], since)
    since = len(staff.messages())
    staff.send_text("/inbox 没有这样的标题")
    await _wait_text(emu, staff, t("inbox.found_none", "zh", text="没有这样的标题"), since)


async def test_coauthor_search_says_how_many_more_match_than_are_shown(emu, bot_app, db, clock):
    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=5201)
    for n in range(11):
        await add_member(db, f"王{'一二三四五六七八九十'[n % 10]}{n}", sector="民建")
    user = emu.user(5201, "建华")
    user.send_text("/info")
    await _wait_text(emu, user, "请发送标题")
    user.send_text("老旧小区加装电梯推进难")
    ask = await _wait_text(emu, user, "请选择分类")
    user.press(_buttons(ask)["民生保障"], ask["message_id"])
    await _wait_text(emu, user, "请发送正文")
    user.send_text(BODY)
    progress = await _wait_text(emu, user, "已收到正文")
    user.press("info:body:done", progress["message_id"])
    files = await _wait_text(emu, user, "可以发送照片")
    user.press("info:att:done", files["message_id"])
    await _wait_text(emu, user, "如有合作者")
    since = len(user.messages())
    user.send_text("王")
    found = await _wait_text(emu, user, "请点选合作者", since)
    assert t("info.coauthor_more", "zh", total=11, shown=8, more=3) in found["text"]
    assert len([b for b in _buttons(found) if b.startswith("王")]) == 8
    since = len(user.messages())
    user.send_text("王十")  # more characters narrow it down: no "more" note
    found = await _wait_text(emu, user, "请点选合作者", since)
    assert "还有" not in found["text"] and [b for b in _buttons(found) if b.startswith("王")] == ["王十9（民建）"]


async def test_every_handled_card_is_closed(emu, bot_app, db, deps, clock):
    clock.frozen = NOW
    author = await add_member(db, "苏建华", telegram_user_id=5301)
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=5902, committee="")
    async with db.session() as session:
        await info.submit(session, author_id=author.id, title=TITLES[0], category="民生保障", body=BODY,
                          now=NOW, tz=deps.settings.tz, rules=deps.rules)  # fmt: skip
    staff = emu.user(5902, "王秘书")
    staff.send_text("/inbox")
    card = await _wait_text(emu, staff, TITLES[0])
    since = len(staff.messages())
    staff.press(_buttons(card)["✅ 采用"], card["message_id"])
    ask = await _wait_text(emu, staff, "采用前可以修改", since)
    since = len(staff.messages())
    staff.press(_buttons(ask)["✅ 确认采用"], ask["message_id"])
    await _wait_text(emu, staff, "状态：已采用", since)

    def current(message: dict) -> dict:
        return next(m for m in staff.messages() if m["message_id"] == message["message_id"])

    await emu.wait_for(lambda: not current(card).get("reply_markup"), what="the item's old card closed")
    assert not current(ask).get("reply_markup")  # and the question that was answered
