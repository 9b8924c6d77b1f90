"""The insights' SQL (JSON label keys, a window under an aggregate, percentiles,
the reopen lookup) gives the same answers on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.alerts.insights.sql_check import EXPECTED, check
from tests.processes import REPO, PostgresServer, django_env


@pytest.mark.django_db
def test_grouping_mtbf_and_reopens_on_sqlite() -> None:
    assert check() == EXPECTED


@pytest.mark.slow
def test_grouping_mtbf_and_reopens_on_postgresql(tmp_path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.alerts.insights.sql_check"],
            cwd=REPO,
            env=django_env(
                DATABASE_URL=postgres.url(), ONCALL_DATA_DIR=str(tmp_path / "data")
            ),
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        postgres.destroy()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == EXPECTED
