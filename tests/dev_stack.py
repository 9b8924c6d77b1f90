"""Run the embedded default exactly as ``make run`` does: honcho on Procfile.dev.

For the tests and benchmarks about the developer's stack (stopping it, paging with
the filesystem broker).  A throwaway data directory and a free port; the rest is
``make run``'s: DEBUG=1, the venv's bin first on PATH, ``honcho -f Procfile.dev
start`` (honcho starts each process in a session of its own; SIGINT to honcho,
what Ctrl-C does, makes it send SIGTERM to each process group).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from tests.processes import free_port

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def dev_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        DEBUG="1",
        ONCALL_DATA_DIR=str(data_dir),
        ONCALL_DEV_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(data_dir: Path, *args: str) -> str:
    """``manage.py`` against the stack's data directory, as ``make run`` calls it."""
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=REPO,
        env=dev_env(data_dir, 0),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


class DevStack:
    """``honcho -f Procfile.dev start`` with its output collected line by line."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        self.log: list[tuple[float, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "honcho"), "-f", "Procfile.dev", "start"],
            cwd=REPO,
            env=dev_env(self.data_dir, self.port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))
        self.lines.put((time.monotonic(), None))

    def _collect(self, wait: float) -> bool:
        """Move output into ``log``; False once honcho's output ended."""
        try:
            at, line = self.lines.get(timeout=wait)
        except queue.Empty:
            return True
        if line is None:
            return False
        self.log.append((at, line))
        return True

    def wait_ready(self, timeout: float = 180) -> None:
        """Until the web server answers, the worker is ready and beat started."""
        deadline = time.monotonic() + timeout
        web = False
        while True:
            text = "\n".join(line for _, line in self.log)
            worker = "worker.1" in text and " ready." in text
            beat = "Starting..." in text
            if not web:
                web = self._answers("/healthz")
            if web and worker and beat:
                return
            if time.monotonic() > deadline or not self._collect(0.2):
                raise RuntimeError("the dev stack did not start:\n" + text[-4000:])

    def wait_idle(self, timeout: float = 180) -> None:
        """Until every task the worker has received has finished (succeeded or
        raised).  Beat's first periodic tasks may reach a worker that was slow to
        start; a Ctrl-C in the middle of one waits for it (warm shutdown), which
        on a loaded machine can outlast honcho's 5 s."""
        deadline = time.monotonic() + timeout
        received = re.compile(r"Task \S+\[([0-9a-f-]+)\] received")
        finished = re.compile(r"Task \S+\[([0-9a-f-]+)\] (succeeded|raised|failed)")
        while True:
            lines = [line for _, line in self.log]
            pending = {m.group(1) for x in lines if (m := received.search(x))}
            pending -= {m.group(1) for x in lines if (m := finished.search(x))}
            if not pending:
                return
            if time.monotonic() > deadline or not self._collect(0.2):
                raise RuntimeError(f"tasks still running: {sorted(pending)}")

    def wait_for_line(self, needle: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(needle in line for _, line in self.log):
            if time.monotonic() > deadline or not self._collect(0.2):
                raise RuntimeError(f"no line with {needle!r}")

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=1):
                return True
        except OSError:
            return False

    def interrupt(self, timeout: float = 60) -> tuple[float, list[str]]:
        """Ctrl-C: SIGINT to honcho; (seconds until it exited, lines after)."""
        assert self.proc is not None
        while self._collect(0.05) and not self.lines.empty():
            pass
        mark = len(self.log)
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout)
        took = time.monotonic() - sent
        while self._collect(5):
            pass
        return took, [line for _, line in self.log[mark:]]

    def process_pids(self, name: str) -> int:
        """The pid honcho reported for ``name`` (e.g. ``worker.1``)."""
        for _, line in self.log:
            if f"{name} started (pid=" in line:
                return int(line.rsplit("pid=", 1)[1].rstrip(")"))
        raise LookupError(name)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
