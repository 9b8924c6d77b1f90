"""``GET /api/v1/incidents/?team=`` with 100,000 incidents: the first page and a
page deep in the cursor, p50/p90 latency and queries per page.

    make bench-api            # PostgreSQL (a throwaway cluster)
    .venv/bin/python bench/api_incidents.py [--incidents 100000] [--calls 200]
        [--postgres]

The requests go through the whole Django stack in-process (middleware, Bearer
token authentication, throttling off, the view, the serializer, JSON), without an
HTTP server in front: the figure is the application's cost, not the network's.
Each incident has one alert; a second team holds a tenth as many incidents, so
``?team=`` has something to filter out.  The deep page is reached by following
``next`` (500 at a time) to about nine tenths of the list, then asked for at the
default page size like the first page.  Other load on the machine shows in the
wall-clock figures (the load average is printed first); the web process' own CPU
time per call is printed too, which waiting for a busy CPU does not inflate
(PostgreSQL's work runs in its own process and is not in it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import time
from urllib.parse import parse_qs, urlencode, urlsplit

os.environ.setdefault("API_THROTTLE_RATE", "")  # measure the view, not the limiter

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from alerts.intake.integrations import integration_create
from alerts.models import Alert, Incident, IncidentAlert
from scheduling.models import Team
from scheduling.tokens import api_token_create

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
BATCH = 5_000


def seed(team: Team, count: int) -> None:
    integration = integration_create(team=team, name="prod").integration
    for first in range(0, count, BATCH):
        numbers = range(first, min(first + BATCH, count))
        alerts = Alert.objects.bulk_create(
            [
                Alert(
                    integration=integration,
                    fingerprint=f"{team.slug}{n:012x}",
                    labels={"alertname": "HighErrorRate", "n": str(n)},
                    status="resolved",
                    last_received_at=START,
                )
                for n in numbers
            ]
        )
        incidents = Incident.objects.bulk_create(
            [
                Incident(
                    integration=integration,
                    group_key=f"{{}}:{{n={n}}}",
                    group_key_hash=hashlib.sha256(str(n).encode()).hexdigest(),
                    title=f"HighErrorRate #{n}",
                    team=team,
                    urgency="high",
                    status="resolved",
                    opened_at=START + dt.timedelta(minutes=5 * n),
                    resolved_at=START + dt.timedelta(minutes=5 * n + 3),
                )
                for n in numbers
            ]
        )
        IncidentAlert.objects.bulk_create(
            [
                IncidentAlert(incident=i, alert=a, status="resolved")
                for i, a in zip(incidents, alerts, strict=True)
            ]
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(
    client: Client, url: str, calls: int
) -> tuple[list[float], list[float], int, int]:
    """Milliseconds per call (wall clock and this process' CPU), queries of one
    call, results on the page."""
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # An execute wrapper, not CaptureQueriesContext: it survives the connection
    # being closed and opened again between requests (SQLite's CONN_MAX_AGE=0).
    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    results = len(response.json()["results"])
    times, cpu = [], []
    for _ in range(calls):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 200
    return times, cpu, len(queries), results


def deep_url(client: Client, first: str, fraction: float, total: int) -> str:
    """The URL of a page about ``fraction`` into the list, at the default size."""
    url = first + "&page_size=500"
    for _ in range(int(total * fraction) // 500):
        url = client.get(url).json()["next"]
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query.pop("page_size", None)
    return f"{parts.path}?{urlencode(query, doseq=True)}"


def describe(
    label: str, times: list[float], cpu: list[float], queries: int, results: int
) -> str:
    q = statistics.quantiles(times, n=10)
    return (
        f"{label:<34} p50 {statistics.median(times):6.1f} ms   p90 {q[8]:6.1f} ms"
        f"   (web process CPU p50 {statistics.median(cpu):5.1f} ms)"
        f"   {queries} queries, {results} incidents on the page"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"on {os.cpu_count()} cores; database: {connection.vendor}"
    )
    payments = Team.objects.create(slug="payments", name="Payments")
    checkout = Team.objects.create(slug="checkout", name="Checkout")
    began = time.perf_counter()
    seed(payments, args.incidents)
    seed(checkout, args.incidents // 10)
    print(
        f"seeded {args.incidents:,} + {args.incidents // 10:,} incidents "
        f"in {time.perf_counter() - began:.0f} s"
    )
    staff = get_user_model().objects.create_user("bench", is_staff=True)
    token = api_token_create(
        user=staff, name="bench", scopes=["read"], created_by=staff, now=START
    ).secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="localhost")
    first = "/api/v1/incidents/?team=payments"
    deep = deep_url(client, first, 0.9, args.incidents)
    one = timed(client, first, args.calls)
    two = timed(client, deep, args.calls)
    print(describe("first page (50)", *one))
    print(describe("page ~90% deep in the cursor (50)", *two))
    if one[2] != two[2]:
        print(f"query counts differ: {one[2]} vs {two[2]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
