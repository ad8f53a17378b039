"""The weekly digest, exports and the year in review, on SQLite and PostgreSQL: counts against small
hand-counted fixtures (ISO week boundaries in Asia/Shanghai, the previous-week comparison), the
chart's CJK font, the workbooks' sheets and headers, and delivery once across a restart."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.assemble import make_deps, running
from bot.core.clock import Clock, to_db
from bot.core.i18n import t
from bot.core.rules import load_rules
from bot.core.schedule import parse_digest_time
from bot.services.annual import annual_figures
from bot.services.annual import render_text as annual_text
from bot.services.digest import IsoWeek, WeekError, build_digest, digest_week_for, render_text
from bot.services.digest_send import due_week, queue_weekly_digest, recipients
from bot.services.exports import digest_workbook, export
from bot.services.figures import Period, member_points, member_records, shortfall
from models import (
    ActivityReport,
    Deadline,
    Event,
    InfoAuthor,
    InfoEvent,
    InfoItem,
    Invitation,
    Member,
    Outbox,
)
from tests.conftest import add_member, make_settings, run_cli

SH = ZoneInfo("Asia/Shanghai")
W47 = IsoWeek(2025, 47)  # Monday 2025-11-17 … Sunday 2025-11-23
NOW = datetime(2025, 11, 24, 9, 0, tzinfo=SH).astimezone(UTC)  # Monday 09:00, the digest's hour


def sh(*args: int) -> datetime:
    """A local Shanghai time as aware UTC."""
    return datetime(*args, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def rules(settings):  # type: ignore[no-untyped-def]
    return load_rules(settings.rules_path)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


# --------------------------------------------------------------------------- ISO weeks


def test_iso_week_bounds_in_the_committee_zone() -> None:
    start, end = W47.bounds(SH)
    assert start == datetime(2025, 11, 16, 16, 0, tzinfo=UTC)  # Monday 00:00 in Shanghai
    assert end == datetime(2025, 11, 23, 16, 0, tzinfo=UTC)
    assert IsoWeek.parse("2025-W47") == W47 == IsoWeek.parse(" 2025w47 ")
    assert str(W47.previous()) == "2025-W46" and str(IsoWeek(2025, 1).previous()) == "2024-W52"
    assert str(IsoWeek(2026, 53 - 1).next()) == "2026-W53"  # 2026 has 53 ISO weeks
    assert IsoWeek.containing(sh(2025, 11, 23, 23, 59), SH) == W47
    assert IsoWeek.containing(sh(2025, 11, 24, 0, 0), SH) == W47.next()
    assert digest_week_for(NOW, SH) == W47
    for bad in ("2025-W54", "2025-47", "W47", "", "2025-W00"):
        with pytest.raises(WeekError):
            IsoWeek.parse(bad)


def test_digest_time_and_when_it_is_due() -> None:
    when = parse_digest_time("MON 09:00")
    assert (when.weekday, when.at.hour, when.at.minute) == (0, 9, 0)
    assert parse_digest_time("fri 17:30").weekday == 4
    assert due_week(sh(2025, 11, 24, 8, 59), SH, when) is None
    assert due_week(sh(2025, 11, 24, 9, 0), SH, when) == W47
    assert due_week(sh(2025, 11, 30, 23, 0), SH, when) == W47  # late, the same week
    for bad in ("XYZ 09:00", "MON 25:00", "nine"):
        with pytest.raises(ValueError):
            parse_digest_time(bad)


# --------------------------------------------------------------------------- fixtures


def _report(
    member: Member,
    code: str,
    submitted: datetime,
    status: str = "pending",
    *,
    points: float = 1,
    day: date | None = None,
    attendance: str | None = None,
) -> ActivityReport:
    return ActivityReport(
        member_id=member.id,
        type_code=code,
        activity_date=day or submitted.astimezone(SH).date(),
        description="测试履职活动内容记录",
        status=status,
        points=points,
        attendance=attendance,
        submitted_at=to_db(submitted),
    )


async def _item(
    session,
    author: Member,
    seq: int,
    submitted: datetime,
    state: str,
    steps: list[tuple],  # type: ignore[no-untyped-def]
    coauthors: list[Member] = (),
) -> InfoItem:  # type: ignore[assignment]
    item = InfoItem(
        number=f"SQ-2025-{seq:04d}",
        year=2025,
        seq=seq,
        author_id=author.id,
        title=f"社情民意{seq}",
        body="正文" * 20,
        category="民生保障",
        state=state,
        submitted_at=to_db(submitted),
        last_submitted_at=to_db(submitted),
    )
    session.add(item)
    await session.flush()
    session.add(InfoAuthor(item_id=item.id, member_id=author.id, position=0))
    for position, other in enumerate(coauthors, start=1):
        session.add(InfoAuthor(item_id=item.id, member_id=other.id, position=position))
    session.add(InfoEvent(item_id=item.id, kind="submitted", at=to_db(submitted)))
    for kind, at, level in steps:
        session.add(InfoEvent(item_id=item.id, kind=kind, at=to_db(at), level=level))
    return item


def _event(title: str, kind: str, starts: datetime, status: str) -> Event:
    return Event(
        title=title,
        kind=kind,
        starts_at=to_db(starts),
        ends_at=to_db(starts + timedelta(hours=2)),
        checkin_opens_at=to_db(starts - timedelta(minutes=30)),
        checkin_closes_at=to_db(starts + timedelta(hours=2)),
        checkin_code=f"C{abs(hash(title)) % 100000}",
        status=status,
    )


async def _fixture(db) -> dict[str, Member]:  # type: ignore[no-untyped-def]
    """Hand-counted week W47 (and W46 before it); see the expectations in the tests."""
    a = await add_member(db, "苏建华", telegram_user_id=1001, committee="经济委员会", sector="民建")
    b = await add_member(db, "廖艳", telegram_user_id=1002, committee="教科文卫委员会", sector="九三学社")
    c = await add_member(db, "朱宇浩", committee="经济委员会", sector="民建")  # never bound
    d = await add_member(db, "丁欣怡", telegram_user_id=1004, committee="教科文卫委员会", sector="九三学社")
    s = await add_member(db, "马晓燕", role="secretariat", telegram_user_id=1005, committee="", sector="")
    async with db.session() as session:
        for member, bound in (
            (a, sh(2025, 11, 20, 10)),
            (b, sh(2025, 11, 12, 10)),
            (d, sh(2025, 10, 1)),
            (s, sh(2025, 1, 5)),
        ):
            row = await session.get(Member, member.id)
            row.bound_at = to_db(bound)
            row.reachable = member is not d  # 丁欣怡 blocked the bot
            session.add(row)
        session.add_all(
            [
                # W47: three reports, one confirmed. Sunday 23:59 local is still W47 …
                _report(a, "study", sh(2025, 11, 23, 23, 59), "confirmed"),
                # … Monday 00:00 local is W48 (and only 9 hours old: nothing to chase yet).
                _report(a, "research", sh(2025, 11, 24, 0, 0), "pending"),
                _report(b, "study", sh(2025, 11, 17, 0, 0), "pending"),  # waiting 7 days → needs action
                _report(b, "meeting", sh(2025, 11, 18, 15, 0), "withdrawn"),  # any state counts as submitted
                # W46: two study reports; Sunday 2025-11-16 23:59 local is the last minute of W46.
                _report(a, "study", sh(2025, 11, 16, 23, 59), "confirmed"),
                _report(a, "study", sh(2025, 11, 10, 9, 0), "confirmed"),
            ]
        )
        # 社情民意: W47 submitted 2 (one accepted and reported to the city), 1 transferred (W46's item).
        await _item(
            session,
            a,
            1,
            sh(2025, 11, 18, 9),
            "accepted",
            [("accepted", sh(2025, 11, 19, 9), None), ("reported", sh(2025, 11, 20, 9), "city")],
        )
        await _item(
            session,
            a,
            2,
            sh(2025, 11, 11, 9),
            "accepted",
            [("accepted", sh(2025, 11, 12, 9), None), ("transferred", sh(2025, 11, 21, 9), None)],
        )
        await _item(session, b, 3, sh(2025, 11, 19, 9), "submitted", [])  # waiting 5 days → needs action
        # Events: one held in W47 (2 of 3 present), one cancelled, one next week with answers.
        held = _event("学习会", "study", sh(2025, 11, 20, 14), "closed")
        cancelled = _event("取消的调研", "research", sh(2025, 11, 21, 9), "cancelled")
        upcoming = _event("读书活动", "reading", sh(2025, 11, 26, 14, 30), "published")
        session.add_all([held, cancelled, upcoming])
        await session.flush()
        session.add_all(
            [
                Invitation(event_id=held.id, member_id=a.id, attendance="present"),
                Invitation(event_id=held.id, member_id=b.id, checked_in_at=to_db(sh(2025, 11, 20, 14)),
                           checkin_method="self"),  # declared without the venue's code
                Invitation(event_id=held.id, member_id=d.id, attendance="absent"),
                Invitation(event_id=cancelled.id, member_id=a.id),
                Invitation(event_id=upcoming.id, member_id=a.id, answer="attend"),
                Invitation(event_id=upcoming.id, member_id=b.id, answer="leave"),
                Invitation(event_id=upcoming.id, member_id=s.id),
            ]
        )
        session.add(
            Deadline(
                title="提交社情民意", due_on=date(2025, 12, 10), requirement={"type": "info", "count": 1}
            )
        )
        session.add(
            Deadline(title="很久以后", due_on=date(2026, 3, 1), requirement={"type": "info", "count": 1})
        )
    return {"a": a, "b": b, "c": c, "d": d, "s": s}


# --------------------------------------------------------------------------- the digest's figures


async def test_week_numbers_iso_boundaries_and_previous_week(db, rules) -> None:
    await _fixture(db)
    async with db.session() as session:
        digest = await build_digest(session, W47, now=NOW, rules=rules, zone=SH)
    cur, prev = digest.current, digest.previous
    assert (cur.reports.submitted, cur.reports.confirmed) == (3, 1)
    assert {k: (v.submitted, v.confirmed) for k, v in cur.by_type.items()} == {
        "study": (2, 1),
        "meeting": (1, 0),
    }
    assert {k: (v.submitted, v.confirmed) for k, v in cur.by_committee.items()} == {
        "经济委员会": (1, 1),
        "教科文卫委员会": (2, 0),
    }
    assert {k: v.submitted for k, v in cur.by_sector.items()} == {"民建": 1, "九三学社": 2}
    assert (prev.reports.submitted, prev.reports.confirmed) == (2, 2)
    assert {k: v.submitted for k, v in prev.by_type.items()} == {"study": 2}
    assert (cur.info_submitted, cur.info_accepted, cur.info_transferred) == (2, 1, 1)
    assert cur.info_reported == {"district": 0, "city": 1, "region": 0, "national": 0}
    assert (prev.info_submitted, prev.info_accepted, prev.info_transferred) == (1, 1, 0)
    assert (cur.events_held, cur.invited, cur.attended) == (1, 3, 2)
    assert cur.attended_self == 1  # each kind of check-in counted: one by code (or recorded), one self-declared
    assert "签到 2/3 人次（签到码 1，自报 1）" in render_text(digest, "zh", rules)
    assert prev.events_held == 0 and prev.attendance_rate is None
    assert (cur.newly_bound, prev.newly_bound) == (1, 1)
    [upcoming] = digest.upcoming
    assert (upcoming.title, upcoming.attend, upcoming.leave, upcoming.no_answer) == ("读书活动", 1, 1, 1)
    assert upcoming.starts_at.strftime("%m-%d %H:%M") == "11-26 14:30"

    action = digest.action
    assert (action.reports_waiting, action.reports_oldest_days) == (1, 7)
    assert (action.info_waiting, action.info_oldest_days) == (1, 5)
    assert (action.awaiting_reply, action.awaiting_oldest_days) == (1, 3)
    assert (action.blocked.count, action.blocked.names) == (1, ["丁欣怡"])
    assert (action.unbound.count, action.unbound.names) == (1, ["朱宇浩"])
    [deadline] = action.deadlines  # the one in March is beyond 30 days
    # 马晓燕 is secretariat staff, not a 委员: not behind on a 委员's deadline
    assert (deadline.title, deadline.days_left, deadline.short.count) == ("提交社情民意", 16, 2)
    assert sorted(deadline.short.names) == sorted(["朱宇浩", "丁欣怡"])
    assert action.minimums is None  # the year's end is 37 days away

    text = render_text(digest, "zh", rules)
    lines = text.splitlines()
    assert lines[0] == "📊 履职周报 · 第47周（11月17日—23日）"
    # what needs action comes first, before the numbers
    assert text.index("【待办事项】") < text.index("【本周数据】")
    assert t("digest.action_reports", "zh", n=1, days=7) in lines
    assert t("digest.reports_total", "zh", submitted=3, confirmed=1, trend="↑1") in lines
    assert t("digest.row", "zh", label="学习培训、专题讲座", submitted=2, confirmed=1, trend="持平") in lines
    assert t("digest.row", "zh", label="专委会及其他会议", submitted=1, confirmed=0, trend="↑1") in lines
    assert "出席率 67%" in text
    english = render_text(digest, "en", rules)
    assert english.startswith("📊 Weekly digest · week 47 (11/17–23)") and "NEEDS ACTION" in english


async def test_minimums_shown_when_the_year_ends_within_30_days(db, rules) -> None:
    m = await _fixture(db)
    now = sh(2025, 12, 8, 9)
    async with db.session() as session:
        session.add(_report(m["a"], "plenary", sh(2025, 3, 1), "confirmed", points=30, attendance="present"))
        session.add_all(
            [_report(m["a"], "research", sh(2025, 4, d), "confirmed", points=3) for d in (1, 2, 3)]
        )
    async with db.session() as session:
        digest = await build_digest(session, IsoWeek(2025, 49), now=now, rules=rules, zone=SH)
    # minimums: plenary 1, activity 3, info 1. Only 苏建华 meets all three (2 items, 3 research + 4 study).
    assert digest.action.period_end == date(2025, 12, 31)
    # 廖艳, 朱宇浩, 丁欣怡 (马晓燕 is staff, not a 委员).
    assert digest.action.minimums is not None and digest.action.minimums.count == 3
    assert "苏建华" not in digest.action.minimums.names and "马晓燕" not in digest.action.minimums.names


async def test_points_per_member_and_in_the_records_match_hand_counts(db, rules) -> None:
    """The one points engine (bot.services.figures), for one member (/me) and for every member (records),
    against hand counts: caps, leave and absence points, co-authors' share, bonuses, the 社情民意 cap."""
    m = await _fixture(db)
    async with db.session() as session:
        session.add(_report(m["b"], "plenary", sh(2025, 3, 1), "confirmed", points=-10, attendance="absent"))
        session.add(_report(m["c"], "plenary", sh(2025, 3, 1), "confirmed", points=20, attendance="leave"))
        session.add_all(
            [_report(m["a"], "research", sh(2025, 5, d), "confirmed", points=3) for d in range(1, 8)]
        )
        await _item(
            session,
            m["c"],
            4,
            sh(2025, 6, 1),
            "accepted",
            [
                ("accepted", sh(2025, 6, 2), None),
                ("reported", sh(2025, 6, 3), "national"),
                ("instruction", sh(2025, 6, 4), None),
            ],
            coauthors=[m["a"], m["b"]],
        )
    # By hand. 苏建华: study 3 × 1 + research 7 × 3 capped at 15 = 18; 社情民意 13 (city) + 10
    # (accepted: district) + 15 (half of item 4's 5 + 20 national + 5 instruction) = 38, capped at 30.
    # 廖艳: plenary absent −10; 5 + 15. 朱宇浩: plenary leave 20; 30 (capped at 30). 丁欣怡: nothing.
    expected = {  # total, 社情民意 points, 社情民意 items, duties owed
        "a": (48, 30, 3, ["plenary"]),
        "b": (10, 20, 2, ["plenary", "activity"]),
        "c": (50, 30, 1, ["plenary", "activity"]),
        "d": (0, 0, 0, ["plenary", "activity", "info"]),
    }
    period = Period.of_year(2025, SH)
    async with db.session() as session:
        records = {r["member_id"]: r for r in await member_records(session, period, rules)}
        assert m["s"].id not in records  # staff are not 委员
        for key, (total, info_points, info_submitted, owed) in expected.items():
            member = m[key]
            mine = await member_points(session, member.id, period, rules)
            record = records[member.id]
            assert record["total"] == round(mine.confirmed, 2) == total, member.name
            assert record["info_points"] == mine.info_points == info_points, member.name
            assert record["info_submitted"] == mine.info_submitted == info_submitted, member.name
            assert record["owed"] == [o.key for o in mine.owed] == owed, member.name
    assert records[m["a"].id]["p_research"] == 15  # 7 × 3 capped at 15
    assert records[m["b"].id]["att_absent"] == 1 and records[m["c"].id]["att_leave"] == 1


