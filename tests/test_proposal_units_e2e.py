"""Handling units end to end through the Bot API emulator: units imported with `lvzhi units import`
(a GBK CSV and an XLSX), contacts invited and bound with /start CODE, who then have the unit's menu
only; 签收, 申请调整 within the window and refused after it, the 协办 opinion reaching the 主办,
an extension request reaching the secretariat, the contact recorded, the 主办's answer B with a
答复函 making the proposal ANSWERED and every proposer told once, in their language, with the rating
button; the 督 reminders and the overdue notice under a moved clock and across restarts, once each;
and the role checks (a member cannot act as a unit, a unit never sees another unit's proposal, a
stranger gets nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, select

from bot.assemble import make_deps, running
from bot.core.i18n import t
from bot.services.proposals import filing, handling
from bot.services.proposals.common import RATE_BUTTON, STAFF_OPEN_BUTTON, UNIT_OBJECT_BUTTON, UNIT_SIGN_BUTTON
from handlers.proposal_units import SWEEP_JOB
from handlers.proposal_units.states import CAT_BUTTON, KIND_BUTTON, TODAY_BUTTON
from models import (
    HandlingUnit,
    Member,
    Outbox,
    Proposal,
    ProposalAssignment,
    ProposalAuthor,
    ProposalRating,
    Role,
)
from models.proposal import (
    A_ANSWERED,
    A_OBJECTED,
    AGREED,
    ANSWERED,
    ASSIGNED,
    ASSIST,
    LEAD,
    MAIN,
    SATISFIED,
    UNSATISFIED,
)
from tests.conftest import WAIT, Expect, add_member, expect_reply, make_settings, matches, run_cli

STAFF = 3900  # the secretariat's chat (a staff member's private chat here)
NOW = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
PDF = b"%PDF-1.4\n% answer letter\n"
CSV = "单位名称,简称,联系人,联系电话\n区住房和城乡建设局,区住建局,张科长,13800138001\n区财政局,区财政局,钱科长,13800138002\n"


def _xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["unit name", "short name", "contact name", "phone"], ["区城市管理局", "区城管局", "孙科长", ""],
                ["区教育局", "区教育局", "赵科长", ""]):
        sheet.append(row)
    book.save(path)
    return path


def _has(data: str) -> Expect:
    return lambda m: data in str(m.get("reply_markup"))


async def _seen(user, expect: Expect) -> dict:  # type: ignore[no-untyped-def]
    """The latest bot message in the user's chat matching `expect`, once it is there."""
    found: list[dict] = []

    def arrived() -> bool:
        found[:] = [m for m in user.messages() if matches(m, expect)]
        return bool(found)

    await user.emu.wait_for(arrived, WAIT, what=f"a message to {user.id}")
    return found[-1]


async def _alert(user, data: str, message: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    """Press a button and return the text of its answer (a refusal is an alert)."""
    cq = user.press(data, message)
    await user.emu.wait_for(lambda: cq in user.emu.callback_answers, WAIT, what="the press answered")
    return str(user.emu.callback_answers[cq].get("text") or "")


def _count(user, text: str) -> int:  # type: ignore[no-untyped-def]
    return sum(text in (m.get("text") or m.get("caption") or "") for m in user.messages())


async def _proposal(db, lead: Member, cosigner: Member, units: dict[str, int], roles: dict[str, str], *,  # type: ignore[no-untyped-def]
                    assigned_at: datetime, due_days: int = 90) -> dict[str, int]:
    """A filed proposal assigned as the filing part would: one row per unit, the 交办 window and due day."""
    async with db.session() as session:
        proposal = Proposal(year=2026, number="2026-001", seq=1, lead_id=lead.id, title="关于老旧小区加装电梯的建议",
                            category="社会建设", analysis="加装电梯推进缓慢。", suggestion="建议设立专项补贴。",
                            state=ASSIGNED, submitted_at=assigned_at.replace(tzinfo=None),
                            assigned_at=assigned_at.replace(tzinfo=None))
        session.add(proposal)
        await session.flush()
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=lead.id, position=0, consent=LEAD))
        session.add(ProposalAuthor(proposal_id=proposal.id, member_id=cosigner.id, position=1, consent=AGREED))
        ids = {}
        local_day = (assigned_at + timedelta(hours=8)).date()
        for name, role in roles.items():
            row = ProposalAssignment(proposal_id=proposal.id, unit_id=units[name], role=role,
                                     assigned_at=assigned_at.replace(tzinfo=None),
                                     object_until=(assigned_at + timedelta(days=10)).replace(tzinfo=None),
                                     due_on=local_day + timedelta(days=due_days))
            session.add(row)
            await session.flush()
            ids[name] = row.id
        ids["proposal"] = proposal.id
        return ids


