"""A local Telegram Bot API emulator.

A small HTTP server on 127.0.0.1 that speaks the Bot API's JSON, so that a *real*
python-telegram-bot ``Application`` (real HTTP stack, long polling via ``getUpdates``)
can run against it::

    with BotApiEmulator() as emu:
        app = (ApplicationBuilder().token(emu.token)
               .base_url(emu.base_url).base_file_url(emu.base_file_url).build())
        u = emu.user(1001, "苏建华")
        u.send_text("/start")
        ...

It is used by end-to-end tests, benchmarks and the offline sandbox.  The HTTP server
(asyncio streams, HTTP/1.1 keep-alive) runs on its own event loop in a daemon thread, so it
works next to any asyncio loop and also serves a bot running in another process.  All state
is guarded by one threading lock, held briefly; long polls wait on an asyncio event of the
server loop, which ``inject()`` (from any thread) sets.

Request encoding (as PTB sends it, see ``telegram/request/_requestparameter.py``):
non-file requests are form-encoded with every non-string value JSON-encoded; requests
with files are ``multipart/form-data`` where a file is either sent in the field named
after the parameter or referenced as ``attach://<name>`` (media groups).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import html
import json
import logging
import math
import mimetypes
import re
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["ApiError", "BotApiEmulator", "Call", "EmuUser", "DEFAULT_PHOTO", "parse_html"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a wait_for waits by default: it returns as soon as what it waits for happens, so only a
# failing test waits this long; generous because a loaded machine can be slow to start a bot.
WAIT_SECONDS = 30.0
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, like the real cloud Bot API

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def _make_png(width: int = 2, height: int = 2) -> bytes:
    """Build a tiny valid RGB PNG (red), so default photos decode in image libraries."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


