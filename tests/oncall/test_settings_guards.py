"""The settings refuse unsafe production configurations, with a message that helps."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.processes import REPO, django_env

CLEAN = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "LOG_FORMAT",
    "PUBLIC_BASE_URL",
)


SHOW_DEBUG_AND_HOSTS = (
    "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)"
)


def start_django(code: str = "", **env: str) -> subprocess.CompletedProcess:
    base = django_env()
    for name in CLEAN:
        base.pop(name, None)
    base.update(env)
    script = "import django; django.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_the_dev_secret_key_when_debug_is_off():
    result = start_django(DEBUG="0", ALLOWED_HOSTS="oncall.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "set SECRET_KEY" in result.stderr.replace("Set SECRET_KEY", "set SECRET_KEY")


def test_it_refuses_an_empty_secret_key_when_debug_is_off():
    result = start_django(DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="a.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_empty_allowed_hosts_when_debug_is_off():
    result = start_django(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is empty" in result.stderr


def test_it_starts_in_production_mode_when_configured():
    result = start_django(
        SHOW_DEBUG_AND_HOSTS,
        DEBUG="0",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="a.example,b.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['a.example', 'b.example']"


def test_dev_defaults_start_with_debug_on_and_local_hosts():
    result = start_django(SHOW_DEBUG_AND_HOSTS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['127.0.0.1', 'localhost', '[::1]']"


def test_it_refuses_an_ambiguous_boolean():
    result = start_django(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_it_refuses_a_relative_public_base_url():
    result = start_django(PUBLIC_BASE_URL="oncall.example.com")
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL" in result.stderr


def test_json_log_format_writes_one_json_object_per_line():
    result = start_django(
        "import logging; logging.getLogger('oncall.test').warning('hello %s', 'world')",
        LOG_FORMAT="json",
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    record = json.loads(lines[-1])
    assert record["message"] == "hello world"
    assert record["level"] == "WARNING"
    assert record["logger"] == "oncall.test"
    assert "time" in record


def test_text_log_format_is_one_line_per_event():
    result = start_django(
        "import logging; logging.getLogger('oncall.test').warning('hello')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("WARNING oncall.test hello")
    assert len(result.stderr.strip().splitlines()) == 1


def test_it_refuses_an_unknown_log_format():
    result = start_django(LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr


def test_it_refuses_to_skip_twilio_signatures_in_production():
    result = start_django(
        DEBUG="0",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="a.example",
        TWILIO_VALIDATE_SIGNATURES="0",
    )
    assert result.returncode != 0
    assert "TWILIO_VALIDATE_SIGNATURES=0 is only allowed with DEBUG on" in result.stderr


def test_it_refuses_an_unknown_paging_transport():
    result = start_django(PAGING_TRANSPORT="carrier-pigeon")
    assert result.returncode != 0
    assert "PAGING_TRANSPORT='carrier-pigeon'" in result.stderr


def test_it_refuses_an_api_throttle_rate_it_cannot_read():
    result = start_django(DEBUG="1", API_THROTTLE_RATE="lots")
    assert result.returncode != 0
    assert "API_THROTTLE_RATE='lots': use e.g. 600/min" in result.stderr


def test_it_refuses_a_cache_url_that_is_not_redis():
    result = start_django(DEBUG="1", CACHE_URL="memcached://x")
    assert result.returncode != 0
    assert "CACHE_URL='memcached://x': use redis://" in result.stderr
