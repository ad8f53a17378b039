"""`lvzhi sandbox`: the real bot against the embedded Bot API emulator, with a chat page.

One process, one asyncio loop:

- `bot.devtools.emulator.BotApiEmulator` plays Telegram (its HTTP server runs in a thread);
- the real bot (`bot.assemble.running`) polls it, exactly as it polls Telegram in production;
- a small stdlib HTTP server (another thread) serves the page in `static/` and a JSON API
  that acts as the simulated users: it types their messages and presses their buttons
  through the emulator, and reads back what the bot sent.

The sandbox keeps its data in its own SQLite file (`<data dir>/sandbox.db`), built from the
settings it makes itself; DATABASE_URL and the token of a real bot are never used.

Moving the clock: the bot reads time only from `deps.clock`, so the page's clock buttons
shift that clock. APScheduler, though, fires on real time, so after a jump the sandbox runs
the due work itself (`Sandbox.advance_clock`): every calendar job (cron, e.g. "Mondays 09:00"
in the committee's zone) whose schedule has a fire time inside the jumped interval of the
bot's time runs once (coalesced, as APScheduler does for missed runs); every one-off timer
(e.g. a dialog's timeout, set in real time) whose delay the jumps have used up runs once and
is removed so that it does not fire again; every repeating job runs once; and last the outbox dispatcher
sends what became due. The jobs themselves read `deps.clock.now()`, so they see the new time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import threading
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

from apscheduler.jobstores.base import JobLookupError
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select
from telegram.ext import Application

from bot.core.clock import Clock, local
from bot.core.config import Settings, load_settings
from bot.core.dates import short_day
from bot.core.i18n import catalogue, normalize, t
from bot.devtools.emulator import MAX_TEXT, BotApiEmulator
from bot.devtools.sandbox.seed import Identity, SeedResult, new_invite_code, seed_demo
from bot.services.invites import invite_link
from models import Member
from models.db import Database, upgrade

log = logging.getLogger(__name__)

T = TypeVar("T")

STATIC = Path(__file__).with_name("static")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
DEFAULT_DATA_DIR = Path("lvzhi-sandbox")
DB_FILE = "sandbox.db"
STATE_FILE = "sandbox.json"
TOKEN = "7000000001:SANDBOX-not-a-real-token"
BOT_USERNAME = "lvzhi_sandbox_bot"
MAX_PHOTO = 10 * 1024 * 1024  # Telegram's limit for photos
MAX_DOCUMENT = 20 * 1024 * 1024  # what a bot can download
MAX_BODY = MAX_DOCUMENT + 64 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
CLOCK_STEPS = ("1h", "1d", "next-monday-09")


class PortBusy(Exception):
    """The page's port cannot be opened (in use, or not allowed)."""


class PageError(Exception):
    """A request the page API refuses; `key` names the catalogue message `sandbox.error_<key>`."""

    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


def sandbox_settings(data_dir: Path, emu: BotApiEmulator, port: int) -> Settings:
    """Settings of the sandbox's bot: its own database file and the emulator, whatever the environment says.

    Explicit values outrank environment variables in pydantic-settings, and `.env` is not read,
    so a real DATABASE_URL or TELEGRAM_BOT_TOKEN can never leak in.
    """
    return load_settings(
        _env_file=None,
        database_url=f"sqlite:///{(data_dir / DB_FILE).resolve()}",
        telegram_bot_token=emu.token,
        telegram_api_base_url=emu.base_url,
        telegram_api_file_url=emu.base_file_url,
        bot_username=BOT_USERNAME,
        secretariat_chat_id=None,
        sandbox_port=port,
    )


