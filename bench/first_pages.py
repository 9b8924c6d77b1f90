"""The work of a burst's first pages, per incident: CPU and queries, in process.

    .venv/bin/python bench/first_pages.py --postgres [--incidents 1000] [--batch 500]

What the worker does for a burst of brand-new groups, without the broker, the web
side or the wall clock (which a loaded machine makes meaningless): incidents opened
through the bulk intake path (``incidents_open``, as a drain batch of ``--batch``
groups does, escalation started in the same transaction), then every escalation
task that opening published run as the worker runs it
(``escalations_advance_and_send``: fire the first step, then send its pages to the
console transport).  Publishing is recorded instead of sent to a broker.

Printed for each phase (open, first step and send): process CPU and SQL statements
per incident, and the tasks published.  Every incident must end with exactly one
page sent (the bench fails otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--incidents", type=int, default=1000)
parser.add_argument("--batch", type=int, default=500, help="groups per drain batch")
parser.add_argument("--rounds", type=int, default=3, help="best of, per phase")
args, rest = parser.parse_known_args()
sys.argv = [sys.argv[0], *rest]  # leaves --postgres for _django
os.environ.update(
    PAGING_TRANSPORT="console", STORM_MAX_PAGES="1000000", LOG_LEVEL="WARNING"
)

import _django  # noqa: E402, F401, I001  (Django on a throwaway database, migrated)

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts import queue  # noqa: E402
from alerts.incidents.state import IncidentSpec, Opening, incidents_open  # noqa: E402
from alerts.intake.integrations import integration_create  # noqa: E402
from alerts.models import EscalationPolicy, EscalationStep, Incident, Page  # noqa: E402
from alerts.tasks import escalations_advance_and_send  # noqa: E402
from tests.cast import paired_team  # noqa: E402

published: list[tuple[str, tuple]] = []


def record(name: str, *task_args: object, countdown: float | None = None) -> bool:
    published.append((name, task_args))
    return True


queue.publish = record  # the bench's broker: a list


class Meter:
    """CPU seconds and SQL statements spent inside ``run``."""

    def __init__(self) -> None:
        self.statements = 0

    def _count(self, execute: Callable, sql: str, *rest: object) -> object:
        self.statements += 1
        return execute(sql, *rest)

    def run(self, work: Callable[[], object]) -> float:
        started = time.process_time()
        with connection.execute_wrapper(self._count):
            work()
        return time.process_time() - started


def setup():
    team, _ = paired_team()
    policy = EscalationPolicy.objects.create(team=team, name="bench", team_default=True)
    EscalationStep.objects.create(policy=policy, position=0, channel="sms")
    EscalationStep.objects.create(
        policy=policy,
        position=1,
        target="secondary",
        channel="sms",
        delay=dt.timedelta(minutes=5),
    )
    return integration_create(team=team, name="bench").integration


def openings(integration, route_id: int, tag: str, n: int) -> list[Opening]:
    now = timezone.now()
    return [
        Opening(
            integration_id=integration.pk,
            spec=IncidentSpec(
                group_key=f"{tag}-{k}",
                title=f"BurstAlert{k}: synthetic",
                team_id=integration.team_id,
                route_id=route_id,
                routing="bench",
                urgency="high",
                group_labels={"alertname": f"BurstAlert{k}"},
                common_labels={"alertname": f"BurstAlert{k}", "severity": "critical"},
                common_annotations={},
            ),
            at=now,
        )
        for k in range(n)
    ]


def one_round(integration, route_id: int, tag: str) -> dict[str, float]:
    published.clear()
    opening = Meter()

    def open_all() -> None:
        todo = openings(integration, route_id, tag, args.incidents)
        for start in range(0, len(todo), args.batch):
            with transaction.atomic():
                incidents_open(openings=todo[start : start + args.batch])

    open_cpu = opening.run(open_all)
    tasks = [a for name, a in published if name == queue.ESCALATION_ADVANCE]
    other = [name for name, _ in published if name != queue.ESCALATION_ADVANCE]
    published.clear()
    firing = Meter()

    def fire_all() -> None:
        for (ids,) in tasks:
            escalations_advance_and_send(incident_ids=ids)

    fire_cpu = firing.run(fire_all)
    incidents = Incident.objects.filter(group_key__startswith=f"{tag}-")
    sent = Page.objects.filter(incident__in=incidents, status="sent")
    if sent.count() != args.incidents or sent.values("incident").distinct().count() != (
        args.incidents
    ):
        raise SystemExit(f"{tag}: expected one page sent per incident")
    n = args.incidents
    return {
        "open_cpu_ms": open_cpu / n * 1000,
        "open_sql": opening.statements / n,
        "fire_cpu_ms": fire_cpu / n * 1000,
        "fire_sql": firing.statements / n,
        "tasks": len(tasks) + len(other),
        "after_fire": len(published),
    }


def main() -> None:
    integration = setup()
    route_id = integration.routes.first().pk
    results = [
        one_round(integration, route_id, f"burst{r}") for r in range(args.rounds)
    ]
    best = {k: min(r[k] for r in results) for k in results[0]}
    print(
        f"{args.incidents} new incidents in drain batches of {args.batch}, "
        f"database {connection.vendor}, best of {args.rounds}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"  open (incidents, escalations, timeline)   "
        f"{best['open_cpu_ms']:6.3f} ms CPU  {best['open_sql']:6.3f} SQL per incident"
    )
    print(
        f"  first step fired and its page sent        "
        f"{best['fire_cpu_ms']:6.3f} ms CPU  {best['fire_sql']:6.3f} SQL per incident"
    )
    print(
        f"  tasks published by the opening: {int(best['tasks'])}; "
        f"by the firing: {int(best['after_fire'])}"
    )


if __name__ == "__main__":
    main()
