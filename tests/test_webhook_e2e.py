"""Webhook mode: the emulator posts updates with the secret header and retries like Telegram; the
bot answers 403 to a request without the right secret (and changes nothing), stores an update before
its 200, and an update posted while the bot was down is handled once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx
import pytest
import uvicorn
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.core.i18n import t
from models import UpdateInbox
from tests.conftest import (
    WEBHOOK_SECRET,
    add_member,
    expect_reply,
    free_port,
    seen,
    start_bot_process,
    stop_bot_process,
    webhook_bot,
    webhook_settings,
)


async def _inbox(db) -> list[int]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return [r.update_id for r in (await session.exec(select(UpdateInbox))).all()]


@pytest.mark.one_database  # the web server's check of the secret, not SQL
async def test_a_request_without_the_right_secret_gets_403_and_changes_nothing(emu, db, deps):
    await add_member(db, "苏建华", telegram_user_id=5301)
    user = emu.user(5301, "建华")
    async with webhook_bot(deps) as app:
        url = deps.settings.webhook_url
        update = {"update_id": 900_000_001, "message": {
            "message_id": 1, "date": 0, "chat": user.chat, "from": user.user, "text": "/help",
            "entities": [{"offset": 0, "length": 5, "type": "bot_command"}]}}  # fmt: skip
        async with httpx.AsyncClient() as client:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                            {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"}):  # fmt: skip
                response = await client.post(url, json=update, headers=headers)
                assert response.status_code == 403
        # the emulator's own posts carry the secret: the bot answers them
        await expect_reply(user, lambda: user.send_text("/help"), t("onboarding.help_header", "zh", name="苏建华"))
        assert app.updater is None and not emu.calls_of("getUpdates")
        assert {status for _id, status in emu.webhook_posts} == {200}
    assert 900_000_001 not in await _inbox(db)  # nothing of the refused requests was stored
    assert len(emu.sent_to(5301)) == 1  # and nothing was answered to them


async def test_posts_arriving_at_once_are_each_answered_200_only_once_stored_and_handled_once(emu, db, deps):
    # posts that arrive together are stored in one transaction; each one's 200 still means stored
    ids = list(range(5311, 5323))
    for i, uid in enumerate(ids):
        await add_member(db, f"委员{i}", telegram_user_id=uid)
    users = [emu.user(uid, f"委员{i}") for i, uid in enumerate(ids)]
    updates = [{"update_id": 900_000_100 + i, "message": {
        "message_id": 1, "date": 0, "chat": u.chat, "from": u.user, "text": "/help",
        "entities": [{"offset": 0, "length": 5, "type": "bot_command"}]}} for i, u in enumerate(users)]  # fmt: skip
    stored_when_answered: list[bool] = []
    async with webhook_bot(deps):
        async with httpx.AsyncClient() as client:

            async def post(update: dict) -> None:
                response = await client.post(deps.settings.webhook_url, json=update,
                                             headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})  # fmt: skip
                assert response.status_code == 200
                stored_when_answered.append(update["update_id"] in await _inbox(db))

            await asyncio.gather(*(post(u) for u in [*updates, updates[0]]))  # the first one twice
        for i, uid in enumerate(ids):
            header = t("onboarding.help_header", "zh", name=f"委员{i}")
            await emu.wait_for(lambda h=header, u=uid: any(h in m.get("text", "") for m in emu.sent_to(u)),
                               what=f"the help for {uid}")  # fmt: skip
        await expect_reply(users[0], lambda: users[0].send_text("/me"), "委员0")  # its lane is past any repeat
    assert stored_when_answered == [True] * (len(updates) + 1)
    header = t("onboarding.help_header", "zh", name="委员0")
    assert len([m for m in emu.sent_to(ids[0]) if header in m.get("text", "")]) == 1


async def test_the_emulator_posts_again_after_an_error_status_or_no_answer(emu):
    answers = iter([500, "hang", 200])

    async def hook(request: Request) -> Response:
        assert request.headers["x-telegram-bot-api-secret-token"] == "s3cret"
        answer = next(answers)
        if answer == "hang":
            await asyncio.sleep(2)
            answer = 200
        return Response(status_code=int(answer))

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                                           port=port, log_level="warning", lifespan="off"))  # fmt: skip
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.01)
        emu.webhook_timeout = 0.5
        async with httpx.AsyncClient(base_url=emu.base_url.removesuffix("/bot")) as client:
            api = f"/bot{emu.token}"
            assert (await client.post(f"{api}/setWebhook", data={"url": f"http://127.0.0.1:{port}/hook",
                                                                 "secret_token": "s3cret"})).json()["ok"]  # fmt: skip
            emu.user(5302).send_text("hello")
            (update_id,) = [u["update_id"] for u in emu.pending_updates()]
            await emu.wait_for(lambda: not emu.pending_updates(), what="the update to be taken")
            assert emu.webhook_posts == [(update_id, 500), (update_id, "timeout"), (update_id, 200)]
            info = (await client.get(f"{api}/getWebhookInfo")).json()["result"]
            assert info["url"].endswith("/hook") and info["pending_update_count"] == 0
            assert "Read timeout" in info["last_error_message"]
            refused = (await client.get(f"{api}/getUpdates")).json()
            assert refused["error_code"] == 409  # no getUpdates while a webhook is set
            assert (await client.post(f"{api}/deleteWebhook")).json()["ok"]
            assert (await client.get(f"{api}/getUpdates")).json()["ok"]
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await task


@pytest.mark.one_database  # the inbox replay: what is stored is SQL-neutral; SQLite shows it
async def test_an_update_posted_while_the_bot_is_down_is_handled_when_it_is_back(emu, db, db_url, tmp_path):
    await add_member(db, "苏建华", telegram_user_id=5303)
    user = emu.user(5303, "建华")
    env = {k.upper(): v for k, v in webhook_settings(free_port()).items()}
    proc = start_bot_process(db_url, emu, tmp_path, **env)
    try:
        await expect_reply(user, lambda: user.send_text("/me"), "苏建华")
        proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 15)
        user.send_text("/help")  # Telegram cannot reach the bot: it keeps the update and tries again
        await emu.wait_for(lambda: any(s == "no connection" for _i, s in emu.webhook_posts),
                           what="a refused post")  # fmt: skip
    finally:
        stop_bot_process(proc)
    before = seen(user)  # the retried post can be answered while the new process starts
    proc = start_bot_process(db_url, emu, tmp_path, **env)
    try:
        await expect_reply(user, lambda: None, t("onboarding.help_header", "zh", name="苏建华"), before=before)
    finally:
        stop_bot_process(proc)
    helps = [m for m in emu.sent_to(5303) if t("onboarding.help_header", "zh", name="苏建华") in m.get("text", "")]
    assert len(helps) == 1
