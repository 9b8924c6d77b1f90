"""Webhooks received by threads of one process at the same moment share one INSERT
and one commit on PostgreSQL, each thread is told its own row's id, and a row the
database refuses fails alone (tests/alerts/intake/group_commit_check.py)."""

from __future__ import annotations

import pytest

from tests.processes import run_on_postgresql

pytestmark = pytest.mark.slow


def test_concurrent_webhooks_share_a_commit_on_postgresql(tmp_path) -> None:
    found = run_on_postgresql(
        "tests.alerts.intake.group_commit_check",
        tmp_path,
        # No broker: the wake-up after each commit fails quietly, as it does in
        # production when Redis is down.
        CELERY_BROKER_URL="memory://",
    )
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
