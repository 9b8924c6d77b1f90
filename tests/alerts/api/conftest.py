from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.api_client import bearer_client


@pytest.fixture
def staff_api(db):
    """An API client of a staff user (configuration is staff's)."""
    return bearer_client(get_user_model().objects.create_user("ops", is_staff=True))