async def _import_and_invite(db, db_url: str, tmp_path: Path) -> tuple[dict[str, int], dict[str, str]]:  # type: ignore[no-untyped-def]
    env = {"DATABASE_URL": db_url, "BOT_USERNAME": "lvzhi_test_bot", "LOCALE": "zh"}
    (tmp_path / "units.csv").write_bytes(CSV.encode("gbk"))
    done = run_cli(["units", "import", str(tmp_path / "units.csv")], env=env)
    assert done.returncode == 0 and "新增 2 个单位" in done.stdout, done.stderr
    done = run_cli(["units", "import", str(_xlsx(tmp_path / "units.xlsx"))], env=env)
    assert done.returncode == 0 and "新增 2 个单位" in done.stdout, done.stderr
    listed = run_cli(["units", "list"], env=env)
    assert "共 4 个单位" in listed.stdout
    codes = {}
    for short in ("区住建局", "区财政局", "区城管局", "区教育局"):
        done = run_cli(["units", "invite", short], env=env)
        assert done.returncode == 0, done.stderr
        codes[short] = done.stdout.strip().split("\t")[2]
    async with db.session() as session:
        units = {u.short_name: u.id for u in (await session.exec(select(HandlingUnit))).all()}
    return units, codes  # type: ignore[return-value]


