"""The admin links to nothing that is not there (item 9: "View site" was a 404)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_has_no_view_site_link(admin_client) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert "View site" not in page
