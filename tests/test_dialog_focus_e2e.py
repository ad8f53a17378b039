"""Two dialogs open at once: what the person types goes to the one they used last, not to the one
registered first (a 社情民意 draft waiting for its title while they report an activity; a secretary
asked for a 退回 reason in the middle of their own report)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.i18n import t
from bot.services import activities
from models import ActivityReport
from tests.conftest import add_member, expect_reply
from tests.conftest import inline_buttons as _buttons

NOW = datetime(2025, 11, 5, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TEXT = "参加区政协组织的社区养老服务调研，走访了三个街道的养老服务中心。"
TITLE = "关于完善社区养老服务设施的建议"


async def _to_description(user) -> None:  # type: ignore[no-untyped-def]
    msg = await expect_reply(user, lambda: user.send_text("/report"), t("report.ask_type", "zh"))
    await expect_reply(user, lambda: user.press(_buttons(msg)["调研"]), t("report.ask_date", "zh"))
    await expect_reply(user, lambda: user.press_button(t("report.btn_yesterday", "zh")),
                       t("report.ask_description", "zh", min=10, max=2000))


async def test_report_text_goes_to_the_report_while_an_info_draft_waits_for_its_title(emu, bot_app, db, clock):
    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=7001)
    user = emu.user(7001, "建华")
    ask_title = await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
    assert ask_title["text"].endswith(t("info.ask_title", "zh", min=5, max=60))
    assert t("info.intro", "zh") in user.texts()

    await _to_description(user)  # the info dialog stays open, waiting for a title
    photos_step = await expect_reply(user, lambda: user.send_text(TEXT), "第")
    assert photos_step["text"].startswith("第 4 步")  # the report took the description
    # back in the info draft: it resumes at the title, and the title goes there
    await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
    reply = await expect_reply(user, lambda: user.send_text(TITLE), t("info.ask_category", "zh"))
    assert reply["text"].endswith(t("info.ask_category", "zh"))
    # and the report, still open, moves on from its photos step to a card with the description
    card = await expect_reply(
        user, lambda: user.press_button(t("report.btn_photos_skip", "zh"), photos_step), "类型："
    )
    assert TEXT in card["text"] and TITLE not in card["text"]


async def test_secretary_returning_a_report_in_the_middle_of_their_own_report(emu, bot_app, db, deps, clock):
    clock.frozen = NOW
    member = await add_member(db, "苏建华", telegram_user_id=7002)
    await add_member(db, "机关甲", role="secretariat", telegram_user_id=7102)
    async with db.session() as session:
        pending = await activities.submit_report(
            session, member_id=member.id, type_code="research", day=date(2025, 11, 3), description=TEXT,
            photos=[], now=deps.clock.now(), rules=deps.rules, zone=deps.settings.tz,
        )  # fmt: skip
    staff = emu.user(7102, "甲")
    card = await expect_reply(staff, lambda: staff.send_text("/review"), "· 报告 #")
    await _to_description(staff)  # the secretary's own report waits for a description
    ask_reason = t("review.ask_reason", "zh", id=pending.id, max=activities.MAX_REASON)
    await expect_reply(
        staff, lambda: staff.press(_buttons(card)[t("review.btn_return", "zh")], card["message_id"]), ask_reason
    )
    assert ask_reason in staff.texts()

    reason = "请补充调研的具体地点和参加人员。"
    await expect_reply(staff, lambda: staff.send_text(reason), t("review.returned", "zh", id=pending.id))
    async with db.session() as session:
        stored = await session.get(ActivityReport, pending.id)
    assert (stored.status, stored.return_reason) == ("returned", reason)
    assert t("review.returned", "zh", id=pending.id) in staff.texts()
    # the secretary's own report is still waiting for its description, and gets it
    reply = await expect_reply(staff, lambda: staff.send_text(TEXT), "第")
    assert reply["text"].startswith("第 4 步")


async def test_after_a_restart_the_text_still_goes_to_the_dialog_used_last(emu, deps, db, clock):
    from bot.assemble import running

    clock.frozen = NOW
    await add_member(db, "苏建华", telegram_user_id=7003)
    user = emu.user(7003, "建华")
    async with running(deps, poll_timeout=1):
        await expect_reply(user, lambda: user.send_text("/info"), t("info.ask_title", "zh", min=5, max=60))
        await _to_description(user)  # used last: the report, waiting for a description
    async with running(deps, poll_timeout=1):  # a new process would start just the same
        reply = await expect_reply(user, lambda: user.send_text(TEXT), "第")
        assert reply["text"].startswith("第 4 步")
