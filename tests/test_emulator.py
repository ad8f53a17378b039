"""Tests of the Bot API emulator, driven by a real python-telegram-bot stack (no mocks)."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import threading
import time
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.devtools.emulator import DEFAULT_PHOTO, BotApiEmulator, parse_html

SAMPLES = json.loads((Path(__file__).parent / "data" / "telegram_updates.sample.json").read_text("utf-8"))
SAMPLE = {s["kind"]: s["update"] for s in SAMPLES}


@pytest.fixture
def emu():
    with BotApiEmulator() as e:
        yield e


def make_bot(emu: BotApiEmulator, **request_kwargs) -> Bot:
    request = HTTPXRequest(**request_kwargs) if request_kwargs else None
    return Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url, request=request)


def echo_app(emu: BotApiEmulator, seen: dict) -> Application:
    """A small bot: /start with buttons, echo, button edits, photo/document download, albums."""
    app = emu.app_builder().build()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("甲", callback_data="pick:a")],
                                   [InlineKeyboardButton("乙", callback_data="pick:b")]])  # fmt: skip
        await update.message.reply_text("请选择：", reply_markup=kb)

    async def album(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_photo(DEFAULT_PHOTO, caption="<b>图</b>", parse_mode=ParseMode.HTML)
        await update.message.reply_media_group(
            [
                InputMediaPhoto(DEFAULT_PHOTO, caption="一"),
                InputMediaPhoto(b"\x89PNG-not-really", caption="二"),
            ]
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(
            f"echo: {html.escape(update.message.text)}", parse_mode=ParseMode.HTML
        )

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        q = update.callback_query
        seen.setdefault("queries", []).append(q)
        await q.answer("好的")
        if q.message is not None and q.message.is_accessible and q.message.from_user.id == context.bot.id:
            await q.edit_message_text(f"已选择 {q.data}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        f = await update.message.photo[-1].get_file()
        seen["photo"] = bytes(await f.download_as_bytearray())
        await update.message.reply_text(f"收到 {len(seen['photo'])} 字节")

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        f = await update.message.document.get_file()
        seen["document"] = (update.message.document.file_name, bytes(await f.download_as_bytearray()))
        await update.message.reply_text("文件已收到")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("album", album))
    app.add_handler(CallbackQueryHandler(button))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


# --------------------------------------------------------------------------- full bot round trips


async def test_echo_buttons_and_offsets(emu):
    seen: dict = {}
    u = emu.user(1001, "苏建华")
    async with emu.running(echo_app(emu, seen)):
        sent = u.send_text("/start")
        assert sent["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
        [menu] = await u.wait_for_messages(1)
        assert menu["text"] == "请选择："
        assert menu["from"]["id"] == emu.bot_user["id"] and menu["chat"]["id"] == 1001
        assert menu["message_id"] > sent["message_id"]
        assert menu["reply_markup"]["inline_keyboard"][1][0]["callback_data"] == "pick:b"

        u.send_text("a <b> & c")
        await u.wait_for_messages(2)
        assert u.last()["text"] == "echo: a <b> & c"

        cq_id = u.press("pick:b", menu)
        await emu.wait_for(lambda: cq_id in emu.callback_answers and emu.calls_of("editMessageText"))
        assert emu.callback_answers[cq_id]["text"] == "好的"
        edited = u.messages()[0]
        assert edited["text"] == "已选择 pick:b" and "edit_date" in edited
        assert "reply_markup" not in edited  # an edit without markup drops the inline keyboard
        assert seen["queries"][0].message.text == "请选择："
        assert u.history()[0]["text"] == "请选择："  # original send kept separately

        await emu.wait_for(lambda: not emu.pending_updates())
    assert emu.pending_updates() == []
    assert emu.confirmed_offset > 0
    assert [c.method for c in emu.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_photo_document_and_media_group(emu):
    seen: dict = {}
    u = emu.user(1002, "王芳", language_code="zh-hans")
    async with emu.running(echo_app(emu, seen)):
        u.send_photo(caption="现场")
        await u.wait_for_messages(1)
        assert seen["photo"] == DEFAULT_PHOTO
        assert u.last()["text"] == f"收到 {len(DEFAULT_PHOTO)} 字节"

        pdf = b"%PDF-1.4 fake\n" * 50
        u.send_document(pdf, "建议.pdf", "application/pdf")
        await u.wait_for_messages(2)
        assert seen["document"] == ("建议.pdf", pdf)

        u.send_text("/album")
        msgs = await u.wait_for_messages(5)
    photo_msg, g1, g2 = msgs[2], msgs[3], msgs[4]
    assert photo_msg["caption"] == "图"
    assert photo_msg["caption_entities"] == [{"offset": 0, "length": 1, "type": "bold"}]
    ps = photo_msg["photo"][-1]
    assert (ps["width"], ps["height"]) == (2, 2) and emu.files[ps["file_id"]] == DEFAULT_PHOTO
    assert g1["media_group_id"] == g2["media_group_id"] and g1["caption"] == "一"
    group_call = emu.calls_of("sendMediaGroup")[0]
    assert [m["media"][:9] for m in group_call.params["media"]] == ["attach://"] * 2
    assert sorted(f["size"] for f in group_call.uploads.values()) == sorted(
        [len(DEFAULT_PHOTO), len(b"\x89PNG-not-really")]
    )
    assert emu.files[g2["photo"][-1]["file_id"]] == b"\x89PNG-not-really"
    # downloads via base_file_url return the bytes
    async with make_bot(emu) as bot:
        f = await bot.get_file(g2["photo"][-1]["file_id"])
        assert f.file_path.startswith(emu.base_file_url)
        assert bytes(await f.download_as_bytearray()) == b"\x89PNG-not-really"
        again = await bot.send_document(u.id, g1["photo"][-1]["file_id"])  # resend by file_id
        assert emu.files[again.document.file_id] == DEFAULT_PHOTO


def collecting_app(emu) -> tuple[Application, list[Update]]:  # type: ignore[no-untyped-def]
    """A PTB application on the emulator that keeps every update it receives (in the list)."""
    got: list[Update] = []
    app = emu.app_builder().build()

    async def collect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        got.append(update)

    app.add_handler(TypeHandler(Update, collect))
    return app, got


async def test_samples_round_trip_through_ptb(emu):
    app, got = collecting_app(emu)
    ids = {s["kind"]: emu.inject(s["update"]) for s in SAMPLES}
    assert len(set(ids.values())) == len(SAMPLES)
    async with emu.running(app):
        await emu.wait_for(lambda: len(got) == len(SAMPLES), what="all sample updates")
        by_id = {upd.update_id: upd for upd in got}
        cq = by_id[ids["callback_query"]].callback_query
        assert cq.data == "report:type:research" and cq.message.text == "请选择履职活动类型："
        assert by_id[ids["callback_query_inaccessible_message"]].callback_query.message.is_accessible is False
        photo = by_id[ids["photo_with_caption"]].message
        assert photo.caption == "调研现场" and photo.photo[-1].file_id == "AgACAgUAAxkBAAIBZ2abc-large"
        doc = by_id[ids["document_pdf"]].message.document
        assert doc.file_name == "关于加快完善残疾人社会保障的建议.pdf"
        assert by_id[ids["my_chat_member_blocked"]].my_chat_member.new_chat_member.status == "kicked"
        assert len(by_id[ids["long_text_4096"]].message.text) == len(
            SAMPLE["long_text_4096"]["message"]["text"]
        )
        for kind, uid in ids.items():  # what PTB parsed equals what was injected
            expected = Update.de_json({**SAMPLE[kind], "update_id": uid}, app.bot)
            assert by_id[uid] == expected and by_id[uid].to_dict() == expected.to_dict(), kind
        # files and chats seen in injected updates are usable by the bot
        f = await app.bot.get_file("BQACAgUAAxkBAAIBaGpdf")
        assert len(await f.download_as_bytearray()) == 245760
        with pytest.raises(BadRequest, match="(?i)file is too big"):
            await app.bot.get_file("BQACAgUAAxkBAAIBaWbig")
        await app.bot.answer_callback_query(cq.id)
        await app.bot.send_message(-1001234567890, "群消息")
    assert emu.sent_to(-1001234567890)[0]["chat"]["type"] == "supergroup"
    assert emu.pending_updates() == []


async def test_send_update_rewrites_sender_and_callback(emu):
    app, got = collecting_app(emu)
    u = emu.user(2001, "李明", username="liming")
    async with emu.running(app):
        await app.bot.send_message(u.id, "菜单", reply_markup=InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("调研", callback_data="report:type:research")))  # fmt: skip
        u.send_update(SAMPLE["document_pdf"])
        cq_id = u.press_button("调研")
        await emu.wait_for(lambda: len(got) == 2)
        assert got[0].effective_user.id == 2001 and got[0].effective_chat.id == 2001
        assert got[0].message.document.file_name.endswith(".pdf")
        assert got[1].callback_query.id == cq_id and got[1].callback_query.message.text == "菜单"
        await got[1].callback_query.answer()
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await got[1].callback_query.answer()


# --------------------------------------------------------------------------- errors as PTB sees them


@pytest.mark.filterwarnings("ignore:.*retry_after")
async def test_errors_surface_as_ptb_exceptions(emu):
    u = emu.user(1001)
    async with make_bot(emu) as bot:
        m = await bot.send_message(u.id, "你好")
        assert u.last()["text"] == "你好" and m.message_id == u.last()["message_id"]

        u.block()
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(u.id, "x")
        u.unblock()

        emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(u.id, "x")
        assert exc.value.retry_after in (7, dtm.timedelta(seconds=7))
        assert emu.stats["429"] == 1

        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(u.id, "长" * 4097)
        await bot.send_message(u.id, "长" * 4096)
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(u.id, "  ")
        with pytest.raises(BadRequest, match="(?i)caption is too long"):
            await bot.send_photo(u.id, DEFAULT_PHOTO, caption="x" * 1025)
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(999, "x")
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(u.id, "a<br>b", parse_mode=ParseMode.HTML)

        m1 = await bot.send_message(u.id, "原文", reply_markup=InlineKeyboardMarkup.from_button(
            InlineKeyboardButton("好", callback_data="ok")))  # fmt: skip
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await m1.edit_text("原文", reply_markup=m1.reply_markup)
        await m1.edit_reply_markup(None)
        assert "reply_markup" not in u.last()
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=u.id, message_id=9999)
        assert await m1.delete()
        assert u.last()["text"] == "长" * 4096
        with pytest.raises(BadRequest, match="(?i)message to delete not found"):
            await bot.delete_message(u.id, m1.message_id)

        # a reply keyboard is kept in state but (like Telegram) not echoed back
        m2 = await bot.send_message(u.id, "键盘", reply_markup=ReplyKeyboardMarkup([["提交", "取消"]]))
        assert m2.reply_markup is None and u.keyboard["keyboard"][0][0]["text"] == "提交"

        await bot.set_my_commands([("start", "开始"), ("report", "报送")], scope=BotCommandScopeChat(u.id),
                                  language_code="zh")  # fmt: skip
        await bot.set_my_commands([("help", "帮助")])
        assert [c["command"] for c in emu.commands["chat:1001:zh"]] == ["start", "report"]
        assert emu.commands["default"] == [{"command": "help", "description": "帮助"}]
        assert [c.command for c in await bot.get_my_commands()] == ["help"]
        await bot.delete_my_commands()
        assert "default" not in emu.commands
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Bad-Cmd", "x")])
        chat = await bot.get_chat(u.id)
        assert chat.first_name == "苏建华" and chat.type == "private"
        await bot.send_chat_action(u.id, "typing")
    statuses = [c.status for c in emu.calls]
    assert 403 in statuses and 429 in statuses and 400 in statuses


async def test_delay_next_times_out_client_but_action_happens(emu):
    u = emu.user(1001)
    async with make_bot(emu, read_timeout=0.2, write_timeout=0.2) as bot:
        emu.delay_next("sendMessage", 1.0)
        t0 = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(u.id, "慢")
        assert time.monotonic() - t0 < 0.9
        assert u.last()["text"] == "慢"
        await bot.send_message(u.id, "快")  # the next call is prompt again
    assert u.texts() == ["慢", "快"]


async def test_latency_setting_delays_every_answer_not_the_action():
    with BotApiEmulator(delay=0.2) as slow:
        u = slow.user(1001)
        async with make_bot(slow) as bot:
            for text in ("一", "二"):
                t0 = time.monotonic()
                await bot.send_message(u.id, text)
                assert time.monotonic() - t0 >= 0.2  # every call, not only the next one
                answered = time.time()
                (call,) = [c for c in slow.calls_of("sendMessage") if c.params["text"] == text]
                assert call.ts <= answered - 0.2  # it took effect on arrival, the answer came later
    assert u.texts() == ["一", "二"]


@pytest.mark.filterwarnings("ignore:.*retry_after")
async def test_enforce_limits():
    still = lambda: 100.0  # noqa: E731  the limits' clock stands still: no window passes while sending
    with BotApiEmulator(enforce_limits=True, global_rate=30, per_chat_rate=1.0, rate_clock=still) as lim:
        users = [lim.user(3000 + i) for i in range(40)]
        async with make_bot(lim) as bot:
            flooded = 0
            for u in users:
                try:
                    await bot.send_message(u.id, "通知")
                except RetryAfter as exc:
                    flooded += 1
                    assert exc.retry_after in (1, dtm.timedelta(seconds=1))
            assert flooded == 10 and lim.stats["429"] == 10 and lim.stats["sent"] == 30
    with BotApiEmulator(enforce_limits=True, rate_clock=still) as lim:
        u = lim.user(1001)
        async with make_bot(lim) as bot:
            await bot.send_message(u.id, "一")
            with pytest.raises(RetryAfter):
                await bot.send_message(u.id, "二")
        assert "Too Many Requests: retry after 1" in lim.calls_of("sendMessage")[-1].error


# --------------------------------------------------------------------------- raw HTTP, parsing, lifecycle


def test_raw_http_token_methods_and_form_encoding(emu):
    u = emu.user(1001)
    with httpx.Client() as client:
        r = client.post(f"{emu.base_url}123:WRONG/getMe")
        assert r.status_code == 401
        assert r.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        r = client.post(f"{emu.base_url}{emu.token}/noSuchMethod")
        assert r.status_code == 404 and r.json()["description"] == "Not Found"
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        r = client.post(f"{emu.base_url}{emu.token}/sendMessage",
                        data={"chat_id": "1001", "text": "123", "reply_markup": json.dumps(markup)})  # fmt: skip
        assert r.status_code == 200 and r.json()["result"]["text"] == "123"
        assert u.last()["reply_markup"] == markup
        r = client.get(f"{emu.base_url}{emu.token}/getMe")  # case-insensitive, GET works too
        assert r.json()["result"]["username"] == "lvzhi_test_bot"
        r = client.get(f"{emu.base_file_url}{emu.token}/photos/nope.jpg")
        assert r.status_code == 404
    call = emu.calls_of("sendMessage")[0]
    assert call.params == {"chat_id": 1001, "text": "123", "reply_markup": markup} and call.status == 200


async def test_long_poll_returns_promptly_and_stop_wakes_it():
    emu = BotApiEmulator().start()
    seen = []
    emu.add_listener(seen.append)
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{emu.base_url}{emu.token}/getUpdates"
        t0 = time.monotonic()
        r = await client.post(url, data={"timeout": "0.3"})
        assert r.json() == {"ok": True, "result": []} and time.monotonic() - t0 >= 0.25

        threading.Timer(0.1, lambda: emu.user(1).send_text("hi")).start()
        t0 = time.monotonic()
        r = await client.post(url, data={"timeout": "5"})
        assert time.monotonic() - t0 < 2 and r.json()["result"][0]["message"]["text"] == "hi"
        uid = r.json()["result"][0]["update_id"]
        await client.post(url, data={"offset": str(uid + 1), "timeout": "0"})
        assert emu.pending_updates() == [] and emu.confirmed_offset == uid + 1

        threading.Timer(0.2, emu.stop).start()
        t0 = time.monotonic()
        r = await client.post(url, data={"offset": str(uid + 1), "timeout": "30"})
        assert time.monotonic() - t0 < 2 and r.json()["result"] == []
    assert [c.method for c in seen] == ["getUpdates"] * 4
    deadline = time.monotonic() + 2
    while any("process_request" in t.name or "BotApiEmulator" in t.name for t in threading.enumerate()):
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        await asyncio.sleep(0.02)


def test_parse_html():
    text, ents = parse_html(
        '<b>粗 <i>斜</i></b> &lt;x&gt; <a href="https://e.x/?a=1&amp;b=2">链接</a>😀<code>c</code>'
    )
    assert text == "粗 斜 <x> 链接😀c"
    assert ents == [
        {"offset": 0, "length": 3, "type": "bold"},
        {"offset": 2, "length": 1, "type": "italic"},
        {"offset": 8, "length": 2, "type": "text_link", "url": "https://e.x/?a=1&b=2"},
        {"offset": 12, "length": 1, "type": "code"},  # 😀 is two UTF-16 units
    ]
    for bad in ("<b>x", "x</b>", "a < b", "<div>x</div>"):
        with pytest.raises(Exception, match="(?i)can't parse entities"):
            parse_html(bad)
