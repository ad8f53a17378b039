"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, settings, the Bot API
emulator and a running bot pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.assemble import make_deps, running
from bot.core.clock import Clock
from bot.core.config import Settings, load_settings
from bot.core.rules import Rules
from bot.devtools.ports import free_port
from bot.telegram.deps import Deps
from models import Member
from models.db import Database, upgrade
from tests.launcher import Launched, launch

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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--every-database", action="store_true", default=False,
                     help="run the tests marked one_database on PostgreSQL too")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes a database (`db_url`, and so `db`, `settings`, `deps`, `bot_app`) runs
    on SQLite and on PostgreSQL, except tests marked `one_database`: their subject is the handlers
    or the command line, not SQL, so SQLite alone shows what they check (`--every-database` runs
    them on PostgreSQL too)."""
    if "db_url" not in metafunc.fixturenames:
        return
    if any("db_url" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test names its database itself (e.g. PostgreSQL only: the standby's advisory lock)
    params = [pytest.param("sqlite", id="sqlite")]
    one = metafunc.definition.get_closest_marker("one_database") is not None
    if not one or metafunc.config.getoption("every_database"):
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("db_url", params, indirect=True)


# The modules whose tests take longest, longest test first (a browser, a thousand updates, bot
# processes started and killed, the sandbox; measured with `--durations`): they start first, so
# that on several workers (`make test`) the run does not end with one worker still busy with a
# long test while the others are idle; the many short tests fill in at the end.
START_FIRST = (
    "test_sandbox_browser",
    "test_processing_e2e",
    "test_standby_e2e",
    "test_year_review_e2e",
    "test_crash_e2e",
    "test_delivery_e2e",
    "test_proposal_units_e2e",
    "test_update_inbox_e2e",
    "test_sandbox",
    "test_digest",
    "test_proposal_submit_e2e",
    "test_outcomes_cli",
    "test_dispatcher",
    "test_report_e2e",
    "test_workbooks",
    "test_proposal_filing_e2e",
    "test_digest_e2e",
    "test_webhook_e2e",
    "test_year_review_chat_e2e",
    "test_migrations",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return START_FIRST.index(name) if name in START_FIRST else len(START_FIRST)

    items.sort(key=rank)  # stable: the order within a module stays


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run (per xdist worker); each test gets a copy (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


class PgDropper:
    """Drops the tests' PostgreSQL databases in the background, a batch at a time: a test need not
    wait for its database to go, and all are gone when the run ends. Each DROP DATABASE waits for
    a checkpoint of the whole server; drops issued together share one (32 drops: 69 s two at a
    time, 2 s sixteen at a time, on a busy machine), so they go in batches, all at once."""

    BATCH = 8

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.BATCH, thread_name_prefix="pg-drop")
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def drop(self, name: str) -> None:
        with self._lock:
            self._pending.append(name)
            if len(self._pending) >= self.BATCH:
                self._flush()

    def _flush(self) -> None:
        for name in self._pending:
            self._pool.submit(_pg_exec, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pending = []

    def close(self) -> None:
        with self._lock:
            self._flush()
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def pg_dropper() -> Iterator[PgDropper]:
    dropper = PgDropper()
    yield dropper
    dropper.close()


@pytest.fixture(scope="session")
def pg_template(pg_dropper: PgDropper) -> Iterator[str]:
    """Migrated once per run (per xdist worker: the name is unique); tests copy it."""
    if pg_problem():
        pytest.skip(pg_problem())
    name = f"lvzhi_tpl_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    pg_dropper.drop(name)


class PgClones:
    """Copies of the migrated template (`CREATE DATABASE … TEMPLATE`), one always made ahead on a
    thread of its own while a test runs: the next test that takes PostgreSQL finds its database
    ready instead of waiting for the copy. Every copy is made from the untouched template, so the
    one made ahead is the same as one made on demand."""

    def __init__(self, template: str, dropper: PgDropper) -> None:
        self.template, self.dropper = template, dropper
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clone")
        self._ahead: Future[str] | None = None

    def _make(self) -> str:
        name = f"lvzhi_t_{uuid.uuid4().hex[:12]}"
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        # A commit returns once written, without waiting for the disk: what the bot's sessions see
        # (atomic, in order, visible to the others) is the same; only a crash of the PostgreSQL
        # server, which no test makes, could lose the last commits.
        _pg_exec(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return name

    def take(self) -> str:
        ahead, self._ahead = self._ahead, None
        name = ahead.result() if ahead is not None else self._make()
        self._ahead = self._maker.submit(self._make)
        return name

    def close(self) -> None:
        self._maker.shutdown(wait=True)
        if self._ahead is not None and self._ahead.exception() is None:
            self.dropper.drop(self._ahead.result())


@pytest.fixture(scope="session")
def pg_clones(pg_template: str, pg_dropper: PgDropper) -> Iterator[PgClones]:
    clones = PgClones(pg_template, pg_dropper)
    yield clones
    clones.close()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL database of its own
    (parametrised by pytest_generate_tests above)."""
    if request.param == "sqlite":
        path = tmp_path / "lvzhi.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    clones: PgClones = request.getfixturevalue("pg_clones")
    name = clones.take()
    yield _pg_url(name)
    clones.dropper.drop(name)


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