# --------------------------------------------------------------------------- chart and workbooks


@pytest.mark.one_database  # the chart, not SQL
async def test_chart_png_opens_and_uses_a_cjk_font(db, rules) -> None:
    from fontTools.ttLib import TTCollection, TTFont
    from PIL import Image

    from bot.services.digest_chart import build_figures, figure_texts, find_cjk_font, render_pngs

    await _fixture(db)
    async with db.session() as session:
        digest = await build_digest(session, W47, now=NOW, rules=rules, zone=SH)
    font = find_cjk_font()
    assert font is not None, "no CJK font: install fonts-noto-cjk"
    texts = [pair for _, fig in build_figures(digest, "zh", rules) for pair in figure_texts(fig)]
    chinese = [(text, path) for text, path in texts if any(ord(ch) > 0x2E80 for ch in text)]
    assert {"学习培训、\n专题讲座", "教科文卫委员会", "本周", "上周"} <= {text for text, _ in chinese}
    # the glyphs are in the font's character map (independently read with fontTools, once: a CJK
    # font's map has some 45,000 entries)
    reader = TTCollection(font.path).fonts[font.index] if font.path.endswith(".ttc") else TTFont(font.path)
    cmap = reader.getBestCmap()
    for text, path in chinese:
        assert path == font.path
        assert all(ord(ch) in cmap for ch in text if not ch.isspace()), text
    for _, png in render_pngs(digest, "zh", rules):
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG" and image.width == 800 and image.height > 300


