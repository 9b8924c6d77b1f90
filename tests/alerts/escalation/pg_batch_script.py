"""Run inside a child process against PostgreSQL (see test_batch_postgres.py).

Two threads (two database connections, as two workers) run the batched services
over overlapping sets of ids.  Worker A is stopped inside its transaction, holding
its claim; worker B, given every id, must go past A's rows at once (SKIP LOCKED)
and do the rest; then A finishes.  Prints a JSON summary.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import django

HOLD_TIMEOUT = 30  # seconds: far more than any step here needs


def setup() -> tuple[list[int], object]:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from alerts.incidents.state import IncidentSpec, Opening, incidents_open
    from alerts.intake.integrations import integration_create
    from alerts.models import EscalationPolicy, EscalationStep
    from tests.cast import paired_team

    call_command("migrate", verbosity=0)
    team, _ = paired_team()
    policy = EscalationPolicy.objects.create(team=team, name="p", team_default=True)
    EscalationStep.objects.create(policy=policy, position=0, channel="sms")
    integration = integration_create(team=team, name="prod").integration
    spec = IncidentSpec(
        group_key="g",
        title="Disk: full",
        team_id=team.pk,
        route_id=integration.routes.first().pk,
        routing="test",
        urgency="high",
        group_labels={"alertname": "Disk"},
        common_labels={"alertname": "Disk", "severity": "critical"},
        common_annotations={},
    )
    at = timezone.now()
    with transaction.atomic():
        opened = incidents_open(
            openings=[
                Opening(integration.pk, replace(spec, group_key=f"g{n}"), at)
                for n in range(100)
            ]
        )
    return [i.pk for i in opened], timezone.now()


def race(service, ids: list[int], held: list[int], pause_in: str, now) -> dict:
    """A runs ``service`` on ``held`` and stops inside its transaction at
    ``pause_in``; meanwhile B runs it on every id; then A goes on."""
    import importlib

    from django.db import connection

    module_name, name = pause_in.rsplit(".", 1)
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    holding, release = threading.Event(), threading.Event()

    def paused(*args, **kwargs):
        if threading.current_thread().name == "A":
            holding.set()
            release.wait(HOLD_TIMEOUT)
        return original(*args, **kwargs)

    setattr(module, name, paused)
    results: dict[str, dict] = {}
    errors: list[str] = []

    def run(label: str, chunk: list[int]) -> None:
        try:
            results[label] = service(chunk, now)
        except Exception as exc:
            errors.append(f"{label}: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    a = threading.Thread(target=run, args=("A", held), name="A")
    a.start()
    holding.wait(HOLD_TIMEOUT)
    b = threading.Thread(target=run, args=("B", ids), name="B")
    b.start()
    b.join(HOLD_TIMEOUT)
    b_waited = b.is_alive()  # B would still be blocked on A's locks without SKIP LOCKED
    release.set()
    a.join()
    b.join()
    setattr(module, name, original)
    done = {
        label: sorted(pk for pk, r in result.items() if r.startswith(("fired", "sent")))
        for label, result in results.items()
    }
    return {"done": done, "b_waited": b_waited, "errors": errors}


def main() -> None:
    django.setup()
    from alerts.escalation.engine import escalations_advance
    from alerts.models import Page
    from alerts.paging.send import pages_send
    from alerts.transports import console

    ids, now = setup()
    steps = race(
        lambda chunk, at: escalations_advance(incident_ids=chunk, now=at),
        ids,
        ids[:60],
        "alerts.escalation.engine.maintenance_active_for",
        now,
    )
    page_ids = sorted(Page.objects.values_list("pk", flat=True))
    sends = race(
        lambda chunk, at: pages_send(page_ids=chunk, now=at),
        page_ids,
        page_ids[:60],
        "alerts.paging.send.maintenance_active_for",
        now,
    )
    print(
        json.dumps(
            {
                "incidents": ids,
                "page_ids": page_ids,
                "steps": steps,
                "sends": sends,
                "pages": Page.objects.count(),
                "sent_pages": Page.objects.filter(status="sent").count(),
                "outbox": len(console.OUTBOX),
            }
        )
    )


if __name__ == "__main__":
    main()
