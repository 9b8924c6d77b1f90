"""Two workers' batches on PostgreSQL claim disjoint sets: a batch goes past the
rows another one holds (SKIP LOCKED) instead of waiting for them, and between
them every step fires once and every page goes out once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.processes import REPO, PostgresServer, django_env

pytestmark = pytest.mark.slow


def test_concurrent_batches_on_postgresql_fire_and_send_disjoint_sets(tmp_path):
    postgres = PostgresServer()
    postgres.start()
    try:
        env = django_env(
            DATABASE_URL=postgres.url(),
            ONCALL_DATA_DIR=str(tmp_path / "data"),
            PAGING_TRANSPORT="console",
            STORM_MAX_PAGES="0",
            LOG_LEVEL="WARNING",
        )
        done = subprocess.run(
            [sys.executable, "-m", "tests.alerts.escalation.pg_batch_script"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        postgres.destroy()

    incidents, page_ids = result["incidents"], result["page_ids"]
    for race, ids in ((result["steps"], incidents), (result["sends"], page_ids)):
        assert race["errors"] == []
        assert not race["b_waited"]  # went past A's rows, did not queue behind them
        a, b = race["done"]["A"], race["done"]["B"]
        assert a == ids[:60]  # A's whole claim
        assert b == ids[60:]  # B: everything A did not hold
    assert result["pages"] == len(incidents) == 100
    assert result["sent_pages"] == result["outbox"] == 100