DEFAULT_PHOTO = _make_png()


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of a PNG or JPEG (best effort; 100x100 when unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + seg_len
    return 100, 100


def _clone(obj: T) -> T:
    """Deep copy of JSON-like data, several times faster than copy.deepcopy on the hot path
    (every message is copied into history, into the answer and into the call log)."""
    return cast(T, _copy(obj))


def _copy(obj: Any) -> Any:
    cls = type(obj)
    if cls is dict:
        return {k: _copy(v) for k, v in obj.items()}
    if cls is list:
        return [_copy(v) for v in obj]
    if cls is str or cls is int or cls is float or cls is bool or obj is None:
        return obj
    return copy.deepcopy(obj)  # anything unusual a test injected


def _u16(s: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(s.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error answer of the Bot API (``ok: false``)."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        out: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------- HTML parse mode

_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>|<")
_ATTR_RE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Apply Telegram's HTML parse mode: strip tags into entities, unescape, validate.

    Raises :class:`ApiError` like Telegram does for unsupported or unbalanced tags, which
    catches the classic bug of interpolating user text containing ``<`` without escaping.
    """
    out: list[str] = []
    pos = ulen = 0
    stack: list[tuple[str, int, dict]] = []  # (tag, start offset, entity skeleton)
    entities: list[dict] = []
    for m in _TAG_RE.finditer(src):
        chunk = html.unescape(src[pos : m.start()])
        out.append(chunk)
        ulen += _u16(chunk)
        pos = m.end()
        at = len(src[: m.start()].encode())
        closing, name, attrs = m.group(1), (m.group(2) or "").lower(), m.group(3) or ""
        if not name:
            raise _bad(f'can\'t parse entities: Unsupported start tag "" at byte offset {at}')
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f'"</{stack[-1][0]}>"' if stack else "nothing"
                raise _bad(
                    f"can't parse entities: Unmatched end tag at byte offset {at}, "
                    f'expected {expected}, found "</{name}>"'
                )
            _tag, start, opened = stack.pop()
            if opened and ulen > start:
                entities.append({"offset": start, "length": ulen - start, **opened})
            continue
        parsed = {k.lower(): a or b or c for k, a, b, c in _ATTR_RE.findall(attrs)}
        kind = _HTML_TAGS.get(name)
        if kind is None or (name == "span" and parsed.get("class") != "tg-spoiler"):
            raise _bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {at}')
        ent: dict[str, Any] = {"type": kind}
        if name == "a":
            ent = {"type": "text_link", "url": html.unescape(parsed["href"])} if "href" in parsed else {}
        elif name == "tg-emoji":
            ent["custom_emoji_id"] = parsed.get("emoji-id", "")
        elif name == "code" and stack and stack[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language
            if parsed.get("class", "").startswith("language-"):
                stack[-1][2]["language"] = parsed["class"][len("language-") :]
            ent = {}
        stack.append((name, ulen, ent))
    tail = html.unescape(src[pos:])
    out.append(tail)
    if stack:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1][0]}\"")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --------------------------------------------------------------------------- records


@dataclass
class Call:
    """One API call as the emulator saw it (successful or not)."""

    method: str
    params: dict
    status: int
    result: Any
    ts: float
    error: str | None = None  # description of an error answer
    uploads: dict[str, dict] = field(
        default_factory=dict
    )  # multipart files: name -> file_name, mime_type, size


@dataclass
class _Chat:
    """A chat the emulator knows: its Chat dict and its messages (both directions)."""

    info: dict
    messages: dict[int, dict] = field(default_factory=dict)  # message_id -> current state
    history: list[dict] = field(default_factory=list)  # bot messages as originally sent
    next_id: int = 1
    keyboard: dict | None = None  # current reply keyboard (ReplyKeyboardMarkup dict)


# Parameters that PTB sends as plain strings (everything else is JSON-encoded)
_STRING_PARAMS = {
    "text", "caption", "parse_mode", "callback_query_id", "file_id", "language_code", "url",
    "inline_message_id", "business_connection_id", "action", "photo", "document", "name",
    "description", "short_description", "message_effect_id", "secret_token", "emoji",
}  # fmt: skip
_SEND_METHODS = {"sendmessage", "sendphoto", "senddocument", "sendmediagroup"}
_EDIT_METHODS = {"editmessagetext", "editmessagereplymarkup", "editmessagecaption"}


def _decode_value(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass
class _Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, _Upload]]:
    """Minimal multipart/form-data parser (the stdlib's ``cgi`` is gone in 3.13)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise _bad("invalid multipart body")
    delim = b"--" + m.group(1).encode()
    fields: dict[str, str] = {}
    uploads: dict[str, _Upload] = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disp = dict(
            (k.lower(), unquote(v))
            for k, v in re.findall(r'(\w+)="([^"]*)"', headers.get("content-disposition", ""))
        )
        name = disp.get("name", "")
        if "filename" in disp:
            mime = headers.get("content-type") or mimetypes.guess_type(disp["filename"])[0]
            uploads[name] = _Upload(disp["filename"], content, mime or "application/octet-stream")
        else:
            fields[name] = content.decode("utf-8")
    return fields, uploads


# --------------------------------------------------------------------------- users


class EmuUser:
    """A simulated Telegram user with a private chat (chat id == user id)."""

    def __init__(self, emu: BotApiEmulator, user: dict):
        self.emu = emu
        self.user = user  # the User dict as Telegram sends it in "from"
        self.id: int = user["id"]

    @property
    def chat(self) -> dict:
        chat = {"id": self.id, "type": "private", "first_name": self.user["first_name"]}
        if self.user.get("username"):
            chat["username"] = self.user["username"]
        return chat

    # ---- what the user sends
    def send_text(self, text: str, chat: dict | None = None) -> dict:
        """Send a text message (in this user's private chat, or in ``chat``, e.g. a group dict
        ``{"id": -100555, "type": "supergroup", "title": "…"}``); a leading ``/command`` gets its
        ``bot_command`` entity."""
        msg: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            msg["entities"] = [
                {"offset": 0, "length": _u16(text.split(maxsplit=1)[0]), "type": "bot_command"}
            ]
        return self._send_message(msg, chat)

    def send_photo(self, data: bytes = DEFAULT_PHOTO, caption: str | None = None,
                   media_group_id: str | None = None) -> dict:  # fmt: skip
        """Send a photo (PhotoSize list with one size); the bytes are downloadable via getFile."""
        photo = self.emu._store_file(data, "photo", "image/jpeg")
        msg: dict[str, Any] = {"photo": [photo]}
        if caption is not None:
            msg["caption"] = caption
        if media_group_id is not None:
            msg["media_group_id"] = str(media_group_id)
        return self._send_message(msg)

    def send_document(self, data: bytes, file_name: str, mime_type: str, caption: str | None = None) -> dict:
        """Send a document; the bytes are downloadable via getFile."""
        doc = self.emu._store_file(data, "document", mime_type, file_name)
        msg: dict[str, Any] = {"document": doc}
        if caption is not None:
            msg["caption"] = caption
        return self._send_message(msg)

    def edit_text(self, message: dict, text: str) -> dict:
        """Edit a message this user sent earlier: Telegram delivers it as an ``edited_message``."""
        edited = {**_clone(message), "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        if text.startswith("/"):
            edited["entities"] = [{"offset": 0, "length": _u16(text.split(maxsplit=1)[0]), "type": "bot_command"}]
        self.emu.inject({"edited_message": edited})
        return _clone(edited)

    def send_update(self, update: dict) -> int:
        """Queue an arbitrary update (e.g. from sample JSON) as coming from this user.

        ``from`` and private ``chat`` objects are rewritten to this user, messages get a fresh
        message_id in this chat and the current date; then it is injected like ``emu.inject``.
        """
        upd = _clone(update)
        upd.pop("update_id", None)
        for payload in upd.values():
            if not isinstance(payload, dict):
                continue
            if "from" in payload:
                payload["from"] = dict(self.user)
            if payload.get("chat", {}).get("type") == "private":
                payload["chat"] = self.chat
            inner = payload.get("message")
            if isinstance(inner, dict) and inner.get("chat", {}).get("type") == "private":
                inner["chat"] = self.chat
            if "message_id" in payload and "chat" in payload and "edit_date" not in payload:
                with self.emu._lock:
                    payload["message_id"] = self.emu._chat(self.id).next_id
                payload["date"] = int(time.time())
        return self.emu.inject(upd)

    def press(self, callback_data: str, message: dict | int | None = None, chat: dict | None = None) -> str:
        """Press an inline button: queue a callback_query on a bot message; returns its id.

        ``message`` is a message dict or message_id; default: newest bot message in the chat,
        this user's private chat unless ``chat`` (a group's chat dict) is given.
        """
        return self.emu._press(self, callback_data, message, chat["id"] if chat else None)

    def press_button(self, text: str, message: dict | int | None = None) -> str:
        """Press the inline button labelled ``text`` (looked up in the message's keyboard)."""
        msg = self.emu._find_bot_message(self.id, message)
        for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    return self.press(button["callback_data"], msg["message_id"])
        raise LookupError(
            f"no inline button {text!r} on message {msg['message_id']}: {msg.get('reply_markup')}"
        )

    def block(self, notify: bool = False) -> None:
        """Block the bot: sends to this chat answer 403. ``notify`` also queues my_chat_member."""
        with self.emu._lock:
            self.emu._blocked.add(self.id)
        if notify:
            self._member_update("member", "kicked")

    def unblock(self, notify: bool = False) -> None:
        with self.emu._lock:
            self.emu._blocked.discard(self.id)
        if notify:
            self._member_update("kicked", "member")

    # ---- what the bot sent
    def messages(self) -> list[dict]:
        """Bot messages in this chat, current state (edits/deletes applied), in order."""
        return self.emu.sent_to(self.id)

    def last(self) -> dict | None:
        msgs = self.messages()
        return msgs[-1] if msgs else None

    def texts(self) -> list[str]:
        """Text or caption of each current bot message (convenience for assertions)."""
        return [m.get("text", m.get("caption", "")) for m in self.messages()]

    def history(self) -> list[dict]:
        """Every bot message as originally sent to this chat, including deleted ones."""
        with self.emu._lock:
            return _clone(self.emu._chat(self.id).history)

    @property
    def keyboard(self) -> dict | None:
        """The reply keyboard currently shown (None if none or removed)."""
        with self.emu._lock:
            return _clone(self.emu._chat(self.id).keyboard)

    async def wait_for_messages(self, n: int, timeout: float = WAIT_SECONDS) -> list[dict]:  # noqa: ASYNC109
        """Wait until the bot has >= n messages in this chat; returns them."""
        await self.emu.wait_for(
            lambda: len(self.messages()) >= n, timeout, what=f"{n} bot messages to {self.id}"
        )
        return self.messages()

    # ---- helpers
    def _send_message(self, content: dict, in_chat: dict | None = None) -> dict:
        where = in_chat or self.chat
        with self.emu._lock:
            chat = self.emu._chat(where["id"], dict(where))
            msg = {"message_id": chat.next_id, "from": dict(self.user), "chat": where,
                   "date": int(time.time()), **content}  # fmt: skip
            self.emu.inject({"message": msg})  # under the lock: message ids stay unique across threads
        return _clone(msg)

    def _member_update(self, old: str, new: str) -> None:
        bot = self.emu.bot_user

        def member(status: str) -> dict:
            # Telegram sends until_date 0 ("forever") with every "kicked" status
            return {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}

        self.emu.inject({"my_chat_member": {
            "chat": self.chat, "from": dict(self.user), "date": int(time.time()),
            "old_chat_member": member(old), "new_chat_member": member(new),
        }})  # fmt: skip

    def __repr__(self) -> str:
        return f"EmuUser(id={self.id}, first_name={self.user['first_name']!r})"


# --------------------------------------------------------------------------- HTTP layer
# A small HTTP/1.1 server on asyncio streams: one task per keep-alive connection on the emulator's
# own event loop (in a daemon thread). It replaced ThreadingHTTPServer, whose listen backlog of 5,
# thread per connection and slow header parsing capped the emulator at a few hundred requests/s
# and reset connections under load.

LISTEN_BACKLOG = 1024
WEBHOOK_TIMEOUT = 10.0  # seconds an update's POST may take before it counts as not answered
WEBHOOK_RETRY = (0.05, 1.0)  # first and longest wait before posting a refused update again
MAX_HEAD = 64 * 1024  # request line + headers
MAX_BODY = 64 * 1024 * 1024  # uploads: the cloud Bot API takes up to 50 MB


class _HttpError(Exception):
    """A malformed request: answered with ``status`` and the connection is closed."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class _Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    keep_alive: bool


@dataclass(eq=False)
class _Connection:
    """An open client connection; ``idle`` while waiting for the next request."""

    writer: asyncio.StreamWriter
    idle: bool = True


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _http_response(status: int, body: bytes, ctype: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_reason(status)}\r\nServer: BotApiEmulator/2.0\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _json_body(status: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": status, "description": description}).encode()


async def _read_head(reader: asyncio.StreamReader) -> _Request | None:
    """Request line and headers; None when the client closed the connection between requests."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _HttpError(400, "Bad Request: incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "Request Header Fields Too Large") from None
    lines = raw.decode("latin-1").lstrip("\r\n").split("\r\n")  # empty lines before it are allowed
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha():
        raise _HttpError(400, "Bad Request: malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _HttpError(505, "HTTP Version Not Supported")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _HttpError(400, "Bad Request: malformed header")
        key, value = name.lower(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    return _Request(method.upper(), target, headers, keep_alive)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The body framed by Transfer-Encoding: chunked or Content-Length (none: empty)."""
    coding = headers.get("transfer-encoding", "").lower()
    if coding:
        if coding.rsplit(",", 1)[-1].strip() != "chunked":
            raise _HttpError(501, "Not Implemented: transfer coding")
        chunks: list[bytes] = []
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _HttpError(400, "Bad Request: malformed chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer fields, ignored
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _HttpError(413, "Request Entity Too Large")
            chunks.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise _HttpError(400, "Bad Request: malformed chunk")
    length = headers.get("content-length", "").strip()
    if not length:
        return b""
    if not length.isdigit():
        raise _HttpError(400, "Bad Request: invalid Content-Length")
    if int(length) > MAX_BODY:
        raise _HttpError(413, "Request Entity Too Large")
    return await reader.readexactly(int(length))


def _request_params(query: str, body: bytes, ctype: str) -> tuple[dict, dict[str, _Upload]]:
    """Parameters from the query string and a form, multipart or JSON body."""
    params = {k: _decode_value(k, v) for k, v in parse_qsl(query, keep_blank_values=True)} if query else {}
    uploads: dict[str, _Upload] = {}
    if ctype.startswith("multipart/form-data"):
        fields, uploads = _parse_multipart(body, ctype)
        params.update((k, _decode_value(k, v)) for k, v in fields.items())
    elif ctype.startswith("application/json"):
        params.update(json.loads(body or b"{}"))
    elif body:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update((k, _decode_value(k, v)) for k, v in pairs)
    return params, uploads


# --------------------------------------------------------------------------- the emulator


class _HookClient:
    """Keep-alive HTTP/1.1 POSTs to the webhook on asyncio streams, as few bytes and steps as
    Telegram's own client would take (httpx cost the emulator more CPU per update than the bot's
    whole webhook request, which skewed a benchmark of webhook beside polling). Plain http only:
    an https webhook cannot be reached from here anyway and counts as "no connection"."""

    class NoAnswer(Exception):
        """No answer within the timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The answer's status; raises OSError (no connection) or NoAnswer."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise OSError(f"cannot reach {parts.scheme} webhooks from the emulator")
        address = (parts.hostname, parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                   ).encode("latin-1") + body  # fmt: skip
        idle = self._idle.setdefault(address, [])
        for reused in (True, False):
            if reused and not idle:
                continue
            reader, writer = idle.pop() if reused else await asyncio.open_connection(*address)
            try:
                async with asyncio.timeout(self.timeout):
                    writer.write(request)
                    await writer.drain()
                    status, keep = await self._answer(reader)
            except TimeoutError:
                writer.close()
                raise self.NoAnswer from None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                writer.close()
                if reused:
                    continue  # a kept connection the server had closed: once more on a new one
                raise OSError("the connection broke") from None
            if keep:
                idle.append((reader, writer))
            else:
                writer.close()
            return status
        raise AssertionError("unreachable")

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
        status_line = await reader.readline()
        if not status_line:
            raise asyncio.IncompleteReadError(b"", None)
        status = int(status_line.split()[1])
        length, chunked, keep = 0, False, True
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                keep = False
        if chunked:
            while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
                await reader.readexactly(size + 2)
            await reader.readline()
        elif length:
            await reader.readexactly(length)
        return status, keep

    def close(self) -> None:
        for connections in self._idle.values():
            for _reader, writer in connections:
                writer.close()
        self._idle.clear()


def _sender(update: dict) -> object:
    """Whose update this is (a webhook posts one sender's updates one at a time): the user, else
    the chat, else the update itself."""
    for value in update.values():
        if isinstance(value, dict):
            who = value.get("from") or value.get("user") or value.get("chat")
            if isinstance(who, dict) and "id" in who:
                return who["id"]
    return ("update", update.get("update_id"))


class BotApiEmulator:
    """In-process Telegram Bot API: state, HTTP server, test helpers.

    Public state (read it under no lock; lists/dicts are only appended/updated atomically):
    ``calls``, ``commands``, ``callback_answers``, ``files``, ``stats``.
    """

    def __init__(self, token: str = "123456:TEST", *, host: str = "127.0.0.1", port: int = 0,
                 bot_username: str = "lvzhi_test_bot", bot_first_name: str = "履职助手",
                 enforce_limits: bool = False, global_rate: int = 30, per_chat_rate: float = 1.0,
                 delay: float = 0.0, rate_clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.token = token
        # Latency of every call, in seconds: the call takes effect (and is recorded) on arrival, its
        # answer comes `delay` later, as over a real network's round trip. delay_next() adds to it.
        self.delay = delay
        self.host = host
        self._requested_port = port
        self.port = port
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: dict = {
            "id": bot_id, "is_bot": True, "first_name": bot_first_name, "username": bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False,
        }  # fmt: skip
        self.enforce_limits = enforce_limits
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.rate_clock = rate_clock  # the flood control's seconds (a test can hold them still)

        # State lock: a threading lock because tests and listeners read state from other threads.
        # It is held only for short, non-blocking sections; nothing awaits while holding it.
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._poll_generation = 0  # bumped by wake_pollers() to end current long polls
        # Long polls wait on an asyncio.Event of the server loop; inject() from any thread has it
        # set via call_soon_threadsafe (once per batch of injections, and only if a poll waits).
        self._poll_event: asyncio.Event | None = None
        self._polls_waiting = 0
        self._poll_wake_scheduled = False

        self.calls: list[Call] = []
        self.commands: dict[str, list[dict]] = {}
        self.callback_answers: dict[str, dict] = {}
        self.files: dict[str, bytes] = {}
        self.stats: dict[str, int] = {"sent": 0, "429": 0, "calls": 0, "errors": 0}
        self.confirmed_offset = 0

        self._updates: list[dict] = []
        self._next_update_id = 100_000_001
        self._users: dict[int, EmuUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._blocked: set[int] = set()
        self._file_meta: dict[str, dict] = {}  # file_id -> {file_unique_id, file_size, file_path, kind}
        self._file_seq = 0
        self._callback_ids: set[str] = set()
        self._presses_delivered: dict[str, None] = {}  # callback query ids getUpdates handed out, in order
        self._callback_seq = 0
        self._media_group_seq = 0
        self._failures: dict[str, deque[ApiError]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._swallows: dict[str, deque[int | None]] = {}  # method -> chat ids (None: any chat)
        # setWebhook: updates are POSTed there instead of waiting for getUpdates (see _deliver_webhook)
        self.webhook: dict[str, Any] | None = None
        self.webhook_timeout = WEBHOOK_TIMEOUT
        self.webhook_posts: list[tuple[int, int | str]] = []  # (update_id, HTTP status or error), in order
        self._webhook_task: asyncio.Task | None = None
        self._webhook_error: tuple[int, str] | None = None  # (unix time, message) for getWebhookInfo
        self._listeners: list[Callable[[Call], None]] = []
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._file_paths: dict[str, str] = {}  # file_path -> file_id, for downloads

        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None  # set on the server loop by stop()
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._methods: dict[str, Callable[[dict, dict[str, _Upload]], Any]] = {
            name[3:].lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }
        self._canonical = {name[3:].lower(): name[3:] for name in dir(self) if name.startswith("_m_")}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> BotApiEmulator:
        """Bind the port and serve from a daemon thread; returns once the port is listening."""
        if self._thread is not None:
            return self
        self._stop_event.clear()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self._requested_port), family=family, backlog=LISTEN_BACKLOG)
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = loop
        self._thread = threading.Thread(target=self._serve, args=(loop, sock, ready),
                                        name=f"BotApiEmulator:{self.port}", daemon=True)  # fmt: skip
        self._thread.start()
        try:
            ready.result(timeout=10)
        except BaseException:
            self._stop_event.set()
            with contextlib.suppress(RuntimeError):  # closed already if opening the server failed
                loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=5)
            self._thread = self._loop = None
            raise
        return self

    def stop(self) -> None:
        """Stop serving: answers long polls, cuts delays, closes open connections, ends the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._stop_event.set()
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            if threading.current_thread() is not thread:  # stop() from a listener cannot wait
                with contextlib.suppress(Exception):
                    done.result(timeout=5)
                thread.join(timeout=5)
        self._thread = self._loop = None

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
               ready: concurrent.futures.Future[None]) -> None:  # fmt: skip
        """The server thread: its own event loop, until _shutdown() stops it."""
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(self._open(sock))
        except BaseException as exc:
            sock.close()
            ready.set_exception(exc)
            loop.close()
            return
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _open(self, sock: socket.socket) -> asyncio.Server:
        self._stopping = asyncio.Event()
        self._poll_event = asyncio.Event()
        return await asyncio.start_server(self._on_connection, sock=sock, backlog=LISTEN_BACKLOG,
                                          limit=MAX_HEAD)  # fmt: skip

    async def _shutdown(self) -> None:
        """On the server loop: refuse new connections, answer waiting requests, close the rest."""
        assert self._stopping is not None and self._loop is not None
        self._stopping.set()
        if self._server is not None:
            self._server.close()
        self._fire_poll_event()
        for conn in list(self._connections):
            if conn.idle:  # idle keep-alive connections: nothing to answer
                conn.writer.close()
        pending = set(self._tasks)
        if pending:  # busy ones finish their answer (long polls and delays end at once) and close
            _done, pending = await asyncio.wait(pending, timeout=2)
        for task in pending:
            task.cancel()
        for conn in list(self._connections):
            conn.writer.transport.abort()
        self._server = None
        self._loop.call_soon(self._loop.stop)

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ HTTP serving (server loop)
    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive connection: requests are read and answered one after another."""
        task = asyncio.current_task()
        assert task is not None and self._stopping is not None
        conn = _Connection(writer)
        self._connections.add(conn)
        self._tasks.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:  # an answer is one write anyway; never wait for Nagle
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not self._stopping.is_set():
                conn.idle = True
                try:
                    request = await _read_head(reader)
                finally:
                    conn.idle = False
                if request is None:
                    break
                if request.headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = await _read_body(reader, request.headers)
                status, data, ctype = await self._respond(request, body)
                keep_alive = request.keep_alive and not self._stopping.is_set()
                writer.write(_http_response(status, data, ctype, keep_alive))
                await writer.drain()
                if not keep_alive:
                    break
        except _HttpError as err:  # malformed request: answer and close
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(_http_response(err.status, _json_body(err.status, err.description),
                                            "application/json", False))  # fmt: skip
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away (timeout, cancel) or stop() cut the connection
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:
            log.exception("emulator: request failed")
        finally:
            self._connections.discard(conn)
            self._tasks.discard(task)
            writer.close()

    async def _respond(self, request: _Request, body: bytes) -> tuple[int, bytes, str]:
        """(status, body, content type) for one request."""
        if request.method not in ("GET", "POST"):
            return 501, _json_body(501, "Not Implemented"), "application/json"
        url = urlsplit(request.target)
        path = unquote(url.path)
        if path.startswith("/file/bot"):
            token, _, file_path = path[len("/file/bot") :].partition("/")
            data = self._download(token, file_path)
            if data is None:
                return 404, _json_body(404, "Not Found"), "application/json"
            return 200, data, "application/octet-stream"
        if not path.startswith("/bot"):
            return 404, _json_body(404, "Not Found"), "application/json"
        token, _, method = path[len("/bot") :].partition("/")
        try:
            params, uploads = _request_params(url.query, body, request.headers.get("content-type", ""))
        except (ApiError, ValueError, TypeError) as exc:
            return 400, _json_body(400, f"Bad Request: {exc}"), "application/json"
        status, payload, delay = await self._handle(token, method, params, uploads)
        if delay:  # slow answer; stop() cuts it short
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        return status, json.dumps(payload, ensure_ascii=False).encode(), "application/json"

    # ------------------------------------------------------------------ long-poll wake-ups
    def _wake_polls(self) -> None:
        """Lock held: have waiting long polls look at the queue again (from any thread)."""
        if self._polls_waiting and not self._poll_wake_scheduled and self._loop is not None:
            self._poll_wake_scheduled = True
            with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting any more
                self._loop.call_soon_threadsafe(self._fire_poll_event)

    def _fire_poll_event(self) -> None:
        """Server loop: wake every poll waiting now; later polls wait on a fresh event."""
        with self._lock:
            self._poll_wake_scheduled = False
            event, self._poll_event = self._poll_event, asyncio.Event()
        if event is not None:
            event.set()

    # ------------------------------------------------------------------ PTB conveniences
    def app_builder(self) -> Any:
        """A PTB ``ApplicationBuilder`` already pointed at this emulator."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder().token(self.token).base_url(self.base_url).base_file_url(self.base_file_url)
        )

    @contextlib.asynccontextmanager
    async def running(self, app: Any, **polling_kwargs: Any) -> AsyncIterator[Any]:
        """Run a PTB Application with polling for the duration of the block, stop it fast."""
        kwargs = {"poll_interval": 0, "timeout": 1, **polling_kwargs}
        async with app:
            await app.start()
            await app.updater.start_polling(**kwargs)
            try:
                yield app
            finally:
                stopping = asyncio.ensure_future(app.updater.stop())
                await asyncio.sleep(0)  # let stop() set its stop event before waking the poll
                self.wake_pollers()
                await stopping
                await app.stop()

    def run_coroutine(self, coro: Any) -> concurrent.futures.Future:
        """Run a coroutine on the server's event loop; returns a concurrent future of its result.

        For load generators that drive simulated users right next to the server (listeners are
        called on this loop too), instead of from a second thread competing for the GIL.
        """
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def wake_pollers(self) -> None:
        """End all currently waiting getUpdates long polls (they answer with [])."""
        with self._lock:
            self._poll_generation += 1
            loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fire_poll_event)

    # ------------------------------------------------------------------ test-facing API
    def user(self, user_id: int = 1001, first_name: str = "苏建华", language_code: str | None = "zh-hans",
             username: str | None = None, last_name: str | None = None) -> EmuUser:  # fmt: skip
        """Get or create a simulated user (and its private chat)."""
        with self._lock:
            if user_id in self._users:
                return self._users[user_id]
            info: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
            for key, value in (
                ("last_name", last_name),
                ("username", username),
                ("language_code", language_code),
            ):
                if value:
                    info[key] = value
            u = EmuUser(self, info)
            self._users[user_id] = u
            self._chat(user_id, u.chat)
            return u

    def inject(self, update: dict) -> int:
        """Queue any update (its update_id is replaced); returns the assigned update_id.

        Chats, messages, callback query ids and file ids found in it become known, so the bot
        can answer, edit, and download them.
        """
        upd = _clone(update)
        with self._lock:
            upd.pop("update_id", None)
            uid = self._next_update_id
            self._next_update_id += 1
            self._learn(upd)
            self._updates.append({"update_id": uid, **upd})
            self._wake_polls()
        return uid

    def restart_update_ids(self, first: int) -> None:
        """Hand out update ids from `first` on, as Telegram does after a week without updates
        (it then picks the next id at random instead of counting on)."""
        with self._lock:
            self._next_update_id = first

    def calls_of(self, method: str) -> list[Call]:
        key = method.lower()
        with self._lock:
            return [c for c in self.calls if c.method.lower() == key]

    def sent_to(self, chat_id: int) -> list[dict]:
        """Bot messages in a chat, current state, ordered by message_id."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return []
            bot_id = self.bot_user["id"]
            msgs = [m for m in chat.messages.values() if m.get("from", {}).get("id") == bot_id]
            return _clone(sorted(msgs, key=lambda m: m["message_id"]))

    def pending_updates(self) -> list[dict]:
        with self._lock:
            return _clone(self._updates)

    def unanswered_presses(self) -> list[str]:
        """Callback query ids the bot received (getUpdates) but never answered successfully: on
        Telegram the member's button keeps spinning until the client gives up."""
        with self._lock:
            return [cq for cq in self._presses_delivered if cq not in self.callback_answers]

    def forget_press(self, cq_id: str) -> None:
        """Stop expecting an answer to a press (the bot process that took it was killed before it
        could answer; on Telegram the spinner then stops after the client's timeout)."""
        with self._lock:
            self._presses_delivered.pop(cq_id, None)

    def fail_next(self, method: str, error_code: int, description: str, retry_after: int | None = None,
                  times: int = 1) -> None:  # fmt: skip
        """Make the next ``times`` calls of ``method`` fail (no action taken)."""
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.extend(ApiError(error_code, description, retry_after) for _ in range(times))

    def delay_next(self, method: str, seconds: float) -> None:
        """Make the next call of ``method`` answer after ``seconds`` (the action still happens)."""
        with self._lock:
            self._delays.setdefault(method.lower(), deque()).append(seconds)

    def swallow_next(self, method: str, chat_id: int | None = None) -> None:
        """Lose the next call of ``method`` (to ``chat_id``) on the way: it takes no effect and is
        never answered, like a request still travelling when the bot's process dies. It is recorded
        with status 0, so a test can wait for it."""
        with self._lock:
            self._swallows.setdefault(method.lower(), deque()).append(chat_id)

    def add_listener(self, listener: Callable[[Call], None]) -> None:
        """Call ``listener(call)`` in the server thread after each API call completes."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Call], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - an explicit timeout is the point of this helper
        what: str | None = None,
    ) -> None:
        """Poll ``predicate`` until true; AssertionError with recent calls on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                with self._lock:
                    recent = [f"{c.method} {c.status} {c.error or ''}".strip() for c in self.calls[-10:]]
                    pending = len(self._updates)
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what or getattr(predicate, '__name__', 'predicate')}; "
                    f"pending updates: {pending}; last calls: {recent}"
                )
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ request handling
    async def _handle(
        self, token: str, method: str, params: dict, uploads: dict[str, _Upload]
    ) -> tuple[int, dict, float]:
        """Run one API call (server loop); returns (HTTP status, JSON body, response delay)."""
        if unquote(token) != self.token:
            err = ApiError(401, "Unauthorized")
            self._record(method, params, err.error_code, None, err.description)
            return 401, err.body(), 0.0
        key = method.lower()
        handler = self._methods.get(key)
        name = self._canonical.get(key, method)
        if handler is None:
            self._record(method, params, 404, None, "Not Found")
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}, 0.0
        with self._lock:
            delays = self._delays.get(key)
            delay = self.delay + (delays.popleft() if delays else 0.0)
            failures = self._failures.get(key)
            failure = failures.popleft() if failures else None
            swallows = self._swallows.get(key)
            swallowed = swallows is not None and bool(swallows) and swallows[0] in (None, params.get("chat_id"))
            if swallows is not None and swallowed:
                swallows.popleft()
        if swallowed:
            self._record(name, params, 0, None, "swallowed", uploads)
            assert self._stopping is not None
            await self._stopping.wait()  # never answered; the caller's connection goes with it
            return 503, {"ok": False, "error_code": 503, "description": "emulator stopped"}, 0.0
        try:
            if failure is not None:
                raise failure
            if key == "getupdates":
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                        "use deleteWebhook to delete the webhook first")
                result = await self._get_updates(params)  # waits without holding the lock
            else:
                with self._lock:
                    chat_id: Any = params.get("chat_id")
                    limited = self.enforce_limits and (key in _SEND_METHODS or key in _EDIT_METHODS)
                    if limited:
                        self._check_rate(chat_id)
                    result = handler(params, uploads)
                    if limited:
                        now = self.rate_clock()
                        self._global_window.append(now)
                        self._chat_windows.setdefault(chat_id, deque()).append(now)
        except ApiError as err:
            self._record(name, params, err.error_code, None, err.description, uploads)
            return err.error_code, err.body(), delay
        self._record(name, params, 200, result, None, uploads)
        return 200, {"ok": True, "result": result}, delay

    def _record(self, method: str, params: dict, status: int, result: Any, error: str | None,
                uploads: dict[str, _Upload] | None = None) -> None:  # fmt: skip
        files = {k: {"file_name": u.filename, "mime_type": u.mime_type, "size": len(u.content)}
                 for k, u in (uploads or {}).items()}  # fmt: skip
        call = Call(method, params, status, _clone(result), time.time(), error, files)
        with self._lock:
            self.calls.append(call)
            self.stats["calls"] += 1
            if status == 429:
                self.stats["429"] += 1
            elif status != 200:
                self.stats["errors"] += 1
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(call)
            except Exception:  # a broken UI listener must not break the API
                log.exception("emulator listener failed")

    def _check_rate(self, chat_id: Any) -> None:
        """Sliding-window flood control (only with enforce_limits=True)."""
        now = self.rate_clock()
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.global_rate:
            self._too_many(window[0] + 1.0 - now)
        # per_chat_rate < 1 means "one message per 1/rate seconds"
        span, cap = (
            (1.0, max(1, int(self.per_chat_rate))) if self.per_chat_rate >= 1 else (1 / self.per_chat_rate, 1)
        )
        cw = self._chat_windows.setdefault(chat_id, deque())
        while cw and now - cw[0] >= span:
            cw.popleft()
        if len(cw) >= cap:
            self._too_many(cw[0] + span - now)

    @staticmethod
    def _too_many(wait: float) -> None:
        retry = max(1, math.ceil(wait))
        raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)

    def _download(self, token: str, file_path: str) -> bytes | None:
        if unquote(token) != self.token:
            return None
        with self._lock:
            file_id = self._file_paths.get(file_path)
            return None if file_id is None else self._file_bytes(file_id)

    # ------------------------------------------------------------------ state helpers (lock held)
    def _chat(self, chat_id: int, info: dict | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(
                info or {"id": chat_id, "type": "private", "first_name": str(chat_id)}
            )
        return chat

    def _learn(self, upd: dict) -> None:
        """Remember chats, messages, callback ids and files from an injected update."""
        for key, payload in upd.items():
            if not isinstance(payload, dict):
                continue
            if key == "callback_query":
                self._callback_ids.add(str(payload.get("id")))
                continue
            chat_info = payload.get("chat")
            if not isinstance(chat_info, dict) or "id" not in chat_info:
                continue
            chat = self._chat(chat_info["id"], dict(chat_info))
            if "message_id" in payload and key in ("message", "edited_message", "channel_post"):
                chat.messages[payload["message_id"]] = _clone(payload)
                chat.next_id = max(chat.next_id, payload["message_id"] + 1)
            for obj in self._file_objects(payload):
                if obj.get("file_id") and obj["file_id"] not in self._file_meta:
                    self._register_file(obj["file_id"], obj.get("file_unique_id", obj["file_id"]),
                                        obj.get("file_size"), None)  # fmt: skip

    @staticmethod
    def _file_objects(msg: dict) -> list[dict]:
        objs = list(msg.get("photo") or [])
        for kind in ("document", "voice", "audio", "video", "sticker", "animation", "video_note"):
            if isinstance(msg.get(kind), dict):
                objs.append(msg[kind])
        return objs

    def _register_file(self, file_id: str, unique_id: str, size: int | None, data: bytes | None,
                       kind: str = "documents", ext: str = "") -> None:  # fmt: skip
        self._file_seq += 1
        self._file_meta[file_id] = {"file_unique_id": unique_id, "file_size": size if size is not None else len(data or b""),
                                    "file_path": f"{kind}/file_{self._file_seq}{ext}"}  # fmt: skip
        self._file_paths[self._file_meta[file_id]["file_path"]] = file_id
        if data is not None:
            self.files[file_id] = data

    def _file_bytes(self, file_id: str) -> bytes:
        """Bytes of a file; files only known from injected JSON get deterministic filler."""
        if file_id not in self.files:
            size = self._file_meta[file_id]["file_size"] or len(DEFAULT_PHOTO)
            self.files[file_id] = (
                (DEFAULT_PHOTO + bytes(size))[:size] if size >= len(DEFAULT_PHOTO) else bytes(size)
            )
        return self.files[file_id]

    def _store_file(self, data: bytes, kind: str, mime_type: str, file_name: str | None = None,
                    unique_id: str | None = None) -> dict:  # fmt: skip
        """Store bytes under a new file_id; returns a PhotoSize or Document dict."""
        with self._lock:
            seq = self._file_seq + 1
            prefix = "AgACAgEmu" if kind == "photo" else "BQACAgEmu"
            file_id = f"{prefix}{seq:06d}{zlib.crc32(data):08x}"
            unique_id = unique_id or f"AQADemu{zlib.crc32(data):08x}"
            if kind == "photo":
                self._register_file(file_id, unique_id, len(data), data, "photos", ".jpg")
                width, height = _image_size(data)
                return {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(data),
                        "width": width, "height": height}  # fmt: skip
            ext = mimetypes.guess_extension(mime_type or "") or ""
            if file_name and "." in file_name:
                ext = "." + file_name.rsplit(".", 1)[1]
            self._register_file(file_id, unique_id, len(data), data, "documents", ext)
            doc: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(data)}
            if file_name:
                doc["file_name"] = file_name
            if mime_type:
                doc["mime_type"] = mime_type
            return doc

    def _target_chat(self, params: dict) -> _Chat:
        """Chat of a send/edit: must be known and must not have blocked the bot."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(
        self, text: Any, parse_mode: Any, entities: Any, limit: int, what: str
    ) -> tuple[str, list[dict]]:
        text = "" if text is None else str(text)
        if entities:
            parsed, ents = text, list(entities)
        elif str(parse_mode or "").upper() == "HTML":
            parsed, ents = parse_html(text)
        else:  # Markdown modes are stored verbatim (not parsed)
            parsed, ents = text, []
        if len(parsed) > limit:
            raise _bad(f"message {what}is too long")
        return parsed, ents

    def _text_content(self, params: dict) -> dict:
        text, ents = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), MAX_TEXT, ""
        )
        if not text.strip():
            raise _bad("message text is empty")
        out: dict[str, Any] = {"text": text}
        if ents:
            out["entities"] = ents
        return out

    def _caption_content(self, caption: Any, parse_mode: Any, entities: Any) -> dict:
        if caption in (None, ""):
            return {}
        text, ents = self._format(caption, parse_mode, entities, MAX_CAPTION, "caption ")
        out: dict[str, Any] = {"caption": text}
        if ents:
            out["caption_entities"] = ents
        return out

    def _new_bot_message(self, chat: _Chat, params: dict, content: dict) -> dict:
        msg: dict[str, Any] = {"message_id": chat.next_id, "from": dict(self.bot_user), "chat": dict(chat.info),
                               "date": int(time.time()), **content}  # fmt: skip
        chat.next_id += 1
        reply_to = params.get("reply_to_message_id") or (params.get("reply_parameters") or {}).get(
            "message_id"
        )
        if reply_to in chat.messages:
            msg["reply_to_message"] = self._public(chat.messages[reply_to])
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            msg["reply_markup"] = markup  # kept in state; _public() hides non-inline ones
            if "keyboard" in markup:
                chat.keyboard = markup
            elif markup.get("remove_keyboard"):
                chat.keyboard = None
        chat.messages[msg["message_id"]] = msg
        chat.history.append(_clone(msg))
        self.stats["sent"] += 1
        return self._public(msg)

    @staticmethod
    def _public(msg: dict) -> dict:
        """The message as the API returns it: only inline keyboards appear in reply_markup."""
        out = _clone(msg)
        if "inline_keyboard" not in (out.get("reply_markup") or {"inline_keyboard": 1}):
            del out["reply_markup"]
        return out

    def _editable(self, params: dict) -> tuple[_Chat, dict]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the emulator")
        chat = self._target_chat(params)
        msg = chat.messages.get(params.get("message_id", 0))
        if msg is None:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return chat, msg

    def _apply_edit(self, msg: dict, changes: dict, drop: tuple[str, ...], markup: Any) -> dict:
        """Apply an edit; an edit without reply_markup removes the inline keyboard (as Telegram does)."""
        new = {k: v for k, v in msg.items() if k not in drop}
        if "inline_keyboard" in (new.get("reply_markup") or {}):
            del new["reply_markup"]
        new.update(changes)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        strip = ("edit_date",)
        if {k: v for k, v in new.items() if k not in strip} == {
            k: v for k, v in msg.items() if k not in strip
        }:
            raise _bad(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        msg.clear()
        msg.update(new)
        return self._public(msg)

    def _resolve_media(self, value: Any, uploads: dict[str, _Upload], param: str) -> _Upload | str:
        """An uploaded file (field or attach://) or an existing file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value[len("attach://") :])
            if upload is None:
                raise _bad(f"file {value} not found in the request")
            return upload
        if param in uploads:
            return uploads[param]
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {param} in the request")
        if value.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        if value not in self._file_meta:
            raise _bad("wrong file identifier/HTTP URL specified")
        return value

    def _media_object(self, media: _Upload | str, kind: str) -> dict:
        if isinstance(media, _Upload):
            return self._store_file(media.content, kind, media.mime_type, media.filename)
        data = self._file_bytes(media)
        meta = self._file_meta[media]
        return self._store_file(data, kind, "application/octet-stream" if kind != "photo" else "image/jpeg",
                                unique_id=meta["file_unique_id"])  # fmt: skip

    def _press(self, user: EmuUser, data: str, message: dict | int | None, chat_id: int | None = None) -> str:
        with self._lock:
            msg = self._find_bot_message(user.id if chat_id is None else chat_id, message)
            self._callback_seq += 1
            cq_id = f"{user.id}{self._callback_seq:08d}"
            self._callback_ids.add(cq_id)
            cq = {"id": cq_id, "from": dict(user.user), "chat_instance": str(-(user.id * 7 + 3)),
                  "data": data, "message": self._public(msg)}  # fmt: skip
        self.inject({"callback_query": cq})
        return cq_id

    def _find_bot_message(self, chat_id: int, message: dict | int | None) -> dict:
        with self._lock:
            chat = self._chats.get(chat_id)
            bot_id = self.bot_user["id"]
            msgs = [
                m for m in (chat.messages.values() if chat else []) if m.get("from", {}).get("id") == bot_id
            ]
            if message is None:
                if not msgs:
                    raise LookupError(f"the bot has sent no message to chat {chat_id}")
                return _clone(max(msgs, key=lambda m: m["message_id"]))
            mid = message["message_id"] if isinstance(message, dict) else int(message)
            found = [m for m in msgs if m["message_id"] == mid]
            if not found:
                raise LookupError(f"no bot message {mid} in chat {chat_id} (deleted?)")
            return _clone(found[0])

    async def _get_updates(self, params: dict) -> list[dict]:
        """getUpdates on the server loop: a long poll waits without blocking other requests."""
        offset = params.get("offset")
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self._lock:
            if isinstance(offset, int) and offset > 0:
                # an offset confirms every update below it
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            generation = self._poll_generation
        while True:
            with self._lock:
                ready = [u for u in self._updates if not isinstance(offset, int) or u["update_id"] >= offset]
                if ready or self._stop_event.is_set() or generation != self._poll_generation:
                    batch = ready[:limit]
                    for upd in batch:
                        if isinstance(upd.get("callback_query"), dict):
                            self._presses_delivered[str(upd["callback_query"].get("id"))] = None
                    return _clone(batch)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                event = self._poll_event
                self._polls_waiting += 1
            try:
                assert event is not None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            finally:
                with self._lock:
                    self._polls_waiting -= 1

    # ------------------------------------------------------------------ webhook delivery
    def _wake_webhook(self) -> None:
        """Lock held: have the webhook deliverer (it waits on the long polls' event) look again."""
        if self.webhook is not None or self._webhook_task is not None:
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._fire_poll_event)

    async def _deliver_webhook(self) -> None:
        """POST queued updates to the webhook like Telegram: different senders at once (up to
        max_connections), one sender's updates one after another and in order; an update whose
        POST is not answered 2xx (an error status, no answer within `webhook_timeout`, no
        connection) is posted again after a growing pause, and the sender's later ones wait."""
        assert self._stopping is not None
        in_flight: dict[object, asyncio.Task] = {}  # sender -> its POST under way
        client = _HookClient(self.webhook_timeout)
        try:
            while not self._stopping.is_set():
                with self._lock:
                    hook = self.webhook
                    if hook is None:
                        break
                    posting = {t.get_name() for t in in_flight.values()}
                    start: list[dict] = []
                    held: set[object] = set(in_flight)
                    for upd in self._updates:
                        sender = _sender(upd)
                        if sender in held or str(upd["update_id"]) in posting:
                            held.add(sender)
                            continue
                        held.add(sender)
                        if len(in_flight) + len(start) < hook["max_connections"]:
                            start.append(upd)
                    event = self._poll_event
                    self._polls_waiting += 1
                for upd in start:
                    task = asyncio.ensure_future(self._post_update(client, hook, _clone(upd)))
                    task.set_name(str(upd["update_id"]))
                    in_flight[_sender(upd)] = task
                waits: set[asyncio.Future] = {*in_flight.values()}
                if event is not None:
                    waits.add(asyncio.ensure_future(event.wait()))
                waits.add(asyncio.ensure_future(self._stopping.wait()))
                try:
                    await asyncio.wait(waits, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    with self._lock:
                        self._polls_waiting -= 1
                    for w in waits:
                        if w not in in_flight.values():
                            w.cancel()
                for sender, task in list(in_flight.items()):
                    if task.done():
                        del in_flight[sender]
            for task in in_flight.values():
                task.cancel()
        finally:
            client.close()

    async def _post_update(self, client: _HookClient, hook: dict, upd: dict) -> None:
        assert self._stopping is not None
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        body = json.dumps(upd, ensure_ascii=False).encode()
        pause = WEBHOOK_RETRY[0]
        while not self._stopping.is_set() and self.webhook is hook:
            outcome: int | str
            try:
                outcome = await client.post(hook["url"], body, headers)
                error = None if 200 <= outcome < 300 else (
                    f"Wrong response from the webhook: {outcome} {_reason(outcome)}")
            except _HookClient.NoAnswer:
                outcome, error = "timeout", "Read timeout expired"
            except OSError as exc:
                outcome, error = "no connection", f"Connection failed: {type(exc).__name__}"
            with self._lock:
                self.webhook_posts.append((upd["update_id"], outcome))
                if error is None:
                    self.confirmed_offset = max(self.confirmed_offset, upd["update_id"] + 1)
                    self._updates = [u for u in self._updates if u["update_id"] != upd["update_id"]]
                    if isinstance(upd.get("callback_query"), dict):
                        self._presses_delivered[str(upd["callback_query"].get("id"))] = None
                    return
                self._webhook_error = (int(time.time()), error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            pause = min(pause * 2, WEBHOOK_RETRY[1])

    # ------------------------------------------------------------------ Bot API methods
    # Each _m_<Method> runs with the lock held and returns the "result" or raises ApiError.

    def _m_getMe(self, params: dict, uploads: dict) -> dict:
        return dict(self.bot_user)

    def _m_getUpdates(self, params: dict, uploads: dict) -> list:  # _handle awaits _get_updates instead
        raise NotImplementedError

    def _m_setWebhook(self, params: dict, uploads: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._m_deleteWebhook(params, uploads)
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("bad webhook: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {"url": url, "secret_token": None if secret is None else str(secret),
                        "max_connections": int(params.get("max_connections") or 40),
                        "allowed_updates": params.get("allowed_updates")}  # fmt: skip
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhook())
            self._tasks.add(self._webhook_task)
            self._webhook_task.add_done_callback(self._tasks.discard)
        self._wake_webhook()
        return True

    def _m_deleteWebhook(self, params: dict, uploads: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        self._wake_webhook()
        return True

    def _m_getWebhookInfo(self, params: dict, uploads: dict) -> dict:
        hook = self.webhook or {}
        info = {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook.get("allowed_updates"):
                info["allowed_updates"] = hook["allowed_updates"]
        if hook and self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    def _m_close(self, params: dict, uploads: dict) -> bool:
        return True

    def _m_logOut(self, params: dict, uploads: dict) -> bool:
        return True

    @staticmethod
    def _scope_key(params: dict) -> str:
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type", "default")
        key: str = kind
        if kind in ("chat", "chat_administrators"):
            key = f"{kind}:{scope.get('chat_id')}"
        elif kind == "chat_member":
            key = f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
        if params.get("language_code"):
            key += f":{params['language_code']}"
        return key

    def _m_setMyCommands(self, params: dict, uploads: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for cmd in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _m_getMyCommands(self, params: dict, uploads: dict) -> list:
        return _clone(self.commands.get(self._scope_key(params), []))

    def _m_deleteMyCommands(self, params: dict, uploads: dict) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def _m_setMyDescription(self, params: dict, uploads: dict) -> bool:
        return True

    def _m_setMyShortDescription(self, params: dict, uploads: dict) -> bool:
        return True

    def _m_setChatMenuButton(self, params: dict, uploads: dict) -> bool:
        return True

    def _m_getChat(self, params: dict, uploads: dict) -> dict:
        chat = self._chats.get(params.get("chat_id", 0))
        if chat is None:
            raise _bad("chat not found")
        return {**chat.info, "accent_color_id": 0, "max_reaction_count": 11}

    def _m_sendChatAction(self, params: dict, uploads: dict) -> bool:
        self._target_chat(params)
        return True

    def _m_sendMessage(self, params: dict, uploads: dict) -> dict:
        chat = self._target_chat(params)
        return self._new_bot_message(chat, params, self._text_content(params))

    def _m_sendPhoto(self, params: dict, uploads: dict) -> dict:
        chat = self._target_chat(params)
        caption = self._caption_content(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        photo = self._media_object(self._resolve_media(params.get("photo"), uploads, "photo"), "photo")
        return self._new_bot_message(chat, params, {"photo": [photo], **caption})

    def _m_sendDocument(self, params: dict, uploads: dict) -> dict:
        chat = self._target_chat(params)
        caption = self._caption_content(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        media = self._resolve_media(params.get("document"), uploads, "document")
        return self._new_bot_message(
            chat, params, {"document": self._media_object(media, "document"), **caption}
        )

    def _m_sendMediaGroup(self, params: dict, uploads: dict) -> list:
        chat = self._target_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        prepared = []
        for item in media:  # validate everything before sending anything
            kind = item.get("type")
            if kind not in ("photo", "document"):
                raise _bad(f"media type {kind!r} is not supported by the emulator")
            caption = self._caption_content(
                item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
            )
            prepared.append((kind, self._resolve_media(item.get("media"), uploads, kind), caption))
        self._media_group_seq += 1
        group_id = f"1357{self._media_group_seq:013d}"
        out = []
        for kind, src, caption in prepared:
            obj = self._media_object(src, kind)
            content = {"media_group_id": group_id, kind: [obj] if kind == "photo" else obj, **caption}
            out.append(self._new_bot_message(chat, {}, content))
        return out

    def _m_editMessageText(self, params: dict, uploads: dict) -> dict:
        _chat, msg = self._editable(params)
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        content = self._text_content(params)
        return self._apply_edit(msg, content, ("text", "entities"), params.get("reply_markup"))

    def _m_editMessageCaption(self, params: dict, uploads: dict) -> dict:
        _chat, msg = self._editable(params)
        if "text" in msg:
            raise _bad("there is no caption in the message to edit")
        content = self._caption_content(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        return self._apply_edit(msg, content, ("caption", "caption_entities"), params.get("reply_markup"))

    def _m_editMessageReplyMarkup(self, params: dict, uploads: dict) -> dict:
        _chat, msg = self._editable(params)
        return self._apply_edit(msg, {}, (), params.get("reply_markup"))

    def _m_deleteMessage(self, params: dict, uploads: dict) -> bool:
        chat = self._target_chat(params)
        if chat.messages.pop(params.get("message_id", 0), None) is None:
            raise _bad("message to delete not found")
        return True

    def _m_answerCallbackQuery(self, params: dict, uploads: dict) -> bool:
        cq_id = str(params.get("callback_query_id", ""))
        if cq_id not in self._callback_ids or cq_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[cq_id] = dict(params)
        return True

    def _m_getFile(self, params: dict, uploads: dict) -> dict:
        file_id = params.get("file_id", "")
        meta = self._file_meta.get(file_id)
        if meta is None:
            raise _bad("invalid file_id")
        if (meta["file_size"] or 0) > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {"file_id": file_id, "file_unique_id": meta["file_unique_id"],
                "file_size": len(self._file_bytes(file_id)), "file_path": meta["file_path"]}  # fmt: skip