def clock_target(now: datetime, step: str, settings: Settings) -> datetime:
    """Where a clock button moves the bot's time (aware UTC)."""
    if step == "1h":
        return now + timedelta(hours=1)
    if step == "1d":
        return now + timedelta(days=1)
    if step == "next-monday-09":
        here = local(now, settings.tz)
        days = (7 - here.weekday()) % 7 or 7
        monday = (here + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
        if here.weekday() == 0 and here.hour < 9:  # a Monday morning: this Monday's 09:00 is next
            monday = here.replace(hour=9, minute=0, second=0, microsecond=0)
        return monday.astimezone(now.tzinfo)
    raise PageError("bad_clock")


def _due_in_jump(trigger: Any, start: datetime, end: datetime, baseline: timedelta) -> bool:
    """Whether a job falls due while the bot's clock jumps from `start` to `end`.

    Calendar schedules (cron: "Mondays 09:00") are read in the bot's time. A one-off timer
    (e.g. a dialog's timeout) counts elapsed time from when it was set, in real time: it is due
    once its run date plus `baseline`, the clock's offset when it was set, is reached.
    """
    if isinstance(trigger, DateTrigger):
        return bool(trigger.run_date + baseline <= end)
    first = trigger.get_next_fire_time(None, start + timedelta(microseconds=1))
    return first is not None and first <= end


class Sandbox:
    """The emulator, the bot and the page server; `async with Sandbox(...) as sb:` runs them."""

    def __init__(
        self,
        *,
        port: int = 8080,
        data_dir: Path = DEFAULT_DATA_DIR,
        keep: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.host = host
        self.data_dir = Path(data_dir)
        self.keep = keep
        self.emu = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME, bot_first_name="履职助手")
        self.settings: Settings | None = None
        self.db: Database | None = None
        self.clock = Clock()
        self.app: Application | None = None
        self.seeded: SeedResult | None = None
        self.kept = False  # the previous run's data was kept (--keep)
        self.invite_code: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stack = AsyncExitStack()
        self._httpd: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._user_messages: dict[int, list[dict]] = {}  # what the page sent, per simulated user
        self._presses: dict[str, int] = {}  # callback query id -> user id, to show the bot's answers
        self._timer_offsets: dict[str, timedelta] = {}  # one-off job id -> clock offset when it was set
        # Each jump of the bot's clock: its offset from then on, and each chat's next message id at
        # that moment, so that every bubble shows the bot-clock time it was sent at.
        self._jumps: list[tuple[timedelta, dict[int, int]]] = []

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def lang(self) -> str:
        return self.settings.locale if self.settings else "zh"

    async def __aenter__(self) -> Sandbox:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        from bot.assemble import make_deps, running

        self.loop = asyncio.get_running_loop()
        # Bind the page's port first: a busy port should fail before any work is done.
        try:
            self._httpd = _PageServer((self.host, self.port), _handler_for(self))
        except OSError as exc:
            raise PortBusy(exc.strerror or str(exc)) from None
        self.port = self._httpd.server_address[1]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.emu.start()
        self.settings = sandbox_settings(self.data_dir, self.emu, self.port)
        fresh = self._prepare_files()
        self.kept = not fresh
        await asyncio.to_thread(upgrade, self.settings.database_url)
        self.db = Database(self.settings.database_url)
        if fresh:
            self.seeded = await seed_demo(self.db, self.settings, self.clock.now())
            self.seeded.save(self.data_dir / STATE_FILE)
            self.invite_code = self.seeded.invite_code
        else:
            self.seeded = SeedResult.load(self.data_dir / STATE_FILE)
            if self.seeded.newcomer_member_id is not None:
                self.invite_code = await new_invite_code(
                    self.db, self.settings, self.seeded.newcomer_member_id, self.clock.now()
                )
        for ident in self.seeded.identities:
            self.emu.user(
                ident.user_id, ident.name or t("sandbox.stranger_name", self.lang), language_code="zh-hans"
            )
        deps = make_deps(self.settings, self.db, self.clock)
        self.app = await self._stack.enter_async_context(running(deps, poll_timeout=2))
        self._http_thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-page", daemon=True
        )
        self._http_thread.start()
        # Members who are already bound open the chat, so the menu keyboard is there at once.
        for ident in self.seeded.identities:
            if ident.kind in ("member", "staff") and fresh:
                self.send_text(ident.user_id, "/start")

    def _prepare_files(self) -> bool:
        """Remove the previous run's database unless --keep; True if the database starts empty."""
        db_path = self.data_dir / DB_FILE
        state = self.data_dir / STATE_FILE
        if self.keep and db_path.exists() and state.exists():
            return False
        # Only the sandbox's own files: the data folder may be one the user chose.
        for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", DB_FILE + "-journal", STATE_FILE):
            (self.data_dir / name).unlink(missing_ok=True)
        return True

    async def stop(self) -> None:
        if self._httpd is not None:
            httpd, self._httpd = self._httpd, None
            if self._http_thread is not None:
                await asyncio.to_thread(httpd.shutdown)
            httpd.server_close()
        # While the updater stops, keep ending the bot's long poll: otherwise its final
        # getUpdates (which confirms the offset) waits for the pooled connection and times out.
        waker = asyncio.create_task(self._wake_pollers())
        try:
            await self._stack.aclose()
        finally:
            waker.cancel()
            self.app = None
            if self.db is not None:
                await self.db.dispose()
                self.db = None
            self.emu.stop()

    async def _wake_pollers(self) -> None:
        while True:
            self.emu.wake_pollers()
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ acting as users
    def identity(self, user_id: Any) -> Identity:
        assert self.seeded is not None
        for ident in self.seeded.identities:
            if ident.user_id == user_id:
                return ident
        raise PageError("unknown_user")

    @property
    def default_user_id(self) -> int:
        assert self.seeded is not None
        return self.seeded.identities[0].user_id

    def send_text(self, user_id: int, text: str) -> dict:
        self.identity(user_id)
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            raise PageError("empty")
        if len(text) > MAX_TEXT:
            raise PageError("too_long")
        return self._remember(user_id, self.emu.user(user_id).send_text(text))

    def send_file(self, user_id: int, data: bytes, mime_type: str, file_name: str, caption: str) -> dict:
        self.identity(user_id)
        if not data:
            raise PageError("empty_file")
        text = caption.strip()[:1024] or None
        user = self.emu.user(user_id)
        if mime_type in PHOTO_TYPES:
            if len(data) > MAX_PHOTO:
                raise PageError("file_too_big", 413)
            return self._remember(user_id, user.send_photo(data, caption=text))
        if len(data) > MAX_DOCUMENT:
            raise PageError("file_too_big", 413)
        name = Path(file_name or "file").name[:128] or "file"
        return self._remember(
            user_id, user.send_document(data, name, mime_type or "application/octet-stream", caption=text)
        )

    def press(self, user_id: int, message_id: Any, data: Any) -> str:
        """Press an inline button; only buttons that are really on that bot message."""
        self.identity(user_id)
        if not isinstance(message_id, int) or not isinstance(data, str):
            raise PageError("stale_button")
        for msg in self.emu.sent_to(user_id):
            if msg["message_id"] != message_id:
                continue
            rows = (msg.get("reply_markup") or {}).get("inline_keyboard", [])
            if any(b.get("callback_data") == data for row in rows for b in row):
                cq_id = self.emu.user(user_id).press(data, message_id)
                with self._lock:
                    self._presses[cq_id] = user_id
                return cq_id
        raise PageError("stale_button")

    def _remember(self, user_id: int, msg: dict) -> dict:
        with self._lock:
            self._user_messages.setdefault(user_id, []).append(msg)
        return msg

    # ------------------------------------------------------------------ the clock
    async def advance_clock(self, step: str) -> list[str]:
        """Move the bot's time and run the work that falls due; returns the names of the jobs run."""
        assert self.app is not None and self.app.job_queue is not None and self.settings is not None
        if step not in CLOCK_STEPS:
            raise PageError("bad_clock")
        before, offset = self.clock.now(), self.clock.offset
        with self.emu._lock:
            next_ids = {chat_id: chat.next_id for chat_id, chat in self.emu._chats.items()}
        self.clock.advance(clock_target(before, step, self.settings) - before)
        self._jumps.append((self.clock.offset, next_ids))
        after = self.clock.now()
        ran: list[str] = []
        jobs = self.app.job_queue.jobs()
        # The offset a timer was set under: timers seen for the first time were set since the
        # last jump, so under the offset before this one.
        self._timer_offsets = {
            str(job.id): self._timer_offsets.get(str(job.id), offset)
            for job in jobs
            if isinstance(job.job.trigger, DateTrigger)
        }
        for job in jobs:
            trigger = job.job.trigger
            if isinstance(trigger, IntervalTrigger):
                if job.name == "outbox-dispatch":
                    continue  # run last, below, once the other jobs have queued their messages
                due = True
            else:
                due = _due_in_jump(trigger, before, after, self._timer_offsets.get(str(job.id), offset))
            if not due or job.removed:
                continue
            if isinstance(trigger, DateTrigger):
                with contextlib.suppress(JobLookupError):  # it may just have fired on its own
                    job.schedule_removal()  # one run only: real time must not repeat it
            await job.run(self.app)
            ran.append(job.name or "job")
        dispatcher = self.app.bot_data["deps"].dispatcher
        if dispatcher is not None:
            # a run already under way read its rows before the jump: wait for it, then send
            await dispatcher.drain()
        log.info("sandbox clock moved by %s; ran %s", after - before, ran)
        return ran

    def clock_state(self) -> dict:
        assert self.settings is not None
        now = self.clock.now()
        return {
            "now": now.isoformat(),
            "local": local(now, self.settings.tz).isoformat(),
            "timezone": self.settings.timezone,
            "offset_seconds": int(self.clock.offset.total_seconds()),
        }

    # ------------------------------------------------------------------ what the page shows
    async def _bound_ids(self) -> set[int]:
        assert self.db is not None and self.seeded is not None
        ids = [i.user_id for i in self.seeded.identities]
        async with self.db.session() as session:
            rows = await session.exec(
                select(Member.telegram_user_id).where(col(Member.telegram_user_id).in_(ids))
            )
            return {r for r in rows.all() if r is not None}

    async def state(self, user_id: int) -> dict:
        me = self.identity(user_id)
        assert self.seeded is not None
        bound = await self._bound_ids()
        identities = [{**asdict(i), "bound": i.user_id in bound} for i in self.seeded.identities]
        invite = None
        if self.invite_code and self.seeded.newcomer_member_id is not None:
            newcomer = next((i for i in self.seeded.identities if i.kind == "newcomer"), None)
            if newcomer is not None and newcomer.user_id not in bound:
                invite = {
                    "name": newcomer.name,
                    "user_id": newcomer.user_id,
                    "code": self.invite_code,
                    "command": f"/start {self.invite_code}",
                    "link": invite_link(BOT_USERNAME, self.invite_code),
                }
        user = self.emu.user(user_id)
        keyboard = user.keyboard
        return {
            "ok": True,
            "me": {**asdict(me), "bound": me.user_id in bound},
            "identities": identities,
            "invite": invite,
            "messages": self._messages(user_id),
            "keyboard": _keyboard(keyboard) if keyboard else None,
            "alerts": self._alerts(user_id),
            "clock": self.clock_state(),
            "bot": {"name": self.emu.bot_user["first_name"], "username": BOT_USERNAME},
        }

    def _messages(self, user_id: int) -> list[dict]:
        with self._lock:
            mine = list(self._user_messages.get(user_id, []))
        user = self.emu.user(user_id)
        sent_as = {m["message_id"]: _content(m) for m in user.history()}  # as first sent, before edits
        out = [_page_message(m, "me", self._bot_time(user_id, m)) for m in mine] + [
            _page_message(m, "bot", self._bot_time(user_id, m), edited=_content(m) != sent_as.get(m["message_id"]))
            for m in self.emu.sent_to(user_id)
        ]
        return sorted(out, key=lambda m: m["id"])

    def _bot_time(self, chat_id: int, msg: dict) -> str:
        """When a message was sent, on the bot's clock (which the page's buttons move): 10:05, or
        with the day when it was not today."""
        assert self.settings is not None
        offset = timedelta(0)
        for jump_offset, next_ids in self._jumps:
            if msg["message_id"] >= next_ids.get(chat_id, 1):
                offset = jump_offset
        sent = local(datetime.fromtimestamp(msg.get("date", 0), tz=UTC) + offset, self.settings.tz)
        if sent.date() == local(self.clock.now(), self.settings.tz).date():
            return f"{sent:%H:%M}"
        return f"{short_day(sent.date(), self.lang)} {sent:%H:%M}"

    def _alerts(self, user_id: int) -> list[dict]:
        """The bot's answers to button presses that carry text (refusals, confirmations)."""
        with self._lock:
            mine = [cq for cq, uid in self._presses.items() if uid == user_id]
        out = []
        for cq in mine:
            answer = self.emu.callback_answers.get(cq)
            if answer and answer.get("text"):
                out.append({"id": cq, "text": answer["text"], "show_alert": bool(answer.get("show_alert"))})
        return out

    def strings(self, lang: str | None) -> dict:
        code = normalize(lang, self.lang)
        prefix = "sandbox."
        texts = {k[len(prefix) :]: v for k, v in catalogue(code).items() if k.startswith(prefix)}
        return {"ok": True, "lang": code, "strings": texts}

    def file(self, file_id: str) -> bytes | None:
        return self.emu.files.get(file_id)

    # ------------------------------------------------------------------ from the page's threads
    def call(self, work: Awaitable[T], timeout: float = 60) -> T:
        """Run a coroutine on the bot's loop from a page request thread and wait for it."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)  # type: ignore[arg-type]


def _keyboard(markup: dict) -> dict:
    rows = [[b["text"] if isinstance(b, dict) else str(b) for b in row] for row in markup.get("keyboard", [])]
    return {
        "rows": rows,
        "placeholder": markup.get("input_field_placeholder") or "",
        "one_time": bool(markup.get("one_time_keyboard")),
    }


def _content(msg: dict) -> tuple:
    """What a reader sees change when a message is edited (not its buttons)."""
    return msg.get("text"), msg.get("caption"), json.dumps(msg.get("photo")), json.dumps(msg.get("document"))


def _page_message(msg: dict, sender: str, time: str = "", edited: bool = False) -> dict:
    """A message as the page draws it: text with entities, buttons, file links, its bot-clock time;
    `edited` when its text changed (taking the buttons off a handled card is not an edit to show)."""
    out: dict[str, Any] = {
        "id": msg["message_id"],
        "from": sender,
        "text": msg.get("text", ""),
        "entities": msg.get("entities", []),
        "caption": msg.get("caption", ""),
        "caption_entities": msg.get("caption_entities", []),
        "time": time,
        "edited": edited,
        "photo": None,
        "document": None,
        "buttons": [],
    }
    if msg.get("photo"):
        out["photo"] = "/files/" + quote(msg["photo"][-1]["file_id"])
    if msg.get("document"):
        doc = msg["document"]
        name = doc.get("file_name") or "file"
        out["document"] = {
            "url": f"/files/{quote(doc['file_id'])}?name={quote(name)}",
            "name": name,
            "size": doc.get("file_size", 0),
        }
    for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
        buttons = []
        for b in row:
            if "callback_data" in b:
                buttons.append({"text": b["text"], "data": b["callback_data"]})
            elif "url" in b:
                buttons.append({"text": b["text"], "url": b["url"]})
            else:
                buttons.append({"text": b["text"]})
        out["buttons"].append(buttons)
    return out


def _sniff(data: bytes, name: str | None) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    if name:
        return mimetypes.guess_type(name)[0] or "application/octet-stream"
    return "application/octet-stream"


# --------------------------------------------------------------------------- the page server


class _PageServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection early is normal


def _handler_for(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    return type("SandboxHandler", (_Handler,), {"sandbox": sandbox})


class _Handler(BaseHTTPRequestHandler):
    """The page's static files and JSON API."""

    protocol_version = "HTTP/1.1"
    server_version = "lvzhi-sandbox"
    sandbox: Sandbox

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("page: " + format, *args)

    # ---- plumbing
    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def _json(self, status: int, payload: dict) -> None:
        self._send(
            status, json.dumps(payload, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        )

    def _error(self, err: PageError) -> None:
        lang = self._query().get("lang") or self.sandbox.lang
        self._json(
            err.status, {"ok": False, "error": err.key, "message": t(f"sandbox.error_{err.key}", lang)}
        )

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise PageError("file_too_big", 413)
        return self.rfile.read(length)

    def _json_body(self) -> dict:
        try:
            data = json.loads(self._body() or b"{}")
        except ValueError:
            raise PageError("bad_request") from None
        if not isinstance(data, dict):
            raise PageError("bad_request")
        return data

    def _user_id(self, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise PageError("unknown_user") from None

    # ---- routes
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path in ("/", "/index.html"):
                self._static("index.html")
            elif path == "/favicon.ico":  # browsers ask for it even when the page names its icon
                self._static("favicon.svg")
            elif path.startswith("/static/"):
                self._static(path[len("/static/") :])
            elif path == "/api/strings":
                self._json(200, self.sandbox.strings(self._query().get("lang")))
            elif path == "/api/state":
                # no user yet (first visit): the first sample member
                user_id = self._user_id(self._query().get("user_id") or self.sandbox.default_user_id)
                self.sandbox.identity(user_id)
                self._json(200, self.sandbox.call(self.sandbox.state(user_id)))
            elif path == "/api/clock":
                self._json(200, {"ok": True, "clock": self.sandbox.clock_state()})
            elif path.startswith("/files/"):
                self._file(path[len("/files/") :])
            else:
                raise PageError("not_found", 404)
        except PageError as err:
            self._error(err)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path == "/api/send":
                data = self._json_body()
                msg = self.sandbox.send_text(self._user_id(data.get("user_id")), data.get("text"))  # type: ignore[arg-type]
                self._json(200, {"ok": True, "message_id": msg["message_id"]})
            elif path == "/api/press":
                data = self._json_body()
                cq = self.sandbox.press(
                    self._user_id(data.get("user_id")), data.get("message_id"), data.get("data")
                )
                self._json(200, {"ok": True, "callback_query_id": cq})
            elif path in ("/api/photo", "/api/document", "/api/upload"):
                self._upload()
            elif path == "/api/clock":
                data = self._json_body()
                ran = self.sandbox.call(self.sandbox.advance_clock(str(data.get("advance", ""))))
                self._json(200, {"ok": True, "clock": self.sandbox.clock_state(), "ran": ran})
            else:
                raise PageError("not_found", 404)
        except PageError as err:
            self._error(err)

    def _upload(self) -> None:
        """The file is the raw request body; its type in Content-Type, name and caption in the query."""
        query = self._query()
        user_id = self._user_id(query.get("user_id"))
        self.sandbox.identity(user_id)
        data = self._body()
        mime = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if urlsplit(self.path).path == "/api/photo" and mime not in PHOTO_TYPES:
            raise PageError("not_a_photo")
        msg = self.sandbox.send_file(user_id, data, mime, query.get("name", ""), query.get("caption", ""))
        self._json(200, {"ok": True, "message_id": msg["message_id"]})

    def _static(self, name: str) -> None:
        if name not in STATIC_FILES:
            raise PageError("not_found", 404)
        self._send(200, (STATIC / name).read_bytes(), STATIC_FILES[name])

    def _file(self, file_id: str) -> None:
        from urllib.parse import unquote

        data = self.sandbox.file(unquote(file_id))
        if data is None:
            raise PageError("not_found", 404)
        name = self._query().get("name")
        extra = {}
        if name:
            extra["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        self._send(200, data, _sniff(data, name), extra)


async def serve(*, port: int, data_dir: Path, keep: bool, started: Any = None) -> None:
    """Run the sandbox until SIGINT/SIGTERM; `started(sandbox)` is called once it is up."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Sandbox(port=port, data_dir=data_dir, keep=keep) as sandbox:
        if started is not None:
            started(sandbox)
        await stop.wait()


__all__ = [
    "DEFAULT_DATA_DIR",
    "PageError",
    "PortBusy",
    "Sandbox",
    "clock_target",
    "sandbox_settings",
    "serve",
]
