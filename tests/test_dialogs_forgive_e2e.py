"""Every step of every dialog forgives a bad value: through the real bot and the Bot API emulator, a
bad value goes into each step — typed text where a button is wanted, a day out of range, text too
short or too long, a file of the wrong kind — and the same step asks again (its question and its
buttons come back), nothing is stored, and the next good value is taken by that step.

One table: a walk per dialog, a row per step (bad value → the question asked again → good value).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.services import activities, events, info
from bot.services.reminders import policy_from_settings
from models import ReportDraft
from tests.conftest import add_member

# the dialogs' steps: handlers, not SQL: SQLite only (tests/conftest.py)
pytestmark = pytest.mark.one_database

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
BODY = "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。建议区住建局牵头简化审批流程，设立专项补贴。"
TABLES = (
    "activity_report", "activity_photo", "report_draft", "info_item", "info_author", "info_attachment",
    "info_event", "event", "invitation", "deadline", "event_tag", "event_guest", "outcome_quantity",
    "output_document", "work_log",
)  # fmt: skip
MEMBER, OTHER, STAFF = 8101, 8102, 8901


class Walker:
    """Acts as one simulated person and waits for what the bot says back."""

    def __init__(self, emu: Any, user: Any, ctx: dict) -> None:
        self.emu, self.user, self.ctx = emu, user, ctx

    def say(self, value: str) -> None:
        self.user.send_text(value)

    def press(self, label: str) -> None:
        """The newest inline button whose label starts with `label`."""
        for message in reversed(self.user.messages()):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"].startswith(label):
                        self.user.press(button["callback_data"], message["message_id"])
                        return
        raise LookupError(f"no button {label!r} in the chat")

    def file(self, name: str, mime: str, data: bytes = b"not what was asked for") -> None:
        self.user.send_document(data, name, mime)

    def sticker(self) -> None:
        self.user.send_update({"message": {"chat": self.user.chat, "from": self.user.user, "message_id": 0,
                                           "date": 0, "sticker": STICKER}})  # fmt: skip

    async def expect(self, since: int, fragment: str) -> dict:
        """A bot message sent after the first `since` that contains `fragment`."""

        def found() -> dict | None:
            return next((m for m in self.user.messages()[since:] if fragment in m.get("text", "")), None)

        try:
            await self.emu.wait_for(lambda: found() is not None, what=f"{fragment!r} to {self.user.id}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the bot said last: {self.user.texts()[-3:]}") from None
        return found()  # type: ignore[return-value]


STICKER = {"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}  # fmt: skip
Action = Callable[[Walker], None]


@dataclass
class Step:
    name: str
    bad: Action
    asks: str  # what the step's question says: it must come back after the bad value
    good: Action
    then: str  # what the bot says once the good value is taken
    buttons: list[str] = field(default_factory=list)  # labels the asked-again question must carry
    reach: list[tuple[Action, str]] = field(default_factory=list)  # to get to the step: act, wait for this
    closes: bool = False  # the good value's outcome is written on the question's own card (edited)


@dataclass
class Walk:
    name: str
    who: int
    start: Action
    first: str
    steps: list[Step]
    setup: Callable[[Any, Any], Awaitable[dict]] | None = None


def long(n: int) -> str:
    return "长" * n


async def _submitted_items(db: Any, deps: Any) -> dict:
    """Two 社情民意 items waiting in the inbox: one walked through every move, one returned."""
    async with db.session() as session:
        author = await _member(session, MEMBER)
        first = await info.submit(session, author_id=author.id, title="老旧小区加装电梯推进难", category="民生保障",
                                  body=BODY, now=NOW - timedelta(hours=2), tz=deps.settings.tz, rules=deps.rules)  # fmt: skip
    async with db.session() as session:
        second = await info.submit(session, author_id=author.id, title="背街小巷路灯长期不亮", category="社会治理",
                                   body=BODY + "（另一条）", now=NOW - timedelta(hours=1), tz=deps.settings.tz,
                                   rules=deps.rules)  # fmt: skip
    return {"first": first.number, "second": second.number}


async def _pending_report(db: Any, deps: Any) -> dict:
    async with db.session() as session:
        author = await _member(session, MEMBER)
        report = await activities.submit_report(
            session, member_id=author.id, type_code="research", day=date(2026, 11, 30), description=TEXT,
            photos=[], now=NOW, rules=deps.rules, zone=deps.settings.tz,
        )  # fmt: skip
    return {"report": report.id}


async def _kept_draft(db: Any, deps: Any) -> dict:
    async with db.session() as session:
        author = await _member(session, MEMBER)
        session.add(ReportDraft(member_id=author.id, data={"type": "research", "date": "2026-11-30", "photos": []},
                                updated_at=NOW.replace(tzinfo=None)))  # fmt: skip
    return {}


async def _published_event(db: Any, deps: Any) -> dict:
    """An event for the 经济委员会 starting in 20 minutes: invitations out, check-in open."""
    async with db.session() as session:
        audience = await events.resolve_audience(session, "committee:经济委员会")
        event = await events.create_event(
            session, title="学习会：民法典", kind="study", starts_at=NOW + timedelta(minutes=20),
            audience=audience, now=NOW - timedelta(days=1), rules=deps.rules,
        )  # fmt: skip
        await events.publish_event(session, event, now=NOW - timedelta(days=1), policy=policy_from_settings(deps.settings))
        return {"code": event.checkin_code, "event": event.id}


async def _member(session: Any, telegram_id: int) -> Any:
    from sqlmodel import select

    from models import Member

    return (await session.exec(select(Member).where(Member.telegram_user_id == telegram_id))).one()


def _invitation_press(w: Walker) -> None:
    w.press("📝 请假")


async def _held_event(db: Any, deps: Any) -> dict:
    """An event that took place three days ago, closed out."""
    async with db.session() as session:
        event = await events.create_event(
            session, title="调研协商：养老服务", kind="consultation", starts_at=NOW - timedelta(days=3),
            now=NOW - timedelta(days=4), rules=deps.rules,
        )  # fmt: skip
        await events.publish_event(session, event, now=NOW - timedelta(days=4), policy=policy_from_settings(deps.settings))
        await events.close_attendance(session, event, now=NOW - timedelta(days=2), rules=deps.rules, zone=deps.settings.tz)
    return {"event": event.id}


WALKS = [
    Walk("report", MEMBER, lambda w: w.say("/report"), "请选择活动类型", [
        Step("type", lambda w: w.say("调研吧"), "请选择活动类型", lambda w: w.press("调研"), "活动是哪一天",
             buttons=["调研", "进基层服务"]),
        Step("date", lambda w: w.say("2099-01-01"), "活动是哪一天", lambda w: w.press("昨天"), "请用文字简要描述",
             buttons=["今天", "昨天", "前天"]),
        Step("description", lambda w: w.say("太短"), "请用文字简要描述", lambda w: w.say(TEXT), "请发送活动照片"),
        Step("photos", lambda w: w.file("议程.txt", "text/plain"), "请发送活动照片", lambda w: w.press("跳过"),
             "请核对", buttons=["跳过"]),
        Step("summary", lambda w: w.say("好的"), "请核对", lambda w: w.press("✅ 确认提交"), "已提交",
             buttons=["✅ 确认提交"]),
    ]),
    Walk("report_resume", MEMBER, lambda w: w.say("/report"), "未完成的履职报告", [
        Step("resume", lambda w: w.say("嗯"), "继续填写上次的报告", lambda w: w.press("继续填写"), "请用文字简要描述",
             buttons=["继续填写", "重新开始"]),
    ], setup=_kept_draft),
    Walk("info", MEMBER, lambda w: w.say("/info"), "请发送标题", [
        Step("title", lambda w: w.say("电梯"), "请发送标题", lambda w: w.say("老旧小区加装电梯推进难"), "请选择分类"),
        Step("category", lambda w: w.say("没有的分类"), "请选择分类", lambda w: w.press("民生保障"), "请发送正文",
             buttons=["民生保障"]),
        Step("body", lambda w: w.file("tool.exe", "application/octet-stream"), "请发送正文",
             lambda w: w.say(BODY), "已收到正文", buttons=["✅ 完成"]),
        Step("body done", lambda w: w.sticker(), "请发送正文", lambda w: w.press("✅ 完成"), "可以发送照片"),
        Step("files", lambda w: w.file("tool.exe", "application/octet-stream"), "可以发送照片",
             lambda w: w.press("下一步"), "如有合作者", buttons=["下一步"]),
        Step("co-authors", lambda w: w.say("查无此人"), "如有合作者", lambda w: w.press("下一步"), "确认提交吗",
             buttons=["下一步"]),
        Step("confirm", lambda w: w.say("提交"), "确认提交吗", lambda w: w.press("✅ 确认提交"), "已提交",
             buttons=["✅ 确认提交"]),
    ]),
    Walk("inbox", STAFF, lambda w: w.say("/inbox"), "老旧小区加装电梯推进难", [
        Step("accept", lambda w: w.say("好"), "采用前可以修改", lambda w: w.press("✏️ 修改标题"),
             "请发送新的标题", buttons=["✅ 确认采用"], reach=[(lambda w: w.press("✅ 采用"), "采用前可以修改")]),
        Step("new title", lambda w: w.say("短"), "请发送新的标题", lambda w: w.say("老旧小区加装电梯推进缓慢"),
             "新标题：老旧小区加装电梯推进缓慢"),
        Step("new body", lambda w: w.say("短"), "请发送新的正文", lambda w: w.say(BODY + "（修改）"), "新正文",
             reach=[(lambda w: w.press("✏️ 修改正文"), "请发送新的正文")]),
        Step("confirm accept", lambda w: w.say("确认"), "采用前可以修改", lambda w: w.press("✅ 确认采用"), "状态：已采用",
             buttons=["✅ 确认采用"]),
        Step("report level", lambda w: w.say("市级"), "报送到哪一级", lambda w: w.press("市级"), "是哪一天",
             buttons=["市级"], reach=[(lambda w: w.press("📤 报送"), "报送到哪一级")]),
        # the defect as reported: a day out of range, then the level's date step must still listen
        Step("report date", lambda w: w.say("2027-03-02"), "是哪一天", lambda w: w.say("乱写"), "没有看懂这个日期",
             buttons=["今天"]),
        Step("report date again", lambda w: w.say("2027-03-03"), "是哪一天", lambda w: w.press("今天"),
             "状态：已报送市级", buttons=["今天"]),
        Step("transfer to", lambda w: w.say(long(61)), "转哪个单位", lambda w: w.say("区住建局"), "是哪一天",
             buttons=["☎️ 12345热线"], reach=[(lambda w: w.press("📨 转办"), "转哪个单位")]),
        Step("transfer date", lambda w: w.say("下个月"), "是哪一天", lambda w: w.press("今天"), "转区住建局办理"),
        Step("instruction level", lambda w: w.say("区级"), "获得哪一级领导批示", lambda w: w.press("区级"),
             "请发送批示内容摘要", reach=[(lambda w: w.press("🖋 批示"), "获得哪一级领导批示")]),
        # 「批示：」 typed by the secretary is shown once, with its colon
        Step("instruction text", lambda w: w.sticker(), "请发送批示内容摘要", lambda w: w.say("批示：同意，请抓紧办理"),
             "区级领导批示：同意，请抓紧办理（王秘书 登记）", buttons=["跳过"]),
        Step("feedback", lambda w: w.say(long(3001)), "收到的办理反馈内容",
             lambda w: w.say("已协调街道推进，年内完成加装。"), "已登记办理反馈",
             reach=[(lambda w: w.press("📬 办理反馈"), "收到的办理反馈内容")]),
        Step("return reason", lambda w: w.say(long(501)), "的理由", lambda w: w.say("请补充具体小区名称"), "已退回修改",
             reach=[(lambda w: w.say("/inbox " + w.ctx["second"]), "背街小巷路灯长期不亮"),
                    (lambda w: w.press("↩️ 退回修改"), "的理由")]),
    ], setup=_submitted_items),
    Walk("review_return", STAFF, lambda w: w.say("/review"), "待审核", [
        Step("reason", lambda w: w.say("差"), "请输入退回报告", lambda w: w.say("请补充调研地点"), "已退回",
             reach=[(lambda w: w.press("↩️ 退回"), "请输入退回报告")]),
    ], setup=_pending_report),
    Walk("record", STAFF, lambda w: w.say("/record"), "请选择会议类型", [
        Step("type", lambda w: w.say("全体"), "请选择会议类型", lambda w: w.press("全体会议"), "会议是哪一天",
             buttons=["全体会议"]),
        Step("date", lambda w: w.say("2099-01-01"), "会议是哪一天", lambda w: w.press("今天"), "出勤名单",
             buttons=["今天"]),
        Step("members", lambda w: w.say("出席：查无此人"), "出勤名单", lambda w: w.say("出席：全体"), "请确认登记"),
        Step("confirm", lambda w: w.say("确认"), "请确认登记", lambda w: w.press("✅ 确认登记"), "已登记：出席",
             buttons=["✅ 确认登记"], closes=True),
    ]),
    Walk("newevent", STAFF, lambda w: w.say("/newevent"), "请输入活动标题", [
        Step("title", lambda w: w.say(long(121)), "请输入活动标题", lambda w: w.say("学习会：民法典"), "请选择活动类型"),
        Step("kind", lambda w: w.say("学习"), "请选择活动类型", lambda w: w.press("学习培训"), "活动什么时候开始",
             buttons=["学习培训", "进基层服务"]),
        Step("start", lambda w: w.say("昨天 10:00"), "活动什么时候开始", lambda w: w.say("12月8日 14:30"), "什么时候结束"),
        Step("end", lambda w: w.say("13:00"), "什么时候结束", lambda w: w.say("16:30"), "在哪里举行", buttons=["跳过"]),
        Step("place", lambda w: w.say(long(121)), "在哪里举行", lambda w: w.say("政协三楼会议室"), "请哪些委员参加",
             buttons=["跳过"]),
        Step("audience", lambda w: w.say("经济委员会"), "请哪些委员参加", lambda w: w.press("某个专委会"), "请点选专委会",
             buttons=["全体委员", "某个专委会"]),
        Step("committee", lambda w: w.say("不存在的委员会"), "请点选专委会", lambda w: w.say("经济"), "活动前多久提醒",
             buttons=["经济委员会"]),
        Step("reminders", lambda w: w.say("明天提醒"), "活动前多久提醒", lambda w: w.press("默认"), "请确认",
             buttons=["默认"]),
        Step("tags", lambda w: w.say("调研协商"), "请点选活动的标签", lambda w: w.press("完成"), "请确认",
             buttons=["调研协商", "完成"], reach=[(lambda w: w.press("🏷 标签"), "请点选活动的标签")]),
        Step("organiser", lambda w: w.say("机关"), "由谁主办", lambda w: w.press("机关"), "主办：机关",
             buttons=["机关", "经济委员会"], reach=[(lambda w: w.press("🏛 主办单位"), "由谁主办")]),
        Step("confirm", lambda w: w.say("发布"), "请确认", lambda w: w.press("保存草稿"), "已保存草稿",
             buttons=["发布并通知", "保存草稿"]),
    ]),
    Walk("log", STAFF, lambda w: w.say("/log"), "登记哪一类工作", [
        Step("kind", lambda w: w.say("简讯"), "登记哪一类工作", lambda w: w.press("宣传简讯"), "是哪一天",
             buttons=["宣传简讯", "请示报告"]),
        Step("day", lambda w: w.say("明天"), "是哪一天", lambda w: w.say("3月1日"), "数量是多少", buttons=["今天", "昨天"]),
        Step("count", lambda w: w.say("许多"), "数量是多少", lambda w: w.say("2"), "简要说明", buttons=["1 篇"]),
        Step("note", lambda w: w.say(long(501)), "简要说明", lambda w: w.say("简讯：全会召开"), "是否被转载",
             buttons=["跳过"]),
        Step("mark", lambda w: w.say("是的"), "是否被转载", lambda w: w.press("是"), "请确认", buttons=["是", "否"]),
        Step("confirm", lambda w: w.say("保存"), "请确认", lambda w: w.press("✅ 保存"), "已登记工作记录",
             buttons=["✅ 保存"]),
    ]),
    Walk("outcome", STAFF, lambda w: w.say(f"/outcome {w.ctx['event']}"), "请点选要登记的内容", [
        Step("amount", lambda w: w.say("十五"), "请发送建议的数量", lambda w: w.say("15"), "建议：15 条",
             reach=[(lambda w: w.press("建议"), "请发送建议的数量")]),
        Step("document kind", lambda w: w.say("协商报告"), "登记哪一类文稿", lambda w: w.press("协商报告"),
             "请发送协商报告的标题", buttons=["协商报告", "调研报告"], reach=[(lambda w: w.press("📄 文稿"), "登记哪一类文稿")]),
        Step("document title", lambda w: w.say(long(201)), "请发送协商报告的标题", lambda w: w.say("关于养老服务的协商报告"),
             "协商报告：《关于养老服务的协商报告》"),
        Step("instruction", lambda w: w.say(long(121)), "请发送批示领导", lambda w: w.say("区委书记张某"), "区委书记张某批示",
             reach=[(lambda w: w.press("🖋 批示"), "请发送批示领导")]),
        Step("guests", lambda w: w.say("、".join(f"领导{i}" for i in range(21))), "请发送参加活动的领导",
             lambda w: w.say("张某（区委书记）"), "邀请领导：张某（区委书记）",
             reach=[(lambda w: w.press("👥 邀请领导"), "请发送参加活动的领导")]),
        Step("card", lambda w: w.say("完成"), "请点选要登记的内容", lambda w: w.press("✅ 完成"), "活动成果已登记",
             buttons=["建议", "📄 文稿", "✅ 完成"]),
    ], setup=_held_event),
    Walk("deadline", STAFF, lambda w: w.say("/deadline"), "新建考核截止事项", [
        Step("title", lambda w: w.say(long(121)), "请输入标题", lambda w: w.say("年度社情民意"), "截止日期是哪一天"),
        Step("due", lambda w: w.say("昨天"), "截止日期是哪一天", lambda w: w.say("下周五"), "请选择考核要求"),
        Step("requirement", lambda w: w.say("某类活动"), "请选择考核要求", lambda w: w.press("某类活动"),
             "请选择活动类型", buttons=["提交社情民意", "某类活动"]),
        Step("type", lambda w: w.say("调研"), "请选择活动类型", lambda w: w.press("调研"), "至少几次",
             buttons=["调研"]),
        Step("value", lambda w: w.say("好几次"), "至少几次", lambda w: w.say("2"), "请确认"),
        Step("confirm", lambda w: w.say("保存"), "请确认", lambda w: w.press("保存"), "已保存考核截止事项",
             buttons=["保存"]),
    ]),
    Walk("leave", MEMBER, _invitation_press, "请假原因", [
        Step("reason", lambda w: w.say(long(201)), "请假原因", lambda w: w.say("当天在外地出差"), "已登记请假"),
    ], setup=_published_event),
    Walk("checkin", MEMBER, lambda w: w.say("/checkin"), "请输入现场公布的 6 位签到码", [
        Step("code", lambda w: w.say("12ab"), "请输入现场公布的 6 位签到码", lambda w: w.say(w.ctx["code"]), "签到成功"),
    ], setup=_published_event),
]


async def _snapshot(db: Any) -> dict[str, list]:
    async with db.session() as session:
        return {
            table: [tuple(row) for row in (await session.exec(text(f"SELECT * FROM {table} ORDER BY 1"))).all()]
            for table in TABLES
        }


@pytest.mark.parametrize("walk", WALKS, ids=[w.name for w in WALKS])
async def test_a_bad_value_at_any_step_asks_that_step_again_and_changes_nothing(walk, emu, bot_app, db, deps, clock):
    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=MEMBER, committee="经济委员会")
    await add_member(db, "廖艳", telegram_user_id=OTHER, committee="经济委员会", sector="致公党")
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=STAFF, committee="")
    ctx = await walk.setup(db, deps) if walk.setup else {}
    person = Walker(emu, emu.user(walk.who, "委员"), ctx)
    if walk.name == "leave":  # the invitation comes through the outbox first
        await person.expect(0, "活动通知")
    since = len(person.user.messages())
    walk.start(person)
    await person.expect(since, walk.first)
    for step in walk.steps:
        for act, wanted in step.reach:
            since = len(person.user.messages())
            act(person)
            await person.expect(since, wanted)
        before = await _snapshot(db)
        since = len(person.user.messages())
        step.bad(person)
        asked = await person.expect(since, step.asks)
        labels = [b["text"] for row in (asked.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        for label in step.buttons:  # the question comes back with its buttons, live
            assert any(x.startswith(label) for x in labels), (walk.name, step.name, label, labels)
        assert await _snapshot(db) == before, f"{walk.name}/{step.name}: a bad value changed stored data"
        since = len(person.user.messages())
        step.good(person)
        await person.expect(0 if step.closes else since, step.then)
