"""Scenario 5: PostgreSQL restarts under a running service.

While the database is down, /readyz says so (503, naming the database) and /healthz
still answers; the webhook refuses with 503, so Alertmanager keeps the alert and
retries; once PostgreSQL is back the service recovers by itself (no restart) and
the alert that was refused arrives: nothing accepted was lost, nothing doubled.
"""

from __future__ import annotations

import time

from tests.e2e.payloads import group_body
from tests.e2e.stack import wait_for


def test_readyz_follows_the_database_down_and_back(stack, seeded):
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
    # An ordinary database-backed page works again in every web worker.
    for _ in range(6):
        assert stack.get("/admin/login/").status == 200


def test_alertmanager_retries_deliver_what_an_outage_refused(
    stack, seeded, alertmanager
):
    before = len(stack.incidents(team="payments"))
    stack.postgres.stop(mode="immediate")
    try:
        alertmanager.post_alerts(
            [
                {
                    "labels": {
                        "alertname": "DatabaseOutageTest",
                        "service": "payments",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "fired while PostgreSQL was down"},
                }
            ]
        )
        # Alertmanager got our 503 at least once and will retry.
        wait_for(
            lambda: "Notify attempt failed" in alertmanager.log(),
            20,
            "alertmanager to be refused",
        )
        time.sleep(1)
    finally:
        stack.postgres.start()

    def arrived() -> bool:
        found = [
            i
            for i in stack.incidents(team="payments")
            if "DatabaseOutageTest" in i["title"]
        ]
        return len(found) == 1

    wait_for(arrived, 60, "the refused alert to arrive after the restart")
    assert "503" in alertmanager.log()
    # A duplicate would come from Alertmanager retrying a delivery we took: wait
    # until it has stopped retrying (it logs the success) and we are idle.
    wait_for(
        lambda: "Notify success" in alertmanager.log(), 60, "alertmanager's success"
    )
    stack.settle("the delivery to be processed")
    incidents = stack.incidents(team="payments")
    assert len(incidents) == before + 1
    assert len([i for i in incidents if "DatabaseOutageTest" in i["title"]]) == 1


def test_webhooks_right_after_a_restart_are_accepted_not_refused(stack, seeded):
    """The webhook skips Django's per-request health check (a round trip it cannot
    afford under a storm): its INSERT finds a connection the restart killed and
    makes it again on a new one, so no webhook after the restart gets a 503."""
    body = group_body("RestartProbe", 1)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {stack.demo_token}",
    }

    def statuses() -> list[int]:
        return [
            stack.post("/api/v1/alertmanager/", body, headers=headers).status
            for _ in range(8)
        ]

    assert statuses() == [202] * 8  # the web workers now hold connections
    stack.postgres.stop(mode="fast")  # every server connection is closed
    stack.postgres.start()
    assert statuses() == [202] * 8
