"""`lvzhi sandbox`: the page API against the real bot and the emulator, the clock control,
the demo data, and that the sandbox never touches the real database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic

import httpx
import pytest
from sqlmodel import func, select

from bot.core.config import load_settings
from bot.core.i18n import catalogue
from bot.devtools.emulator import DEFAULT_PHOTO
from bot.devtools.sandbox import DB_FILE, PortBusy, Sandbox, clock_target
from bot.devtools.sandbox.seed import NEWCOMER_USER_ID, ROSTER, STAFF_USER_ID, STRANGER_USER_ID
from bot.services import outbox
from models import Member, Outbox
from tests.conftest import output_line
from tests.launcher import launch

ROOT = Path(__file__).resolve().parents[1]
MEMBER = 10001


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(port=0, data_dir=tmp_path / "sandbox") as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as c:
        yield c


async def state(client: httpx.AsyncClient, user_id: int = MEMBER) -> dict:
    res = await client.get("/api/state", params={"user_id": user_id})
    assert res.status_code == 200, res.text
    return res.json()


async def wait_state(sandbox: Sandbox, client: httpx.AsyncClient, user_id: int, pred, what: str) -> dict:  # type: ignore[no-untyped-def]
    """Poll the page API (as the page does) until `pred(state)`: the bot answers asynchronously."""
    latest: dict = {}
    end = monotonic() + 10
    while True:
        latest = await state(client, user_id)
        if pred(latest):
            return latest
        if monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; messages: {latest.get('messages')}")
        await asyncio.sleep(0.05)


def updates_injected(sandbox: Sandbox) -> int:
    """How many updates the page has handed to the bot so far (the emulator numbers them)."""
    return sandbox.emu._next_update_id


def bot_texts(st: dict) -> list[str]:
    return [m["text"] or m["caption"] for m in st["messages"] if m["from"] == "bot"]


# --------------------------------------------------------------------------- settings and data


async def test_sandbox_never_uses_database_url_or_a_real_token(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "real.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{real}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:REAL-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'dotenv.db'}\n", encoding="utf-8")
    assert load_settings().database_url == f"sqlite:///{real}"  # the environment really says so
    async with Sandbox(port=0, data_dir=tmp_path / "sb") as sb:
        assert sb.settings is not None
        assert sb.settings.database_url == f"sqlite:///{(tmp_path / 'sb' / DB_FILE).resolve()}"
        assert sb.settings.telegram_bot_token == sb.emu.token != "999:REAL-TOKEN"
        assert sb.settings.telegram_api_base_url == sb.emu.base_url
        assert sb.app is not None and sb.app.bot.base_url.startswith(sb.emu.base_url)
    assert not real.exists() and not (tmp_path / "dotenv.db").exists()
    assert (tmp_path / "sb" / DB_FILE).exists()


async def test_sandbox_leaves_a_postgresql_database_url_untouched(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uuid

    import psycopg

    from tests.conftest import PG_ADMIN_URL, _pg_exec, _pg_url, pg_problem

    if pg_problem():
        pytest.skip(pg_problem())
    name = f"lvzhi_sbx_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    try:
        monkeypatch.setenv("DATABASE_URL", _pg_url(name))
        async with Sandbox(port=0, data_dir=tmp_path / "sb") as sb:
            assert sb.settings.database_url.startswith("sqlite:///")
            await sb.advance_clock("1d")  # jobs and the dispatcher run: still only the sandbox's file
        with psycopg.connect(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}") as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            assert tables.fetchone()[0] == 0  # type: ignore[index]
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_seed_binds_sample_members_and_leaves_one_newcomer_with_an_invite(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    st = await state(client)
    kinds = [(i["kind"], i["bound"]) for i in st["identities"]]
    assert kinds.count(("member", True)) == 5
    assert ("staff", True) in kinds and ("newcomer", False) in kinds and ("stranger", False) in kinds
    assert ("unit", True) in kinds  # a handling unit's contact (role "unit"), not from the roster
    assert st["invite"]["user_id"] == NEWCOMER_USER_ID
    assert st["invite"]["command"] == "/start " + st["invite"]["code"]
    assert st["invite"]["link"].endswith("?start=" + st["invite"]["code"])
    async with sandbox.db.session() as session:
        count = (await session.exec(select(func.count()).select_from(Member).where(Member.role != "unit"))).one()
        staff = (await session.exec(select(Member).where(Member.telegram_user_id == STAFF_USER_ID))).one()
    assert count == len(ROSTER.read_text(encoding="utf-8-sig").strip().splitlines()) - 1
    assert staff.is_staff
    # bound members opened the chat at start-up, so their menu keyboard is there
    st = await wait_state(sandbox, client, MEMBER, lambda s: s["keyboard"], "the main menu")
    assert any("帮助" in text for row in st["keyboard"]["rows"] for text in row)


async def test_demo_history_comes_from_the_features_services(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    from models.activity import ActivityReport

    history = dict(part.split(":") for part in sandbox.seeded.history)
    assert int(history["reports"]) > 0
    async with sandbox.db.session() as session:
        statuses = list((await session.exec(select(ActivityReport.status))).all())
        stale = (
            await session.exec(select(func.count()).select_from(Outbox).where(Outbox.status == "dropped"))
        ).one()
    assert {"pending", "confirmed"} <= set(statuses)
    assert stale > 0  # the history's notices are not delivered weeks late
    # the secretariat has something to review right away
    await client.post("/api/send", json={"user_id": STAFF_USER_ID, "text": "/review"})
    await wait_state(
        sandbox,
        client,
        STAFF_USER_ID,
        lambda s: any(
            b.get("data", "").startswith("rv:ok:") for m in s["messages"] for row in m["buttons"] for b in row
        ),
        "a review card",
    )
    if "events" in history:  # upcoming events: invitations with answer buttons arrive now
        assert int(history["events"]) > 0
        await wait_state(
            sandbox,
            client,
            MEMBER,
            lambda s: any(
                b.get("data", "").startswith("ev:")
                for m in s["messages"]
                for row in m["buttons"]
                for b in row
            ),
            "an event invitation",
        )


async def test_missing_user_id_means_the_first_member(client) -> None:  # type: ignore[no-untyped-def]
    res = await client.get("/api/state")
    assert res.json()["me"]["user_id"] == MEMBER


# --------------------------------------------------------------------------- acting as a user


async def test_text_reaches_the_real_bot_and_its_answer_is_shown(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    res = await client.post("/api/send", json={"user_id": MEMBER, "text": "/help"})
    assert res.status_code == 200 and res.json()["ok"]
    st = await wait_state(
        sandbox, client, MEMBER, lambda s: any("/report" in t for t in bot_texts(s)), "help"
    )
    mine = [m for m in st["messages"] if m["from"] == "me"]
    assert [m["text"] for m in mine][-1] == "/help"
    ids = [m["id"] for m in st["messages"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    # another member's chat is separate
    other = await state(client, 10002)
    assert all(m["text"] != "/help" for m in other["messages"])


async def test_newcomer_joins_with_the_invite_from_the_page(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    invite = (await state(client, NEWCOMER_USER_ID))["invite"]
    await client.post("/api/send", json={"user_id": NEWCOMER_USER_ID, "text": invite["command"]})
    st = await wait_state(sandbox, client, NEWCOMER_USER_ID, lambda s: s["me"]["bound"], "binding")
    assert st["invite"] is None
    assert any(invite["name"] in t and "绑定成功" in t for t in bot_texts(st))
    async with sandbox.db.session() as session:
        member = (await session.exec(select(Member).where(Member.telegram_user_id == NEWCOMER_USER_ID))).one()
    assert member.name == invite["name"]


async def test_inline_button_press_goes_to_the_bot_and_forged_presses_are_refused(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    await client.post("/api/send", json={"user_id": MEMBER, "text": "/lang"})

    def lang_message(st: dict) -> dict | None:
        return next((m for m in st["messages"] if "lang:zh" in str(m["buttons"])), None)

    st = await wait_state(sandbox, client, MEMBER, lang_message, "the language buttons")
    msg = lang_message(st)
    assert msg is not None
    datas = [b["data"] for row in msg["buttons"] for b in row]
    assert "lang:en" in datas
    pending = updates_injected(sandbox)
    for forged in (
        {"message_id": msg["id"], "data": "lang:xx"},
        {"message_id": msg["id"] + 999, "data": "lang:en"},
        {"message_id": str(msg["id"]), "data": "lang:en"},
        {"message_id": msg["id"], "data": None},
    ):
        res = await client.post("/api/press", json={"user_id": MEMBER, **forged})
        assert res.status_code == 400 and res.json()["error"] == "stale_button"
    # a member cannot press buttons in someone else's chat
    res = await client.post("/api/press", json={"user_id": 10002, "message_id": msg["id"], "data": "lang:en"})
    assert res.status_code == 400
    assert updates_injected(sandbox) == pending  # nothing reached the bot
    assert not sandbox.emu.calls_of("answerCallbackQuery")
    res = await client.post(
        "/api/press", json={"user_id": MEMBER, "message_id": msg["id"], "data": "lang:en"}
    )
    assert res.status_code == 200
    st = await wait_state(
        sandbox, client, MEMBER, lambda s: catalogue("en")["onboarding.lang_set"] in bot_texts(s), "lang set"
    )
    async with sandbox.db.session() as session:
        member = (await session.exec(select(Member).where(Member.telegram_user_id == MEMBER))).one()
    assert member.language == "en"


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    before = updates_injected(sandbox)
    cases = [
        ({"user_id": MEMBER, "text": "   "}, "empty"),
        ({"user_id": MEMBER, "text": "长" * 4097}, "too_long"),
        ({"user_id": 424242, "text": "hi"}, "unknown_user"),
        ({"user_id": "abc", "text": "hi"}, "unknown_user"),
        ({"user_id": MEMBER, "text": 5}, "empty"),
    ]
    for body, key in cases:
        res = await client.post("/api/send", json=body)
        assert res.status_code == 400 and res.json()["error"] == key
        assert res.json()["message"] == catalogue("zh")[f"sandbox.error_{key}"]
    res = await client.post("/api/send", content=b"{not json", headers={"Content-Type": "application/json"})
    assert res.json()["error"] == "bad_request"
    res = await client.post("/api/send?lang=en", json={"user_id": MEMBER, "text": ""})
    assert res.json()["message"] == catalogue("en")["sandbox.error_empty"]
    st = await state(client)
    assert [m["text"] for m in st["messages"] if m["from"] == "me"] == ["/start"]  # the start-up one only
    assert updates_injected(sandbox) == before
    assert (await client.get("/api/state", params={"user_id": 5})).json()["error"] == "unknown_user"
    assert (await client.get("/nope")).status_code == 404
    assert (await client.get("/static/../__init__.py")).status_code == 404
    assert (await client.post("/api/clock", json={"advance": "1y"})).json()["error"] == "bad_clock"


async def test_photo_and_document_upload_and_download(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    res = await client.post(
        "/api/photo",
        params={"user_id": MEMBER, "caption": "调研现场"},
        content=DEFAULT_PHOTO,
        headers={"Content-Type": "image/png"},
    )
    assert res.status_code == 200, res.text
    st = await state(client)
    photo = next(m for m in st["messages"] if m["id"] == res.json()["message_id"])
    assert photo["from"] == "me" and photo["caption"] == "调研现场"
    got = await client.get(photo["photo"])
    assert got.content == DEFAULT_PHOTO and got.headers["content-type"] == "image/png"

    doc_bytes = "名单,报告\n".encode()
    res = await client.post(
        "/api/document",
        params={"user_id": MEMBER, "name": "履职报告.csv"},
        content=doc_bytes,
        headers={"Content-Type": "text/csv"},
    )
    st = await state(client)
    doc = next(m for m in st["messages"] if m["id"] == res.json()["message_id"])["document"]
    assert doc["name"] == "履职报告.csv" and doc["size"] == len(doc_bytes)
    got = await client.get(doc["url"])
    assert got.content == doc_bytes
    assert (
        "attachment" in got.headers["content-disposition"]
        and "%E5%B1%A5" in got.headers["content-disposition"]
    )

    # the bot can download what the page uploaded, through the emulator's getFile
    file_id = photo["photo"].rsplit("/", 1)[1]
    async with httpx.AsyncClient() as direct:
        meta = (
            await direct.post(f"{sandbox.emu.base_url}{sandbox.emu.token}/getFile", data={"file_id": file_id})
        ).json()
    assert meta["ok"]

    def mine(st: dict) -> int:
        return sum(m["from"] == "me" for m in st["messages"])

    count = mine(await state(client))
    bad = [
        ("/api/photo", b"%PDF-1.4", "application/pdf", "not_a_photo"),
        ("/api/photo", b"", "image/png", "empty_file"),
    ]
    for path, body, ctype, key in bad:
        res = await client.post(
            path, params={"user_id": MEMBER}, content=body, headers={"Content-Type": ctype}
        )
        assert res.status_code == 400 and res.json()["error"] == key
    res = await client.post(
        "/api/photo",
        params={"user_id": MEMBER},
        content=b"\xff\xd8" + b"0" * (10 * 1024 * 1024),
        headers={"Content-Type": "image/jpeg"},
    )
    assert res.status_code == 413 and res.json()["error"] == "file_too_big"
    assert mine(await state(client)) == count
    assert (await client.get("/files/AgACAgEmu-unknown")).status_code == 404


# --------------------------------------------------------------------------- the clock


SHANGHAI = load_settings(_env_file=None, timezone="Asia/Shanghai")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (
            datetime(2025, 11, 3, 0, 30, tzinfo=UTC),
            datetime(2025, 11, 3, 1, 0, tzinfo=UTC),
        ),  # Mon 08:30 → 09:00 same day
        (
            datetime(2025, 11, 3, 1, 0, tzinfo=UTC),
            datetime(2025, 11, 10, 1, 0, tzinfo=UTC),
        ),  # Mon 09:00 → next week
        (datetime(2025, 11, 5, 6, 0, tzinfo=UTC), datetime(2025, 11, 10, 1, 0, tzinfo=UTC)),  # Wed
        (
            datetime(2025, 11, 9, 20, 0, tzinfo=UTC),
            datetime(2025, 11, 10, 1, 0, tzinfo=UTC),
        ),  # Mon 04:00 local
    ],
)
def test_clock_target_next_monday_nine_in_the_committee_zone(now: datetime, expected: datetime) -> None:
    assert clock_target(now, "next-monday-09", SHANGHAI) == expected
    assert clock_target(now, "1h", SHANGHAI) == now + timedelta(hours=1)
    assert clock_target(now, "1d", SHANGHAI) == now + timedelta(days=1)


async def test_clock_jump_runs_due_jobs_once_and_sends_due_outbox_rows_at_once(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    app = sandbox.app
    zone = sandbox.settings.tz
    runs: list[datetime] = []

    async def weekly(_ctx) -> None:  # type: ignore[no-untyped-def]
        runs.append(sandbox.clock.now())

    # like a feature's weekly digest job: Mondays 09:00 in the committee's zone (real time is irrelevant)
    app.job_queue.run_daily(weekly, time(9, 0, tzinfo=zone), days=(1,), name="test-weekly")
    member = (await state(client))["me"]
    async with sandbox.db.session() as session:
        await outbox.enqueue(
            session,
            dedupe_key="sandbox-test",
            chat_id=member["user_id"],
            text="两小时后的提醒",
            now=sandbox.clock.now(),
            send_after=sandbox.clock.now() + timedelta(hours=2),
            member_id=member["member_id"],
        )

    res = await client.post("/api/clock", json={"advance": "1h"})
    assert res.status_code == 200 and "test-weekly" not in res.json()["ran"]
    assert "两小时后的提醒" not in [m.get("text") for m in sandbox.emu.sent_to(MEMBER)]
    res = await client.post("/api/clock", json={"advance": "1h"})
    # delivered by the time the request returns: the jump ran the dispatcher
    assert "两小时后的提醒" in [m.get("text") for m in sandbox.emu.sent_to(MEMBER)]

    res = (await client.post("/api/clock", json={"advance": "next-monday-09"})).json()
    local_now = datetime.fromisoformat(res["clock"]["local"])
    assert (local_now.weekday(), local_now.hour, local_now.minute) == (0, 9, 0)
    assert res["ran"].count("test-weekly") == 1 and len(runs) == 1
    assert runs[0].astimezone(zone).hour == 9
    assert res["clock"]["offset_seconds"] > 7200
    res = (await client.post("/api/clock", json={"advance": "1h"})).json()
    assert "test-weekly" not in res["ran"] and len(runs) == 1
    async with sandbox.db.session() as session:
        sent = (await session.exec(select(Outbox).where(Outbox.dedupe_key == "sandbox-test"))).one()
    assert sent.status == "sent"
    clock = (await client.get("/api/clock")).json()["clock"]
    assert clock["offset_seconds"] == res["clock"]["offset_seconds"] and clock["timezone"] == "Asia/Shanghai"


async def test_one_off_job_due_in_the_jump_runs_once_and_is_removed(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    runs: list[int] = []

    async def once(_ctx) -> None:  # type: ignore[no-untyped-def]
        runs.append(1)

    await client.post("/api/clock", json={"advance": "1d"})  # the bot's clock is a day ahead already
    # a real-time timer (like a dialog's timeout) 90 minutes from now: due after 90 minutes of jumps
    sandbox.app.job_queue.run_once(once, when=timedelta(minutes=90), name="test-once")
    res = (await client.post("/api/clock", json={"advance": "1h"})).json()
    assert runs == [] and "test-once" not in res["ran"]
    res = (await client.post("/api/clock", json={"advance": "1h"})).json()
    assert res["ran"].count("test-once") == 1 and runs == [1]
    res = (await client.post("/api/clock", json={"advance": "1d"})).json()
    assert "test-once" not in res["ran"] and runs == [1]
    await asyncio.sleep(0)
    assert not sandbox.app.job_queue.get_jobs_by_name("test-once")


# --------------------------------------------------------------------------- page and catalogues


async def test_page_and_strings(client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<meta charset="utf-8">' in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets == ["/static/favicon.svg", "/static/style.css", "/static/app.js"]  # no CDN: all served here
    for icon in ("/static/favicon.svg", "/favicon.ico"):  # the page's icon, and where browsers look anyway
        res = await client.get(icon)
        assert res.status_code == 200 and res.headers["content-type"] == "image/svg+xml" and b"<svg" in res.content
    for src in assets:
        body = (await client.get(src)).text
        assert "https://" not in body and "//cdn" not in body
    zh = (await client.get("/api/strings", params={"lang": "zh"})).json()
    en = (await client.get("/api/strings", params={"lang": "en"})).json()
    assert zh["lang"] == "zh" and en["lang"] == "en"
    assert zh["strings"].keys() == en["strings"].keys()
    assert zh["strings"]["plus_hour"] == "+1 小时" and zh["strings"]["next_monday"] == "到下周一 09:00"
    js = (await client.get("/static/app.js")).text
    used = set(re.findall(r'fmt\("([a-z_]+)"[,)]', js)) | {
        "kind_member",
        "kind_staff",
        "kind_newcomer",
        "kind_stranger",
    }
    assert used <= zh["strings"].keys()


async def test_keep_reuses_the_data_and_issues_a_fresh_invite(tmp_path: Path) -> None:
    data = tmp_path / "sb"
    async with Sandbox(port=0, data_dir=data) as sb:
        first_code = sb.invite_code
        async with sb.db.session() as session:
            member = (await session.exec(select(Member).where(Member.telegram_user_id == MEMBER))).one()
            member.language = "en"
            session.add(member)
    async with Sandbox(port=0, data_dir=data, keep=True) as sb:
        assert sb.invite_code and sb.invite_code != first_code
        async with sb.db.session() as session:
            member = (await session.exec(select(Member).where(Member.telegram_user_id == MEMBER))).one()
        assert member.language == "en"
        assert [i.user_id for i in sb.seeded.identities][-1] == STRANGER_USER_ID
    async with Sandbox(port=0, data_dir=data) as sb:  # without --keep: a fresh demo
        async with sb.db.session() as session:
            member = (await session.exec(select(Member).where(Member.telegram_user_id == MEMBER))).one()
        assert member.language == "zh"


async def test_busy_port_is_reported(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PortBusy):
        async with Sandbox(port=sandbox.port, data_dir=tmp_path / "other"):
            pass
    assert not (tmp_path / "other").exists()


# --------------------------------------------------------------------------- the command


def test_cli_starts_prints_the_url_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    real = tmp_path / "real.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{real}", "TELEGRAM_BOT_TOKEN": "999:REAL"}
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    # `lvzhi sandbox …` as a process of its own, forked from the warm launcher (tests/launcher.py)
    proc = launch(["sandbox", "--port", "0", "--data-dir", str(tmp_path / "d")], env=env, cwd=tmp_path,
                  stdout=stdout, stderr=stderr)  # fmt: skip
    try:
        url = output_line(proc, stdout, r"http://127\.0\.0\.1:\d+/")
        page = httpx.get(url.group(0), timeout=10)
        assert page.status_code == 200
        started = stdout.read_text(encoding="utf-8")  # the start message is written at once
        assert "--keep" in started  # how to keep this demo for the next start
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    out, err = stdout.read_text(encoding="utf-8"), stderr.read_text(encoding="utf-8")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "沙盒已停止" in out
    assert not real.exists() and (tmp_path / "d" / DB_FILE).exists()


async def test_bubbles_show_their_bot_clock_time_and_edited_only_when_the_text_changed(sandbox, client) -> None:  # type: ignore[no-untyped-def]
    def button(message: dict, label: str) -> str:
        return next(b["data"] for row in message["buttons"] for b in row if b["text"] == label)

    async def step(message: dict, label: str, wanted: str) -> dict:
        await client.post("/api/press", json={"user_id": MEMBER, "message_id": message["id"],
                                              "data": button(message, label)})  # fmt: skip
        st = await wait_state(sandbox, client, MEMBER, lambda s: any(wanted in t for t in bot_texts(s)), wanted)
        return next(m for m in st["messages"] if wanted in m["text"])

    await client.post("/api/send", json={"user_id": MEMBER, "text": "/report"})
    st = await wait_state(sandbox, client, MEMBER, lambda s: any("请选择活动类型" in t for t in bot_texts(s)), "types")
    ask = next(m for m in st["messages"] if "请选择活动类型" in m["text"])
    date_ask = await step(ask, "调研", "活动是哪一天")
    await step(date_ask, "昨天", "请用文字简要描述")
    await client.post("/api/send", json={"user_id": MEMBER, "text": "参加街道社区议事会，就垃圾分类提出建议。"})
    st = await wait_state(sandbox, client, MEMBER, lambda s: any("请发送活动照片" in t for t in bot_texts(s)), "photos")
    photos = next(m for m in st["messages"] if "请发送活动照片" in m["text"])
    await step(photos, "跳过", "请核对")
    sent_at = sandbox.clock.now().astimezone(sandbox.settings.tz)
    assert (await client.post("/api/clock", json={"advance": "1d"})).status_code == 200  # a day on the bot's clock
    st = await wait_state(sandbox, client, MEMBER, lambda s: any("草稿" in t for t in bot_texts(s)), "timeout notice")
    by_id = {m["id"]: m for m in st["messages"]}
    # sent yesterday on the bot's clock: with the day; the notice after the jump: just the time
    assert re.fullmatch(rf"{sent_at.month}月{sent_at.day}日 \d\d:\d\d", by_id[ask["id"]]["time"])
    notice = next(m for m in st["messages"] if "草稿" in m["text"])
    assert re.fullmatch(r"\d\d:\d\d", notice["time"])
    assert by_id[ask["id"]]["edited"]  # its text became 活动类型：调研
    # the photo step's buttons were taken off when it was done, its text unchanged: not shown as edited
    assert by_id[photos["id"]]["buttons"] == [] and not by_id[photos["id"]]["edited"]


def test_make_sandbox_and_run_install_without_the_dev_tools_and_test_with_them(tmp_path: Path) -> None:
    venv = tmp_path / "venv"

    def planned(target: str) -> str:
        done = subprocess.run(["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    for target in ("sandbox", "run"):
        assert "pip install --quiet -e ." in planned(target) and "[dev]" not in planned(target)
    for target in ("test", "lint"):
        assert '-e ".[dev]"' in planned(target)
