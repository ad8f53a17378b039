"""End to end through the Bot API emulator: roster import → invite → /start → greeting → /help;
strangers, bad codes, brute force, redelivered updates, the error handler."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.i18n import t
from models import Member, ProcessedUpdate
from tests.conftest import DATA, add_member, expect_reply, run_cli, until


@pytest.fixture
def bot_app(bot_app_both_ways):  # type: ignore[no-untyped-def]
    """These paths run by long polling and by webhook."""
    return bot_app_both_ways


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return run_cli(args, env={**os.environ, **env}, cwd=cwd)


@pytest.mark.one_database
async def test_roster_import_invite_start_help_and_stranger(db_url, settings, emu, bot_app, db, tmp_path):
    # The secretariat imports the roster and writes invite links (bot username from getMe).
    env = {"DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": settings.telegram_bot_token,
           "TELEGRAM_API_BASE_URL": emu.base_url, "BOT_USERNAME": ""}
    out = tmp_path / "invites.csv"
    result = _cli(["members", "import", str(DATA / "roster.sample.en.csv"), "--invites", str(out)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8-sig") as fh:
        links = {row["name"]: row for row in csv.DictReader(fh)}
    assert len(links) == 11
    assert links["苏建华"]["link"] == f"https://t.me/{emu.bot_user['username']}?start={links['苏建华']['code']}"

    # The member follows the link: Telegram sends "/start <code>".
    member = emu.user(4242, "建华")
    await expect_reply(member, lambda: member.send_text(f"/start {links['苏建华']['code']}"), "/report")
    messages = member.messages()
    assert messages[0]["text"] == t("onboarding.welcome", "zh", name="苏建华")
    assert messages[0]["reply_markup"]["keyboard"][0][0]["text"] == t("menu.report", "zh")
    assert "/report" in messages[1]["text"] and "/review" not in messages[1]["text"]
    await emu.wait_for(lambda: "chat:4242" in emu.commands, what="per-chat command list")
    assert [c["command"] for c in emu.commands["chat:4242"]][:2] == ["report", "me"]
    async with db.session() as session:
        bound = (await session.exec(select(Member).where(Member.telegram_user_id == 4242))).one()
    assert bound.name == "苏建华"

    # /help shows the member's commands, not the secretariat's.
    help_header = t("onboarding.help_header", "zh", name="苏建华")
    help_message = (await expect_reply(member, lambda: member.send_text("/help"), help_header))["text"]
    assert help_message.startswith(t("onboarding.help_header", "zh", name="苏建华"))
    assert "/me" in help_message and "/review" not in help_message

    # A stranger's /help gets the join explanation and nothing else.
    stranger = emu.user(777, "路人", language_code="zh-hans")
    refusal = t("onboarding.stranger", "zh")
    assert (await expect_reply(stranger, lambda: stranger.send_text("/help"), refusal))["text"] == refusal
    assert (await expect_reply(stranger, lambda: stranger.send_text("/report"), refusal))["text"] == refusal
    assert stranger.texts() == [refusal, refusal]


@pytest.mark.one_database
async def test_secretariat_help_lists_staff_commands(emu, bot_app, db):
    await add_member(db, "马晓燕", role="secretariat", telegram_user_id=5100)
    staff = emu.user(5100, "晓燕")
    text = (await expect_reply(staff, lambda: staff.send_text("/help"), "/review"))["text"]
    assert "/review" in text and "/digest" in text


@pytest.mark.one_database
async def test_bad_code_then_lockout_binds_nothing(emu, bot_app, db):
    from bot.services import invites

    member = await add_member(db, "廖艳")
    async with db.session() as session:
        code = await invites.new_invite(session, member, now=bot_app.bot_data["deps"].clock.now(), ttl_days=30)
    user = emu.user(6100, "艳")
    refusals = (t("onboarding.bind_bad_code", "zh"), t("onboarding.bind_locked", "zh"))
    for i in range(5):
        await expect_reply(user, lambda i=i: user.send_text(f"/start wrong{i}"), lambda m: m["text"] in refusals)
    assert user.texts()[0] == t("onboarding.bind_bad_code", "zh")
    locked = t("onboarding.bind_locked", "zh")
    assert (await expect_reply(user, lambda: user.send_text(f"/start {code}"), locked))["text"] == locked
    assert len(user.texts()) == 6
    async with db.session() as session:
        assert (await session.get(Member, member.id)).telegram_user_id is None


@pytest.mark.one_database
async def test_english_stranger_and_language_switch(emu, bot_app, db):
    stranger = emu.user(8100, "Tom", language_code="en")
    refusal = t("onboarding.stranger", "en")
    assert (await expect_reply(stranger, lambda: stranger.send_text("hello"), refusal))["text"] == refusal

    await add_member(db, "于文博", telegram_user_id=8200)
    user = emu.user(8200, "文博")
    await expect_reply(user, lambda: user.send_text("/lang"), t("onboarding.lang_choose", "zh"))
    switched = await expect_reply(user, lambda: user.press("lang:en"), t("onboarding.lang_set", "en"))
    assert switched["text"] == t("onboarding.lang_set", "en")
    async with db.session() as session:
        assert (await session.exec(select(Member).where(Member.telegram_user_id == 8200))).one().language == "en"
    help_message = await expect_reply(user, lambda: user.send_text("/help"), "these are your commands")
    assert help_message["text"].startswith("于文博, these are your commands")
    # A forged language button is refused and changes nothing.
    forged = user.press("lang:fr")
    await emu.wait_for(lambda: forged in emu.callback_answers)
    assert emu.callback_answers[forged]["text"] == t("common.stale_button", "en")
    async with db.session() as session:
        assert (await session.exec(select(Member).where(Member.telegram_user_id == 8200))).one().language == "en"


async def test_redelivered_update_is_handled_once(emu, bot_app, db):
    from telegram import Update

    await add_member(db, "韦杰娟", telegram_user_id=9100)
    user = emu.user(9100, "杰娟")
    help_header = t("onboarding.help_header", "zh", name="韦杰娟")
    await expect_reply(user, lambda: user.send_text("/help"), help_header)

    async def handled_ids() -> list[int]:
        async with db.session() as session:
            return [row.update_id for row in (await session.exec(select(ProcessedUpdate))).all()]

    async def recorded() -> bool:
        return bool(await handled_ids())

    # The id is recorded once every handler ran, just after the answer went out.
    await until(recorded, "the handled update's id stored")
    handled = await handled_ids()
    assert handled, "handled update ids are recorded"
    # After a crash Telegram delivers the same update (same id) again.
    replay = {"update_id": max(handled),
              "message": {"message_id": 99, "date": 0, "chat": {"id": 9100, "type": "private"},
                          "from": {"id": 9100, "is_bot": False, "first_name": "杰娟"}, "text": "/help",
                          "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
    await bot_app.process_update(Update.de_json(replay, bot_app.bot))
    # A new update with a new id is answered, the replay was not.
    await expect_reply(user, lambda: user.send_text("/help"), help_header)
    await emu.wait_for(lambda: not emu.pending_updates())
    assert len(user.messages()) == 2


@pytest.mark.one_database
async def test_error_handler_apologises_and_bot_keeps_running(emu, bot_app, db):
    from telegram.ext import CommandHandler

    async def broken(update, context):
        raise RuntimeError("member text 13800000001 must not be logged")

    bot_app.handlers[0].insert(0, CommandHandler("boom", broken))
    await add_member(db, "冯平刚", telegram_user_id=9200)
    user = emu.user(9200, "平刚")
    sorry = t("common.error", "zh")
    assert (await expect_reply(user, lambda: user.send_text("/boom"), sorry))["text"] == sorry
    assert "/me" in (await expect_reply(user, lambda: user.send_text("/help"), "/me"))["text"]


@pytest.mark.one_database
async def test_staff_only_checks_role_on_every_button_press(emu, bot_app, db):
    from telegram.ext import CallbackQueryHandler

    from handlers.common import answer_once, staff_only

    pressed: list[str] = []

    @staff_only
    async def approve(update, context, member):
        pressed.append(member.name)
        await answer_once(update, "ok")

    bot_app.handlers[0].insert(0, CallbackQueryHandler(approve, pattern="^approve:"))
    staff = await add_member(db, "杨建军", role="secretariat", telegram_user_id=9300)
    await add_member(db, "向玲", telegram_user_id=9301)
    staff_user = emu.user(9300, "建军")
    await expect_reply(staff_user, lambda: staff_user.send_text("/help"), "/review")
    member = emu.user(9301, "玲")
    await expect_reply(member, lambda: member.send_text("/help"), "/me")
    # The member forges the secretariat's button on their own chat: refused with an alert.
    query_id = member.press("approve:1")
    await emu.wait_for(lambda: query_id in emu.callback_answers)
    assert emu.callback_answers[query_id]["text"] == t("common.not_allowed", "zh")
    assert pressed == []
    # The role is read on each press: demote the staff member and the same button stops working.
    first = staff_user.press("approve:1")
    await emu.wait_for(lambda: first in emu.callback_answers)
    assert pressed == ["杨建军"]
    async with db.session() as session:
        row = await session.get(Member, staff.id)
        row.role = "member"
        session.add(row)
    second = staff_user.press("approve:1")
    await emu.wait_for(lambda: second in emu.callback_answers)
    assert pressed == ["杨建军"] and emu.callback_answers[second]["text"] == t("common.not_allowed", "zh")


@pytest.mark.one_database
async def test_blocking_the_bot_marks_the_member_unreachable_and_unblocking_restores(emu, bot_app, db):
    member = await add_member(db, "何玉兰", telegram_user_id=9400)
    user = emu.user(9400, "玉兰")
    user.block(notify=True)

    async def reachable() -> bool:
        async with db.session() as session:
            return (await session.get(Member, member.id)).reachable

    async def unreachable() -> bool:
        return not await reachable()

    await until(unreachable, "the member marked unreachable")
    assert not await reachable()
    user.unblock(notify=True)
    await until(reachable, "the member marked reachable again")
    assert await reachable()


@pytest.mark.one_database
async def test_binding_takes_the_telegram_apps_language_unless_one_was_chosen(emu, bot_app, db):
    from bot.services import invites

    now = bot_app.bot_data["deps"].clock.now()
    english_app = await add_member(db, "Liao Yan")
    chose_chinese = await add_member(db, "苏建华", language="zh")
    unsupported_app = await add_member(db, "王小明")
    async with db.session() as session:
        codes = [await invites.new_invite(session, m, now=now, ttl_days=30)
                 for m in (english_app, chose_chinese, unsupported_app)]
    for user_id, code, app_lang, name, lang in (
        (8301, codes[0], "en-GB", "Liao Yan", "en"),
        (8302, codes[1], "en", "苏建华", "zh"),  # the roster / an earlier choice says Chinese
        (8303, codes[2], "fr", "王小明", "zh"),  # a language the bot does not speak: the committee's
    ):
        user = emu.user(user_id, name, language_code=app_lang)
        user.send_text(f"/start {code}")
        welcome = t("onboarding.welcome", lang, name=name)
        await emu.wait_for(lambda u=user, w=welcome: w in u.texts(), 10, what=f"welcome in {lang}")
    async with db.session() as session:
        stored = {m.name: m.language for m in (await session.exec(select(Member))).all()}
    assert stored == {"Liao Yan": "en", "苏建华": "zh", "王小明": None}


@pytest.mark.one_database
async def test_a_member_who_binds_after_an_event_was_published_is_invited(emu, bot_app, db, deps, clock):
    from datetime import UTC, datetime, timedelta

    from bot.services import events, invites
    from bot.services.reminders import policy_from_settings
    from models.event import Invitation

    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    clock.frozen = now
    late = await add_member(db, "晚到委员", committee="经济委员会")  # not bound yet
    await add_member(db, "早到委员", telegram_user_id=4301, committee="经济委员会")
    await add_member(db, "文史委员", committee="文史委员会")
    policy = policy_from_settings(deps.settings)
    titles = {"ahead": "学习会：民法典", "other": "文史委员会座谈", "begun": "昨天开始的调研"}
    async with db.session() as session:
        for key, audience, start in (
            ("ahead", "committee:经济委员会", now + timedelta(days=3)),
            ("other", "all", now + timedelta(days=4)),
            ("begun", "committee:经济委员会", now + timedelta(hours=2)),
        ):
            event = await events.create_event(
                session, title=titles[key], kind="study", starts_at=start, now=now - timedelta(days=1),
                audience=await events.resolve_audience(session, audience), rules=deps.rules,
            )  # fmt: skip
            if key == "other":  # an audience the late member is not in
                event.audience_kind, event.audience_value = "committee", "文史委员会"
            await events.publish_event(session, event, now=now - timedelta(days=1), policy=policy)
        code = await invites.new_invite(session, late, now=now, ttl_days=30)
    clock.frozen = now + timedelta(hours=3)  # the third event has begun by the time they bind

    user = emu.user(4302, "晚到")
    user.send_text(f"/start {code}")
    await emu.wait_for(lambda: any("活动通知：" + titles["ahead"] in x for x in user.texts()), 10,
                       what="the invitation of the event still ahead")  # fmt: skip
    invitation = next(m for m in user.messages() if titles["ahead"] in m.get("text", ""))
    assert [b["text"] for b in invitation["reply_markup"]["inline_keyboard"][0]] == [
        t("events.btn_attend", "zh"), t("events.btn_leave", "zh")
    ]
    async with db.session() as session:
        mine = (await session.exec(select(Invitation).where(Invitation.member_id == late.id))).all()
    assert len(mine) == 2  # the one ahead, and the begun one from publication (no message for it now)
    assert not any(titles["other"] in x or "活动通知：" + titles["begun"] in x for x in user.texts())
    # a second /start changes nothing: still one invitation message
    user.send_text("/start")
    await emu.wait_for(lambda: any(t("onboarding.welcome_back", "zh", name="晚到委员") in x for x in user.texts()))
    assert sum("活动通知：" + titles["ahead"] in x for x in user.texts()) == 1


@pytest.mark.one_database
async def test_staff_get_the_staff_keyboard_and_its_buttons_work(emu, bot_app, db):
    await add_member(db, "王秘书", role="secretariat", telegram_user_id=4401, committee="")
    await add_member(db, "苏建华", telegram_user_id=4402)
    staff, member = emu.user(4401, "王秘书"), emu.user(4402, "建华")
    staff.send_text("/start")
    member.send_text("/start")
    await emu.wait_for(lambda: staff.keyboard is not None and member.keyboard is not None, what="keyboards")
    labels = [[b["text"] for b in row] for row in staff.keyboard["keyboard"]]
    assert labels == [
        [t("menu.review", "zh"), t("menu.inbox", "zh")],
        [t("menu.digest", "zh"), t("menu.newevent", "zh")],
        [t("menu.help", "zh")],
    ]
    assert member.keyboard["keyboard"][0][0]["text"] == t("menu.report", "zh")
    for label, answer in (("menu.review", "review.none_left"), ("menu.newevent", "events.admin.ask_title")):
        staff.send_text(t(label, "zh"))
        wanted = t(answer, "zh", limit=120)
        await emu.wait_for(lambda w=wanted: any(w in x for x in staff.texts()), 10, what=label)
    staff.send_text("/cancel")
    staff.send_text(t("menu.inbox", "zh"))
    await emu.wait_for(lambda: any("📮 社情民意信息 · 待处理" in x for x in staff.texts()), what="inbox")
    # a member typing a staff button's text is refused politely
    member.send_text(t("menu.inbox", "zh"))
    await emu.wait_for(lambda: t("common.not_allowed", "zh") in member.texts(), what="refusal")


@pytest.mark.one_database
async def test_staff_who_are_also_members_get_both_keyboards(emu, bot_app, db):
    """The roster's 机关+委员: the staff buttons and the member buttons (Member.is_member)."""
    async with db.session() as session:
        session.add(Member(name="李委员", sector="民建", committee="经济委员会", role="secretariat", also_member=True,
                           telegram_user_id=4501))
    both = emu.user(4501, "李委员")
    both.send_text("/start")
    await emu.wait_for(lambda: both.keyboard is not None, what="the keyboard")
    labels = [b["text"] for row in both.keyboard["keyboard"] for b in row]
    assert t("menu.review", "zh") in labels and t("menu.report", "zh") in labels and t("menu.help", "zh") in labels
