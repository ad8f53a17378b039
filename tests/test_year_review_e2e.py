"""A year entered the ordinary way — the roster, events, outcomes, documents and the work log on
the command line; invitations, check-ins, a member's report, 社情民意 and its workflow in the chat
through the Bot API emulator — and then `lvzhi annual`: every figure of the shipped report equals
the count, made here by hand from what was entered, and the workbook's rows add up to each figure.
On SQLite and PostgreSQL.

The command line runs in a thread (as beside a running bot) and reads the test's clock, the same
clock the bot reads: the test moves time, nothing waits for it."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.core.clock import Clock
from bot.core.i18n import t
from models import ActivityReport
from tests.conftest import expect_reply, inline_buttons, new_event_card, until

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
REPORT_AT = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
BODY = (
    "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多，群众反映强烈。"
    "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商，推动加装电梯尽快落地。"
)
ROSTER = [  # name, sector, committee, role, Telegram id (None: never binds)
    ("王秘书", "", "办公室", "机关", 9001),
    ("李主任", "中共", "办公室", "机关+委员", 9002),
    ("苏建华", "民建", "经济委员会", "委员", 9101),
    ("廖艳", "民盟", "经济委员会", "委员", 9102),
    ("朱宇浩", "农工党", "经济委员会", "委员", 9103),
    ("丁欣怡", "九三学社", "文史委员会", "委员", 9104),
    ("马晓燕", "无党派", "文史委员会", "委员", None),
]
STAFF = {"王秘书", "李主任"}
MEMBERS = {"李主任", "苏建华", "廖艳", "朱宇浩", "丁欣怡", "马晓燕"}  # 委员, as the roster says


def sh(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=T0)


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch, clock, emu):  # type: ignore[no-untyped-def]
    """`lvzhi …` as the secretariat types it, on the bot's database and the test's clock."""
    monkeypatch.chdir(tmp_path)
    for name, value in {"DATABASE_URL": db_url, "LOCALE": "zh", "TIMEZONE": "Asia/Shanghai",
                        "BOT_USERNAME": "lvzhi_test_bot"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for module in ("bot.cli.events", "bot.cli.outcomes", "bot.cli.log", "bot.core.clock"):
        monkeypatch.setattr(f"{module}.Clock", lambda: clock)

    async def run(*args: str) -> str:
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    return run


class Year:
    """What the secretariat entered, to count by hand at the end."""

    def __init__(self) -> None:
        self.events: dict[int, dict] = {}
        self.quantities: dict[tuple[str, int], dict[str, int]] = {}  # ("event" | "report", id) -> {code: n}
        self.documents: list[dict] = []
        self.log: list[dict] = []
        self.items: dict[str, dict] = {}  # 社情民意 number -> {"moves": [(move, level/target)]}
        self.reports: list[dict] = []  # members' own reports, confirmed

    def event(self, event_id: int, **values: object) -> None:
        self.events[event_id] = {"present": [], "status": "published", **values}


async def _bind(emu, tmp_path: Path, cli) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with (tmp_path / "roster.csv").open("w", encoding="utf-8") as fh:
        fh.write("姓名,界别,专委会,角色,手机\n")
        for i, (name, sector, committee, role, _tg) in enumerate(ROSTER):
            fh.write(f"{name},{sector},{committee},{role},1380000{i:04d}\n")
    await cli("members", "import", "roster.csv", "--invites", "invites.csv")
    with (tmp_path / "invites.csv").open(encoding="utf-8-sig") as fh:
        codes = {row["name"]: row["code"] for row in csv.DictReader(fh)}
    users = {}
    for name, _sector, _committee, _role, tg in ROSTER:
        if tg is None:
            continue
        user = users[name] = emu.user(tg, name)
        await expect_reply(user, lambda u=user, n=name: u.send_text(f"/start {codes[n]}"), name)
    return users


def _number(text: str) -> int:
    """The number the bot gave what was just made: 活动 #3, 文稿 #1."""
    return int(re.search(r"#(\d+)", text).group(1))  # type: ignore[union-attr]


def _code(text: str) -> str:
    return re.search(r"签到码：(\d{6})", text).group(1)  # type: ignore[union-attr]


async def _sweep(bot_app) -> None:  # type: ignore[no-untyped-def]
    """The hourly job (deadline reminders, attendance close-out), run as its trigger would."""
    (job,) = bot_app.job_queue.get_jobs_by_name("deadline-sweep")
    await job.run(bot_app)


