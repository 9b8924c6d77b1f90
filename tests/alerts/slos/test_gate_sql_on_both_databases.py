"""The deploy gate's statement and the token lookup give the same answers on
SQLite and on PostgreSQL (tests/alerts/slos/gate_sql_check.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.alerts.slos.gate_sql_check import EXPECTED, HOT_SQL, check
from tests.processes import REPO, PostgresServer, django_env


@pytest.mark.django_db
def test_the_gate_and_the_token_lookup_on_sqlite() -> None:
    assert check() == EXPECTED


@pytest.mark.slow
def test_the_gate_and_the_token_lookup_on_postgresql(tmp_path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.alerts.slos.gate_sql_check"],
            cwd=REPO,
            env=django_env(
                DATABASE_URL=postgres.url(), ONCALL_DATA_DIR=str(tmp_path / "data")
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        postgres.destroy()
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found.pop("hot_sql") == HOT_SQL
    assert found == EXPECTED