async def record_attendance(db: Database, member_ids: list[int], type_code: str, day: date, status: str, *,
                            now: datetime, rules: Rules, source_key: str, recorded_by: int | None = None) -> int:  # fmt: skip
    """What the secretariat records for one meeting (`bot.services.activities.record_attendance`),
    in a session of its own; returns how many records it made."""
    from bot.services import activities

    async with db.session() as session:
        return await activities.record_attendance(
            session, member_ids=member_ids, type_code=type_code, day=day, status=status, now=now, rules=rules,
            source_key=source_key, recorded_by=recorded_by,
        )  # fmt: skip


# How long a test waits for an expected message or state before it fails. Generous on purpose: a
# wait ends as soon as what it waits for happens; only a failing test waits this long.
WAIT = 45.0
BOT_START_TIMEOUT = 60.0  # a start takes seconds on a loaded machine


def start_bot_process(db_url: str, emu, tmp_path: Path, *, wait_polling: bool = True, **env_extra: str) -> Launched:  # type: ignore[no-untyped-def]
    """`lvzhi run` as a process of its own against the emulator, for tests that kill it (SIGKILL);
    forked from a launcher that has imported the bot already (tests/launcher.py).

    Returns once the bot polls (its deleteWebhook, which python-telegram-bot sends as polling
    starts, after the start-up work, reached the emulator) or once it has exited (a test may
    kill it during its start): the waits of a test are for the bot's answers, and must not
    count the seconds an import takes on a loaded machine. `env_extra` adds settings
    (WEBHOOK_URL=…, LISTEN=…); `wait_polling=False` returns at once (a standby never polls: its
    test waits for /healthz and /readyz instead)."""
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": emu.base_url, "TELEGRAM_API_FILE_URL": emu.base_file_url,
           "BOT_USERNAME": "lvzhi_test_bot", "LOG_LEVEL": "WARNING", **env_extra}
    polling = threading.Event()

    def listener(call) -> None:  # type: ignore[no-untyped-def]
        if call.method in ("deleteWebhook", "setWebhook"):  # polling starts / the webhook is set
            polling.set()

    emu.add_listener(listener)
    try:
        log_path = tmp_path / "bot.log"
        proc = launch(["run"], env=env, cwd=tmp_path, stderr=log_path)
        deadline = time.monotonic() + BOT_START_TIMEOUT
        while wait_polling and not polling.wait(0.05) and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=5)
                log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise AssertionError(f"the bot did not start polling within {BOT_START_TIMEOUT:.0f}s; log:\n{log_tail}")
    finally:
        emu.remove_listener(listener)
    return proc


def output_line(proc: Launched, path: Path, pattern: str, timeout: float = BOT_START_TIMEOUT) -> re.Match[str]:  # noqa: ASYNC109
    """The first match of `pattern` in the output file `path` of a launched process, once it is
    there (AssertionError with the output if the process ends or `timeout` passes first)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        found = re.search(pattern, text)
        if found:
            return found
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} in the output (exit code {proc.returncode}): {text!r}")
        time.sleep(0.02)


def stop_bot_process(proc: Launched, sig: int = signal.SIGTERM) -> None:
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


def seen(user) -> set[int]:  # type: ignore[no-untyped-def]
    """The ids of the messages in the user's chat so far (`expect_reply(..., before=seen(user))`)."""
    return {m["message_id"] for m in user.history()}


