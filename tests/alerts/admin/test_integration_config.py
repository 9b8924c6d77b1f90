"""The integration page shows the alertmanager.yml to paste, with a placeholder
where the token goes: the token itself is shown once, when it is made (item 9)."""

from __future__ import annotations

import html
import re

import pytest

from tests.amtool import amtool_check

pytestmark = pytest.mark.django_db


def test_the_change_page_shows_a_complete_config_without_the_token(
    admin_client, integration
):
    page = admin_client.get(
        f"/admin/alerts/integration/{integration.pk}/change/"
    ).content.decode()
    config = html.unescape(
        re.search(r'<pre id="alertmanager-config">(.*?)</pre>', page, re.S).group(1)
    )
    assert "route:\n  receiver: oncall" in config
    assert "credentials: '<token>'" in config
    assert amtool_check(config).returncode == 0
