"""The rotation form's participants heading reads as English (item 9)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_participants_heading_is_plural_not_order_s(admin_client) -> None:
    page = admin_client.get("/admin/scheduling/rotation/add/").content.decode()
    assert "Participants (in rotation order)" in page
    assert "order)s" not in page.lower()
