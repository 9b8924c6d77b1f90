"""Two real workers race on the same groups, on PostgreSQL.

Each group gets three deliveries spread over the inbox (firing, its repeat, a
partial resolve), so batches in both workers hold deliveries of the same groups and
try to open their incidents at the same moment.  The one-open-incident constraint
and the retries must leave exactly one incident per group, and lose nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import REPO, CeleryWorker, PostgresServer, django_env, wait_until

pytestmark = pytest.mark.slow


def run(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def sessions(postgres: PostgresServer) -> int:
    """Connections ever made to the database (PostgreSQL's own statistics)."""
    import psycopg

    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        (count,) = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = 'oncall'"
        ).fetchone()
    return count


def test_two_workers_on_postgresql_open_exactly_one_incident_per_group(
    redis_server, tmp_path
):
    postgres = PostgresServer()
    postgres.start()
    workers: list[CeleryWorker] = []
    try:
        env = django_env(
            DATABASE_URL=postgres.url(),
            CELERY_BROKER_URL=f"{redis_server.url}/3",
            ONCALL_DATA_DIR=str(tmp_path / "data"),
            # Small batches: many of them, interleaved between the two workers.
            ALERTMANAGER_BATCH_SIZE="7",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        for n in range(2):
            worker = CeleryWorker(env, tmp_path / f"worker{n}.log")
            worker.start()
            workers.append(worker)
        for worker in workers:
            wait_until(lambda w=worker: "ready" in w.log(), 60, "worker", 0.2)

        sessions_before = sessions(postgres)
        loaded = run(env, "-m", "tests.alerts.intake.race_script", "load")
        groups = loaded["deliveries"] // 3

        def summary() -> dict:
            return run(env, "-m", "tests.alerts.intake.race_script", "check")

        try:
            wait_until(lambda: summary()["pending"] == 0, 120, "all processed", 0.5)
        except TimeoutError:
            for worker in workers:
                print(worker.log()[-5000:])
            raise
        result = summary()
        # Workers keep their connections between tasks (oncall/celery.py); with
        # Celery's default of reconnecting around every task this would be >= 120.
        assert sessions(postgres) - sessions_before < 40
        assert result["errors"] == []
        assert result["incidents"] == groups
        assert result["open"] == groups
        assert result["max_incidents_per_group"] == 1
        assert result["alerts"] == 3 * groups
        assert result["links"] == 3 * groups
        assert result["resolved_links"] == groups  # checkout-2 of each group
        for worker in workers:
            log = worker.log()
            assert "process_delivery" in log
            # Informational (-s): how often the race was actually lost and retried.
            print(
                "batch fallbacks:",
                log.count("batch processing failed"),
                "race retries:",
                log.count("lost a race"),
            )
    finally:
        for worker in workers:
            worker.stop()
        postgres.destroy()
