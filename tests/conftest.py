"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, settings, the Bot API
emulator and a running bot pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from bot.assemble import make_deps, running
from bot.core.clock import Clock
from bot.core.config import Settings, load_settings
from bot.telegram.deps import Deps
from models import Member
from models.db import Database, upgrade

PG_ADMIN_URL = os.environ.get("LVZHI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DATA = Path(__file__).with_name("data")
TOKEN = "123456:TEST-TOKEN"


def _pg_problem() -> str | None:
    """None when PostgreSQL is reachable for tests, else the reason to skip."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3, autocommit=True):
            return None
    except Exception as exc:  # any failure means: no PostgreSQL here
        return f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); set LVZHI_TEST_PG"


_PG_PROBLEM: str | None | bool = False


def pg_problem() -> str | None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _pg_problem()
    return _PG_PROBLEM  # type: ignore[return-value]


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{dbname}"


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run; each test gets a copy (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if pg_problem():
        pytest.skip(pg_problem())
    name = f"lvzhi_tpl_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: SQLite file, then a PostgreSQL database of its own."""
    if request.param == "sqlite":
        path = tmp_path / "lvzhi.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"lvzhi_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only, for tests whose subject does not touch SQL differences."""
    path = tmp_path / "lvzhi.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def emu():  # type: ignore[no-untyped-def]
    """The Bot API emulator. Every button press it delivered must have been answered by the end of
    the test (the bots of a test are stopped before this teardown runs): a press left unanswered
    keeps spinning in the member's Telegram app, so it fails the test."""
    from bot.devtools.emulator import BotApiEmulator

    with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator
        unanswered = emulator.unanswered_presses()
    assert not unanswered, f"button presses never answered (answerCallbackQuery): {unanswered}"


def make_settings(db_url: str, emu=None, **overrides: object) -> Settings:  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"_env_file": None, "database_url": db_url, "telegram_bot_token": TOKEN,
                                 "bot_username": "lvzhi_test_bot"}
    if emu is not None:
        values["telegram_api_base_url"] = emu.base_url
        values["telegram_api_file_url"] = emu.base_file_url
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(db_url: str, emu) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(db_url, emu)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deps(settings: Settings, db: Database, clock: Clock) -> Deps:
    return make_deps(settings, db, clock)


@pytest.fixture
async def bot_app(deps: Deps, emu):  # type: ignore[no-untyped-def]
    """The real bot, polling the emulator, for the duration of a test."""
    async with running(deps, poll_timeout=1) as app:
        yield app


WEBHOOK_SECRET = "test-secret_0"


def free_port() -> int:
    """A port nothing listens on now (for a bot's LISTEN)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(port: int) -> dict[str, str]:
    """The settings of a bot in webhook mode on `port` of this machine (no proxy in between)."""
    return {"webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_secret": WEBHOOK_SECRET,
            "listen": f"127.0.0.1:{port}"}


@contextlib.asynccontextmanager
async def webhook_bot(deps: Deps):  # type: ignore[no-untyped-def]
    """The real bot in webhook mode: its HTTP server on a free port, the emulator posting to it."""
    from bot.telegram.health import Health
    from bot.telegram.web import Web

    deps.settings = deps.settings.model_copy(update=webhook_settings(free_port()))
    health = Health(deps.db)
    web = Web(deps.settings, health)
    await web.start()
    try:
        async with running(deps, web=web) as app:
            health.role = "active"
            yield app
    finally:
        await web.stop()


@pytest.fixture(params=["polling", "webhook"])
async def bot_app_both_ways(request: pytest.FixtureRequest, deps: Deps, emu):  # type: ignore[no-untyped-def]
    """The real bot taking updates by long polling, then by webhook (a module opts in by naming
    this fixture `bot_app`)."""
    if request.param == "polling":
        async with running(deps, poll_timeout=1) as app:
            yield app
    else:
        async with webhook_bot(deps) as app:
            yield app


async def add_member(db: Database, name: str, *, role: str = "member", telegram_user_id: int | None = None,
                     sector: str = "民建", committee: str = "经济委员会", phone: str | None = None,
                     language: str | None = None) -> Member:
    """A member row, bound to a Telegram account when `telegram_user_id` is given."""
    async with db.session() as session:
        member = Member(name=name, sector=sector, committee=committee, role=role, phone=phone,
                        telegram_user_id=telegram_user_id, language=language)
        session.add(member)
        await session.flush()
        await session.refresh(member)
        return member


# How long a test waits for an expected message or state before it fails. Generous on purpose: a
# wait ends as soon as what it waits for happens, and a loaded machine (a bot subprocess starting
# beside other work) can take many seconds; only a failing test waits this long.
WAIT = 45.0


def start_bot_process(db_url: str, emu, tmp_path: Path, **env_extra: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    """`lvzhi run` in a subprocess against the emulator, for tests that kill it (SIGKILL);
    `env_extra` adds settings (WEBHOOK_URL=…, LISTEN=…)."""
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": emu.base_url, "TELEGRAM_API_FILE_URL": emu.base_file_url,
           "BOT_USERNAME": "lvzhi_test_bot", "LOG_LEVEL": "WARNING", **env_extra}
    log = (tmp_path / "bot.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=log)


def stop_bot_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a bot started by start_bot_process (SIGKILL: as a crash would)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = WAIT) -> None:  # noqa: ASYNC109
    """Wait for a state (e.g. a row in the database) that `check` reads; AssertionError on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


Expect = str | Callable[[dict], bool]


def matches(message: dict, expect: Expect) -> bool:
    """Whether a bot message contains the text `expect` (or satisfies the predicate `expect`)."""
    if callable(expect):
        return expect(message)
    return expect in (message.get("text") or message.get("caption") or "")


async def expect_reply(user, action: Callable[[], object], expect: Expect,  # type: ignore[no-untyped-def]
                       *, timeout: float = WAIT) -> dict:  # noqa: ASYNC109
    """Do `action` as the user, then wait for a new bot message in their chat that contains the
    text `expect` (or satisfies the predicate `expect`); returns that message.

    It waits for what the step should say, never for a number of messages: a late message of an
    earlier step cannot be taken for this step's answer, and a slow machine only takes longer."""
    before = {m["message_id"] for m in user.history()}
    action()
    found: list[dict] = []

    def arrived() -> bool:
        found[:] = [m for m in user.messages() if m["message_id"] not in before and matches(m, expect)]
        return bool(found)

    what = expect if isinstance(expect, str) else getattr(expect, "__name__", "a matching message")
    await user.emu.wait_for(arrived, timeout, what=f"the bot to say {what!r} to {user.id}")
    return found[0]


def inline_buttons(message: dict) -> dict[str, str]:
    """A bot message's inline buttons: label -> callback data."""
    return {
        b["text"]: b["callback_data"]
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    }
