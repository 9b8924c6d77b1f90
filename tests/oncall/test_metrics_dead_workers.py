"""A dead web process's live gauges leave /metrics (``forget_dead_processes``):
gunicorn's child_exit hook and, under granian, the next worker's start do it."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from oncall.metrics import forget_dead_processes

# A process that writes one live gauge and one counter in multiprocess mode, then
# prints its pid and (with "wait") stays alive until its stdin closes.
WRITER = """
import os, sys
from prometheus_client import Counter, Gauge
Gauge("busy_threads", "threads busy", multiprocess_mode="livesum").set(3)
Counter("served", "requests served").inc(5)
print(os.getpid(), flush=True)
if sys.argv[1] == "wait":
    sys.stdin.read()
"""


def scrape(directory) -> str:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return generate_latest(registry).decode()


def test_a_dead_process_loses_its_live_gauges_and_keeps_its_counters(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    dead = subprocess.run(
        [sys.executable, "-c", WRITER, "exit"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    living = subprocess.Popen(
        [sys.executable, "-c", WRITER, "wait"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        living_pid = int(living.stdout.readline())
        before = scrape(tmp_path)
        assert "busy_threads 6.0" in before  # both processes' gauges summed

        assert forget_dead_processes(str(tmp_path)) == [dead_pid]

        after = scrape(tmp_path)
        assert "busy_threads 3.0" in after  # the living one's only
        assert "served_total 10.0" in after  # a dead process's count still counts
        assert (tmp_path / f"gauge_livesum_{living_pid}.db").exists()
        assert not (tmp_path / f"gauge_livesum_{dead_pid}.db").exists()
        assert forget_dead_processes(str(tmp_path)) == []
    finally:
        living.stdin.close()
        living.wait(timeout=30)


def test_without_a_directory_it_does_nothing(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert forget_dead_processes() == []
