"""Scenario 5: PostgreSQL restarts under a running service.

While the database is down, /readyz says so (503, naming the database) and /healthz
still answers; once it is back, the service recovers by itself, with no restart.
"""

from __future__ import annotations

from tests.e2e.stack import wait_for


def test_readyz_follows_the_database_down_and_back(stack):
    assert stack.get("/readyz").status == 200

    stack.postgres.stop(mode="immediate")  # a crash, not a polite shutdown
    try:
        wait_for(lambda: stack.get("/readyz").status == 503, 20, "/readyz to say 503")
        body = stack.get("/readyz").json()
        assert body["checks"]["broker"] == "ok"
        assert body["checks"]["database"] != "ok"
        assert stack.get("/healthz").status == 200
    finally:
        stack.postgres.start()

    wait_for(lambda: stack.get("/readyz").status == 200, 30, "/readyz to recover")
    # An ordinary database-backed page works again in every gunicorn worker.
    for _ in range(6):
        assert stack.get("/admin/login/").status == 200
