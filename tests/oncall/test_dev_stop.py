"""Ctrl-C on ``make run`` stops web, worker and beat cleanly (issue 11, item 12).

Before: the prefork pool's children got honcho's SIGTERM directly (two "exited
with signal 15" errors) and the worker noticed its shutdown flag only after its
blocking loop's 2 s wait, then honcho gave up and sent SIGKILL.  ``make
bench-dev-stop`` prints the time it takes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oncall.worker import DRAIN_WAIT_SECONDS, _synloop_with_short_waits
from tests.dev_stack import DevStack, manage

ERROR = re.compile(r"ERROR|CRITICAL|Traceback|exited with|SIGKILL")


@pytest.mark.slow
def test_ctrl_c_stops_web_worker_and_beat_without_errors(tmp_path: Path) -> None:
    manage(tmp_path, "migrate", "-v0")
    stack = DevStack(tmp_path)
    stack.start()
    try:
        stack.wait_ready()
        # Ctrl-C between tasks: what is measured is stopping, not a task's length.
        stack.wait_idle()
        _, after = stack.interrupt()
    finally:
        stack.kill()

    def first(needle: str) -> int:
        return next(i for i, line in enumerate(after) if needle in line)

    assert first("SIGINT received") < first("Warm shutdown") < first("worker.1 stopped")
    for name in ("web.1", "worker.1", "beat.1"):
        assert any(f"{name} stopped" in line for line in after), after
    # honcho never had to SIGKILL anyone, and nobody logged an error on the way out.
    errors = [line for line in after if ERROR.search(line)]
    assert errors == [], "\n".join(after)
    assert stack.proc is not None and stack.proc.returncode in (0, 130)


class _Connection:
    def __init__(self) -> None:
        self.waits: list[float | None] = []

    def drain_events(self, timeout: float | None = None) -> None:
        self.waits.append(timeout)


def test_the_blocking_loop_waits_briefly_so_a_sigterm_is_noticed(monkeypatch) -> None:
    from celery.worker import loops

    def synloop(obj, connection, *args, **kwargs) -> None:  # Celery's waits 2 s
        connection.drain_events(timeout=2.0)
        connection.drain_events()

    monkeypatch.setattr(loops, "synloop", synloop)
    connection = _Connection()
    _synloop_with_short_waits(object(), connection)
    assert connection.waits == [DRAIN_WAIT_SECONDS, DRAIN_WAIT_SECONDS]
    # The connection's own method is back once the loop returns.
    assert "drain_events" not in vars(connection)


def test_the_worker_uses_the_consumer_with_short_waits() -> None:
    from oncall.celery import app

    assert app.conf.worker_consumer == "oncall.worker:Consumer"
