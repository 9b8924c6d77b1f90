"""The deploy gate's answer time, from stored evaluations; print figures.

    .venv/bin/python bench/slo_gate.py [--calls 2000] [--postgres] [--profile]
    .venv/bin/python bench/slo_gate.py --server granian|gunicorn [--calls 2000]

A team with a weekly paired rotation of six, a service with three incident-time
SLOs evaluated over a month of history (a week of evaluations each, as the
periodic task leaves them), a few open incidents of other services.  Measures
``deploy_gate`` (the service) and ``GET /api/v1/services/<slug>/deploy-gate``
through Django's test client with a deploy-gate token (the whole stack: auth,
throttle, access, serializer).  The issue asks for <= 5 ms p99.  Each line also
gives the process CPU time per call (the machine may be shared: wall-clock
percentiles then include waiting for a core).  ``--profile`` prints where the
service call's and the test client's time goes (cProfile).

``--server granian`` (implies ``--postgres``) also serves the same database
through the web server as docker-compose runs it (``python -m
oncall.granian_server``; ``--server gunicorn``: ``gunicorn -c
python:oncall.gunicorn_conf``; two workers of four threads, keep-alive, the
access log on, ``DEBUG=0``; bench/_web_server.py) and asks the
gate over one persistent HTTP/1.1 connection (``http.client``), one call at a
time (then ``/healthz`` through the same stack, the floor): p50/p99 as the
client sees them, and the CPU the server side spent per
call (the server's processes and PostgreSQL's, and redis's when throttling is on,
from ``/proc``), which moves much less with the machine's load than latency
does.  Throttling is off unless ``API_THROTTLE_RATE`` is set; when on, its
counts go to a redis-server started here (``CACHE_URL``, as compose), and
``--tokens N`` asks with N tokens in turn so each stays under the rate:
``API_THROTTLE_RATE=1200/min ... --calls 3000 --tokens 4`` is compose's rate
with each token near its limit (DRF's throttle keeps a token's request times of
the window in one list, read and written whole per request: its cost grows with
the rate).  This is the figure the issue's target is judged by.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if "--server" in sys.argv and "--postgres" not in sys.argv:
    sys.argv.append("--postgres")  # the server and this process share one database

import _django  # sets up Django on a throwaway database
import _web_server
from _proc_cpu import tree_cpu_seconds
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from alerts.incidents.state import IncidentSpec, incident_open, incident_resolve
from alerts.intake.integrations import integration_create
from alerts.models import SLOEvaluation
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import deploy_gate
from alerts.slos.setup import service_create, slo_create
from scheduling.materialize import rotation_materialize
from scheduling.models import (
    ApiToken,
    Member,
    Rotation,
    RotationParticipant,
    Team,
    TeamMembership,
)
from scheduling.tokens import api_token_create
from tests.processes import (
    RedisServer,
    django_env,
    free_port,
    port_open,
    stop,
    wait_until,
)

PATH = "/api/v1/services/payments-api/deploy-gate"
HEALTH = "/healthz"


def build() -> tuple[object, str]:
    now = timezone.now()
    team = Team.objects.create(slug="payments", name="Payments", time_zone="UTC")
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"u{i}") for i in range(6)])
    members = Member.objects.bulk_create(
        [Member(user=u, phone=f"+25470000000{i}") for i, u in enumerate(users)]
    )
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, member=m) for m in members]
    )
    rotation = Rotation.objects.create(
        team=team, name="weekly", start_date=(now - dt.timedelta(days=60)).date()
    )
    RotationParticipant.objects.bulk_create(
        [
            RotationParticipant(rotation=rotation, member=m, position=i)
            for i, m in enumerate(members)
        ]
    )
    rotation_materialize(rotation=rotation)
    integration = integration_create(team=team, name="prod").integration
    route = integration.routes.first()
    service = service_create(
        slug="payments-api",
        name="Payments API",
        team=team,
        match_labels={"service": "payments-api"},
    )
    for n in range(60):
        opened = now - dt.timedelta(hours=12 * n + 3)
        labels = {"alertname": f"A{n}", "service": "payments-api" if n % 2 else "x"}
        with transaction.atomic():
            incident = incident_open(
                integration=integration,
                spec=IncidentSpec(
                    group_key=f"bench{n}",
                    title=f"A{n}",
                    team_id=team.pk,
                    route_id=route.pk if route else None,
                    routing="bench",
                    urgency="high" if n % 3 else "low",
                    group_labels=labels,
                    common_labels=labels,
                    common_annotations={},
                ),
                in_maintenance=True,  # nobody is paged for the bench's history
                at=opened,
            )
        if n > 2:
            incident_resolve(incident=incident, at=opened + dt.timedelta(minutes=7))
    for name, objective in (("availability", "99.9"), ("strict", "99.99"), ("p", "99")):
        slo = slo_create(service=service, name=name, objective=objective)
        evaluated = slo_evaluate(slo=slo, now=now)
        assert evaluated is not None
        # A week of minutely evaluations, as the periodic task keeps them.
        SLOEvaluation.objects.bulk_create(
            [
                SLOEvaluation(
                    slo=slo,
                    evaluated_at=now - dt.timedelta(minutes=m),
                    window_start=evaluated.window_start,
                    window_end=evaluated.window_end,
                    budget_seconds=evaluated.budget_seconds,
                    bad_seconds=evaluated.bad_seconds,
                    budget_remaining=evaluated.budget_remaining,
                    burn_1h=0,
                    burn_6h=0,
                    decision=evaluated.decision,
                )
                for m in range(1, 7 * 24 * 60)
            ],
            batch_size=2000,
        )
    secret = api_token_create(
        user=users[0], name="ci", scopes=["deploy-gate"], created_by=None, now=now
    ).secret
    return service, secret


def figures(label: str, times: list[float], queries: int, cpu: float) -> None:
    times.sort()
    print(
        f"{label:<34} {queries:2d} queries/call  median "
        f"{statistics.median(times) * 1e3:6.3f} ms  "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:6.3f} ms  "
        f"CPU {cpu / len(times) * 1e3:6.3f} ms/call"
    )


def through_server(server: str, secrets: list[str], calls: int) -> None:
    """The gate through the web server as compose runs it, over one kept-alive
    connection: latency as the client sees it, and the server side's CPU."""
    rate = os.environ.get("API_THROTTLE_RATE", "")
    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-gate-"))
    redis = RedisServer(workdir / "redis") if rate else None
    port = free_port()
    extra = {
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_THROTTLE_RATE": rate,
        "LOG_LEVEL": "WARNING",
        **_web_server.environment(bind=f"127.0.0.1:{port}", workers=2, threads=4),
    }
    if redis is not None:
        redis.start()
        extra["CACHE_URL"] = f"{redis.url}/1"
    connection.close()  # the server's processes open their own
    log = open(workdir / "server.log", "ab")  # the access log too
    web = subprocess.Popen(
        _web_server.command(server),
        cwd=_django.ROOT,
        env=django_env(**extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: port_open(port), 60, server)
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        asks = [
            {"Authorization": f"Bearer {secret}", "Host": "127.0.0.1"}
            for secret in secrets
        ]
        turn = iter(range(10**9))

        def call(path: str) -> None:
            # The tokens in turn: each stays under a production rate.
            client.request("GET", path, headers=asks[next(turn) % len(asks)])
            answer = client.getresponse()
            body = answer.read()
            assert answer.status == 200, (answer.status, body[:300])
            assert answer.getheader("Connection", "") != "close"

        stack = {server: web.pid, "PostgreSQL": _django._server.pid()}
        if redis is not None and redis.proc is not None:
            stack["redis"] = redis.proc.pid
        print(
            f"through {_web_server.describe(server, 2, 4)}; throttle "
            f"{rate or 'off'}{', redis' if redis else ''}; {len(secrets)} token(s) "
            "in turn; one connection, one call at a time:"
        )
        # /healthz through the same stack: the floor (HTTP, middleware, no
        # database), so what the gate adds to it is plain.
        for label, path in (("GET …/deploy-gate", PATH), ("GET /healthz", HEALTH)):
            for _ in range(100):  # warm both workers' statements and connections
                call(path)
            load = os.getloadavg()[0]
            before = {name: tree_cpu_seconds([pid]) for name, pid in stack.items()}
            client_before = time.process_time()
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                call(path)
                times.append(time.perf_counter() - started)
            client_cpu = time.process_time() - client_before
            spent = {
                name: tree_cpu_seconds([pid]) - before[name]
                for name, pid in stack.items()
            }
            server_cpu = sum(spent.values())
            times.sort()
            print(
                f"  {label:<18} median {statistics.median(times) * 1e3:6.3f} ms  "
                f"p99 {times[int(len(times) * 0.99)] * 1e3:6.3f} ms  "
                f"server CPU {server_cpu / calls * 1e3:6.3f} ms/call ("
                + ", ".join(f"{k} {v / calls * 1e3:.3f}" for k, v in spent.items())
                + f")  client CPU {client_cpu / calls * 1e3:6.3f} ms/call  load "
                f"average {load:.2f} before, {os.getloadavg()[0]:.2f} after"
            )
        client.close()
    except Exception:
        print((workdir / "server.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(web)
        if redis is not None:
            redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--server",
        choices=_web_server.SERVERS,
        help="also through this web server, as compose runs it (PostgreSQL)",
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=1,
        help="deploy-gate tokens asked in turn (with throttling on, enough that "
        "each stays under API_THROTTLE_RATE, e.g. 4 at compose's 1200/min)",
    )
    args = parser.parse_args()
    service, secret = build()
    secrets = [secret] + [
        api_token_create(
            user=ApiToken.objects.first().user,  # type: ignore[union-attr]
            name=f"ci{n}",
            scopes=["deploy-gate"],
            created_by=None,
            now=timezone.now(),
        ).secret
        for n in range(1, args.tokens)
    ]
    if connection.vendor == "postgresql":
        # As autovacuum would have by now, after the bulk insert above: the
        # planner's statistics, and no vacuum running during the measurement.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(
        f"database: {connection.vendor}; {args.calls} calls each; load average "
        f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs"
    )

    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    deploy_gate(service=service)  # warm: statements compiled, facts stored
    with connection.execute_wrapper(count):
        deploy_gate(service=service)
    times = []
    cpu = time.process_time()
    for _ in range(args.calls):
        started = time.perf_counter()
        deploy_gate(service=service)
        times.append(time.perf_counter() - started)
    figures("deploy_gate (service)", times, len(executed), time.process_time() - cpu)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(200):
            deploy_gate(service=service)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)

    clients = [
        Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_HOST="localhost")
        for secret in secrets
    ]
    client = clients[0]
    first = client.get(PATH)
    assert first.status_code == 200, first.content
    executed.clear()
    with connection.execute_wrapper(count):
        client.get(PATH)
    times = []
    cpu = time.process_time()
    for n in range(args.calls):
        client = clients[n % len(clients)]  # the tokens in turn (--tokens)
        started = time.perf_counter()
        response = client.get(PATH)
        times.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu
    assert response.status_code == 200, response.content
    assert response.json()["oncall"]["primary"] is not None, response.content
    figures("GET …/deploy-gate (test client)", times, len(executed), cpu)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(200):
            client.get(PATH)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    if args.server:
        through_server(args.server, secrets, args.calls)


if __name__ == "__main__":
    main()
