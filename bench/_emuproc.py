"""Run the Bot API emulator in a child process, as Telegram would be: another machine, not threads
competing with the bot under test for the GIL. Shared by the benchmarks.

    with EmulatorProcess(token=TOKEN, setup=add_users, collect=summarise) as emu_proc:
        ... point the bot at emu_proc.base_url ...
        emu_proc.call("command", arg)   # answered by `serve` in the child (optional)
    emu_proc.result                     # what `collect(emu)` returned in the child at the end

`setup(emu)`, `serve(emu, conn)` and `collect(emu)` run in the child; they must be picklable
(module-level functions or functools.partial of them). `serve` reads the parent's `call()`s from
`conn` and answers each with ``conn.send(("ok", value))`` until it receives ``("stop",)``; without
it the child just waits for that.
The child is started with "spawn": it shares nothing with the parent but the code.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
from collections.abc import Callable
from typing import Any

STOP = ("stop",)


def _load_emulator_module(path: str | None) -> Any:
    if not path:
        from bot.devtools import emulator

        return emulator
    spec = importlib.util.spec_from_file_location("_bench_emulator", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _child(conn, token: str, emu_kwargs: dict, setup, serve, collect, module_path) -> None:  # type: ignore[no-untyped-def]
    try:
        module = _load_emulator_module(module_path)
        with module.BotApiEmulator(token=token, **emu_kwargs) as emu:
            if setup is not None:
                setup(emu)
            conn.send(("ready", emu.base_url, emu.base_file_url))
            if serve is not None:
                serve(emu, conn)
            else:
                while conn.recv() != STOP:
                    conn.send(("error", "no serve() in the emulator process"))
            conn.send(("done", collect(emu) if collect is not None else None))
    except BaseException as exc:  # tell the parent instead of leaving it waiting
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise


class EmulatorProcess:
    """A BotApiEmulator (plus optional load generator) in a spawned child process."""

    def __init__(
        self,
        token: str,
        *,
        emu_kwargs: dict | None = None,
        setup: Callable[[Any], None] | None = None,
        serve: Callable[[Any, Any], None] | None = None,
        collect: Callable[[Any], Any] | None = None,
        module_path: str | None = None,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child_conn = ctx.Pipe()
        self._process = ctx.Process(
            target=_child,
            args=(child_conn, token, emu_kwargs or {}, setup, serve, collect, module_path),
            name="bot-api-emulator",
            daemon=True,
        )
        self.base_url = self.base_file_url = ""
        self.result: Any = None

    def start(self) -> EmulatorProcess:
        self._process.start()
        self.base_url, self.base_file_url = self._expect("ready")
        return self

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def call(self, *message: Any) -> Any:
        """Send a command to the child's `serve` and wait for its answer (blocking)."""
        self._conn.send(message)
        return self._expect("ok")[0]

    def stop(self) -> Any:
        if self._process.is_alive():
            self._conn.send(STOP)
            (self.result,) = self._expect("done")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        return self.result

    def _expect(self, kind: str) -> tuple:
        if not self._conn.poll(600):
            raise RuntimeError("the emulator process did not answer within 600 s")
        answer = self._conn.recv()
        if answer[0] != kind:
            raise RuntimeError(f"emulator process: {answer}")
        return answer[1:]

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.stop()
        else:  # already failing: do not mask the error with a stop that may fail too
            self._process.kill()
            self._process.join(timeout=10)
