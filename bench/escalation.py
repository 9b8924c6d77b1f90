"""Escalation lateness with 1,000 open incidents: how late past ``next_action_at``
steps actually fire, through real Celery workers, a real beat and Redis.

    make bench-escalation      # or: .venv/bin/python bench/escalation.py [--postgres]
                               #     [--incidents 1000] [--over 20] [--delay 30]
                               #     [--workers 2] [--sweep 5]

Every incident's policy is: the on-call primary by SMS at once, then the secondary
by SMS ``--delay`` seconds later.  ``--incidents`` incidents are opened at an even
rate over ``--over`` seconds, so the second steps come due spread over that time
(the sweep's steady state) while the first steps are enqueued on commit.  Pages go
to the console transport (no storm limit), so what is measured is the engine:
database claims, the broker, the workers.

Printed, for each step: lateness of the step firing (the page row written, minus
the step's ``next_action_at``) and of the send (the transport accepted it, minus
``next_action_at``), p50 / p99 / max.  The sweep interval bounds the second step's
lateness by design (default 5 s, the production setting).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.processes import RedisServer, stop, wait_until  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--incidents", type=int, default=1000)
parser.add_argument("--over", type=float, default=20.0, help="seconds to open them")
parser.add_argument("--delay", type=int, default=30, help="seconds to step 2")
parser.add_argument("--workers", type=int, default=4, help="worker processes")
parser.add_argument("--sweep", type=int, default=5, help="ESCALATION_SWEEP_SECONDS")
args, rest = parser.parse_known_args()
sys.argv = [sys.argv[0], *rest]  # leaves --postgres for _django

_workdir = Path(
    os.environ.setdefault("ONCALL_DATA_DIR", tempfile.mkdtemp(prefix="oncall-bench-"))
)
_workdir.mkdir(parents=True, exist_ok=True)
redis = RedisServer(_workdir / "redis")
redis.start()
os.environ.update(
    CELERY_BROKER_URL=f"{redis.url}/0",
    PAGING_TRANSPORT="console",
    STORM_MAX_PAGES="0",
    ESCALATION_SWEEP_SECONDS=str(args.sweep),
    LOG_LEVEL="WARNING",
)

import _django  # noqa: E402, F401, I001  (Django on a throwaway database, migrated)

from django.db import connection, transaction  # noqa: E402

from alerts.incidents.state import IncidentSpec, incident_open  # noqa: E402
from alerts.intake.integrations import integration_create  # noqa: E402
from alerts.models import EscalationPolicy, EscalationStep, Page  # noqa: E402
from tests.cast import paired_team  # noqa: E402
from tests.processes import CeleryWorker, django_env  # noqa: E402


def setup():
    team, _ = paired_team()
    policy = EscalationPolicy.objects.create(team=team, name="bench", team_default=True)
    EscalationStep.objects.create(policy=policy, position=0, channel="sms")
    EscalationStep.objects.create(
        policy=policy,
        position=1,
        target="secondary",
        channel="sms",
        delay=dt.timedelta(seconds=args.delay),
    )
    return integration_create(team=team, name="bench").integration


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "no data"
    p = (
        statistics.quantiles(values, n=100, method="inclusive")
        if len(values) > 1
        else values * 99
    )
    return f"p50 {p[49]:7.3f} s   p99 {p[98]:7.3f} s   max {values[-1]:7.3f} s"


def main() -> None:
    integration = setup()
    route_id = integration.routes.first().pk
    env = django_env()
    workers = []
    for n in range(args.workers):
        worker = CeleryWorker(env, _workdir / f"worker{n}.log", pool="prefork")
        worker.start()
        workers.append(worker)
    beat_log = open(_workdir / "beat.log", "ab")
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oncall",
            "beat",
            "--loglevel=WARNING",
            "-s",
            str(_workdir / "beat-schedule"),
        ],
        cwd=REPO,
        env=env,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
    )
    # Give the workers a moment to connect: their start-up is not what we measure.
    for worker in workers:
        wait_until(lambda w=worker: "ready" in w.log(), 60, "a worker to start")
    try:
        started = time.monotonic()
        interval = args.over / args.incidents
        for n in range(args.incidents):
            target = started + n * interval
            pause = target - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            spec = IncidentSpec(
                group_key=f"bench-{n}",
                title=f"BenchAlert{n}: synthetic",
                team_id=integration.team_id,
                route_id=route_id,
                routing="bench",
                urgency="high",
                group_labels={"alertname": f"BenchAlert{n}"},
                common_labels={"alertname": f"BenchAlert{n}", "severity": "critical"},
                common_annotations={},
            )
            with transaction.atomic():
                incident_open(integration=integration, spec=spec)
        opened = time.monotonic() - started
        total = 2 * args.incidents
        wait_until(
            lambda: Page.objects.filter(status="sent").count() >= total,
            args.delay + args.over + 300,
            f"{total} pages sent",
            interval=1,
        )
    finally:
        for worker in workers:
            worker.stop()
        stop(beat)
        beat_log.close()
        redis.stop()
    print(
        f"{args.incidents} incidents opened in {opened:.1f} s; "
        f"{args.workers} worker processes; sweep every {args.sweep} s; "
        f"database {connection.vendor}"
    )
    for step, label in (
        (0, "step 1 (on open, enqueued on commit)"),
        (1, f"step 2 (due {args.delay} s later, found by the sweep)"),
    ):
        pages = list(
            Page.objects.filter(step=step).values_list(
                "step_due_at", "created_at", "sent_at"
            )
        )
        fired = [(created - due).total_seconds() for due, created, _ in pages]
        sent = [(s - due).total_seconds() for due, _, s in pages]
        print(f"{label}: {len(pages)} pages")
        print(f"  fired late by  {percentiles(fired)}")
        print(f"  sent late by   {percentiles(sent)}")
    duplicates = Page.objects.count() - total
    print(f"pages beyond one per (incident, step): {duplicates}")


if __name__ == "__main__":
    main()
