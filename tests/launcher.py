"""A warm `lvzhi` for the tests that start the bot as a process of its own (to SIGKILL it).

`python -m bot run` spends most of its start importing the bot (about a second and a half of CPU),
and the crash and delivery tests start it some fifty times. This launcher is one process per test
worker that imports the bot once and forks a fresh process for each start: a real process with its
own pid, environment, working folder, stderr file and exit status, which the test signals and
kills like any other; only the imports were done before the fork (as a pre-loading server does).

    proc = launch(["run"], env=env, cwd=tmp_path, stderr=log_path)   # like subprocess.Popen
    proc.poll(); proc.wait(timeout=15); proc.send_signal(signal.SIGKILL); proc.returncode
    proc = launch([db_url], script=SOURCE, ...)   # like `python -c SOURCE db_url`

Run as a script, it is the launcher itself (see `serve`): requests come as JSON lines on stdin,
it answers with the child's pid and reports each child's exit status, as JSON lines on stdout.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path


class Launched:
    """A process started by the launcher: the part of subprocess.Popen the tests use."""

    def __init__(self, launcher: _Launcher, pid: int, args: list[str]) -> None:
        self._launcher = launcher
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._launcher.exit_status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:  # noqa: ASYNC109 - the Popen signature
        if self.returncode is None:
            status = self._launcher.exit_status(self.pid, wait=True, timeout=timeout)
            if status is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = status
        return self.returncode

    def send_signal(self, sig: int) -> None:
        assert self.pid > 0
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Launcher:
    """The test worker's side: starts the launcher process and reads its answers on a thread."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self._changed = threading.Condition()
        self._pids: list[int] = []
        self._exits: dict[int, int] = {}
        self._ask = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="launcher-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            message = json.loads(line)
            with self._changed:
                if "pid" in message:
                    self._pids.append(message["pid"])
                else:
                    self._exits[message["exit"]] = message["status"]
                self._changed.notify_all()
        with self._changed:  # the launcher is gone: nothing will be answered any more
            self._pids.append(-1)
            self._changed.notify_all()

    def launch(self, args: Sequence[str], env: Mapping[str, str], cwd: Path, stdout: Path | None,
               stderr: Path | None, script: str | None) -> Launched:
        assert self._proc.stdin is not None
        request = {"args": list(args), "env": dict(env), "cwd": str(cwd), "script": script,
                   "stdout": str(stdout) if stdout else None, "stderr": str(stderr) if stderr else None}
        with self._ask:
            with self._changed:
                self._pids.clear()
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            with self._changed:
                # generous: its first answer waits for the bot's imports, slow on a loaded machine; a
                # launcher that dies answers at once (-1)
                if not self._changed.wait_for(lambda: self._pids, timeout=120):
                    raise RuntimeError("the test launcher did not answer")
                pid = self._pids.pop(0)
        if pid <= 0:  # never signal pid 0 or -1: that would be the whole process group
            raise RuntimeError("the test launcher has exited" if pid < 0 else "the test launcher answered pid 0")
        return Launched(self, pid, ["python", "-c", "…", *args] if script else ["lvzhi", *args])

    def exit_status(self, pid: int, *, wait: bool = False, timeout: float | None = None) -> int | None:
        with self._changed:
            if wait:
                self._changed.wait_for(lambda: pid in self._exits, timeout=timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()  # the launcher kills what is left and exits
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


_launcher: _Launcher | None = None
_launcher_lock = threading.Lock()


def launch(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
           stdout: Path | None = None, stderr: Path | None = None, script: str | None = None) -> Launched:
    """`lvzhi ARGS` (or, given `script`, `python -c SCRIPT ARGS`) as a process of its own, forked
    from the warm launcher (started on first use). stdout and stderr go to the files given
    (appended), else to /dev/null; `env` is the whole environment (default: this one's)."""
    global _launcher
    with _launcher_lock:
        if _launcher is None:
            _launcher = _Launcher()
            atexit.register(_launcher.close)
    return _launcher.launch(args, os.environ if env is None else env, cwd or Path.cwd(), stdout, stderr, script)


def run(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:  # noqa: ASYNC109
    """`lvzhi ARGS` to its end, like subprocess.run(…, capture_output=True, text=True)."""
    with tempfile.TemporaryDirectory(prefix="lvzhi-run-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        proc = launch(args, env=env, cwd=cwd, stdout=out, stderr=err)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        read = lambda path: path.read_text(encoding="utf-8") if path.exists() else ""  # noqa: E731
        return subprocess.CompletedProcess(proc.args, code, read(out), read(err))


# --------------------------------------------------------------------------- the launcher process


def _child(request: dict, wakeup: tuple[int, int]) -> None:
    """In the forked process: become `lvzhi ARGS` with the request's environment and folder.
    Never returns: whatever happens, the process ends here (it must not go on as a launcher)."""
    code = 1
    try:
        code = _become(request, wakeup)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _become(request: dict, wakeup: tuple[int, int]) -> int:
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in wakeup:
        os.close(fd)
    devnull = os.open(os.devnull, os.O_RDWR)

    def output(path: str | None) -> int:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else devnull

    os.dup2(devnull, 0)
    os.dup2(output(request["stdout"]), 1)
    os.dup2(output(request["stderr"]), 2)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    script = request["script"]
    sys.argv = ["-c" if script else "lvzhi", *request["args"]]
    code = 0
    try:
        if script:
            exec(compile(script, "<string>", "exec"), {"__name__": "__main__"})
        else:
            from bot.cli import main

            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()  # what the interpreter runs at exit (logging's flush among them)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve() -> None:
    """The launcher: import the bot, then fork a child per request line until stdin closes."""
    import gc
    import importlib
    import select

    import bot.assemble  # everything `lvzhi run` imports, imported once here
    import bot.cli  # noqa: F401
    import bot.services.digest_chart  # noqa: F401 - matplotlib: the weekly digest at start-up draws its charts

    # and what a start imports late: the feature handlers (registered by name), the process's own
    # run loop and leader lock, the database drivers and the HTTP stack (~0.2 s of CPU a start),
    # and `lvzhi sandbox` (the browser tests start it)
    for name in [*bot.assemble.FEATURES, "handlers.digest", "bot.telegram.runtime", "bot.telegram.leader",
                 "bot.core.logs", "aiosqlite", "psycopg", "h11", "httpcore", "certifi",
                 "bot.devtools.sandbox"]:  # fmt: skip
        importlib.import_module(name)
    # What is loaded now lives as long as each child: out of the collector's walks (a child's own
    # full collection at start-up, bot.telegram.app.settle_garbage_collector, was ~0.1 s of CPU),
    # and its pages stay shared with the launcher.
    gc.collect()
    gc.freeze()

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select through the wakeup fd
    children: set[int] = set()
    stdin = sys.stdin.fileno()
    pending = b""

    def answer(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    def reap() -> None:
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            answer({"exit": pid, "status": os.waitstatus_to_exitcode(status)})

    while True:
        readable, _, _ = select.select([stdin, wake_r], [], [])
        if wake_r in readable:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
            reap()
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(request, (wake_r, wake_w))
                children.add(pid)
                answer({"pid": pid})
    for pid in children:  # the tests are over: nothing of theirs keeps running
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    serve()
