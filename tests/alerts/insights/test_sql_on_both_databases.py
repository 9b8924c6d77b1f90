"""The insights' SQL (JSON label keys, a window under an aggregate, percentiles,
the reopen lookup) gives the same answers on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.alerts.insights.sql_check import EXPECTED, check
from tests.processes import run_on_postgresql


@pytest.mark.django_db
def test_grouping_mtbf_and_reopens_on_sqlite() -> None:
    assert check() == EXPECTED


@pytest.mark.slow
def test_grouping_mtbf_and_reopens_on_postgresql(tmp_path) -> None:
    assert run_on_postgresql("tests.alerts.insights.sql_check", tmp_path) == EXPECTED
