"""What the deployment's reverse proxy does (deploy/Caddyfile, deploy/nginx.conf), for tests and the
failover benchmark: Telegram's webhook posts go to the backend whose /readyz answers 200; with none
ready the post gets 503 and Telegram tries again."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class ReadyzProxy:
    def __init__(self, backends: list[str], port: int) -> None:
        self.backends = backends  # base URLs, e.g. http://127.0.0.1:8443
        self.port = port
        self.url = f"http://127.0.0.1:{port}/telegram"
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=1.0))
        app = Starlette(routes=[Route("/telegram", self._forward, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                                     log_level="warning", access_log=False))  # fmt: skip
        self._task: asyncio.Task | None = None

    async def _ready(self, base: str) -> bool:
        try:
            return (await self._client.get(f"{base}/readyz", timeout=1.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type",
                                                                              "x-telegram-bot-api-secret-token")}  # fmt: skip
        for base in self.backends:
            if await self._ready(base):
                try:
                    answer = await self._client.post(f"{base}/telegram", content=body, headers=headers)
                except httpx.HTTPError:
                    return Response(status_code=502)
                return Response(answer.content, status_code=answer.status_code)
        return Response(status_code=503)

    async def __aenter__(self) -> ReadyzProxy:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await self._task
        await self._client.aclose()