@pytest.mark.one_database  # the chart, not SQL
async def test_chart_without_a_cjk_font_falls_back_to_english(db, rules, monkeypatch) -> None:
    from bot.services import digest_chart

    await _fixture(db)
    async with db.session() as session:
        digest = await build_digest(session, W47, now=NOW, rules=rules, zone=SH)
    monkeypatch.setattr(digest_chart, "find_cjk_font", lambda: None)
    texts = [text for _, fig in digest_chart.build_figures(digest, "zh", rules) for text, _ in digest_chart.figure_texts(fig)]
    assert "Study session or lecture" in texts and "This week" in texts
    cjk = [text for text in texts if any(ord(ch) >= 0x2E80 for ch in text)]
    assert cjk == []  # no boxes


async def test_digest_workbook_and_exports_open_with_sheets_and_headers(db, rules, tmp_path) -> None:
    await _fixture(db)
    buffer = io.BytesIO()
    async with db.session() as session:
        await digest_workbook(session, W47, buffer, rules=rules, zone=SH, lang="zh")
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["本周履职报告", "本周社情民意", "本年度各委员合计"]
    week = book["本周履职报告"]
    assert [c.value for c in week[1]][:6] == ["编号", "姓名", "界别", "专委会", "类型", "活动日期"]
    assert week.max_row == 1 + 3  # the three W47 reports
    assert sorted(row[1].value for row in week.iter_rows(min_row=2)) == ["廖艳", "廖艳", "苏建华"]
    assert book["本周社情民意"].max_row == 1 + 2
    totals = book["本年度各委员合计"]
    headers = [c.value for c in totals[1]]
    assert headers[:3] == ["姓名", "界别", "专委会"] and "总积分" in headers and "合格" in headers
    assert totals.max_row == 1 + 4  # the four 委员, not the secretariat's 马晓燕

    out = tmp_path / "2025.xlsx"
    async with db.session() as session:
        counts = await export(session, ["members", "activities", "info"], 2025, out, rules=rules, zone=SH)
    assert counts == {"members": 4, "activities": 6, "info": 3}
    book = load_workbook(out)
    assert book.sheetnames == ["委员履职档案", "履职活动", "社情民意"]
    assert [c.value for c in book["社情民意"][1]][:4] == ["编号", "标题", "类别", "状态"]
    info_rows = {row[0].value: row for row in book["社情民意"].iter_rows(min_row=2)}
    assert info_rows["SQ-2025-0001"][7].value == "市级"  # highest level reached


