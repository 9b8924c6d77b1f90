"""``update_objects`` (the intake's one-statement replacement for Django's
``bulk_update``) writes JSON, nullable datetimes and text exactly, on SQLite and on
PostgreSQL, where each VALUES column is cast to its field's type."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.alerts.bulk_update_check import check
from tests.processes import REPO, PostgresServer, django_env


@pytest.mark.django_db
def test_update_objects_writes_every_field_type_on_sqlite() -> None:
    assert check() == {"mismatches": [], "untouched": True}


@pytest.mark.slow
def test_update_objects_writes_every_field_type_on_postgresql(tmp_path) -> None:
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tests.alerts.bulk_update_check"],
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
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"mismatches": [], "untouched": True}