async def _hold(bot_app, clock, year: Year, event_id: int, users: dict, *names: str) -> None:  # type: ignore[no-untyped-def]
    """The event takes place: each of `names` checks in with the venue's code; then it is closed out."""
    event = year.events[event_id]
    clock.frozen, clock.offset = event["start"] + timedelta(minutes=5), timedelta(0)
    for name in names:
        user = users[name]
        await expect_reply(user, lambda u=user: u.send_text(f"/checkin {event['code']}"), "签到成功")
        event["present"].append(name)
    clock.frozen = event["start"] + timedelta(hours=3)
    await _sweep(bot_app)
    event["status"] = "closed"


async def _info(user, title: str, n: int) -> str:  # type: ignore[no-untyped-def]
    """A member submits a 社情民意 item in the chat; returns its number."""
    await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
    await expect_reply(user, lambda: user.send_text(title), t("info.ask_category", "zh"))
    await expect_reply(user, lambda: user.press("info:cat:1"), "正文")
    body = BODY + f"（第{n}条）"
    await expect_reply(user, lambda: user.send_text(body), t("info.body_progress", "zh", length=len(body), min=50, max=3000))
    await expect_reply(user, lambda: user.press("info:body:done"), t("info.ask_files", "zh", count=0))
    await expect_reply(user, lambda: user.press("info:att:done"), "合作者")
    await expect_reply(user, lambda: user.press("info:co:done"), t("info.confirm_question", "zh"))
    done = await expect_reply(user, lambda: user.press("info:ok"), "已提交，编号")
    return re.search(r"SQ-\d{4}-\d{4}", done["text"]).group(0)  # type: ignore[union-attr]


def _card(number: str):  # type: ignore[no-untyped-def]
    return lambda m: number in (m.get("text") or "") and bool(m.get("reply_markup")) and "ib:m:" in str(m["reply_markup"])


# What each move's button asks first, and what each follow-up is answered with.
ASKS = {"accept": "采用前可以修改", "reject": "不予采用", "report": "报送到哪一级", "adopt": "被哪一级政协采用",
        "instruction": "哪一级领导批示", "transfer": "转哪个单位", "feedback": "办理反馈内容"}  # fmt: skip
DATE_ASKED, DONE = t("inbox.ask_date", "zh"), "已通知作者"


async def _move(staff, year: Year, number: str, move: str, *steps: tuple[str, str, str], record: str = "") -> None:  # type: ignore[no-untyped-def]
    """One /inbox move on an item found by its number: its button, then each follow-up (a press
    `("press", data, reply)` or a message `("say", text, reply)`) with the reply it gets."""
    card = await expect_reply(staff, lambda: staff.send_text(f"/inbox {number}"), _card(number))
    button = next(data for data in inline_buttons(card).values() if data.startswith(f"ib:m:{move}:"))
    await expect_reply(staff, lambda: staff.press(button, card), ASKS[move])
    for how, value, reply in steps:
        action = (lambda v=value: staff.press(v)) if how == "press" else (lambda v=value: staff.send_text(v))
        await expect_reply(staff, action, reply)
    year.items[number]["moves"].append((move, record))