@pytest.mark.one_database
async def test_units_sign_object_give_opinions_and_answer_in_chat(emu, db, db_url, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    units, codes = await _import_and_invite(db, db_url, tmp_path)
    lead_row = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en", sector="致公党")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=STAFF, language="zh")
    clock.frozen = NOW
    ids = await _proposal(db, lead_row, co_row, units, {"区住建局": MAIN, "区财政局": ASSIST, "区城管局": ASSIST},
                          assigned_at=NOW)
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=STAFF), db, clock)
    main, assist, city, edu = (emu.user(3001, "张科长"), emu.user(3002, "钱科长"), emu.user(3003, "孙科长"),
                               emu.user(3004, "赵科长"))
    lead, co, staff, stranger = (emu.user(1001, "建华"), emu.user(1002, "Yan", language_code="en"),
                                 emu.user(STAFF, "小王"), emu.user(9999, "路人"))
    async with running(deps, poll_timeout=1):
        # --- contacts bind with their invite and get the unit's menu only
        for user, short in ((main, "区住建局"), (assist, "区财政局"), (city, "区城管局"), (edu, "区教育局")):
            await expect_reply(user, lambda u=user, s=short: u.send_text(f"/start {codes[s]}"), "/myunit")
        welcome = await _seen(main, t("onboarding.welcome", "zh", name="张科长"))
        keys = str(welcome.get("reply_markup"))
        assert t("menu.myunit", "zh") in keys and t("menu.report", "zh") not in keys
        assert "/report" not in (await _seen(main, "/myunit"))["text"]
        reply = await expect_reply(main, lambda: main.send_text("/help"), "/myunit")
        assert "/report" not in reply["text"] and t("menu.myunit", "zh") in str(reply.get("reply_markup"))

        # --- role checks: a member is no unit, a unit no member, a stranger gets nothing
        await expect_reply(lead, lambda: lead.send_text("/myunit"), t("common.units_only", "zh"))
        assert await _alert(lead, UNIT_SIGN_BUTTON(ids["区住建局"])) == t("common.units_only", "zh")
        assert await _alert(lead, handling.ANSWER_BUTTON(ids["区住建局"])) == t("common.units_only", "zh")
        await expect_reply(main, lambda: main.send_text("/report"), t("common.unit_commands_only", "zh"))
        await expect_reply(stranger, lambda: stranger.send_text("/myunit"), t("onboarding.stranger", "zh"))
        assert await _alert(stranger, UNIT_SIGN_BUTTON(ids["区住建局"])) == t("onboarding.stranger", "zh")
        await expect_reply(edu, lambda: edu.send_text("/myunit"), t("proposals_unit.list_empty", "zh", unit="区教育局"))
        assert await _alert(edu, UNIT_SIGN_BUTTON(ids["区住建局"])) == t("proposals_unit.err.not_yours", "zh")
        assert await _alert(edu, handling.ANSWER_BUTTON(ids["区住建局"])) == t("proposals_unit.err.not_yours", "zh")

        # --- 签收 from the unit's list
        card = await expect_reply(main, lambda: main.send_text(t("menu.myunit", "zh")), _has(UNIT_SIGN_BUTTON(ids["区住建局"])))
        assert "关于老旧小区加装电梯的建议" in card["text"] and "主办" in card["text"]
        await expect_reply(main, lambda: main.press(UNIT_SIGN_BUTTON(ids["区住建局"]), card), "已签收提案 2026-001")
        main_card = await _seen(main, _has(handling.ANSWER_BUTTON(ids["区住建局"])))

        # --- 申请调整 within the window reaches the secretariat
        city_card = await expect_reply(city, lambda: city.send_text("/myunit"), _has(UNIT_OBJECT_BUTTON(ids["区城管局"])))
        await expect_reply(city, lambda: city.press(UNIT_OBJECT_BUTTON(ids["区城管局"]), city_card), "申请调整的理由")
        await expect_reply(city, lambda: city.send_text("属于区住建局职责，建议不再由我局协办"), "已提交调整申请")
        objected = await _seen(staff, "属于区住建局职责")
        assert "区城市管理局" in objected["text"] and _has(STAFF_OPEN_BUTTON(ids["proposal"]))(objected)

        # --- after the window the assignment stands
        assist_card = await expect_reply(assist, lambda: assist.send_text("/myunit"), _has(UNIT_SIGN_BUTTON(ids["区财政局"])))
        clock.frozen = NOW + timedelta(days=10, hours=1)
        assert await _alert(assist, UNIT_OBJECT_BUTTON(ids["区财政局"]), assist_card) == t(
            "proposals_unit.err.object_closed", "zh")
        await expect_reply(assist, lambda: assist.press(UNIT_SIGN_BUTTON(ids["区财政局"]), assist_card), "已签收")
        signed_card = await _seen(assist, _has(handling.OPINION_BUTTON(ids["区财政局"])))
        assert UNIT_OBJECT_BUTTON(ids["区财政局"]) not in str(signed_card.get("reply_markup"))

        # --- the 协办 opinion reaches the 主办
        await expect_reply(assist, lambda: assist.press(handling.OPINION_BUTTON(ids["区财政局"]), signed_card), "协办意见")
        await expect_reply(assist, lambda: assist.send_text("建议统筹老旧小区改造专项资金予以支持"), "协办意见已转给主办单位")
        await _seen(main, "建议统筹老旧小区改造专项资金予以支持")

        # --- an extension request reaches the secretariat
        await expect_reply(main, lambda: main.press(handling.EXTEND_BUTTON(ids["区住建局"]), main_card), "申请延期到的日期")
        await expect_reply(main, lambda: main.send_text("2027-01-15"), "最晚只能延期到")  # past the 180 days: asked again
        await expect_reply(main, lambda: main.send_text("2026-10-15"), "申请延期的理由")
        await expect_reply(main, lambda: main.send_text("需要协调多个部门联合审批"), "延期申请")
        extension = await _seen(staff, "需要协调多个部门联合审批")
        assert _has(STAFF_OPEN_BUTTON(ids["proposal"]))(extension)

        # --- the contact with the proposer, then the answer B with a 答复函
        await expect_reply(main, lambda: main.press(handling.CONTACT_BUTTON(ids["区住建局"]), main_card), "沟通的方式")
        await expect_reply(main, lambda: main.press(KIND_BUTTON("phone")), "沟通是哪一天")
        await expect_reply(main, lambda: main.press(TODAY_BUTTON()), "电话沟通")
        opinions = await expect_reply(main, lambda: main.press(handling.ANSWER_BUTTON(ids["区住建局"]), main_card),
                                      "协办单位的意见")
        assert "区财政局：建议统筹" in opinions["text"] and "区城市管理局" in opinions["text"]
        await _seen(main, "请选择答复类别")
        await expect_reply(main, lambda: main.press(CAT_BUTTON("B")), "请发送答复内容")
        await expect_reply(main, lambda: main.send_text("短"), "内容太短了")
        await expect_reply(main, lambda: main.send_text("已将该小区列入明年加装电梯计划，分批实施。"), "答复函")
        await expect_reply(main, lambda: main.send_document(b"MZ not a letter", "letter.exe", "application/x-msdownload"),
                           "PDF 或 Word")
        await expect_reply(main, lambda: main.send_document(PDF, "答复函.pdf", "application/pdf"), "提案已办复")

        # --- every proposer hears once, in their language, with the rating button and the letter
        zh = await _seen(lead, "已办复")
        en = await _seen(co, "has been answered")
        assert "正在解决或列入计划" in zh["text"] and "Being solved or planned" in en["text"]
        assert _has(RATE_BUTTON(ids["proposal"]))(zh) and _has(RATE_BUTTON(ids["proposal"]))(en)
        await _seen(lead, lambda m: bool(m.get("document")))
        await _seen(staff, "已办复")
        assert _count(lead, "已办复") == 1 and _count(co, "has been answered") == 1
        # a second press of the old card changes nothing
        assert await _alert(main, handling.ANSWER_BUTTON(ids["区住建局"]), main_card) == t(
            "proposals_unit.err.answered", "zh")
    async with db.session() as session:
        proposal = await session.get(Proposal, ids["proposal"])
        assert proposal is not None and proposal.state == ANSWERED
        rows = {a.unit_id: a for a in (await session.exec(select(ProposalAssignment))).all()}
        assert rows[units["区住建局"]].state == A_ANSWERED and rows[units["区住建局"]].answer_category == "B"
        assert rows[units["区住建局"]].contact_kind == "phone" and rows[units["区住建局"]].extension_state == "requested"
        assert rows[units["区城管局"]].state == A_OBJECTED
        notices = (await session.exec(select(Outbox).where(col(Outbox.chat_id) == 1001, col(Outbox.kind) == "proposal"))).all()
        assert len([n for n in notices if n.payload["method"] == "sendMessage"]) == 1


