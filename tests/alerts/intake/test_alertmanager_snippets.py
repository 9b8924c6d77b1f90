"""The alertmanager.yml we hand out is a configuration Alertmanager accepts
(issue 11, items 9 and 11): each auth style, with a token and with the placeholder."""

from __future__ import annotations

import pytest

from alerts.intake.integrations import alertmanager_snippets
from tests.amtool import amtool_check


@pytest.mark.parametrize("style", ["path", "bearer", "basic"])
@pytest.mark.parametrize("token", ["<token>", "Zk3q-9xYtV0aLr_2Jm8WcQ"])
def test_amtool_accepts_each_snippet(style: str, token: str) -> None:
    config = alertmanager_snippets(token)[style]
    checked = amtool_check(config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
