"""Webhooks received by threads of one process at the same moment share one INSERT
and one commit on PostgreSQL, each thread is told its own row's id, and a row the
database refuses fails alone (tests/alerts/intake/group_commit_check.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import REPO, PostgresServer, django_env

pytestmark = pytest.mark.slow


def test_concurrent_webhooks_share_a_commit_on_postgresql(tmp_path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.alerts.intake.group_commit_check"],
            cwd=REPO,
            env=django_env(
                DATABASE_URL=postgres.url(),
                ONCALL_DATA_DIR=str(tmp_path / "data"),
                # No broker: the wake-up after each commit fails quietly, as it
                # does in production when Redis is down.
                CELERY_BROKER_URL="memory://",
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        postgres.destroy()
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        # Everyone told an id was told the id of the row holding its own body.
        "told_matches_stored": [
            "a-0",
            "a-1",
            "a-2",
            "a-3",
            "a-4",
            "a-5",
            "b-0",
            "b-1",
            "b-2",
            "b-4",
            "b-5",
        ],
        "refused": {"b-3": "IntegrityError"},
        # The first INSERT alone, then the five that queued behind it in one.
        "first_round_transactions": 2,
        "first_round_shared": ["a-1", "a-2", "a-3", "a-4", "a-5"],
    }
