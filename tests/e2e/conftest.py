from __future__ import annotations

import pytest

from tests.e2e.stack import Stack


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
