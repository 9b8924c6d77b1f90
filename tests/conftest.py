from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests import cast
from tests.phones import Phones
from tests.phones import phones as _phones
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


# --- the cast (DESIGN.md §5 and §7), built on tests/cast.py ---------------------
# A test asks for what it is about: ``alice`` alone is a member of ``team``;
# ``rotation`` brings all six people; ``policy`` brings the rotation.


@pytest.fixture
def team(db):
    """``payments``, the demo's team (Africa/Nairobi), nobody in it yet."""
    return cast.team_create()


@pytest.fixture
def other_team(db):
    """``checkout`` (UTC): another team, for what must not leak across teams."""
    return cast.team_create("checkout", time_zone="UTC")


def _person(username: str):
    def person(team):
        return cast.member_join(team, username)

    person.__doc__ = (
        f"{username.title()}, a member of ``team`` ({cast.PHONES[username]})."
    )
    return pytest.fixture(person, name=username)


alice, bob, charlie, david, eve, frank = (_person(name) for name in cast.PEOPLE)


@pytest.fixture
def people(team, alice, bob, charlie, david, eve, frank) -> list:
    """The six of DESIGN.md §7, in rotation order."""
    return [alice, bob, charlie, david, eve, frank]


@pytest.fixture
def payments(team, people) -> tuple:
    """(team, people): the demo's team with its six people."""
    return team, people


@pytest.fixture(name="cast")
def cast_by_name(people) -> dict:
    """The six people by username."""
    return {member.username: member for member in people}


@pytest.fixture
def rotation(team, people):
    """The paired six-person weekly rotation of DESIGN.md §7, its first week begun
    today at 00:00 UTC: alice is the on-call primary now and bob the secondary."""
    from django.utils import timezone

    rotation = cast.rotation_starting_now(team, people)
    assert cast.who(team, timezone.now()) == ("alice", "bob")
    return rotation


@pytest.fixture
def integration(team):
    """The team's Alertmanager integration (token :data:`tests.cast.TOKEN`)."""
    return cast.integration_create(team)


@pytest.fixture
def policy(team, rotation):
    """The team's default: the primary by SMS at once, then the secondary by SMS
    after 5 minutes."""
    from datetime import timedelta

    return cast.policy_create(
        team,
        {"target": "primary", "channel": "sms"},
        {"target": "secondary", "channel": "sms", "delay": timedelta(minutes=5)},
        team_default=True,
    )


@pytest.fixture
def make_member(db):
    """Anyone beyond the cast: ``make_member("zed", time_zone=..., active=...)``."""
    return cast.member_create


@pytest.fixture
def make_team(db):
    """Another team: ``make_team("berlin", time_zone=..., people=[...])`` →
    (team, members)."""

    def make(
        slug: str = "payments", *, time_zone: str = "Africa/Nairobi", people=cast.PEOPLE
    ):
        team = cast.team_create(slug, time_zone=time_zone, people=people)
        members = [cast.member_join(team, username) for username in people]
        return team, members

    return make


@pytest.fixture
def make_rotation(db):
    """Another rotation: ``make_rotation(team, members, now=..., **fields)``."""
    return cast.rotation_create


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


# --- /metrics: every scrape asks the database ----------------------------------


@pytest.fixture(autouse=True)
def metrics_uncached(settings) -> Iterator[None]:
    """Tests change rows and scrape again at once: no reuse of the database gauges
    (tests/oncall/test_metrics.py turns it on to test the reuse itself)."""
    from oncall.metrics import DATABASE_GAUGES

    settings.METRICS_DATABASE_GAUGES_SECONDS = 0
    yield
    DATABASE_GAUGES.clear()


# --- phones: every page sent must be expected (tests/phones.py) ------------------


@pytest.fixture(autouse=True)
def phones() -> Iterator[Phones]:
    """What every test paged, through the console transport or a fake Twilio.
    A message the test did not take (``expect_sms``, ``expect_call``, ``sent``)
    fails it: at the end of the test's body, and again at teardown for whatever
    a worker sent late."""
    _phones.reset()
    yield _phones
    left = _phones.unexpected()
    _phones.reset()
    if left:
        pytest.fail(
            "messages nobody expected, sent after the test's body:\n"
            + Phones.describe(left),
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield  # raises, and skips the check, if the test failed on its own
    phones = getattr(item, "funcargs", {}).get("phones")
    left = phones.unexpected() if phones is not None else []
    if left:
        phones.sent()  # reported here: not again at teardown
        pytest.fail(
            "messages nobody expected (take them with phones.expect_sms, "
            "phones.expect_call or phones.sent):\n" + Phones.describe(left),
            pytrace=False,
        )
    return result


@pytest.fixture
def paging_transport(monkeypatch):
    """``paging_transport(obj)``: page through ``obj`` (``send_sms``,
    ``place_call``) in this process instead of the transport the settings name.
    The one place tests swap the transport; to reach Twilio's API use
    ``fake_twilio`` instead."""

    def install(transport):
        monkeypatch.setattr("alerts.paging.send.get_transport", lambda: transport)
        return transport

    return install


@pytest.fixture
def twilio_server(phones):
    """A local fake of Twilio's API, watched by ``phones``; nothing points at it
    (a worker in another process is given its ``url``)."""
    from tests.fake_twilio import FakeTwilio

    fake = FakeTwilio().start()
    phones.watch(fake)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_twilio(settings, twilio_server):
    """A local fake of Twilio's API; this process' Twilio transport is pointed at
    it: the one place tests replace the provider."""
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    fake = twilio_server
    settings.PAGING_TRANSPORT = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_TIMEOUT_SECONDS = 2
    return fake


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
