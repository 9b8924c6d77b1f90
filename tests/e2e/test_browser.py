"""Scenario 8: a real browser in the operator's console."""

from __future__ import annotations

import pytest

from tests.e2e.browser import browser_page, screenshot

OPERATOR = ("operator", "operator-pass-123")


@pytest.fixture(scope="module")
def operator(stack):
    result = stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model as g;"
        "u, _ = g().objects.get_or_create(username='operator',"
        " defaults={'is_staff': True, 'is_superuser': True});"
        f"u.set_password('{OPERATOR[1]}'); u.save()",
    )
    assert result.returncode == 0, result.stderr
    return OPERATOR


def log_in(page, stack, operator):
    username, password = operator
    page.goto(stack.url + "/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(stack.url + "/admin/")


def test_an_operator_logs_into_the_admin(stack, operator):
    with browser_page() as page:
        log_in(page, stack, operator)
        assert page.locator("#content").get_by_text("Teams").first.is_visible()
        # Static files come from WhiteNoise under gunicorn with DEBUG off.
        css = page.evaluate(
            "getComputedStyle(document.querySelector('#header')).backgroundColor"
        )
        assert css not in ("", "rgba(0, 0, 0, 0)"), "admin CSS did not load"
        screenshot(page, "admin-index")
