"""One evaluation cycle of 200 Prometheus-ratio SLOs against a real Prometheus.

    .venv/bin/python bench/slo_evaluate.py [--slos 200] [--days 3] [--cycles 3]
        [--concurrency 8,1] [--postgres]          (make bench-slo-evaluate)

A real Prometheus (Debian package ``prometheus``, the tests' harness in
``tests/processes.py``) serves a backfilled history: for each SLO its own pair of
counters (``http_requests_total{slo="sN",code="200"|"500"}``), a sample a
minute over ``--days`` days, 1000 requests a minute with a small error rate that
differs per SLO.  Twenty services of one team hold the SLOs (30-day rolling
windows).  A cycle is ``slos_evaluate`` as the periodic task runs it: every SLO's
window and burn-rate windows queried over the HTTP API, evaluations stored,
burn-rate incidents applied.  The issue asks for <= 10 s a cycle; the figures
give the wall time of each cycle, the CPU time of this process and of
Prometheus (from its ``process_cpu_seconds_total``: on a shared machine the wall
time includes waiting for a core), and how many PromQL queries a cycle sent.
``--concurrency`` runs the cycles once per ``PROMETHEUS_CONCURRENCY`` value given
(1: one query after the other).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import tempfile
import time
from pathlib import Path

import _django  # noqa: F401  (sets up Django on a throwaway database)
import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alerts.intake.integrations import integration_create
from alerts.models import SLO, SLOEvaluation
from alerts.slos.evaluate import slos_evaluate
from alerts.slos.setup import service_create, slo_create
from scheduling.models import Team
from tests.processes import PrometheusServer

SERVICES = 20


def prometheus_counters(url: str) -> tuple[int, float]:
    """How many instant queries Prometheus answered and the CPU seconds it used,
    from its own /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    pattern = (
        r'prometheus_http_requests_total\{code="\d+",handler="/api/v1/query"\} (\S+)'
    )
    queries = sum(int(float(n)) for n in re.findall(pattern, text))
    cpu = re.search(r"^process_cpu_seconds_total (\S+)$", text, re.MULTILINE)
    return queries, float(cpu.group(1)) if cpu else float("nan")


def history(slos: int, days: int, now: dt.datetime) -> str:
    """OpenMetrics text: two counters per SLO, a sample a minute."""
    minutes = days * 24 * 60
    start = int((now - dt.timedelta(minutes=minutes)).timestamp())
    lines = ["# TYPE http_requests counter"]
    for n in range(slos):
        errors = 0.05 * (n % 10)  # per minute: 0 % to 0.045 % errors
        for code, per_minute in (("200", 1000 - errors), ("500", errors)):
            series = f'http_requests_total{{slo="s{n}",code="{code}"}}'
            lines.extend(
                f"{series} {per_minute * m:.2f} {start + 60 * m}"
                for m in range(minutes)
            )
    lines += ["# EOF", ""]
    return "\n".join(lines)


def build(slos: int) -> None:
    team = Team.objects.create(slug="payments", name="Payments", time_zone="UTC")
    integration_create(team=team, name="prod")
    services = [
        service_create(
            slug=f"svc{s}", name=f"Service {s}", team=team, match_labels={"svc": str(s)}
        )
        for s in range(SERVICES)
    ]
    for n in range(slos):
        slo_create(
            service=services[n % SERVICES],
            name=f"requests-{n}",
            objective="99.9",
            source="prometheus_ratio",
            good_query=f'http_requests_total{{slo="s{n}",code!~"5.."}}',
            total_query=f'http_requests_total{{slo="s{n}"}}',
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slos", type=int, default=200)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--concurrency", default="8")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per query
    now = timezone.now().replace(second=0, microsecond=0)

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-prometheus-"))
    server = PrometheusServer(workdir, history(args.slos, args.days, now))
    server.start()
    print(
        f"prometheus: {args.slos * 2} series, {args.days} days a sample a minute, "
        f"backfilled and started in {time.perf_counter() - started:.1f} s"
    )
    try:
        settings.PROMETHEUS_URL = server.url
        build(args.slos)
        print(f"database: {connection.vendor}; {SLO.objects.count()} SLOs")
        cycles = [
            (int(c), n) for c in args.concurrency.split(",") for n in range(args.cycles)
        ]
        for number, (concurrency, cycle) in enumerate(cycles):
            settings.PROMETHEUS_CONCURRENCY = concurrency
            queries_before, prometheus_cpu = prometheus_counters(server.url)
            at = now + dt.timedelta(minutes=number)
            wall, cpu = time.perf_counter(), time.process_time()
            stored = slos_evaluate(now=at)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            stale = SLOEvaluation.objects.filter(evaluated_at=at, stale=True).count()
            assert stored == args.slos and stale == 0, (stored, stale)
            queries, prometheus_cpu_after = prometheus_counters(server.url)
            queries -= queries_before
            prometheus_cpu = prometheus_cpu_after - prometheus_cpu
            print(
                f"concurrency {concurrency:2d}, cycle {cycle + 1}: {stored} SLOs "
                f"evaluated in {wall:6.2f} s "
                f"(CPU: this process {cpu:5.2f} s, "
                f"Prometheus {prometheus_cpu:5.2f} s), "
                f"{queries} PromQL queries"
            )
        # The figures are real: the SLO with 0.045 % errors has spent 45 % of a
        # 0.1 % budget over what the history covers.
        worst = SLOEvaluation.objects.filter(slo__name="requests-9").latest(
            "evaluated_at"
        )
        print(
            f"requests-9: budget left {worst.budget_remaining:.3f}, "
            f"burn 1h {worst.burn_1h:.2f}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
