from __future__ import annotations

import pytest

from tests.e2e.stack import Stack
from tests.processes import AlertmanagerServer


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """The whole service on PostgreSQL + Redis, shared by a module's scenarios.

    A module may set ``STACK_ENV`` (a dict) to run the service with other settings.
    """
    running = Stack(
        tmp_path_factory.mktemp("stack"),
        extra_env=getattr(request.module, "STACK_ENV", None),
    )
    try:
        running.start()
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        running.stop()


@pytest.fixture(scope="module")
def seeded(stack):
    """The demo organisation in the stack's database (team payments, policy, ...)."""
    return stack.seed_demo()


@pytest.fixture
def alertmanager(stack, seeded, tmp_path):
    """A real Alertmanager sending to the stack's webhook with the demo token.

    Afterwards every open incident is resolved, so one scenario's escalations
    cannot page during the next.
    """
    am = AlertmanagerServer(tmp_path / "am", stack.alertmanager_config())
    am.start()
    yield am
    am.stop()
    stack.resolve_all()
