"""Production defaults: check --deploy is clean with docker-compose's settings,
/metrics can require a token, admin logins are throttled."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from tests.processes import REPO, django_env

COMPOSE_ENV = {
    # docker-compose.yml's x-oncall-env, with the values the README tells to set.
    "DEBUG": "0",
    "ALLOWED_HOSTS": "oncall.example.com",
    "PUBLIC_BASE_URL": "https://oncall.example.com",
    "DATABASE_URL": "postgres://oncall:oncall@postgres:5432/oncall",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "LOG_FORMAT": "json",
    "PAGING_TRANSPORT": "console",
}


@pytest.mark.parametrize("behind_tls_proxy", ["0", "1"])
def test_check_deploy_is_clean_with_the_compose_settings(tmp_path, behind_tls_proxy):
    env = django_env(
        **COMPOSE_ENV,
        SECRET_KEY=secrets.token_urlsafe(50),
        BEHIND_TLS_PROXY=behind_tls_proxy,
        ONCALL_DATA_DIR=str(tmp_path),
    )
    env.pop("ONCALL_TEST_DB", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _print_settings(tmp_path, **env: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=django_env(**env, ONCALL_DATA_DIR=str(tmp_path)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_secure_cookies_and_hsts_only_when_served_over_https(tmp_path):
    production = {**COMPOSE_ENV, "SECRET_KEY": secrets.token_urlsafe(50)}
    assert _print_settings(tmp_path, **production) == "True True 31536000"
    plain = {**production, "PUBLIC_BASE_URL": "http://oncall.internal"}
    assert _print_settings(tmp_path, **plain) == "False False 0"


@pytest.mark.django_db
def test_metrics_needs_the_bearer_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "unauthorized"
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789")
    assert right.status_code == 200
    assert b"oncall_http_requests_total" in right.content


@pytest.mark.django_db
def test_metrics_is_open_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 200


@pytest.fixture
def alice(db):
    cache.clear()
    yield get_user_model().objects.create_user(
        "alice", password="correct horse battery", is_staff=True
    )
    cache.clear()


def _login(client, username: str, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR="203.0.113.7",
    )


def test_admin_logins_are_throttled_after_five_failures(client, alice, settings):
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        assert _login(client, "alice", "wrong").status_code == 200
    refused = _login(client, "alice", "correct horse battery")
    assert refused.status_code == 200  # the form again, with the reason
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_throttle_is_per_user_name(client, alice, settings):
    get_user_model().objects.create_user(
        "bob", password="bob's password", is_staff=True
    )
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        _login(client, "alice", "wrong")
    assert _login(client, "bob", "bob's password").status_code == 302


def test_a_good_login_under_the_limit_works(client, alice, settings):
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES - 1):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "correct horse battery").status_code == 302