async def expect_reply(user, action: Callable[[], object], expect: Expect,  # type: ignore[no-untyped-def]
                       *, timeout: float = WAIT, before: set[int] | None = None) -> dict:  # noqa: ASYNC109
    """Do `action` as the user, then wait for a new bot message in their chat that contains the
    text `expect` (or satisfies the predicate `expect`); returns that message.

    It waits for what the step should say, never for a number of messages: a late message of an
    earlier step cannot be taken for this step's answer, and a slow machine only takes longer.
    `before` (from `seen`): the messages already there when the cause began, for an answer that
    can come before this call, e.g. a replayed update handled while a new bot process starts."""
    before = seen(user) if before is None else before
    action()
    found: list[dict] = []

    def arrived() -> bool:
        found[:] = [m for m in user.messages() if m["message_id"] not in before and matches(m, expect)]
        return bool(found)

    what = expect if isinstance(expect, str) else getattr(expect, "__name__", "a matching message")
    await user.emu.wait_for(arrived, timeout, what=f"the bot to say {what!r} to {user.id}")
    return found[0]


async def new_event_card(  # type: ignore[no-untyped-def]
    staff, title: str, kind: str, start: str, *, audience: str = "ne:a:all",
    asked_audience: Callable[[dict], object] | None = None,
) -> dict:
    """/newevent as the secretariat up to its confirm card: `title`, the type `kind`, `start` typed,
    no end and no place, the `audience` button (`asked_audience` sees the question), no reminder."""
    await expect_reply(staff, lambda: staff.send_text("/newevent"), "请输入活动标题")
    await expect_reply(staff, lambda: staff.send_text(title), "请选择活动类型")
    await expect_reply(staff, lambda: staff.press(f"ne:k:{kind}"), "活动什么时候开始")
    await expect_reply(staff, lambda: staff.send_text(start), "什么时候结束")
    await expect_reply(staff, lambda: staff.press("ne:skip"), "在哪里举行")
    asked = await expect_reply(staff, lambda: staff.press("ne:skip"), "请哪些委员参加")
    if asked_audience is not None:
        asked_audience(asked)
    await expect_reply(staff, lambda: staff.press(audience), "活动前多久提醒")
    return await expect_reply(staff, lambda: staff.press("ne:skip"), "请确认")


def inline_buttons(message: dict) -> dict[str, str]:
    """A bot message's inline buttons: label -> callback data."""
    return {
        b["text"]: b["callback_data"]
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    }


def run_cli(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:  # noqa: ASYNC109
    """`lvzhi ARGS` run in this process, as `python -m bot` runs it (the same typer app), with `env`
    set and `cwd` as the working folder (where `.env` is read); returns its exit code, stdout and
    stderr. An exception the command lets through is in stderr as the traceback Python would
    print, with exit code 1. (A subprocess would import the whole bot again for each command:
    about a second of CPU each.) It runs on a thread of its own, so a test's event loop may be
    running (the command has its own, as it has in a process), and blocks until the command ends,
    as subprocess.run would."""
    from typer.testing import CliRunner

    from bot.cli import app

    def invoke() -> subprocess.CompletedProcess[str]:
        before = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            result = CliRunner().invoke(app, list(args), env=dict(env or {}), prog_name="lvzhi")
        finally:
            os.chdir(before)
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "".join(traceback.format_exception(result.exception))
        return subprocess.CompletedProcess(["lvzhi", *args], result.exit_code, result.stdout, stderr)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvzhi-cli")
    try:
        return pool.submit(invoke).result(timeout=timeout)
    finally:
        pool.shutdown(wait=False)


async def said_up_to(user, before: int, last: Expect, timeout: float = WAIT) -> list[dict]:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    """The bot's new messages to `user` (after the first `before`) up to the one matching `last`,
    once it came: what the step should say last, never a number of messages."""
    found: list[dict] = []

    def arrived() -> bool:
        new = user.messages()[before:]
        at = next((i for i, m in enumerate(new) if matches(m, last)), None)
        found[:] = new[: at + 1] if at is not None else []
        return at is not None

    await user.emu.wait_for(arrived, timeout, what=f"the bot to say {last!r} to {user.id}")
    return found


async def said_after(user, action: Callable[[], object], last: Expect, timeout: float = WAIT) -> list[dict]:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    """Do `action` as the user (type, press); the bot's messages it brought, up to the one matching `last`."""
    before = len(user.messages())
    action()
    return await said_up_to(user, before, last, timeout)
