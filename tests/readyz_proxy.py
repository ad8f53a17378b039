"""The reverse proxy in front of two bot processes: Telegram's webhook posts go to the backend whose
/readyz answers 200; with none ready the post fails and Telegram tries again. `ReadyzProxy` does
this in Python (for any machine and the failover benchmark); `CaddyProxy` runs the shipped
deploy/Caddyfile with Caddy."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from pathlib import Path

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


class CaddyProxy:
    """The shipped deploy/Caddyfile itself, run by Caddy (`apt-get install caddy`) with the test's
    ports: plain http on this machine instead of the public name with TLS, no admin endpoint."""

    def __init__(self, backends: list[str], port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/telegram"
        shipped = (Path(__file__).resolve().parents[1] / "deploy" / "Caddyfile").read_text()
        ports = " ".join(base.removeprefix("http://") for base in backends)
        config = shipped.replace("bot.example.org {", f"http://127.0.0.1:{port} {{").replace(
            "127.0.0.1:8443 127.0.0.1:8444", ports
        )
        assert ports in config and f"127.0.0.1:{port}" in config, "the shipped Caddyfile changed shape"
        self.config = workdir / "Caddyfile"
        self.config.write_text("{\n\tadmin off\n}\n" + config)
        self.workdir = workdir
        self._proc: subprocess.Popen | None = None

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, "XDG_DATA_HOME": str(self.workdir), "XDG_CONFIG_HOME": str(self.workdir)}
        with (self.workdir / "caddy.log").open("ab") as log:
            return subprocess.Popen(["caddy", "run", "--config", str(self.config), "--adapter", "caddyfile"],
                                    env=env, stdout=log, stderr=log)  # fmt: skip

    async def __aenter__(self) -> CaddyProxy:
        self._proc = self._spawn()
        deadline = time.monotonic() + 30
        while True:  # listening: a post without a ready backend gets Caddy's own answer
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    await client.get(f"http://127.0.0.1:{self.port}/")
                return self
            except httpx.HTTPError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"caddy did not start: {(self.workdir / 'caddy.log').read_text()[-500:]}") from None
                await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            await asyncio.to_thread(self._proc.wait, 10)
