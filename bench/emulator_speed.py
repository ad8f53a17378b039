"""Benchmark of the Bot API emulator alone: sendMessage requests per second over keep-alive
connections, connection errors, and the emulator's CPU time per request, at several concurrencies.

    .venv/bin/python bench/emulator_speed.py [--concurrency 1,8,32,300] [--seconds 3]
                                             [--client raw|httpx] [--procs 1]
                                             [--emulator path/to/emulator.py]

The emulator runs in a child process (bench/_emuproc.py), as Telegram would. The load comes from
`--procs` client processes, each an asyncio loop with its share of the concurrent clients (one
keep-alive connection each) sending sendMessage back to back, while two getUpdates long polls
(timeout 1 s) stay open, like a polling bot's. Clients: "raw" is a minimal HTTP/1.1 client on
asyncio streams (cheap, so the emulator is what is measured); "httpx" is an httpx.AsyncClient, which
itself tops out at a few hundred requests/s per process. `--emulator` loads another copy of the
module (e.g. the previous version saved to a file) to compare before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._emuproc import EmulatorProcess  # noqa: E402

TOKEN = "123456:SPEED"
CHATS = 1000
FIRST_CHAT = 5_000_000
LONG_POLLS = 2


def setup_chats(emu) -> None:  # type: ignore[no-untyped-def]  # runs in the emulator process
    for i in range(CHATS):
        emu.user(FIRST_CHAT + i, f"u{i}")


class RawClient:
    """One keep-alive HTTP/1.1 connection; form-encoded POSTs, Content-Length answers."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.host, self.port, self.prefix = url.hostname or "127.0.0.1", url.port or 80, url.path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, method: str, form: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body = urlencode(form).encode()
        self.writer.write(
            f"POST {self.prefix}{TOKEN}/{method} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class HttpxClient:
    """The same calls through a shared httpx.AsyncClient (its pool keeps connections alive)."""

    def __init__(self, client, base_url: str) -> None:  # type: ignore[no-untyped-def]
        self.client, self.base_url = client, base_url

    async def post(self, method: str, form: dict[str, str]) -> int:
        r = await self.client.post(f"{self.base_url}{TOKEN}/{method}", data=form)
        return r.status_code

    async def close(self) -> None:
        pass


async def load(base_url: str, kind: str, first: int, clients: int, polls: int, seconds: float) -> tuple:
    """`clients` clients (numbered from `first`) sending back to back; returns (done, errors, s)."""
    import httpx

    errors: Counter = Counter()
    done = 0
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients + polls, max_keepalive_connections=clients + polls)
    async with httpx.AsyncClient(limits=limits, timeout=30) as shared:

        def new_client() -> RawClient | HttpxClient:
            return RawClient(base_url) if kind == "raw" else HttpxClient(shared, base_url)

        async def long_poll() -> None:
            client = new_client()
            while not stop.is_set():
                try:
                    await client.post("getUpdates", {"timeout": "1"})
                except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                    errors[f"getUpdates {type(exc).__name__}"] += 1
                    client = new_client()
            await client.close()

        async def sender(n: int, deadline: float) -> None:
            nonlocal done
            client = new_client()
            form = {"chat_id": str(FIRST_CHAT + n % CHATS), "text": f"消息 {n}"}
            while time.monotonic() < deadline:
                try:
                    status = await client.post("sendMessage", form)
                except (OSError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
                    errors[type(exc).__name__] += 1
                    client = new_client()
                    continue
                if status == 200:
                    done += 1
                else:
                    errors[f"HTTP {status}"] += 1
            await client.close()

        polling = [asyncio.create_task(long_poll()) for _ in range(polls)]
        start = time.monotonic()
        await asyncio.gather(*(sender(first + n, start + seconds) for n in range(clients)))
        elapsed = time.monotonic() - start
        stop.set()
        await asyncio.gather(*polling)
    return done, errors, elapsed


def load_process(args: tuple) -> tuple:
    return asyncio.run(load(*args))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(pool, base_url: str, kind: str, clients: int, procs: int, seconds: float) -> tuple:  # type: ignore[no-untyped-def]
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    firsts = [sum(shares[:i]) for i in range(procs)]
    jobs = [
        (base_url, kind, first, share, LONG_POLLS if i == 0 else 0, seconds)
        for i, (first, share) in enumerate(zip(firsts, shares, strict=True))
        if share
    ]
    results = pool.map(load_process, jobs)
    done = sum(r[0] for r in results)
    errors: Counter = sum((r[1] for r in results), Counter())
    elapsed = max(r[2] for r in results)
    return done, errors, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,8,32,300", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per level")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--procs", type=int, default=1, help="client processes sharing the clients")
    parser.add_argument("--emulator", default="", help="load the emulator module from this file")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    print(
        f"emulator: {args.emulator or 'bot/devtools/emulator.py'} in a child process; "
        f"load: {args.procs} {args.client} client process(es), {LONG_POLLS} long polls open; "
        f"{os.cpu_count()} CPUs"
    )
    print(f"{'clients':>8}{'requests':>10}{'req/s':>9}{'emu CPU µs/req':>16}   errors")
    ctx = multiprocessing.get_context("spawn")
    with (
        EmulatorProcess(token=TOKEN, setup=setup_chats, module_path=args.emulator or None) as emu,
        ctx.Pool(args.procs) as pool,
    ):
        for level in levels:
            pool.map(load_process, [(emu.base_url, args.client, 0, min(level, 8), 0, 0.3)])  # warm up
            cpu_before = cpu_seconds(emu.pid)
            done, errors, elapsed = measure(pool, emu.base_url, args.client, level, args.procs, args.seconds)
            cpu = cpu_seconds(emu.pid) - cpu_before
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
            per_request = cpu / done * 1e6 if done else float("nan")
            print(f"{level:>8}{done:>10}{done / elapsed:>9.0f}{per_request:>16.0f}   {shown}")


if __name__ == "__main__":
    main()