@pytest.mark.one_database
async def test_reminders_and_the_overdue_notice_under_a_moved_clock_and_across_restarts(emu, db, db_url, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    units, codes = await _import_and_invite(db, db_url, tmp_path)
    lead_row = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=STAFF, language="zh")
    clock.frozen = NOW
    # assigned two months ago, due in 30 days
    ids = await _proposal(db, lead_row, co_row, units, {"区住建局": MAIN}, assigned_at=NOW - timedelta(days=60),
                          due_days=90)
    async with db.session() as session:  # the contact joined long ago (binding is the other test's)
        contact = (await session.exec(select(Member).where(col(Member.unit_id) == units["区住建局"]))).one()
        contact.telegram_user_id = 3001
        session.add(contact)
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=STAFF), db, clock)
    main, staff = emu.user(3001, "张科长"), emu.user(STAFF, "小王")
    async with running(deps, poll_timeout=1) as app:
        reminder = await _seen(main, "督办提醒")  # the start-up sweep
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        assert "还有 30 天" in reminder["text"] and _has(handling.MY_BUTTON())(reminder)
        await job.run(app)  # the hourly sweep after it: nothing more
    clock.frozen = NOW + timedelta(days=23)
    async with running(deps, poll_timeout=1):  # restarted: the start-up sweep does the 7-day reminder
        await _seen(main, "还有 7 天")
    clock.frozen = NOW + timedelta(days=35)
    async with running(deps, poll_timeout=1):  # restarted after the due day: the overdue notice
        await _seen(main, "已超过答复期限")
        await _seen(staff, "已超过答复期限")
        card = await expect_reply(main, lambda: main.press(handling.MY_BUTTON()), "提案 2026-001")
        assert "主办" in card["text"]
    async with running(deps, poll_timeout=1) as app:  # once more: nothing is sent again
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        await job.run(app)
    assert _count(main, "督办提醒") == 2 and _count(main, "已超过答复期限") == 1 and _count(staff, "已超过答复期限") == 1
    async with db.session() as session:
        rows = (await session.exec(select(Outbox).where(col(Outbox.dedupe_key).startswith(f"proposal:{ids['proposal']}:")))).all()
        assert len(rows) == 4



