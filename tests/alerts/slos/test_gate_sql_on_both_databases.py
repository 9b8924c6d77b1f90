"""The deploy gate's statement and the token lookup give the same answers on
SQLite and on PostgreSQL (tests/alerts/slos/gate_sql_check.py)."""

from __future__ import annotations

import pytest

from tests.alerts.slos.gate_sql_check import EXPECTED, HOT_SQL, check
from tests.processes import run_on_postgresql


@pytest.mark.django_db
def test_the_gate_and_the_token_lookup_on_sqlite() -> None:
    assert check() == EXPECTED


@pytest.mark.slow
def test_the_gate_and_the_token_lookup_on_postgresql(tmp_path) -> None:
    found = run_on_postgresql("tests.alerts.slos.gate_sql_check", tmp_path)
    assert isinstance(found, dict)
    assert found.pop("hot_sql") == HOT_SQL
    assert found == EXPECTED
