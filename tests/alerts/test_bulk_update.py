"""``update_objects`` (the intake's one-statement replacement for Django's
``bulk_update``) writes JSON, nullable datetimes and text exactly, on SQLite and on
PostgreSQL, where each VALUES column is cast to its field's type."""

from __future__ import annotations

import pytest

from tests.alerts.bulk_update_check import check
from tests.processes import run_on_postgresql


@pytest.mark.django_db
def test_update_objects_writes_every_field_type_on_sqlite() -> None:
    assert check() == {"mismatches": [], "untouched": True}


@pytest.mark.slow
def test_update_objects_writes_every_field_type_on_postgresql(tmp_path) -> None:
    result = run_on_postgresql("tests.alerts.bulk_update_check", tmp_path)
    assert result == {"mismatches": [], "untouched": True}
