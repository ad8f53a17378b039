"""Demo data for the sandbox: the sample roster, a few members already bound to simulated
Telegram users (so the identity switcher works at once), one newcomer with an invite code,
and whatever history the features' own services can produce.

Everything here goes through the same service functions the bot and the CLI use; the sandbox
never writes rows by hand except the account binding, which in real life happens via /start, the
handling units with their contact (what `lvzhi units import` and a unit's /start make), and the
demo proposals (提案), whose steps are written as their services would leave them, each with its
history row (bot.services.proposals.common.record).
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.core.clock import local, to_db
from bot.core.config import Settings
from bot.services import invites, roster
from models import Member, Outbox
from models.activity import PENDING
from models.db import Database

log = logging.getLogger(__name__)

ROSTER = Path(__file__).with_name("roster.csv")

# Simulated Telegram accounts. Members are bound in roster order; the newcomer is the next
# ordinary member and starts unbound; the secretariat member is the first '机关' row.
MEMBER_USER_IDS = (10001, 10002, 10003, 10004, 10005)
NEWCOMER_USER_ID = 10006
STAFF_USER_ID = 19001
UNIT_USER_ID = 19002  # the contact of the first demo handling unit
STRANGER_USER_ID = 19999

KINDS = ("member", "staff", "newcomer", "unit", "stranger")
# Handling units (承办单位): name, short name, contact; the first one's contact is an identity.
DEMO_UNITS = (("区住房和城乡建设局", "区住建局", "周建国"), ("区教育体育局", "区教体局", "陈晓华"),
              ("区交通运输局", "区交通局", "刘志强"))  # fmt: skip


@dataclass
class Identity:
    """Someone the page can act as: a simulated Telegram user, maybe bound to a member."""

    user_id: int
    name: str
    kind: str  # member | staff | newcomer | unit | stranger
    member_id: int | None = None
    sector: str = ""


@dataclass
class SeedResult:
    identities: list[Identity]
    invite_code: str | None  # the newcomer's code while they are unbound
    newcomer_member_id: int | None
    history: list[str] = field(default_factory=list)  # demo-history parts that were added

    def save(self, path: Path) -> None:
        data = {
            "identities": [asdict(i) for i in self.identities],
            "newcomer_member_id": self.newcomer_member_id,
            "history": self.history,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SeedResult:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            [Identity(**i) for i in data["identities"]],
            None,
            data.get("newcomer_member_id"),
            list(data.get("history", [])),
        )


async def _import_roster(db: Database) -> list[Member]:
    checked = roster.check_roster(roster.read_table(ROSTER))
    if checked.problems:  # the shipped file is checked by the tests; this would be a packaging bug
        raise RuntimeError(f"sandbox roster has problems: {checked.problems[:3]}")
    async with db.session() as session:
        await roster.import_roster(session, checked.rows)
    async with db.session() as session:
        return list((await session.exec(select(Member).order_by(Member.id))).all())  # type: ignore[arg-type]


async def _bind(db: Database, member: Member, user_id: int, now: datetime) -> None:
    async with db.session() as session:
        row = await session.get(Member, member.id)
        assert row is not None
        row.telegram_user_id = user_id
        row.bound_at = to_db(now)
        row.language = "zh"
        session.add(row)


async def new_invite_code(db: Database, settings: Settings, member_id: int, now: datetime) -> str | None:
    """A fresh invite for the newcomer while unbound (earlier codes stop working), else None."""
    async with db.session() as session:
        member = await session.get(Member, member_id)
        if member is None or member.telegram_user_id is not None:
            return None
        return await invites.new_invite(session, member, now=now, ttl_days=settings.invite_ttl_days)


async def seed_demo(db: Database, settings: Settings, now: datetime) -> SeedResult:
    """Fill an empty, migrated database with the demo committee."""
    members = await _import_roster(db)
    ordinary = [m for m in members if m.role == "member"]
    staff = next(m for m in members if m.role == "secretariat")
    identities: list[Identity] = []
    for member, user_id in zip(ordinary, MEMBER_USER_IDS, strict=False):
        await _bind(db, member, user_id, now)
        identities.append(Identity(user_id, member.name, "member", member.id, member.sector))
    await _bind(db, staff, STAFF_USER_ID, now)
    identities.append(Identity(STAFF_USER_ID, staff.name, "staff", staff.id, staff.sector))
    newcomer = ordinary[len(MEMBER_USER_IDS)]
    identities.append(Identity(NEWCOMER_USER_ID, newcomer.name, "newcomer", newcomer.id, newcomer.sector))
    unit_contact = await _demo_units(db, now)
    identities.append(Identity(UNIT_USER_ID, unit_contact.name, "unit", unit_contact.id, DEMO_UNITS[0][1]))
    identities.append(Identity(STRANGER_USER_ID, "", "stranger"))
    assert newcomer.id is not None
    code = await new_invite_code(db, settings, newcomer.id, now)
    result = SeedResult(identities, code, newcomer.id)
    result.history = await add_demo_history(db, settings, identities, now)
    log.info("sandbox seeded: %d members, demo history: %s", len(members), result.history or "none")
    return result


# (member index, activity type, days ago, description, what the secretariat did)
DEMO_REPORTS = [
    (0, "research", 26, "参加社会和法制委员会组织的社区矫正工作专题调研，走访两个司法所并座谈。", "approve"),
    (0, "meeting", 19, "出席专委会季度工作会议，就年度协商议题提出三条意见。", "approve"),
    (0, "service", 5, "在联系的社区开展“委员进社区”法律咨询服务，接待群众十余人次。", "pending"),
    (1, "inspection", 23, "参加民族宗教领域政策落实情况视察，实地查看两处宗教活动场所安全管理。", "approve"),
    (
        1,
        "speech",
        12,
        "在界别协商会上作关于少数民族流动人口服务管理的发言。",
        "return:请补充发言的书面材料或会议通知截图。",
    ),
    (2, "consultation", 16, "参加“优化营商环境”专题协商会，围绕政务服务“一网通办”提出建议。", "approve"),
    (2, "study", 9, "参加区政协委员履职能力提升培训班，完成全部课程学习。", "approve"),
    (3, "supervision", 20, "参与对全区食品安全工作的民主监督，检查三家农贸市场。", "approve"),
    (3, "reading", 3, "参加委员读书活动，交流《乡土中国》读书体会。", "pending"),
    (4, "publicity", 14, "在所在单位宣讲区政协全会精神，约六十人参加。", "approve"),
]

# (title, activity type, in how many days, local start time, place, audience): a committee's
# event invites that committee only.
DEMO_EVENTS = [
    ("社会和法制委员会季度工作会议", "meeting", 3, time(14, 30), "区政协三楼第一会议室", "committee:社会和法制委员会"),
    ("委员履职能力提升专题讲座", "study", 9, time(9, 30), "区委党校报告厅", "all"),
]
# A committee's study session held last week: the demo members of that committee check in or
# ask for leave; the rest of the committee (and only they) are recorded absent at close-out.
DEMO_PAST_EVENT = ("社会和法制委员会专题学习会", "study", 6, time(14, 30), "区政协二楼学习室", "社会和法制委员会")

# (member index, title, category, days ago, body, moves: (move, days after submission, extra))
DEMO_INFO = [
    (
        0,
        "关于老旧小区加装电梯资金分摊的建议",
        "民生保障",
        24,
        "我区建成于上世纪九十年代的老旧小区较多，老年住户比例高，加装电梯需求迫切。目前推进中的主要困难是"
        "低楼层住户顾虑多、费用分摊缺少可参照的标准，协调成本高。建议由街道牵头制定分摊参考方案，"
        "对低楼层住户给予适当补偿，并简化审批流程，推行“一窗受理”。",
        [("accept", 2, {}), ("report", 5, {"level": "district"})],
    ),
    (
        1,
        "关于规范校外培训机构预收费管理的建议",
        "教育",
        11,
        "近期群众反映个别校外培训机构一次性预收大额费用后经营困难甚至“跑路”，家长维权难。"
        "建议推行预收费资金第三方存管，单次预收不超过三个月或六十课时，并在区教育部门网站公示机构资质和存管信息，"
        "方便家长查询。",
        [("return", 1, {"text": "请补充涉及的机构数量和金额等具体情况。"})],
    ),
    (
        2,
        "关于优化农村客运班线发车时间的建议",
        "社会治理",
        2,
        "部分乡镇至城区的客运班线首班车发车较晚、末班车较早，学生和务工人员出行不便。"
        "建议交通部门结合早晚高峰需求调整首末班时间，节假日适当加密班次，并在村口站点公布实时到站信息。",
        [],
    ),
]


def _at(today: date, days_ago: int, hour: int, zone: tzinfo) -> datetime:
    """A moment `days_ago` days before `today`, at `hour` o'clock local time, as aware UTC."""
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class _Demo:
    """What every part of the demo history is written with."""

    db: Database
    settings: Settings
    rules: Any
    today: date  # in the committee's zone
    members: list[int]
    staff_id: int | None
    now: datetime

    @property
    def zone(self) -> tzinfo:
        return self.settings.tz

    def for_history(self) -> tuple[Database, Any, tzinfo, date, list[int], int | None, datetime]:
        return self.db, self.rules, self.zone, self.today, self.members, self.staff_id, self.now


