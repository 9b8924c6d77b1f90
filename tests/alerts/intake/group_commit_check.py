"""Run as ``python -m tests.alerts.intake.group_commit_check`` with ``DATABASE_URL``
set to a PostgreSQL database (tests/alerts/intake/test_group_commit_on_postgresql.py).

Six threads receive a webhook each through ``delivery_receive``, the way request
threads of one web process do.  The first one's INSERT is held up by a SHARE lock
another session takes on the inbox table, so the other five queue behind it; when
the lock goes, they are written together.  In a second round, one of the five names
an integration that does not exist.  Prints, as JSON, what each thread was told and
what the database holds.
"""

from __future__ import annotations

import json
import threading

from tests.processes import wait_until


def check() -> dict:
    from django.db import connection
    from django.db.models.expressions import RawSQL

    from alerts.intake.integrations import integration_create
    from alerts.models import WebhookDelivery
    from scheduling.models import Team

    team = Team.objects.create(slug="group", name="Group")
    integration = integration_create(team=team, name="am").integration
    connection.close()  # the threads open their own

    good = integration.pk
    told = one_round("a", [good] * 6)
    # The second round: the fourth webhook names an integration that is not there.
    told |= one_round("b", [good, good, good, good + 999, good, good])

    rows = {
        body: (pk, xmin)
        for pk, body, xmin in WebhookDelivery.objects.annotate(
            xmin=RawSQL("xmin::text", [])
        ).values_list("pk", "body", "xmin")
    }
    first_round = {body: rows[body][1] for body in rows if body.startswith("a-")}
    return {
        "told_matches_stored": sorted(
            body
            for body, pk in told.items()
            if isinstance(pk, int) and rows.get(body, (None,))[0] == pk
        ),
        "refused": {body: got for body, got in told.items() if isinstance(got, str)},
        # Rows written by one statement share a transaction id (xmin).
        "first_round_transactions": len(set(first_round.values())),
        "first_round_shared": sorted(
            body for body, x in first_round.items() if x != first_round["a-0"]
        ),
    }


def one_round(name: str, integrations: list[int]) -> dict[str, object]:
    """Receive one webhook per entry of ``integrations`` from as many threads: the
    first while a SHARE lock holds its INSERT up, the rest once it is queued."""
    import psycopg
    from django.conf import settings
    from django.db import connection

    from alerts.intake import receive

    blocker = psycopg.connect(settings.DATABASE_URL)
    blocker.execute("LOCK TABLE alerts_webhookdelivery IN SHARE MODE")
    # Another session to look: inside the blocker's transaction, pg_stat_activity
    # would show the same snapshot every time.
    watcher = psycopg.connect(settings.DATABASE_URL, autocommit=True)
    told: dict[str, object] = {}

    def receive_one(body: str, integration_id: int) -> None:
        try:
            told[body] = receive.delivery_receive(
                integration_id=integration_id,
                body=body,
                headers={},
                auth="bearer",
                group_key="{}:{}",
            )
        except Exception as error:  # reported to the test
            told[body] = type(error).__name__
        finally:
            connection.close()

    def waiting_on_the_lock() -> bool:
        (count,) = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'INSERT INTO \"alerts_webhookdelivery\"%'"
        ).fetchone()
        return count == 1

    threads = [
        threading.Thread(
            target=receive_one, args=(f"{name}-{n}", integration_id), daemon=True
        )
        for n, integration_id in enumerate(integrations)
    ]
    threads[0].start()
    wait_until(waiting_on_the_lock, 60, "the first INSERT to wait for the lock", 0.01)
    for thread in threads[1:]:
        thread.start()
    wait_until(
        lambda: receive._inbox.queued() == len(threads) - 1,
        60,
        "the others to queue",
        0.01,
    )
    blocker.commit()  # the lock goes
    for thread in threads:
        thread.join(60)
    blocker.close()
    watcher.close()
    return told


if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(check()))
