from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api_client import bearer_client


@pytest.fixture
def staff_api(db):
    return bearer_client(get_user_model().objects.create_user("ops", is_staff=True))


@pytest.fixture
def writes():
    """The INSERT/UPDATE/DELETE statements run inside the ``with`` block."""

    class Writes(CaptureQueriesContext):
        @property
        def statements(self) -> list[str]:
            return [
                q["sql"]
                for q in self.captured_queries
                if q["sql"].lstrip().split(" ", 1)[0].upper()
                in ("INSERT", "UPDATE", "DELETE")
            ]

    return lambda: Writes(connection)