async def add_demo_history(
    db: Database, settings: Settings, identities: list[Identity], now: datetime
) -> list[str]:
    """Weeks of history through the features' own services, for those features that exist.

    The members' notices about this history (approvals, returns) belonged to the past: they are
    marked as dropped in the outbox instead of arriving all at once when the sandbox starts.
    Upcoming events are published last, so their invitations and reminders do arrive.
    """
    from bot.core.rules import load_rules

    demo = _Demo(
        db=db,
        settings=settings,
        rules=load_rules(settings.rules_path),
        today=local(now, settings.tz).date(),
        members=[i.member_id for i in identities if i.kind == "member" and i.member_id is not None],
        staff_id=next(i.member_id for i in identities if i.kind == "staff"),
        now=now,
    )
    done: list[str] = []
    if _feature("bot.services.activities"):
        count = await _demo_reports(demo)
        done.append(f"reports:{count}")
    if _feature("bot.services.info"):
        count = await _demo_info(demo)
        done.append(f"info:{count}")
    if _feature("bot.services.events"):
        count = await _demo_past_event(demo)
        done.append(f"held:{count}")
    if _feature("bot.services.proposals.common"):
        count = await _demo_proposals(
            db, demo.rules, demo.zone, now, demo.members, demo.staff_id, settings.proposal_answer_days
        )
        done.append(f"proposals:{count}")
    async with db.session() as session:
        await session.exec(
            update(Outbox)
            .where(col(Outbox.status) == "pending")
            .values(status="dropped", last_error="sandbox demo history (not delivered)")
        )
    if _feature("bot.services.events") and _feature("bot.services.reminders"):
        # Upcoming, not history: their invitations arrive now and their reminders as the clock moves.
        count = await _demo_events(demo)
        done.append(f"events:{count}")
    return done


