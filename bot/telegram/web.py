"""The bot's HTTP server (Starlette on uvicorn, as in python-telegram-bot's custom-webhook example):
Telegram's webhook and /healthz, /readyz, /metrics on one port (LISTEN).

The webhook takes an update only with the right X-Telegram-Bot-Api-Secret-Token (else 403, and
nothing changes), only while this process is the active one (else 503: Telegram tries again, the
proxy sends it to the active process), and answers 200 only once the update is stored in the inbox
(`bot.telegram.inbox`): a 200 tells Telegram to forget it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.core.config import Settings
from bot.telegram import metrics
from bot.telegram.health import Health
from bot.telegram.inbox import Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
WEBHOOK_MAX_CONNECTIONS = 40  # Telegram's default: updates of different chats are posted at once


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process's handlers stop the bot, then this."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Web:
    """The HTTP server of one process. `app` is set while this process is the active one."""

    def __init__(self, settings: Settings, health: Health) -> None:
        address = settings.listen_address
        assert address is not None, "LISTEN is not set"
        self.settings = settings
        self.health = health
        self.app: Application | None = None
        self._inbox = Inbox(health.db)
        self._secret = settings.webhook_secret.encode()
        routes = [
            Route("/healthz", self._healthz, methods=["GET"]),
            Route("/readyz", self._readyz, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
        ]
        if settings.webhook_url:
            routes.append(Route(settings.webhook_path, self._webhook, methods=["POST"]))
        config = uvicorn.Config(Starlette(routes=routes), host=address[0], port=address[1], lifespan="off",
                                access_log=False, log_level="warning", log_config=None)  # fmt: skip
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen; raises SystemExit (uvicorn's) when the port cannot be bound."""
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task  # re-raises why it could not start
                raise SystemExit(f"could not listen on {self.settings.listen}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    async def take_updates(self, app: Application) -> None:
        """Become the active process's webhook: tell Telegram where to post, then take its posts."""
        await app.bot.set_webhook(self.settings.webhook_url, secret_token=self.settings.webhook_secret,
                                  allowed_updates=Update.ALL_TYPES, max_connections=WEBHOOK_MAX_CONNECTIONS)  # fmt: skip
        self.health.dispatcher = app.bot_data["deps"].dispatcher
        self.app = app

    async def _healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def _readyz(self, _request: Request) -> Response:
        state = await self.health.readiness()
        return JSONResponse(state.as_json(), status_code=200 if state.ready else 503)

    async def _metrics(self, _request: Request) -> Response:
        state = await self.health.readiness()
        metrics.ACTIVE.set(1 if state.role == "active" else 0)
        if state.outbox_backlog is not None:
            metrics.OUTBOX_BACKLOG.set(state.outbox_backlog)
            metrics.OUTBOX_OLDEST_DUE.set(state.oldest_due_seconds or 0.0)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return PlainTextResponse("forbidden\n", status_code=403)
        app = self.app
        if app is None:
            return PlainTextResponse("standby\n", status_code=503)
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            log.warning("the webhook received a request that is no update; ignored")
            return PlainTextResponse("not an update\n", status_code=400)
        try:
            new = await self._inbox.keep_one(data)
        except Exception as exc:  # not stored: Telegram must try again
            log.warning("update %s could not be stored (%s); Telegram will send it again",
                        data["update_id"], type(exc).__name__)  # fmt: skip
            return PlainTextResponse("not stored\n", status_code=500)
        if new:  # a repeat is in hand already (or handled)
            await app.update_queue.put(_read(data, app))
        return Response(status_code=200)


def _read(data: dict, app: Application) -> Update:
    """The update, read once; one python-telegram-bot cannot read is named by its id (never its
    content) and handed on empty, as the long poll does (`bot.telegram.http.readable`)."""
    try:
        return Update.de_json(data, app.bot)
    except Exception:  # any failure to read it
        from bot.telegram.http import readable

        (empty,) = readable([data])  # logs it
        return Update.de_json(empty, app.bot)