async def test_annual_figures(db, rules) -> None:
    await _fixture(db)
    async with db.session() as session:
        figures = await annual_figures(session, 2025, rules=rules, zone=SH, now=NOW)
    assert (figures.members, figures.bound) == (4, 3)  # 马晓燕 is staff
    assert figures.by_type == {"study": 3}  # confirmed only
    assert figures.groups["study"].events == 1 and figures.groups["study"].event_attendances == 2
    assert figures.groups["study"].participations == 3 and figures.groups["study"].members == 1
    assert figures.events_held == 1  # not the cancelled one, nor the published one still to come
    assert (figures.event_attendances, figures.event_attendances_self) == (2, 1)
    assert (figures.info_collected, figures.info_accepted, figures.info_transferred) == (3, 2, 1)
    assert figures.info_reported["city"] == 1
    assert figures.by_committee["经济委员会"].reports == 3 and figures.by_committee["经济委员会"].members == 2
    text = annual_text(figures, "zh", rules)
    assert text.startswith("📘 2025 年度履职数据") and "市级 1 篇" in text
    assert figures.as_dict()["groups"]["study"]["events"] == 1


# --------------------------------------------------------------------------- delivery


async def test_queued_once_per_week_and_recipient(db, settings, rules, data_dir) -> None:
    await _fixture(db)
    settings = make_settings(settings.database_url, secretariat_chat_id=-100777)
    people = await recipients(db, settings)
    assert [(r.chat_id, r.lang) for r in people] == [(1005, "zh"), (-100777, "zh")]  # staff and the group
    assert await queue_weekly_digest(db, settings, rules, now=NOW) == 2
    assert await queue_weekly_digest(db, settings, rules, now=NOW + timedelta(hours=1)) == 0
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).order_by(Outbox.id))).all()
    assert sorted(r.dedupe_key for r in rows) == sorted(
        f"digest:2025-W47:{chat}{suffix}"
        for chat in (1005, -100777)
        for suffix in ("", ":chart:types", ":chart:committees", ":chart:info", ":xlsx")
    )
    methods = {r.dedupe_key.rsplit(":", 1)[-1]: r.payload["method"] for r in rows if r.chat_id == 1005}
    assert methods == {"1005": "sendMessage", "types": "sendPhoto", "committees": "sendPhoto",
                       "info": "sendPhoto", "xlsx": "sendDocument"}  # fmt: skip
    photo = next(r for r in rows if r.payload["method"] == "sendPhoto")
    assert photo.payload["photo"].startswith("file:") and photo.payload["photo"].endswith(".png")
    assert (data_dir / "digests" / "digest-2025-W47-zh.xlsx").is_file()


