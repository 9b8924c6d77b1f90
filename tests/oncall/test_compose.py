"""docker-compose.yml is valid and wired to real parts of this project.

There is no Docker engine on the build machines, so this checks what can be checked
without one: the file against the official Compose schema, the services and their
healthchecks, that each command names a real entry point, and that every variable
passed to our containers is one the settings read.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.management import get_commands

import oncall.granian_server  # records the names it reads
import oncall.gunicorn_conf  # noqa: F401 - records the names it reads
from oncall.env import NAMES_READ
from tests.processes import REPO

SCHEMA = REPO / "tests" / "data" / "compose-spec.json"
OUR_SERVICES = {"migrate", "web", "worker", "beat"}
# Read by libraries, not by our settings module.
READ_ELSEWHERE = {"PROMETHEUS_MULTIPROC_DIR"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_it_is_valid_against_the_compose_specification(compose):
    # The schema says draft-07 under a URL jsonschema does not recognise; name it.
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(compose)


def test_it_has_the_production_services_with_healthchecks(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis"} | OUR_SERVICES
    for name in services.keys() - {"migrate"}:
        assert "test" in services[name].get("healthcheck", {}), name
    for name in ("web", "worker", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["postgres"]["condition"] == "service_healthy"
        assert needs["redis"]["condition"] == "service_healthy"


def resolve_command(command: list[str]) -> None:
    """Fail unless the container command names a real entry point of this project."""
    program, *args = command
    if program == "gunicorn":
        config = next(a for a in args if a.startswith("python:"))
        importlib.import_module(config.removeprefix("python:"))
        module, _, attr = args[-1].partition(":")
        assert callable(getattr(importlib.import_module(module), attr))
    elif program == "celery":
        assert args[0] == "-A"
        app = importlib.import_module(args[1]).celery_app
        assert app.main == "oncall"
        assert args[2] in {"worker", "beat"}
    elif program == "python" and args[0] == "-m":
        # The web server: a module with main() that serves the WSGI application.
        server = importlib.import_module(args[1])
        assert callable(server.main)
        module, _, attr = server.TARGET.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))
    elif program == "python":
        assert args[0] == "manage.py" and (REPO / "manage.py").exists()
        assert args[1] in get_commands(), f"no management command {args[1]}"
    else:
        raise AssertionError(f"unknown program {program!r}")


def test_commands_resolve_to_real_entry_points(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    default_cmd = json.loads(re.search(r"^CMD (.+)$", dockerfile, re.M).group(1))
    resolve_command(default_cmd)
    for name in OUR_SERVICES:
        resolve_command(compose["services"][name]["command"])


def test_every_variable_passed_is_read_by_the_settings(compose):
    for name in OUR_SERVICES:
        env = compose["services"][name]["environment"]
        unread = set(env) - NAMES_READ - READ_ELSEWHERE
        assert unread == set(), f"{name} passes variables nothing reads: {unread}"
        assert env["DEBUG"] == "0"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")


def test_production_secrets_are_required_not_defaulted(compose):
    env = compose["x-oncall-env"]
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "PUBLIC_BASE_URL"):
        assert ":?" in env[name], f"{name} must be required (${{{name}:?...}})"


def test_dockerfile_copies_every_python_package():
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("oncall", "scheduling", "alerts", "templates"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert Path(REPO / "pyproject.toml").exists()