def _feature(module: str) -> bool:
    """Whether a feature's service module is there (the sandbox grows with the features)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


async def _demo_reports(demo: _Demo) -> int:
    from bot.services import activities

    db, rules, zone, today, members, staff_id, now = demo.for_history()

    stored = 0
    for index, type_code, days_ago, description, outcome in DEMO_REPORTS:
        if index >= len(members) or type_code not in rules.activities:
            continue
        submitted = _at(today, days_ago, 20, zone)
        try:
            async with db.session() as session:
                report = await activities.submit_report(
                    session,
                    member_id=members[index],
                    type_code=type_code,
                    day=today - timedelta(days=days_ago),
                    description=description,
                    photos=[],
                    now=submitted,
                    rules=rules,
                    zone=zone,
                )
        except activities.ReportError:
            continue  # e.g. a day before this year's assessment period, early in January
        stored += 1
        reviewed = min(submitted + timedelta(hours=14), now)
        if report.status != PENDING or staff_id is None or report.id is None:
            continue
        async with db.session() as session:
            if outcome == "approve":
                await activities.approve_report(
                    session, report_id=report.id, reviewer_id=staff_id, now=reviewed, rules=rules
                )
            elif outcome.startswith("return:"):
                await activities.return_report(
                    session,
                    report_id=report.id,
                    reviewer_id=staff_id,
                    reason=outcome.removeprefix("return:"),
                    now=reviewed,
                    rules=rules,
                )
    return stored


async def _demo_info(demo: _Demo) -> int:
    from bot.services import info

    db, rules, zone, today, members, staff_id, now = demo.for_history()

    stored = 0
    for index, title, category, days_ago, body, moves in DEMO_INFO:
        if index >= len(members) or category not in rules.info.categories:
            continue
        submitted = _at(today, days_ago, 19, zone)
        try:
            async with db.session() as session:
                item = await info.submit(
                    session,
                    author_id=members[index],
                    title=title,
                    category=category,
                    body=body,
                    now=submitted,
                    tz=zone,
                    rules=rules,
                )
                item_id = item.id
        except info.InfoError:
            continue
        stored += 1
        for move, after_days, extra in moves:
            options: dict[str, Any] = extra
            if staff_id is None:
                break
            async with db.session() as session:
                staff = await session.get(Member, staff_id)
                assert staff is not None and item_id is not None
                await info.apply_move(
                    session,
                    item_id=item_id,
                    move=move,
                    actor=staff,
                    tz=zone,
                    now=min(submitted + timedelta(days=after_days), now),
                    **options,
                )
    return stored


async def _demo_events(demo: _Demo) -> int:
    from bot.services import events
    from bot.services.reminders import policy_from_settings

    db, rules, zone, today, _members, staff_id, now = demo.for_history()
    policy = policy_from_settings(demo.settings)
    stored = 0
    for title, kind, in_days, start, place, audience in DEMO_EVENTS:
        if kind not in rules.activities:
            continue
        starts_at = datetime.combine(today + timedelta(days=in_days), start, tzinfo=zone).astimezone(UTC)
        try:
            async with db.session() as session:
                event = await events.create_event(
                    session,
                    title=title,
                    kind=kind,
                    starts_at=starts_at,
                    place=place,
                    audience=await events.resolve_audience(session, audience),
                    now=now,
                    rules=rules,
                    created_by=staff_id,
                )
                await events.publish_event(session, event, now=now, policy=policy)
        except events.EventError:
            continue
        stored += 1
    return stored


async def _demo_past_event(demo: _Demo) -> int:
    """Last week's committee study session, published, answered, checked in and closed out."""
    from bot.services import events
    from bot.services.reminders import policy_from_settings

    db, settings, rules, zone, today, staff_id = demo.db, demo.settings, demo.rules, demo.zone, demo.today, demo.staff_id

    title, kind, days_ago, start, place, committee = DEMO_PAST_EVENT
    if kind not in rules.activities:
        return 0
    starts_at = datetime.combine(today - timedelta(days=days_ago), start, tzinfo=zone).astimezone(UTC)
    published = starts_at - timedelta(days=4)
    policy = policy_from_settings(settings)
    try:
        async with db.session() as session:
            event = await events.create_event(
                session, title=title, kind=kind, starts_at=starts_at, place=place,
                audience=await events.resolve_audience(session, f"committee:{committee}"),
                now=published, rules=rules, created_by=staff_id,
            )  # fmt: skip
            await events.publish_event(session, event, now=published, policy=policy)
            event_id = event.id
    except events.EventError:
        return 0
    assert event_id is not None
    async with db.session() as session:
        invited = [m for m in await events.audience_members(session, event) if m.telegram_user_id is not None]
    for index, member in enumerate(invited):
        async with db.session() as session:
            if index == len(invited) - 1 and index > 0:  # the last bound one asked for leave
                await events.answer_invitation(session, event_id=event_id, member=member, answer="leave", reason="出差在外",
                                               now=published + timedelta(days=1), policy=policy)  # fmt: skip
            else:
                # at the venue, with the code shown there
                await events.check_in(session, member=member, now=starts_at + timedelta(minutes=5), rules=rules,
                                      zone=zone, code=event.checkin_code)  # fmt: skip
    async with db.session() as session:
        event = await events.get_event(session, event_id)
        await events.close_attendance(session, event, now=event.checkin_closes_at.replace(tzinfo=UTC),
                                      rules=rules, zone=zone)  # fmt: skip
    return 1