async def test_delivered_once_across_a_restart(db, settings, emu, data_dir) -> None:
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=1005)
    await add_member(db, "苏建华", telegram_user_id=1001)  # a member: no digest
    staff = emu.user(1005, "晓燕")
    clock = Clock(frozen=sh(2025, 11, 24, 10, 30))  # the bot was down at 09:00: sent late, at start-up
    deps = make_deps(settings, db, clock)
    async with running(deps, poll_timeout=1):
        await emu.wait_for(lambda: any("document" in m for m in staff.messages()), what="the workbook")
        messages = staff.messages()
    assert messages[0]["text"].startswith("📊 履职周报 · 第47周（11月17日—23日）")
    assert ["photo" in m for m in messages[1:4]] == [True] * 3
    assert messages[4]["document"]["file_name"] == "履职周报-2025年第47周.xlsx"
    async with running(make_deps(settings, db, clock), poll_timeout=1) as app:
        await app.bot_data["deps"].dispatcher.drain()  # anything queued would go now
    assert len(staff.messages()) == 5
    assert emu.sent_to(1001) == []
    async with db.session() as session:
        rows = (await session.exec(select(Outbox))).all()
    assert len(rows) == 5 and {r.status for r in rows} == {"sent"}  # text, three charts, workbook


async def test_not_queued_before_the_hour(db, settings, emu, data_dir) -> None:
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=1005)
    deps = make_deps(settings, db, Clock(frozen=sh(2025, 11, 24, 8, 59)))
    async with running(deps, poll_timeout=1) as app:
        jobs = [job.name for job in app.job_queue.jobs()]
    assert "weekly-digest" in jobs
    async with db.session() as session:
        assert (await session.exec(select(Outbox))).all() == []


