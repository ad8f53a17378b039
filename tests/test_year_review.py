"""The year in review from the rules file's report definition, on SQLite and PostgreSQL: events
with tags, organiser and guests, their outcomes, staff-only events, the work log and the 社情民意
steps are entered through the services, and every figure of the shipped report equals a count
of what was entered. Also: the report definition is checked when the rules are read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.core.config import Settings
from bot.core.rules import RulesError, load_rules, parse_rules
from bot.core.schedule import QuietHours
from bot.services import activities, events, info, outcomes, worklog
from bot.services.reminders import ReminderPolicy
from bot.services.year_review import Scope, figure_rows, year_review
from models import ActivityReport, Member
from tests.conftest import add_member

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
RULES = load_rules(Settings(_env_file=None).rules_path)  # type: ignore[call-arg]
REVIEW = RULES.review
POLICY = ReminderPolicy(zone=SH, quiet=QuietHours(time(21, 0), time(8, 0)))
BODY = (
    "我区部分老旧小区加装电梯推进缓慢，居民意见分歧大，资金筹措难，审批环节多。"
    "建议区住建局牵头简化审批流程，设立专项补贴，并由街道组织协商，推动加装电梯尽快落地。"
)


def at(month: int, day: int, hour: int = 14) -> datetime:
    return datetime(2026, month, day, hour, 30, tzinfo=SH).astimezone(UTC)


# --------------------------------------------------------------------------- the rules file


def test_the_shipped_report_definition_reads_like_a_district_report():
    keys = [h.key for h in REVIEW.headings]
    assert keys[:3] == ["study", "consultation", "research"] and "proposals" in keys and "publicity" in keys
    consultation = REVIEW.heading("consultation")
    assert consultation.zh_text.startswith("开展调研协商 {events} 次")
    assert {f.name: f.count for f in consultation.figures} == {
        "events": "events", "rotating": "events", "reports": "documents", "suggestions": "quantity"}  # fmt: skip
    assert REVIEW.log_kinds["briefing"].mark_zh == "被转载"
    assert REVIEW.organisers["committee"].committee and not REVIEW.organisers["office"].committee


BASE = '[[activity]]\ncode = "study"\nzh = "学习"\npoints = 1\n'
TAG = '[[tag]]\ncode = "lecture"\nzh = "委员大讲堂"\n'


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ('[[report.heading]]\nkey = "a"\nzh_text = "举办 {n} 期"\nfigures.n = { count = "events", tags = ["读书会"] }\n',
         "unknown '读书会'"),
        ('[[report.heading]]\nkey = "a"\nzh_text = "举办 {m} 期"\nfigures.n = { count = "events" }\n',
         "names 'm', which is not one of its figures"),
        ('[[report.heading]]\nkey = "a"\nzh_text = "举办 {n} 期"\nfigures.n = { count = "event" }\n',
         "count must be one of"),
        ('[[report.heading]]\nkey = "a"\nzh_text = "{n}"\nfigures.n = { count = "log", tags = ["委员大讲堂"] }\n',
         "'tags' does not apply to count = 'log'"),
        ('[[report.heading]]\nkey = "a"\nzh_text = "{n}"\nfigures.n = { count = "events", kinds = ["dance"] }\n',
         "unknown activity type 'dance'"),
        ('[[report.heading]]\nkey = "a"\nzh_text = "{n}"\nfigures.n = { count = "info", info = "reported", target = "hotline" }\n',
         "target (hotline or departments) applies to transferred"),
        ('[[tag]]\ncode = "x"\nzh = "一个很长很长的标签名称"\n', "zh_short of at most 8"),
    ],
)
def test_a_broken_report_definition_names_file_line_and_reason(extra, reason):
    with pytest.raises(RulesError) as err:
        parse_rules(BASE + TAG + extra, "district.toml")
    assert str(err.value).startswith("district.toml:") and reason in str(err.value)


def test_tags_are_found_by_code_or_name_and_an_older_file_gets_the_shipped_report():
    own = parse_rules(BASE + TAG + '[[report.heading]]\nkey = "a"\nzh_text = "举办委员大讲堂 {n} 期"\n'
                      'figures.n = { count = "events", tags = ["委员大讲堂"] }\n')  # fmt: skip
    assert own.review.heading("a").figures[0].tags == ("lecture",)
    assert list(own.review.tags) == ["lecture"] and not own.review.log_kinds
    older = parse_rules(BASE)  # no review sections at all: the shipped ones
    assert [h.key for h in older.review.headings] == [h.key for h in REVIEW.headings]
    assert outcomes.parse_tags("调研协商、Rotating consultation", REVIEW) == ("consult_research", "rotating_consult")
    with pytest.raises(outcomes.OutcomeError) as err:
        outcomes.parse_tags("调研协商,跳舞", REVIEW)
    assert "跳舞" in err.value.text("zh") and "轮值协商" in err.value.text("zh")
    assert outcomes.parse_quantities(["建议=15", "households 12", "办实事：3件"], REVIEW) == {
        "suggestions": 15, "households": 12, "deeds": 3}  # fmt: skip


# --------------------------------------------------------------------------- a year, entered through the services


async def _event(db, title: str, *, kind: str, start: datetime, audience: str = "all", tags: str = "",
                 organiser: str = "", guests: str = "") -> int:  # fmt: skip
    async with db.session() as session:
        event = await events.create_event(
            session, title=title, kind=kind, starts_at=start, audience=await events.resolve_audience(session, audience),
            now=T0, rules=RULES,
        )  # fmt: skip
        await outcomes.set_details(
            session, event, tags=outcomes.parse_tags(tags, REVIEW),
            organiser=await outcomes.parse_organiser(session, organiser, REVIEW), guests=outcomes.split_names(guests),
        )  # fmt: skip
        await events.publish_event(session, event, now=T0, policy=POLICY)
        return event.id  # type: ignore[return-value]


async def _attend(db, event_id: int, *people: Member) -> None:
    async with db.session() as session:
        event = await events.get_event(session, event_id)
        code, start = event.checkin_code, event.starts_at.replace(tzinfo=UTC)
    for person in people:
        async with db.session() as session:
            outcome, _ = await events.check_in(session, member=person, now=start + timedelta(minutes=5), rules=RULES,
                                               zone=SH, code=code)  # fmt: skip
            assert outcome is events.CheckIn.DONE, (person.name, outcome)


async def _close(db, event_id: int) -> None:
    async with db.session() as session:
        event = await events.get_event(session, event_id)
        await events.close_attendance(session, event, now=event.ends_at.replace(tzinfo=UTC) + timedelta(hours=1),
                                      rules=RULES, zone=SH)  # fmt: skip


async def _quantity(db, event_id: int | None = None, report_id: int | None = None, **amounts: int) -> None:
    async with db.session() as session:
        for code, amount in amounts.items():
            await outcomes.set_quantity(session, code=code, amount=amount, rules=RULES, now=T0, event_id=event_id,
                                        report_id=report_id)  # fmt: skip


async def _item(db, author: Member, staff: Member, n: int, *moves: tuple[str, dict]) -> info.InfoItem:
    async with db.session() as session:
        item = await info.submit(session, author_id=author.id, title=f"关于老旧小区加装电梯的建议{n}", category="民生保障",
                                 body=BODY + f"（第{n}号）" + "电梯" * n, now=at(3, n), tz=SH, rules=RULES)  # fmt: skip
    for move, args in (("accept", {}), *moves):
        async with db.session() as session:
            await info.apply_move(session, item_id=item.id, move=move, actor=staff, now=at(3, n) + timedelta(days=1),
                                  tz=SH, **args)  # fmt: skip
    return item


async def enter_year(db) -> dict:
    """A small year, and what a secretary would count by hand."""
    staff = await add_member(db, "王秘书", role="secretariat", committee="办公室")
    deputy = await add_member(db, "李主任", role="secretariat", committee="办公室")
    async with db.session() as session:  # staff who is also a 委员
        row = await session.get(Member, deputy.id)
        row.also_member = True  # type: ignore[union-attr]
        session.add(row)
    a = await add_member(db, "苏建华", committee="经济委员会")
    b = await add_member(db, "廖艳", committee="经济委员会")
    c = await add_member(db, "朱宇浩", committee="经济委员会")
    d = await add_member(db, "丁欣怡", committee="文史委员会", telegram_user_id=104)

    consult = await _event(db, "老旧小区改造调研协商", kind="consultation", start=at(4, 8), tags="调研协商",
                           organiser="经济", guests="张书记（区委书记）、李区长")  # fmt: skip
    await _attend(db, consult, a, b)
    await _close(db, consult)
    rotating = await _event(db, "轮值协商：养老服务", kind="consultation", start=at(5, 12), tags="轮值协商",
                            organiser="主席会议", guests="李区长")  # fmt: skip
    await _attend(db, rotating, a)
    await _close(db, rotating)
    office = await _event(db, "机关学习：作风建设", kind="study", start=at(6, 3), audience="staff",
                          tags="机关学习,作风教育", organiser="机关")  # fmt: skip
    await _attend(db, office, staff, deputy)
    await _close(db, office)
    lecture = await _event(db, "委员大讲堂：民法典", kind="study", start=at(6, 20), tags="委员大讲堂")
    await _attend(db, lecture, a, c, deputy)
    await _close(db, lecture)
    visit = await _event(db, "走访慰问困难群众", kind="service", start=at(7, 1), tags="走访慰问", organiser="机关")
    await _attend(db, visit, d)
    await _close(db, visit)
    cancelled = await _event(db, "取消的调研协商", kind="consultation", start=at(8, 1), tags="调研协商")
    ahead = await _event(db, "年底的调研协商", kind="consultation", start=at(12, 30), tags="调研协商")
    async with db.session() as session:
        await events.cancel_event(session, await events.get_event(session, cancelled), now=T0, policy=POLICY)

    await _quantity(db, consult, suggestions=5)
    await _quantity(db, rotating, suggestions=3)
    await _quantity(db, rotating, suggestions=4)  # corrected: replaces the 3
    await _quantity(db, office, problems=6)
    await _quantity(db, visit, households=30, deeds=2)
    await _quantity(db, ahead, suggestions=9)  # not held yet: not counted
    async with db.session() as session:
        report = await activities.submit_report(session, member_id=d.id, type_code="service", day=date(2026, 7, 3),
                                                description="走访慰问辖区困难群众十二户，送去慰问品", photos=[],
                                                now=at(7, 3), rules=RULES, zone=SH)  # fmt: skip
        await activities.approve_report(session, report_id=report.id, reviewer_id=staff.id, now=at(7, 4), rules=RULES)
    await _quantity(db, report_id=report.id, households=12)
    async with db.session() as session:
        with pytest.raises(outcomes.OutcomeError):  # a service report carries no suggestions
            await outcomes.set_quantity(session, code="suggestions", amount=1, rules=RULES, now=T0, report_id=report.id)
        doc = await outcomes.add_document(session, kind="协商报告", title="关于老旧小区改造的协商报告", rules=RULES,
                                          now=T0, zone=SH, event_id=consult)  # fmt: skip
        again = await outcomes.add_document(session, kind="consult_report", title="关于老旧小区改造的协商报告",
                                            rules=RULES, now=T0, zone=SH, event_id=consult)  # fmt: skip
        assert again.id == doc.id  # entered twice, one document
        await outcomes.add_document(session, kind="调研报告", title="关于养老服务的调研报告", rules=RULES, now=T0,
                                    zone=SH, on_date=date(2026, 9, 1))  # fmt: skip
        await outcomes.add_document(session, kind="调研报告", title="去年的调研报告", rules=RULES, now=T0, zone=SH,
                                    on_date=date(2025, 12, 30))  # fmt: skip
        await outcomes.record_instruction(session, document_id=doc.id, by="区委书记张某", on_date=date(2026, 5, 1))

    log_now = at(12, 1)
    entries = [("briefing", date(2026, 2, 1), 1, True), ("briefing", date(2026, 2, 9), 1, False),
               ("briefing", date(2026, 3, 9), 2, True), ("request_report", date(2026, 4, 1), 3, False),
               ("request_report", date(2025, 12, 31), 5, False), ("hosted_visit", date(2026, 5, 5), 2, False)]  # fmt: skip
    for kind, day, count, marked in entries:
        async with db.session() as session:
            await worklog.add_entry(session, worklog.LogEntryIn(kind, day, count, "简讯", marked), review=REVIEW,
                                    now=log_now, zone=SH)  # fmt: skip

    one = await _item(db, a, staff, 1, ("report", {"level": "city"}), ("report", {"level": "region"}),
                      ("adopt", {"level": "national"}))  # fmt: skip
    await _item(db, b, staff, 2, ("report", {"level": "national"}), ("transfer", {"target": "12345热线"}))
    await _item(db, c, staff, 3, ("transfer", {"target": "区住建局"}), ("instruction", {"level": "city"}),
                ("report", {"level": "district"}), ("feedback", {"text": "已办理"}))  # fmt: skip
    async with db.session() as session:
        with pytest.raises(info.InfoError) as err:  # adopted twice at one level: refused
            await info.apply_move(session, item_id=one.id, move="adopt", actor=staff, now=at(4, 1), tz=SH,
                                  level="national")  # fmt: skip
        assert err.value.code == "already_adopted"
    return {"staff": staff, "deputy": deputy, "members": (a, b, c, d), "office": office, "ahead": ahead}


async def test_every_figure_of_the_shipped_report_equals_the_count_of_what_was_entered(db):
    year = await enter_year(db)
    async with db.session() as session:
        review = await year_review(session, 2026, rules=RULES, zone=SH, now=at(12, 1))
        staff_duty = (
            await session.exec(select(ActivityReport).where(ActivityReport.source_key == f"event:{year['office']}"))
        ).all()
    assert staff_duty == []  # the staff-only event is nobody's duty as a 委员 (李主任 is one)
    got = {h.key: h.figures for h in review.headings}
    assert got["consultation"] == {"events": 2, "rotating": 1, "reports": 1, "suggestions": 5 + 4}
    assert got["study"] == {"lectures": 1, "reading": 0, "sessions": 1, "attendances": 3}  # 苏建华, 朱宇浩, 李主任
    assert got["research"] == {"events": 0, "attendances": 0, "reports": 1, "instructed": 1}
    assert got["education"] == {"events": 1, "problems": 6}
    assert got["service"] == {"households": 30 + 12, "deeds": 2}
    assert got["guests"] == {"events": 2, "guests": 3}
    # members' reports: 苏建华 ×3, 廖艳, 朱宇浩, 李主任 (lecture), 丁欣怡 (visit + own report); absences are not
    assert got["members"] == {"reports": 8, "reporters": 5}
    assert got["info"] == {"collected": 3, "accepted": 3, "upward": 2, "national": 1, "adopted": 1,
                           "adopted_city": 0, "adopted_region": 0, "adopted_national": 1}  # fmt: skip
    assert got["info_handling"] == {"hotline": 1, "departments": 1, "instructions": 1, "feedback": 1}
    assert got["requests"] == {"requests": 3, "visits": 2}
    assert got["publicity"] == {"briefings": 4, "reprinted": 3, "publications": 0}
    assert got["proposals"] == dict.fromkeys(("received", "registered", "key", "answered_rate"))
    assert got["assessment"]["serving"] == 5 and got["assessment"]["bound"] == 1  # 4 members + 李主任
    sentence = review.headings[[h.key for h in review.headings].index("consultation")].sentence("zh")
    assert sentence == "开展调研协商 2 次（其中轮值协商 1 次），形成协商报告 1 篇，提出建议 9 条。"
    assert "暂无数据" in review.headings[[h.key for h in review.headings].index("proposals")].sentence("zh")


async def test_the_rows_behind_each_figure_add_up_to_it(db):
    await enter_year(db)
    scope = Scope.of_year(2026, rules=RULES, zone=SH, now=at(12, 1))
    async with db.session() as session:
        review = await year_review(session, 2026, rules=RULES, zone=SH, now=at(12, 1))
        for result in review.headings:
            for figure in result.heading.figures:
                rows = await figure_rows(session, figure, scope, "zh")
                expected = result.figures[figure.name]
                assert sum(r.amount for r in rows) == (expected or 0), (result.key, figure.name, rows)
        rows = await figure_rows(session, REVIEW.heading("consultation").figures[0], scope, "zh")
    assert [r.item for r in rows] == ["老旧小区改造调研协商", "轮值协商：养老服务"]
    assert rows[0].detail == "调研协商、经济委员会" and rows[0].day == date(2026, 4, 8)


async def test_staff_only_events_invite_staff_and_record_no_duty(db):
    staff = await add_member(db, "王秘书", role="secretariat", telegram_user_id=9001)
    member = await add_member(db, "苏建华", telegram_user_id=101)
    office = await _event(db, "党组理论学习", kind="study", start=at(2, 3), audience="机关干部", tags="党组理论学习")
    async with db.session() as session:
        invited = [m.id for m in await events.audience_members(session, await events.get_event(session, office))]
        event = await events.get_event(session, office)
        code = event.checkin_code
        walk_in, _ = await events.check_in(session, member=member, now=at(2, 3) + timedelta(minutes=5), rules=RULES,
                                           zone=SH, code=code)  # fmt: skip
    assert invited == [staff.id] and walk_in is events.CheckIn.NOT_INVITED  # a 委员 is not staff
    await _attend(db, office, staff)
    await _close(db, office)
    async with db.session() as session:
        assert (await session.exec(select(ActivityReport))).all() == []
        review = await year_review(session, 2026, rules=RULES, zone=SH, now=at(3, 1))
    education = next(h for h in review.headings if h.key == "education")
    assert education.figures["events"] == 1


async def test_outcome_and_log_input_is_refused_politely_and_nothing_changes(db):
    staff = await add_member(db, "王秘书", role="secretariat")
    await add_member(db, "苏建华", committee="经济委员会")
    await add_member(db, "廖艳", committee="经济发展委员会")
    event_id = await _event(db, "调研", kind="research", start=at(2, 3))
    async with db.session() as session:
        with pytest.raises(outcomes.OutcomeError) as err:
            await outcomes.parse_organiser(session, "经济", REVIEW)  # two committees match
        assert err.value.code == "ambiguous_committee"
        assert await outcomes.parse_organiser(session, "专委会：经济委员会", REVIEW) == outcomes.Organiser(
            "committee", "经济委员会")  # fmt: skip
        assert await outcomes.parse_organiser(session, "党组", REVIEW) == outcomes.Organiser("party_group")
        for bad in ("-1", "十", "100001"):
            with pytest.raises(outcomes.OutcomeError):
                outcomes.parse_amount(bad)
        with pytest.raises(outcomes.OutcomeError) as err:
            await outcomes.set_quantity(session, code="suggestions", amount=1, rules=RULES, now=T0, event_id=999)
        assert err.value.final
        with pytest.raises(worklog.LogError) as err:
            worklog.parse_log_day("明天", now=at(3, 1), zone=SH)
        assert err.value.code == "future"
        with pytest.raises(worklog.LogError) as err:
            await worklog.add_entry(session, worklog.LogEntryIn("request_report", date(2026, 2, 1), marked=True),
                                    review=REVIEW, now=at(3, 1), zone=SH)  # fmt: skip
        assert err.value.code == "no_mark"
        first = await worklog.add_entry(session, worklog.LogEntryIn("briefing", date(2026, 2, 1)), review=REVIEW,
                                        now=at(3, 1), zone=SH, actor_id=staff.id, entry_key="k1")  # fmt: skip
        again = await worklog.add_entry(session, worklog.LogEntryIn("briefing", date(2026, 2, 1)), review=REVIEW,
                                        now=at(3, 1), zone=SH, actor_id=staff.id, entry_key="k1")  # fmt: skip
        assert again.id == first.id  # the same dialog saved twice is one entry
        assert (await outcomes.event_outcomes(session, event_id)).quantities == {}