async def test_a_year_entered_the_ordinary_way_gives_each_figure_of_the_report(emu, bot_app, db, clock, cli, tmp_path):
    year = Year()
    users = await _bind(emu, tmp_path, cli)
    staff = users["王秘书"]

    # ---- events on the command line (tags, organiser, guests; one staff-only; two by import)
    plans = [  # id, title, kind, start, tags, organiser, guests, audience
        (1, "调研协商：老旧小区改造", "consultation", sh(3, 10, 14, 30), "调研协商", "经济", "张某（区委书记）、李某（区长）", "all"),
        (2, "轮值协商：养老服务", "consultation", sh(4, 14, 14, 30), "轮值协商", "主席会议", "李某（区长）", "all"),
        (3, "机关学习：作风建设", "study", sh(5, 6, 9), "机关学习,作风教育", "机关", "", "机关干部"),
    ]
    for event_id, title, kind, start, tags, organiser, guests, audience in plans:
        out = await cli("events", "add", "--title", title, "--kind", kind, "--start",
                        start.astimezone(SH).strftime("%Y-%m-%d %H:%M"), "--tags", tags, "--organiser", organiser,
                        "--guests", guests, "--audience", audience, "--publish")  # fmt: skip
        year.event(event_id, id=_number(out), title=title, kind=kind, start=start, tags=set(tags.split(",")), guests=guests.split("、") if guests else [],
                   staff_only=audience == "机关干部", code=_code(out))  # fmt: skip
    (tmp_path / "events.csv").write_text(
        "标题,类型,开始,标签,主办,邀请领导\n"
        "委员大讲堂：民法典,study,2026-06-16 15:00,委员大讲堂,主席会议,\n"
        "走访慰问困难群众,service,2026-07-01 09:00,走访慰问,机关,王某（副区长）\n"
        "取消的调研协商,consultation,2026-09-09 14:30,调研协商,经济,\n"
        "年底调研协商,consultation,2026-12-22 14:30,调研协商,经济,\n",
        encoding="utf-8",
    )
    await cli("events", "import", "events.csv", "--publish")
    listed = await cli("events", "list", "--all")  # its rows: #id, when, title, kind, status, code, answers
    rows = {cells[2]: cells for cells in (line.split("\t") for line in listed.splitlines()) if len(cells) > 5}
    for event_id, title, kind, start, tags, guests in [
        (4, "委员大讲堂：民法典", "study", sh(6, 16, 15), {"委员大讲堂"}, []),
        (5, "走访慰问困难群众", "service", sh(7, 1, 9), {"走访慰问"}, ["王某（副区长）"]),
        (6, "取消的调研协商", "consultation", sh(9, 9, 14, 30), {"调研协商"}, []),
        (7, "年底调研协商", "consultation", sh(12, 22, 14, 30), {"调研协商"}, []),
    ]:
        year.event(event_id, id=int(rows[title][0].lstrip("#")), title=title, kind=kind, start=start, tags=tags,
                   guests=guests, staff_only=False, code=rows[title][5])  # fmt: skip
    await cli("events", "cancel", str(year.events[6]["id"]))
    year.events[6]["status"] = "cancelled"

    # ---- one event made in the chat by the secretariat (/newevent)
    summary = await new_event_card(staff, "民主监督：营商环境", "supervision", "8月18日 14:30")
    tags = await expect_reply(staff, lambda: staff.press("ne:tags", summary), "请点选活动的标签")
    staff.press("ne:tg:sector_studio", tags)
    await emu.wait_for(lambda: "✓ 界别委员工作室" in str([m for m in staff.messages() if m["message_id"] == tags["message_id"]]),
                       30, what="the tag ticked")  # fmt: skip
    summary = await expect_reply(staff, lambda: staff.press("ne:tgdone", tags), "请确认")
    organisers = await expect_reply(staff, lambda: staff.press("ne:org", summary), "由谁主办")
    summary = await expect_reply(staff, lambda: staff.press(inline_buttons(organisers)["文史委员会"], organisers), "请确认")
    assert "标签：界别委员工作室" in summary["text"] and "主办：文史委员会" in summary["text"]
    done = await expect_reply(staff, lambda: staff.press("ne:pub", summary), "已发布活动")
    year.event(8, id=_number(done["text"]), title="民主监督：营商环境", kind="supervision", start=sh(8, 18, 14, 30),
               tags={"界别委员工作室"}, guests=[], staff_only=False, code=_code(done["text"]))  # fmt: skip

    # ---- 社情民意 submitted in the chat, moved through /inbox
    clock.frozen = sh(3, 2)
    authors = {"苏建华": "关于老旧小区加装电梯的建议", "廖艳": "关于背街小巷路灯维修的建议",
               "朱宇浩": "关于学校周边交通拥堵的建议", "丁欣怡": "关于农贸市场管理的建议"}  # fmt: skip
    numbers = {}
    for n, (name, title) in enumerate(authors.items(), start=1):
        numbers[name] = await _info(users[name], title, n)
        year.items[numbers[name]] = {"moves": []}
    clock.frozen = sh(3, 4)
    for name in ("苏建华", "廖艳", "朱宇浩"):
        await _move(staff, year, numbers[name], "accept", ("press", "ib:do", DONE))
    await _move(staff, year, numbers["丁欣怡"], "reject", ("say", "不属于本区职责范围", DONE))
    one, two, three = numbers["苏建华"], numbers["廖艳"], numbers["朱宇浩"]
    for number, move, level in ((one, "report", "city"), (one, "report", "region"), (one, "adopt", "national"),
                                (two, "report", "national"), (three, "report", "district")):  # fmt: skip
        await _move(staff, year, number, move, ("press", f"ib:lvl:{level}", DATE_ASKED), ("press", "ib:today", DONE),
                    record=level)  # fmt: skip
    await _move(staff, year, two, "transfer", ("press", "ib:hotline", DATE_ASKED), ("press", "ib:today", DONE),
                record="hotline")  # fmt: skip
    await _move(staff, year, three, "transfer", ("say", "区住建局", DATE_ASKED), ("press", "ib:today", DONE),
                record="区住建局")  # fmt: skip
    await _move(staff, year, three, "instruction", ("press", "ib:lvl:city", "批示内容摘要"), ("press", "ib:skip", DONE),
                record="city")  # fmt: skip
    await _move(staff, year, three, "feedback", ("say", "区住建局已答复，年内完成整治", DONE))

    # ---- the year goes by: events take place, members check in with the venue's code
    await _hold(bot_app, clock, year, 1, users, "苏建华", "廖艳")
    await _hold(bot_app, clock, year, 2, users, "苏建华")
    await _hold(bot_app, clock, year, 3, users, "王秘书", "李主任")
    await _hold(bot_app, clock, year, 4, users, "苏建华", "朱宇浩", "李主任")
    await _hold(bot_app, clock, year, 5, users, "丁欣怡")
    await _hold(bot_app, clock, year, 8, users, "廖艳", "丁欣怡")

    # ---- outcomes, documents and 批示 on the command line
    clock.frozen = sh(9, 1)
    for key, specs in (((1,), ["建议=5"]), ((2,), ["建议=3"]), ((2,), ["建议=4"]), ((3,), ["问题=6"]),
                       ((5,), ["走访=30", "办实事=2"]), ((7,), ["建议=9"])):  # fmt: skip
        args = [a for spec in specs for a in ("-q", spec)]
        await cli("events", "outcome", str(year.events[key[0]]["id"]), *args)
        codes = {"建议": "suggestions", "问题": "problems", "走访": "households", "办实事": "deeds"}
        for spec in specs:
            label, amount = spec.split("=")
            year.quantities.setdefault(("event", key[0]), {})[codes[label]] = int(amount)  # a later one replaces
    doc = _number(await cli("events", "document", "--kind", "协商报告", "--title", "关于老旧小区改造的协商报告", "--event",
                            str(year.events[1]["id"])))  # fmt: skip
    await cli("events", "document", "--kind", "调研报告", "--title", "关于养老服务的调研报告", "--date", "2026-08-30")
    await cli("events", "document", "--kind", "调研报告", "--title", "去年的调研报告", "--date", "2025-12-30")
    await cli("events", "instruction", str(doc), "--by", "区委书记张某", "--date", "2026-05-01")
    year.documents = [
        {"kind": "consult_report", "day": "2026-03-10", "instructed": True},  # the event's day
        {"kind": "research_report", "day": "2026-08-30", "instructed": False},
        {"kind": "research_report", "day": "2025-12-30", "instructed": False},
    ]

    # ---- a member's own report in the chat, confirmed in /review, with its households
    visitor = users["丁欣怡"]
    await expect_reply(visitor, lambda: visitor.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(visitor, lambda: visitor.press("rep:type:service"), t("report.ask_date", "zh"))
    await expect_reply(visitor, lambda: visitor.press("rep:day:1"), "第 3 步")
    await expect_reply(visitor, lambda: visitor.send_text("走访慰问辖区困难群众十二户，送去慰问品和慰问金。"), "第 4 步")
    await expect_reply(visitor, lambda: visitor.press("rep:photos:done"), "类型：")
    await expect_reply(visitor, lambda: visitor.press("rep:qty:households"), "请发送走访的数量")
    await expect_reply(visitor, lambda: visitor.send_text("12"), "走访：12 户")
    await expect_reply(visitor, lambda: visitor.press("rep:ok"), t("report.after_submit", "zh"))
    async with db.session() as session:
        report = (await session.exec(select(ActivityReport).where(ActivityReport.source_key.is_(None)))).one()
    card = await expect_reply(staff, lambda: staff.send_text("/review"), "待审核 1 份")
    staff.press(f"rv:ok:{report.id}", card)

    async def confirmed() -> bool:
        async with db.session() as session:
            return (await session.get(ActivityReport, report.id)).status == "confirmed"  # type: ignore[union-attr]

    await until(confirmed, "the report confirmed in /review")
    await cli("events", "outcome", "--report", str(report.id), "-q", "办实事=3")  # the secretariat adds one
    year.reports.append({"name": "丁欣怡", "type": "service"})
    year.quantities[("report", report.id)] = {"households": 12, "deeds": 3}

    # ---- the supervision's suggestions in the chat (/outcome)
    card = await expect_reply(staff, lambda: staff.send_text(f"/outcome {year.events[8]['id']}"), "请点选要登记的内容")
    await expect_reply(staff, lambda: staff.press("oc:q:suggestions", card), "请发送建议的数量")
    card = await expect_reply(staff, lambda: staff.send_text("7"), "建议：7 条")
    await expect_reply(staff, lambda: staff.press("oc:done", card), t("outcomes.chat.done", "zh"))
    year.quantities[("event", 8)] = {"suggestions": 7}

    # ---- the committee's own work log
    clock.frozen = sh(12, 9)
    for kind, day, count, marked in [("宣传简讯", "2026-02-01", 1, True), ("宣传简讯", "2026-02-09", 1, False),
                                     ("宣传简讯", "2026-03-09", 2, True), ("请示报告", "2026-04-01", 3, False),
                                     ("请示报告", "2025-12-31", 5, False), ("接待考察", "2026-05-05", 2, False),
                                     ]:  # fmt: skip
        await cli("log", "add", "--kind", kind, "--date", day, "--count", str(count), *(["--marked"] if marked else []),
                  "--note", f"{kind}{day}")  # fmt: skip
        year.log.append({"kind": kind, "year": int(day[:4]), "count": count, "marked": marked})
    # and one in the chat (/log)
    await expect_reply(staff, lambda: staff.send_text("/log"), "登记哪一类工作")
    await expect_reply(staff, lambda: staff.press("lg:k:publication"), "是哪一天")
    await expect_reply(staff, lambda: staff.send_text("10月10日"), "数量是多少")
    await expect_reply(staff, lambda: staff.press("lg:n:1"), "简要说明")
    card = await expect_reply(staff, lambda: staff.send_text("《区政协志（2016—2025）》"), "请确认")
    await expect_reply(staff, lambda: staff.press("lg:ok", card), "已登记工作记录")
    year.log.append({"kind": "出版编纂", "year": 2026, "count": 1, "marked": False})

    # ---- the report, on 10 December
    clock.frozen = REPORT_AT
    await until(lambda: _no_pending_answers(emu), "every press answered")
    figures = json.loads(await cli("annual", "--year", "2026", "--json"))["headings"]
    expected = hand_count(year)
    assert {k: v["figures"] for k, v in figures.items()} == expected

    text = await cli("annual", "--year", "2026", "--xlsx", "review.xlsx")
    assert text.startswith("2026年度履职工作回眸")
    c, r = expected["consultation"], expected["publicity"]
    assert (f"【协商议政】开展调研协商 {c['events']} 次（其中轮值协商 {c['rotating']} 次），形成协商报告 {c['reports']} 篇，"
            f"提出建议 {c['suggestions']} 条。") in text  # fmt: skip
    assert f"【宣传出版】发布简讯 {r['briefings']} 篇，其中 {r['reprinted']} 篇被转载" in text
    assert "【提案工作】暂无数据" in text
    book = load_workbook(tmp_path / "review.xlsx")
    summary = {(row[0], row[1]): row[3] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    for key, values in figures.items():
        sheet = book[values["label"]]
        sums: dict[str, int] = defaultdict(int)
        for row in sheet.iter_rows(min_row=2, values_only=True):
            sums[row[0]] += row[4]
        for name, value in values["figures"].items():
            assert summary[(values["label"], name)] == value, (key, name)
            assert sums.get(name, 0) == (value or 0), (key, name, dict(sums))


async def _no_pending_answers(emu) -> bool:  # type: ignore[no-untyped-def]
    return not emu.unanswered_presses()


def hand_count(year: Year) -> dict[str, dict[str, int | None]]:
    """Every figure of the shipped report, counted from what the test entered."""
    held = {i: e for i, e in year.events.items() if e["status"] == "closed"}

    def events(*tags: str, kinds: tuple[str, ...] = (), members_only: bool = False) -> list[dict]:
        return [e for e in held.values() if (not tags or set(tags) & e["tags"]) and (not kinds or e["kind"] in kinds)
                and not (members_only and e["staff_only"])]  # fmt: skip

    def present(chosen: list[dict]) -> list[str]:  # 委员 at members' events, staff at staff-only ones
        return [name for e in chosen for name in e["present"] if e["staff_only"] or name in MEMBERS]

    def event_quantity(code: str, chosen: list[dict]) -> int:
        ids = {i for i, e in held.items() if e in chosen}
        return sum(q.get(code, 0) for (owner, i), q in year.quantities.items() if owner == "event" and i in ids)

    def report_quantity(code: str) -> int:
        return sum(q.get(code, 0) for (owner, _), q in year.quantities.items() if owner == "report")

    def log(kind: str, marked: bool = False) -> int:
        return sum(e["count"] for e in year.log if e["kind"] == kind and e["year"] == 2026 and (e["marked"] or not marked))

    def items(move: str, *levels: str, target: str | None = None) -> int:  # each item once
        return sum(1 for item in year.items.values() if any(
            done == move and (not levels or detail in levels)
            and (target is None or (target == "hotline") == (detail == "hotline")) for done, detail in item["moves"]))  # fmt: skip

    docs = [d for d in year.documents if d["day"].startswith("2026")]
    consult = events("调研协商", "轮值协商")
    # members' own took-part records: every 委员 present at a members' event, and confirmed own reports
    duty = [name for e in held.values() if not e["staff_only"] for name in e["present"] if name in MEMBERS]
    duty += [r["name"] for r in year.reports]
    bound = len([name for name, *_rest, tg in ROSTER if tg is not None and name in MEMBERS])
    return {
        "study": {"lectures": len(events("委员大讲堂")), "reading": len(events("书香政协")),
                  "sessions": len(events(kinds=("study", "reading"), members_only=True)),
                  "attendances": len(present(events(kinds=("study", "reading"), members_only=True)))},
        "consultation": {"events": len(consult), "rotating": len(events("轮值协商")),
                         "reports": sum(1 for d in docs if d["kind"] == "consult_report"),
                         "suggestions": event_quantity("suggestions", consult)},
        "research": {"events": len(events(kinds=("research", "inspection"))),
                     "attendances": len(present(events(kinds=("research", "inspection")))),
                     "reports": sum(1 for d in docs if d["kind"] == "research_report"),
                     "instructed": sum(1 for d in docs if d["instructed"])},
        "supervision": {"events": len(events(kinds=("supervision",))),
                        "attendances": len(present(events(kinds=("supervision",)))),
                        "suggestions": event_quantity("suggestions", events(kinds=("supervision",)))},
        "studio": {"events": len(events("界别委员工作室")), "attendees": len(set(present(events("界别委员工作室"))))},
        "service": {"households": event_quantity("households", list(held.values())) + report_quantity("households"),
                    "deeds": event_quantity("deeds", list(held.values())) + report_quantity("deeds")},
        "members": {"reports": len(duty), "reporters": len(set(duty))},
        "info": {"collected": len(year.items), "accepted": items("accept"),
                 "upward": items("report", "city", "region", "national"), "national": items("report", "national"),
                 "adopted": items("adopt", "city", "region", "national"), "adopted_city": items("adopt", "city"),
                 "adopted_region": items("adopt", "region"), "adopted_national": items("adopt", "national")},
        "info_handling": {"hotline": items("transfer", target="hotline"),
                          "departments": items("transfer", target="departments"),
                          "instructions": items("instruction"), "feedback": items("feedback")},
        "proposals": {"received": None, "registered": None, "key": None, "answered_rate": None},
        "education": {"events": len(events("党组理论学习", "机关学习", "党课", "主题宣讲", "作风教育")),
                      "problems": event_quantity("problems", events("党组理论学习", "机关学习", "党课", "主题宣讲", "作风教育"))},
        "guests": {"events": sum(1 for e in held.values() if e["guests"]),
                   "guests": sum(len(e["guests"]) for e in held.values())},
        "requests": {"requests": log("请示报告"), "visits": log("接待考察")},
        "publicity": {"briefings": log("宣传简讯"), "reprinted": log("宣传简讯", marked=True),
                      "publications": log("出版编纂")},
        # nobody reaches the pass mark with a handful of duties; serving and bound from the roster
        "assessment": {"serving": len(MEMBERS), "bound": bound, "passed": 0, "excellent": 0},
    }  # fmt: skip