async def test_shortfall_of_a_points_deadline(db, rules) -> None:
    m = await _fixture(db)
    async with db.session() as session:
        session.add(_report(m["b"], "plenary", sh(2025, 3, 1), "confirmed", points=30, attendance="present"))
    async with db.session() as session:
        short = await shortfall(session, [{"type": "points", "min": 20}], Period.of_year(2025, SH), rules)
    # 廖艳: plenary 30 → meets it; 苏建华: study 2 + 社情民意 (5 + 8) + 5 = 20 → meets it; the rest do not.
    assert (
        short is not None and short.count == 2 and "苏建华" not in short.names and "廖艳" not in short.names
    )
    async with db.session() as session:
        from bot.services.deadlines import complies

        deadline = Deadline(
            title="积分", due_on=date(2025, 12, 31), requirement={"type": "points", "min": 20}
        )
        behind = [
            mm.name
            for mm in m.values()
            if mm.is_member and not await complies(session, deadline, mm.id, rules=rules, zone=SH)
        ]
    assert short.count == len(behind) and sorted(short.names) == sorted(behind)


@pytest.mark.one_database  # the command line; its figures on both databases in the tests above
async def test_command_line_digest_export_and_annual(db, db_url, tmp_path) -> None:
    import json
    import os
    import subprocess

    await _fixture(db)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TIMEZONE": "Asia/Shanghai",
        "LOCALE": "zh",
        "LVZHI_DATA_DIR": str(tmp_path / "data"),
    }

    def cli(*args: str) -> subprocess.CompletedProcess:
        return run_cli(args, env=env, cwd=tmp_path)

    result = cli("digest", "--week", "2025-W47")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.startswith("📊 履职周报 · 2025年第47周（11月17日—23日）")
        and "履职报告：提交 3 件（已确认 1），↑1" in result.stdout
    )
    bad = cli("digest", "--week", "next")
    assert bad.returncode == 2 and t("digest.bad_week", "zh", text="next") in bad.stderr
    out = tmp_path / "2025.xlsx"
    result = cli("export", "members", "--period", "2025", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert load_workbook(out).sheetnames == ["委员履职档案"]
    assert cli("export", "info", "--period", "2025", "--out", str(tmp_path / "x.csv")).returncode == 2
    result = cli("annual", "--year", "2025", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["headings"]["info"]["figures"]["collected"] == 3
    assert figures["breakdown"]["by_type"] == {"study": 3}
    text = cli("annual", "--year", "2025")
    assert text.stdout.startswith("2025年度履职工作回眸") and "· 学习培训、专题讲座：3" in text.stdout


def test_a_workbook_abandoned_half_way_is_cleaned_up_without_noise() -> None:
    """Ctrl-C while the digest's workbook is being written must not print a traceback later."""
    import subprocess
    import sys

    script = (
        "from bot.services.exports import building, new_book\n"
        "try:\n"
        "    with building(new_book()) as book:\n"
        "        sheet = book.create_sheet('x')\n"
        "        sheet.append(['a', 1])\n"
        "        raise KeyboardInterrupt\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "import gc; gc.collect()\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "done"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr


def test_cjk_font_installed_after_matplotlib_cached_its_font_list_is_found(monkeypatch) -> None:
    from matplotlib import font_manager

    from bot.services.digest_chart import find_cjk_font

    if not any("cjk" in path.lower() for path in font_manager.findSystemFonts()):
        pytest.skip("no CJK font file on this machine (install fonts-noto-cjk)")
    stale = [entry for entry in font_manager.fontManager.ttflist if "CJK" not in entry.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)  # as cached before the install
    find_cjk_font.cache_clear()
    try:
        font = find_cjk_font()
        assert font is not None and "CJK" in font.family
    finally:
        find_cjk_font.cache_clear()


async def test_instructions_are_counted_in_the_digest(db, rules) -> None:
    m = await _fixture(db)
    async with db.session() as session:
        await _item(session, m["b"], 9, sh(2025, 11, 3, 9), "accepted",
                    [("accepted", sh(2025, 11, 4, 9), None), ("instruction", sh(2025, 11, 19, 9), "city")])  # fmt: skip
    async with db.session() as session:
        digest = await build_digest(session, W47, now=NOW, rules=rules, zone=SH)
    assert (digest.current.info_instructions, digest.previous.info_instructions) == (1, 0)
    assert "批示 1（↑1）" in render_text(digest, "zh", rules)


@pytest.mark.one_database  # the chart, not SQL
async def test_charts_fit_a_phone_with_integer_ticks_both_weeks_labelled_and_the_legend_outside(db, rules) -> None:
    from bot.services.digest_chart import build_figures

    await _fixture(db)
    async with db.session() as session:
        digest = await build_digest(session, W47, now=NOW, rules=rules, zone=SH)
    figures = build_figures(digest, "zh", rules)
    assert [subject for subject, _ in figures] == ["types", "committees", "info"]
    for subject, fig in figures:
        width, height = fig.get_size_inches() * fig.dpi
        assert width == 800 and height < 1400, subject  # one phone screen each
        [ax] = fig.axes
        ticks = [tick for tick in ax.get_xticks() if ax.get_xlim()[0] <= tick <= ax.get_xlim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks), (subject, ticks)
        bars = [patch for container in ax.containers for patch in container]
        labels = [text for text in ax.texts if text.get_text().isdigit()]
        assert len(labels) == len(bars) == 2 * len(ax.get_yticks()), subject  # this week and last, zeros too
        [legend] = fig.legends
        renderer = fig.canvas.get_renderer()
        assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)), subject
    types = figures[0][1].axes[0]
    assert [t.get_text() for t in types.get_yticklabels()][:2] == ["学习培训、\n专题讲座", "专委会及其他会议"]