async def _demo_units(db: Database, now: datetime) -> Member:
    """The demo handling units and the first one's contact, bound like a member (role "unit")."""
    from models.proposal import HandlingUnit

    async with db.session() as session:
        units = []
        for name, short, contact in DEMO_UNITS:
            unit = HandlingUnit(name=name, short_name=short, contact_name=contact, created_at=to_db(now))
            session.add(unit)
            units.append(unit)
        await session.flush()
        person = Member(name=DEMO_UNITS[0][2], role="unit", unit_id=units[0].id, sector=DEMO_UNITS[0][1],
                         telegram_user_id=UNIT_USER_ID, bound_at=to_db(now), language="zh")  # fmt: skip
        session.add(person)
        await session.flush()
        await session.refresh(person)
        return person


# (lead index, co-proposer indexes, title, category, state, days ago submitted, 重点)
DEMO_PROPOSALS = [
    (0, (1,), "关于加快老旧小区改造中加装电梯的建议", "社会建设", "answered", 150, True),
    (2, (), "关于完善农村客运班线的建议", "经济建设", "assigned", 40, False),
    (1, (), "关于规范校外培训机构预收费的建议", "文化建设", "filed", 12, False),
    (3, (0,), "关于加强城区河道生态治理的建议", "生态文明建设", "submitted", 3, False),
]
DEMO_ANALYSIS = "我区部分老旧小区、农村地区和城区河道存在的问题群众反映较多，已有工作基础但仍有短板。"
DEMO_SUGGESTION = "建议相关部门统筹资金、明确责任分工、建立定期会商机制，并向社会公开进展。"


