from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.processes import RedisServer

# A real Celery worker (a separate process) must see the test database, which an
# in-memory SQLite database cannot offer: give it a file unless ONCALL_TEST_DB names
# one.  Runs at import, before pytest-django creates the test database.
_db = settings.DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3" and not _db.get("TEST", {}).get(
    "NAME"
):
    _db.setdefault("TEST", {})["NAME"] = str(
        Path(tempfile.mkdtemp(prefix="oncall-test-db-")) / "test.sqlite3"
    )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, for the whole session."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Published:
    """A task published by name through ``alerts.queue``."""

    name: str
    args: tuple
    countdown: float | None


@pytest.fixture
def published(monkeypatch) -> list[Published]:
    """Record the tasks published through ``alerts.queue`` instead of sending them:
    the one publish point every service goes through (Celery's ``send_task``)."""
    from oncall.celery import app

    calls: list[Published] = []

    def record(name: str, args: tuple = (), countdown: float | None = None) -> None:
        calls.append(Published(name, tuple(args), countdown))

    monkeypatch.setattr(app, "send_task", record)
    return calls


@pytest.fixture
def fake_twilio(settings):
    """A local fake of Twilio's API; the Twilio transport is pointed at it."""
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

    fake = FakeTwilio().start()
    settings.PAGING_TRANSPORT = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def shared_db_worker(redis_server, tmp_path):
    """Start real Celery workers on this test's database (a file) and a Redis db.

    Call it with the Redis database number to use (keep tests apart); every worker
    started is stopped afterwards.  Needs ``django_db(transaction=True)``: the worker
    only sees what this test committed.
    """
    from django.conf import settings

    from tests.processes import CeleryWorker, django_env

    started: list[CeleryWorker] = []

    def start(redis_db: int, **extra_env: str) -> CeleryWorker:
        db_name = settings.DATABASES["default"]["NAME"]
        assert "memory" not in str(db_name), "the worker needs a file database"
        env = django_env(
            DATABASE_URL=f"sqlite:///{db_name}",
            CELERY_BROKER_URL=f"{redis_server.url}/{redis_db}",
            **extra_env,
        )
        worker = CeleryWorker(env, tmp_path / f"worker{len(started)}.log")
        worker.start()
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


@pytest.fixture
def writes():
    """``with writes() as w:`` records the INSERT/UPDATE/DELETE statements of the
    block in ``w.statements``: what an idempotent write must leave empty."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

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