async def _units_directly(db, contacts: dict[str, int | None]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Units made as `lvzhi units import` would, each with one contact (bound to that Telegram id, or
    invited and never bound: None)."""
    async with db.session() as session:
        ids = {}
        for short, telegram_id in contacts.items():
            unit = HandlingUnit(name=short, short_name=short)
            session.add(unit)
            await session.flush()
            session.add(Member(name=f"{short}联系人", role=Role.UNIT.value, unit_id=unit.id, telegram_user_id=telegram_id))
            assert unit.id is not None
            ids[short] = unit.id
        return ids


@pytest.mark.one_database
async def test_after_a_rework_the_unit_reads_its_new_due_day_and_is_reminded_again_once(emu, db, db_url, clock) -> None:  # type: ignore[no-untyped-def]
    units = await _units_directly(db, {"区住建局": 3001})
    lead_row = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    staff_row = await add_member(db, "机关小王", role="secretariat", telegram_user_id=STAFF, language="zh")
    # assigned in February, due in May, answered, rated 不满意: the 重办 comes on Wednesday 3 June
    ids = await _proposal(db, lead_row, co_row, units, {"区住建局": MAIN}, assigned_at=NOW - timedelta(days=120))
    async with db.session() as session:
        proposal = await session.get(Proposal, ids["proposal"])
        row = await session.get(ProposalAssignment, ids["区住建局"])
        assert proposal is not None and row is not None
        answered = (NOW - timedelta(days=10)).replace(tzinfo=None)
        row.state, row.answer, row.answer_category, row.answered_at = A_ANSWERED, "已列入计划。", "B", answered
        proposal.state, proposal.answered_at = ANSWERED, answered
        session.add_all([row, proposal, ProposalRating(proposal_id=proposal.id, member_id=lead_row.id,
                                                       attitude=SATISFIED, result=UNSATISFIED, at=answered)])
    clock.frozen = NOW
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=STAFF), db, clock)
    async with db.session() as session:
        await filing.rework(session, ids["proposal"], actor=staff_row, now=clock.now(), settings=deps.settings)
    main, staff = emu.user(3001, "张科长"), emu.user(STAFF, "小王")
    async with running(deps, poll_timeout=1) as app:
        notice = await _seen(main, "请重办")
        assert "7月3日（周五）" in notice["text"]  # 30 days from the 重办
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        await job.run(app)  # neither overdue at once nor reminded of round 1
    assert _count(main, "督办提醒") == 0 and _count(main, "已超过答复期限") == 0
    clock.frozen = datetime(2026, 6, 26, 1, 30, tzinfo=UTC)  # Friday 09:30: 7 days before
    async with running(deps, poll_timeout=1):
        reminder = await _seen(main, "还有 7 天")
        assert "7月3日" in reminder["text"]
    clock.frozen = datetime(2026, 7, 6, 1, 30, tzinfo=UTC)  # the Monday after the due day
    async with running(deps, poll_timeout=1):
        overdue = await _seen(main, "已超过答复期限")
        assert "7月3日" in overdue["text"]
        await _seen(staff, "已超过答复期限")
    async with running(deps, poll_timeout=1) as app:  # once more: nothing is sent again
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        await job.run(app)
    assert _count(main, "请重办") == 1 and _count(main, "督办提醒") == 1 and _count(main, "已超过答复期限") == 1
    assert _count(staff, "已超过答复期限") == 1


@pytest.mark.one_database
async def test_a_unit_with_no_bound_contact_leaves_the_secretariat_told_once_across_restarts(emu, db, db_url, clock) -> None:  # type: ignore[no-untyped-def]
    units = await _units_directly(db, {"区财政局": None})  # invited, never bound
    lead_row = await add_member(db, "苏建华", telegram_user_id=1001, language="zh")
    co_row = await add_member(db, "Liao Yan", telegram_user_id=1002, language="en")
    await add_member(db, "机关小王", role="secretariat", telegram_user_id=STAFF, language="zh")
    clock.frozen = NOW
    await _proposal(db, lead_row, co_row, units, {"区财政局": MAIN}, assigned_at=NOW - timedelta(days=60))
    deps = make_deps(make_settings(db_url, emu, secretariat_chat_id=STAFF), db, clock)
    staff = emu.user(STAFF, "小王")
    async with running(deps, poll_timeout=1) as app:
        told = await _seen(staff, "督办提醒未能送达")  # the start-up sweep's 30-day reminder
        assert "区财政局" in told["text"] and "2026-001" in told["text"] and "还有 30 天" in told["text"]
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        await job.run(app)
    async with running(deps, poll_timeout=1):  # restarted: nothing again
        pass
    clock.frozen = NOW + timedelta(days=35)
    async with running(deps, poll_timeout=1):
        await _seen(staff, "逾期通知未能送达")
        await _seen(staff, "已超过答复期限")
    async with running(deps, poll_timeout=1) as app:
        (job,) = app.job_queue.get_jobs_by_name(SWEEP_JOB)
        await job.run(app)
    assert _count(staff, "督办提醒未能送达") == 1 and _count(staff, "逾期通知未能送达") == 1
    assert _count(staff, "已超过答复期限") == 1