async def _demo_proposals(
    db: Database, rules: Any, zone: tzinfo, now: datetime, members: list[int], staff_id: int | None,
    answer_days: int,
) -> int:
    """Proposals in several states — submitted, filed, assigned and answered and rated — with
    their co-proposers, the demo units' assignments and every step in the history."""
    from bot.services.proposals.common import next_filing_number, record
    from models.proposal import (
        A_ANSWERED,
        A_SIGNED,
        AGREED,
        ANSWERED,
        ASSIGNED,
        BASICALLY,
        FILED,
        LEAD,
        MAIN,
        SATISFIED,
        HandlingUnit,
        Proposal,
        ProposalAssignment,
        ProposalAuthor,
        ProposalRating,
    )  # fmt: skip

    async with db.session() as session:
        units = [u.id for u in (await session.exec(select(HandlingUnit).order_by(col(HandlingUnit.id)))).all()
                 if u.id is not None]  # fmt: skip
    stored = 0
    for lead, cosigners, title, category, state, days_ago, key in DEMO_PROPOSALS:
        if lead >= len(members) or any(c >= len(members) for c in cosigners) or not units:
            continue
        if category not in rules.proposal.categories:
            category = rules.proposal.categories[-1]
        submitted = now - timedelta(days=days_ago)
        async with db.session() as session:
            proposal = Proposal(year=local(submitted, zone).year, lead_id=members[lead], title=title, category=category,
                                analysis=DEMO_ANALYSIS, suggestion=DEMO_SUGGESTION, state=state,
                                submitted_at=to_db(submitted), updated_at=to_db(submitted))  # fmt: skip
            session.add(proposal)
            await session.flush()
            assert proposal.id is not None
            session.add(ProposalAuthor(proposal_id=proposal.id, member_id=members[lead], position=0, consent=LEAD))
            for position, index in enumerate(cosigners, start=1):
                session.add(ProposalAuthor(proposal_id=proposal.id, member_id=members[index], position=position,
                                           consent=AGREED, answered_at=to_db(submitted + timedelta(hours=6))))  # fmt: skip
            await record(session, proposal, "submitted", actor_id=members[lead], now=submitted)
            for index in cosigners:
                await record(session, proposal, "cosign_agreed", actor_id=members[index], now=submitted + timedelta(hours=6))
            if state in (FILED, ASSIGNED, ANSWERED):
                filed = submitted + timedelta(days=3)
                proposal.seq, proposal.number = await next_filing_number(session, proposal.year)
                proposal.filed_at = to_db(filed)
                await record(session, proposal, "filed", actor_id=staff_id, now=filed)
                if key:
                    proposal.key, proposal.key_leader = True, "区政府分管副区长"
                    await record(session, proposal, "key", actor_id=staff_id, now=filed, text=proposal.key_leader)
            if state in (ASSIGNED, ANSWERED):
                assigned = submitted + timedelta(days=6)
                due = local(assigned, zone).date() + timedelta(days=answer_days)
                unit = units[0] if state == ANSWERED else units[min(2, len(units) - 1)]
                proposal.assigned_at = to_db(assigned)
                row = ProposalAssignment(proposal_id=proposal.id, unit_id=unit, role=MAIN, state=A_SIGNED,
                                         assigned_at=to_db(assigned), object_until=to_db(assigned + timedelta(days=10)),
                                         due_on=due, signed_at=to_db(assigned + timedelta(days=1)))  # fmt: skip
                session.add(row)
                await record(session, proposal, "assigned", actor_id=staff_id, now=assigned, unit_id=unit)
                await record(session, proposal, "signed", actor_id=None, now=assigned + timedelta(days=1), unit_id=unit)
                if state == ANSWERED:
                    answered = assigned + timedelta(days=60)
                    row.state, row.answered_at, row.answer_category = A_ANSWERED, to_db(answered), "B"
                    row.contact_on, row.contact_kind = local(answered, zone).date() - timedelta(days=20), "meeting"
                    row.answer = "已将加装电梯纳入明年老旧小区改造计划，财政按每台15万元给予补助，街道牵头协调分摊方案。"
                    proposal.answered_at = to_db(answered)
                    await record(session, proposal, "contacted", actor_id=None, now=answered - timedelta(days=20),
                                 unit_id=unit, on_date=row.contact_on)  # fmt: skip
                    await record(session, proposal, "answered", actor_id=None, now=answered, unit_id=unit)
                    for index, (attitude, result) in zip((lead, *cosigners), ((SATISFIED, SATISFIED), (SATISFIED, BASICALLY)),
                                                         strict=False):  # fmt: skip
                        rated = answered + timedelta(days=2)
                        session.add(ProposalRating(proposal_id=proposal.id, member_id=members[index], round=1,
                                                   attitude=attitude, result=result, at=to_db(rated)))  # fmt: skip
                        await record(session, proposal, "rated", actor_id=members[index], now=rated)
            session.add(proposal)
        stored += 1
    return stored
