"""Proposal figures (提案): points, minimum duties and deadline requirements, the year's figures of
`lvzhi annual`, the digest's needs-action lines, per-unit figures and the export. A year of
proposals is built by hand (rows directly in the database: every state, merged, converted, late
and on-time answers, 重办 ratings), and every figure is compared with a count written out here."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.core.rules import load_rules
from bot.services.digest import IsoWeek, build_digest, render_text
from bot.services.figures import Period, member_points, member_records, shortfall
from bot.services.proposals.figures import proposal_action, proposal_figures, proposal_week, unit_figures
from bot.services.year_review import year_review
from models import Member
from models.proposal import (
    A_ANSWERED,
    A_SIGNED,
    A_WITHDRAWN,
    AGREED,
    ANSWERED,
    ASSIGNED,
    BASICALLY,
    CONVERTED,
    COSIGNING,
    DECLINED,
    FILED,
    LEAD,
    MAIN,
    MERGED,
    NOT_FILED,
    RETURNED,
    SATISFIED,
    SEPARATE,
    SUBMITTED,
    UNSATISFIED,
    HandlingUnit,
    Proposal,
    ProposalAssignment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
)
from tests.conftest import add_member, run_cli

RULES = load_rules(Path(__file__).parents[1] / "bot" / "core" / "rules.default.toml")
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)
ASSIST = "assist"


def utc(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, as stored


class Year:
    """The hand-built year: who is who and which proposal is which."""

    def __init__(self) -> None:
        self.members: dict[str, Member] = {}
        self.units: dict[str, int] = {}
        self.proposals: dict[str, int] = {}


async def build_year(db) -> Year:  # type: ignore[no-untyped-def]
    y = Year()
    for name, committee, sector in (("甲", "经济委员会", "民建"), ("乙", "经济委员会", "民建"),
                                    ("丙", "社会法制委员会", "民盟"), ("丁", "社会法制委员会", "民盟")):  # fmt: skip
        y.members[name] = await add_member(db, name, committee=committee, sector=sector)
    y.members["秘书"] = await add_member(db, "秘书", role="secretariat", committee="办公室")
    async with db.session() as session:
        for name in ("区住建局", "区教育局"):
            unit = HandlingUnit(name=name, short_name=name[1:3])
            session.add(unit)
            await session.flush()
            assert unit.id is not None
            y.units[name] = unit.id
        u1, u2 = y.units["区住建局"], y.units["区教育局"]
        seq = 0

        async def proposal(name: str, state: str, lead: str, *, category: str = "经济建设", year: int = 2026,
                           submitted: datetime | None = None, cosigners: dict[str, str] | None = None,
                           **fields) -> int:  # fmt: skip
            nonlocal seq
            filed = state in (FILED, ASSIGNED, ANSWERED)
            if filed:
                seq += 1
            row = Proposal(year=year, lead_id=y.members[lead].id, title=f"关于{name}的建议", category=category,
                           analysis="情况", suggestion="建议", state=state,
                           number=f"{year}-{seq:03d}" if filed else None, seq=seq if filed else None,
                           submitted_at=submitted or utc(year, 3, 1, 2), filed_at=utc(year, 3, 5) if filed else None,
                           **fields)  # fmt: skip
            session.add(row)
            await session.flush()
            assert row.id is not None
            session.add(ProposalAuthor(proposal_id=row.id, member_id=y.members[lead].id, position=0, consent=LEAD))
            for position, (who, consent) in enumerate((cosigners or {}).items(), start=1):
                session.add(ProposalAuthor(proposal_id=row.id, member_id=y.members[who].id, position=position,
                                           consent=consent))  # fmt: skip
            y.proposals[name] = row.id
            return row.id

        def assign(pid: int, unit: int, role: str, state: str, due: date, answered: datetime | None = None,
                   round_: int = 1) -> None:  # fmt: skip
            session.add(ProposalAssignment(proposal_id=pid, unit_id=unit, role=role, state=state, round=round_,
                                           assigned_at=utc(2026, 3, 10), object_until=utc(2026, 3, 20), due_on=due,
                                           answered_at=answered, answer_category="A" if answered else None))  # fmt: skip

        def rate(pid: int, who: str, round_: int, attitude: str, result: str) -> None:
            session.add(ProposalRating(proposal_id=pid, member_id=y.members[who].id, round=round_,
                                       attitude=attitude, result=result, at=utc(2026, 7, 1)))  # fmt: skip

        # P1: answered after a 重办 (round 2), on time; the 协办's late opinion does not make it late.
        p1 = await proposal("P1", ANSWERED, "甲", cosigners={"乙": AGREED, "丙": DECLINED}, key=True,
                            key_leader="王副区长", excellent=True, answered_at=utc(2026, 6, 1))  # fmt: skip
        assign(p1, u1, MAIN, A_ANSWERED, date(2026, 6, 8), utc(2026, 6, 1), round_=2)
        assign(p1, u2, ASSIST, A_ANSWERED, date(2026, 6, 8), utc(2026, 6, 20))
        rate(p1, "甲", 1, SATISFIED, UNSATISFIED)  # before the 重办: not the latest
        rate(p1, "甲", 2, SATISFIED, SATISFIED)
        rate(p1, "乙", 2, BASICALLY, SATISFIED)
        # P2: answered at 00:30 on 1 July in Shanghai (16:30 UTC on 30 June), due 30 June: late.
        p2 = await proposal("P2", ANSWERED, "乙", category="社会建设", answered_at=utc(2026, 6, 30, 16, 30))
        assign(p2, u2, MAIN, A_WITHDRAWN, date(2026, 6, 8))  # objected and re-assigned
        assign(p2, u1, MAIN, A_ANSWERED, date(2026, 6, 30), utc(2026, 6, 30, 16, 30))
        rate(p2, "乙", 1, SATISFIED, UNSATISFIED)
        # P3: 分办 to two units, both on time (23:30 Shanghai on the due day); nobody has rated it.
        p3 = await proposal("P3", ANSWERED, "丁", category="社会建设", answered_at=utc(2026, 6, 30, 15, 30))
        assign(p3, u1, SEPARATE, A_ANSWERED, date(2026, 6, 30), utc(2026, 6, 30, 15, 30))
        assign(p3, u2, SEPARATE, A_ANSWERED, date(2026, 6, 30), utc(2026, 6, 20))
        # P4: being handled, key; one answer overdue, one due within 7 days.
        p4 = await proposal("P4", ASSIGNED, "甲", key=True, key_leader="李主席")
        assign(p4, u1, SEPARATE, A_SIGNED, date(2026, 7, 10))
        assign(p4, u2, SEPARATE, A_SIGNED, date(2026, 7, 25))
        await proposal("P5", FILED, "丙", category="文化建设")
        p6 = await proposal("P6", NOT_FILED, "甲")
        session.add(ProposalEvent(proposal_id=p6, kind="not_filed", reason="vague", at=utc(2026, 3, 4)))
        p7 = await proposal("P7", NOT_FILED, "丁", category="其他")
        session.add(ProposalEvent(proposal_id=p7, kind="not_filed", reason="other", at=utc(2026, 3, 3)))
        session.add(ProposalEvent(proposal_id=p7, kind="not_filed", reason="personal", at=utc(2026, 3, 4)))
        await proposal("P8", MERGED, "丁", merged_into_id=p1)
        await proposal("P9", CONVERTED, "乙")
        await proposal("P10", SUBMITTED, "丙", submitted=utc(2026, 7, 1, 2))  # waiting 19 days
        p14 = await proposal("P14", SUBMITTED, "丙", submitted=utc(2026, 3, 1, 2))  # resubmitted 2 days ago
        session.add(ProposalEvent(proposal_id=p14, kind="resubmitted", at=utc(2026, 7, 18)))
        await proposal("P11", RETURNED, "丁")
        await proposal("P12", COSIGNING, "甲", cosigners={"丁": "pending"})  # not yet with the secretariat
        await proposal("P13", ANSWERED, "甲", year=2025, submitted=utc(2025, 3, 1))  # last year's
    return y


# The hand count of the year above.
HAND = {
    "recorded": 13,  # P1–P12 and P14 (P13 is 2025's)
    "submitted": 12,  # all but P12, which is still with its co-proposers
    "filed": 5,  # P1 P2 P3 P4 P5
    "answered": 3,  # P1 P2 P3
    "answered_rate": 60.0,  # 3 ÷ 5
    "on_time": 2,  # P1 P3 (P2 answered on 1 July local, due 30 June)
    "on_time_rate": 66.7,  # 2 ÷ 3
    "not_filed": 2,
    "merged": 1,
    "converted": 1,
    "waiting": 2,  # P10 P14
    "returned": 1,
    "assigned": 1,
    "key_count": 2,
    "excellent": 1,
}


async def test_the_year_figures_equal_a_hand_count(db) -> None:
    await build_year(db)
    async with db.session() as session:
        figures = await proposal_figures(session, 2026, zone=ZONE)
    got = figures.as_dict()
    assert {k: got[k] for k in HAND} == HAND
    assert sum(figures.not_filed_by_reason.values()) == figures.not_filed
    assert {k: v for k, v in figures.not_filed_by_reason.items() if v} == {"vague": 1, "personal": 1}  # P7's latest
    assert figures.submitted == (figures.filed + figures.not_filed + figures.merged + figures.converted
                                 + figures.waiting + figures.returned)  # fmt: skip
    # The latest rating of each proposer: 甲 and 乙 on P1 (round 2), 乙 on P2.
    assert dataclasses.astuple(figures.attitude) == (2, 1, 0)
    assert dataclasses.astuple(figures.result) == (2, 0, 1) and figures.result.satisfied_rate == 66.7
    assert [(k.number, k.leader, k.state) for k in figures.key] == [("2026-001", "王副区长", ANSWERED),
                                                                    ("2026-004", "李主席", ASSIGNED)]  # fmt: skip
    by_category = {k: dataclasses.astuple(v) for k, v in figures.by_category.items()}
    assert by_category == {"经济建设": (8, 2, 1), "社会建设": (2, 2, 2), "文化建设": (1, 1, 0), "其他": (1, 0, 0)}
    # by the lead's committee: 甲 乙 (经济委员会) lead P1 P2 P4 P6 P9 P12; 丙 丁 the others
    assert {k: dataclasses.astuple(v) for k, v in figures.by_committee.items()} == {
        "经济委员会": (5, 3, 2), "社会法制委员会": (7, 2, 1)}  # fmt: skip
    assert set(figures.by_sector) == {"民建", "民盟"}


async def test_a_year_without_proposals_says_no_data(db) -> None:
    async with db.session() as session:
        figures = await proposal_figures(session, 2026, zone=ZONE)
        review = await year_review(session, 2026, rules=RULES, zone=ZONE, now=NOW)
    assert figures.recorded == 0 and figures.answered_rate is None
    got = {h.key: h.figures for h in review.headings}
    assert set(got["proposals"].values()) == {None}


async def test_the_year_in_review_quotes_the_proposal_figures(db) -> None:
    await build_year(db)
    async with db.session() as session:
        review = await year_review(session, 2026, rules=RULES, zone=ZONE, now=NOW)
    heading = next(h for h in review.headings if h.key == "proposals")
    assert heading.figures == {"received": 12, "registered": 5, "key": 2, "answered_rate": 60.0}
    assert heading.sentence("zh") == "共收到提案 12 件，立案 5 件，其中重点提案 2 件，办复率 60%。"


async def test_points_minimums_and_requirements_count_proposals(db) -> None:
    y = await build_year(db)
    period = Period.of_year(2026, ZONE)
    rules = dataclasses.replace(RULES, assessment=dataclasses.replace(RULES.assessment, minimums={"proposal": 2}))
    async with db.session() as session:
        points = {name: await member_points(session, y.members[name].id, period, rules) for name in "甲乙丙丁"}
        records = {r["name"]: r for r in await member_records(session, period, rules, now=NOW)}
        # lead 10 (+5 key, +10 excellent), co-proposer who agreed 3; cap 30
        assert {n: (p.proposals, p.proposal_points) for n, p in points.items()} == {
            "甲": (2, 30.0),  # P1 25 + P4 15 = 40, capped
            "乙": (2, 13.0),  # co-proposer of P1 3 + lead of P2 10
            "丙": (1, 10.0),  # declined P1: nothing; lead of P5
            "丁": (1, 10.0),  # P3; not filed, merged and returned give nothing
        }
        assert points["乙"].confirmed == 13.0
        assert {n: [o.key for o in p.owed] for n, p in points.items()} == {"甲": [], "乙": [], "丙": ["proposal"],
                                                                           "丁": ["proposal"]}  # fmt: skip
        assert {n: (r["proposals"], r["proposal_points"], r["total"], r["owed"]) for n, r in records.items()} == {
            "甲": (2, 30.0, 30.0, []), "乙": (2, 13.0, 13.0, []), "丙": (1, 10.0, 10.0, ["proposal"]),
            "丁": (1, 10.0, 10.0, ["proposal"])}  # fmt: skip
        # A deadline counts proposals still with the co-proposers or the review too (丙: P5 + P10).
        pending = await shortfall(session, [{"type": "proposal", "count": 2}], period, rules)
        confirmed = await shortfall(session, [{"type": "proposal", "count": 2, "confirmed_only": True}], period,
                                    rules)  # fmt: skip
    assert pending is not None and pending.names == ["丁"]
    assert confirmed is not None and sorted(confirmed.names) == ["丁", "丙"]


async def test_the_digest_lists_what_needs_action(db) -> None:
    await build_year(db)
    async with db.session() as session:
        action = await proposal_action(session, now=NOW, zone=ZONE)
        week = await proposal_week(session, IsoWeek.containing(datetime(2026, 7, 1, 4, tzinfo=UTC), ZONE).period(ZONE))
        digest = await build_digest(session, IsoWeek.containing(NOW, ZONE).previous(), now=NOW, rules=RULES, zone=ZONE)
    assert dataclasses.astuple(action) == (1, 19, 1, 1, 1, 19)  # P10; P4's two answers; P3 not rated
    # The week of 1 July: P10 submitted; P2 and P3 answered on 30 June UTC fall in the week before
    # (Monday 29 June local) — the week is 29 June – 5 July: both count.
    assert dataclasses.astuple(week) == (1, 0, 2)
    text = render_text(digest, "zh", RULES)
    assert "1 件提案等待立案审查超过 7 天（最早的已等 19 天）" in text
    assert "1 件提案答复已逾期" in text and "1 件提案答复将在 7 天内到期" in text
    assert "1 件已答复提案超过 15 天仍有提案人未评价" in text
    assert "2026年累计收到 12 件，立案 5 件，办复 3 件，办复率 60%" in text


async def test_per_unit_figures(db) -> None:
    await build_year(db)
    async with db.session() as session:
        units = {u.name: u for u in await unit_figures(session, 2026, now=NOW, zone=ZONE)}
    u1, u2 = units["区住建局"], units["区教育局"]
    assert (u1.assigned, u1.answered, u1.on_time, u1.overdue) == (4, 3, 2, 1)  # P1 P2(late) P3; P4 overdue
    assert dataclasses.astuple(u1.attitude) == (2, 1, 0) and dataclasses.astuple(u1.result) == (2, 0, 1)
    assert (u2.assigned, u2.answered, u2.on_time, u2.overdue) == (3, 2, 1, 0)  # P2's withdrawn row is not its
    assert u2.result.total == 0  # it answered P3 only (P1 as 协办), and P3 is not rated


def _cli(db_url: str, cwd: Path, *args: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": db_url, "TIMEZONE": "Asia/Shanghai", "LOCALE": "zh"}
    return run_cli(args, env=env, cwd=cwd)


async def test_annual_json_prints_filed_answered_and_the_answer_rate_of_a_hand_count(db, db_url, tmp_path) -> None:
    await build_year(db)
    done = _cli(db_url, tmp_path, "annual", "--year", "2026", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    proposals = data["proposals"]
    assert (proposals["filed"], proposals["answered"], proposals["answered_rate"]) == (5, 3, 60.0)
    assert (proposals["on_time"], proposals["on_time_rate"]) == (2, 66.7)
    assert data["headings"]["proposals"]["figures"]["registered"] == 5
    text = _cli(db_url, tmp_path, "annual", "--year", "2026")
    assert text.returncode == 0, text.stderr
    assert "收到提案 12 件：立案 5 件，不予立案 2 件，并案 1 件，转为社情民意 1 件" in text.stdout
    assert "已办复 3 件，办复率 60%；按期办复 2 件，按期办复率 66.7%" in text.stdout


async def test_export_writes_the_compilation_history_and_units(db, db_url, tmp_path) -> None:
    y = await build_year(db)
    async with db.session() as session:
        session.add(ProposalEvent(proposal_id=y.proposals["P1"], kind="filed", actor_id=y.members["秘书"].id,
                                  at=utc(2026, 3, 5, 1)))  # fmt: skip
    done = _cli(db_url, tmp_path, "proposals", "export", "--year", "2026", "--out", "p.xlsx")
    assert done.returncode == 0, done.stderr
    book = load_workbook(tmp_path / "p.xlsx")
    assert book.sheetnames == ["提案汇编", "办理过程", "承办单位"]
    sheet = book["提案汇编"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["案号", "案由", "类别", "状态"] and "第一提案人" in header and "答复期限" in header
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == HAND["submitted"] and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}13"
    p1 = rows["关于P1的建议"]
    assert p1["案号"] == "2026-001" and p1["状态"] == "已答复" and p1["联名提案人"] == "乙"
    assert p1["主办单位"] == "区住建局" and p1["协办单位"] == "区教育局" and p1["重点提案"] == "是"
    assert isinstance(p1["提交时间"], datetime) and p1["答复期限"] == datetime(2026, 6, 8)
    assert p1["办理结果评价"] == "满意 2" and p1["答复类别"] == "已解决或基本解决"
    assert rows["关于P7的建议"]["不予立案理由"] == "涉及个人或家庭事务"
    history = list(book["办理过程"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == "2026-001" and isinstance(r[1], datetime) for r in history)
    units = {r[0]: r for r in book["承办单位"].iter_rows(min_row=2, values_only=True)}
    assert units["区住建局"][1:5] == (4, 3, 2, 1)
    english = _cli(db_url, tmp_path, "proposals", "export", "--year", "2026", "--out", "en.xlsx", "--lang", "en")
    assert english.returncode == 0, english.stderr
    en = load_workbook(tmp_path / "en.xlsx")
    assert en.sheetnames == ["Proposals", "History", "Handling units"]
    values = {str(c) for r in en["Proposals"].iter_rows(values_only=True) for c in r if c is not None}
    assert "answered" not in values and "Answered" in {c.value for c in en["Proposals"][1]}


async def test_the_sandbox_seeds_units_a_unit_identity_and_proposals_from_submission_to_rating(db, db_url) -> None:
    from sqlmodel import select

    from bot.core.config import load_settings
    from bot.devtools.sandbox.seed import seed_demo

    settings = load_settings(_env_file=None, database_url=db_url)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    result = await seed_demo(db, settings, now)
    assert "proposals:4" in result.history
    unit = next(i for i in result.identities if i.kind == "unit")
    async with db.session() as session:
        contact = await session.get(Member, unit.member_id)
        states = {p.state for p in (await session.exec(select(Proposal))).all()}
        rated = (await session.exec(select(ProposalRating))).all()
        figures = await proposal_figures(session, 2026, zone=settings.tz)
    assert contact is not None and contact.role == "unit" and contact.unit_id is not None
    assert not contact.is_member and not contact.is_staff and contact.telegram_user_id == unit.user_id
    assert states == {SUBMITTED, FILED, ASSIGNED, ANSWERED} and len(rated) == 2
    assert (figures.submitted, figures.filed, figures.answered, figures.answered_rate) == (4, 3, 1, 33.3)
