"""Alertmanager intake benchmark: gunicorn + PostgreSQL + Redis + one Celery worker.

    make bench-intake            # or: .venv/bin/python bench/intake.py --help

Everything runs on loopback on this machine: a throwaway PostgreSQL cluster, a
redis-server, gunicorn (2 sync workers, ``DEBUG=0``) and one Celery worker process
(``--pool=solo``).  Payloads are the recorded ``a_single_firing`` body with the
``service`` label (and so groupKey, labels and fingerprint) varied, so every request
has the exact shape a real Alertmanager 0.25 sends.

Phase 1, accept rate: wrk with 16 connections posts for ``--duration`` seconds,
cycling over ``--groups`` distinct groups (so most posts are Alertmanager repeats, as
in a storm), while the worker processes what arrives.  Prints accepted requests/s and
latency percentiles, then how long the worker took to drain the backlog.

Phase 2, burst: 1,000 new groups posted by 16 concurrent clients; prints the time
until all 1,000 are accepted, until all 1,000 incidents exist, and until each has its
first page handed to the (console) transport.  The set-up is the demo organisation:
every incident escalates to the on-call primary by SMS at once.

Targets (issue 4): >= 1,500 accepted/s, p99 <= 30 ms, burst -> incidents <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.processes import (  # noqa: E402
    CeleryWorker,
    PostgresServer,
    RedisServer,
    django_env,
    free_port,
    port_open,
    stop,
    wait_until,
)

TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
TEMPLATE = REPO / "tests" / "fixtures" / "alertmanager" / "raw" / "a_single_firing.body"

WRK_SCRIPT = r"""
local bodies = dofile("%(bodies)s")
local n = #bodies
local counter = 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  counter = offset
end

request = function()
  counter = counter + 1
  local body = bodies[(counter %% n) + 1]
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "Alertmanager/0.25.0",
    ["Authorization"] = "Bearer %(token)s",
  }, body)
end

done = function(summary, latency, requests)
  local s = summary
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"non2xx\": %%d, " ..
    "\"connect\": %%d, \"read\": %%d, \"write\": %%d, \"timeout\": %%d, " ..
    "\"p50\": %%d, \"p90\": %%d, \"p95\": %%d, \"p99\": %%d, \"max\": %%d}\n",
    s.requests, s.duration, s.errors.status, s.errors.connect, s.errors.read,
    s.errors.write, s.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


def am_fingerprint(labels: dict[str, str]) -> str:
    from alerts.intake.parse import am_fingerprint as fp

    return fp(labels)


def payload_for(service: str) -> bytes:
    """The recorded body with its service label replaced everywhere it appears."""
    data = json.loads(TEMPLATE.read_bytes())
    for alert in data["alerts"]:
        alert["labels"]["service"] = service
        alert["fingerprint"] = am_fingerprint(alert["labels"])
    data["groupLabels"]["service"] = service
    data["commonLabels"]["service"] = service
    alertname = data["groupLabels"]["alertname"]
    data["groupKey"] = f'{{}}:{{alertname="{alertname}", service="{service}"}}'
    # Compact, like Go's encoder, with its trailing newline.
    return (json.dumps(data, separators=(",", ":")) + "\n").encode()


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_role(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each part of the stack: each
    role's root processes and all their descendants, read from /proc.  The
    difference of two readings says where a phase's CPU went."""
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / _TICKS
    seconds: dict[str, float] = {}
    for role, pids in roots.items():
        for pid in used:
            ancestor = pid
            while ancestor > 1 and ancestor not in pids:
                ancestor = parent.get(ancestor, 0)
            if ancestor in pids:
                seconds[role] = seconds.get(role, 0.0) + used[pid]
    return seconds


def lua_string(raw: bytes) -> str:
    return "[==[" + raw.decode() + "]==]"


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def burst_phase(url: str, burst_size: int, connections: int) -> None:
    """Phase 2: a burst of new groups, and how long until each is an incident
    with its first page sent."""
    from alerts.models import Incident, Page

    burst = [payload_for(f"burst-{i:05d}") for i in range(burst_size)]
    pending = list(reversed(burst))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        while True:
            with lock:
                if not pending:
                    return
                body = pending.pop()
            status = post(url, body)
            if status != 202:
                failures.append(str(status))

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted_after = time.monotonic() - started

    def incidents() -> int:
        return Incident.objects.filter(group_key__contains="burst-").count()

    def paged() -> int:
        return (
            Page.objects.filter(
                incident__group_key__contains="burst-", sent_at__isnull=False
            )
            .values("incident")
            .distinct()
            .count()
        )

    wait_until(lambda: incidents() >= burst_size, 600, "burst incidents", interval=0.05)
    all_incidents = time.monotonic() - started
    wait_until(lambda: paged() >= burst_size, 600, "first pages", interval=0.1)
    all_paged = time.monotonic() - started
    print(f"\nphase 2: burst of {burst_size} new groups, {connections} clients")
    print(f"  all accepted after      {accepted_after:6.2f} s ({len(failures)} failed)")
    print(
        f"  all {burst_size} incidents after {all_incidents:6.2f} s   (target <= 10 s)"
    )
    print(
        f"  all first pages sent after {all_paged:6.2f} s   (target <= 10 s; "
        "console transport)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="phase 1 seconds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--groups", type=int, default=200, help="phase 1 groups")
    parser.add_argument("--burst", type=int, default=1000, help="phase 2 groups")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: scripts/ensure-system-packages wrk", file=sys.stderr
        )
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-"))
    postgres = PostgresServer()
    redis = RedisServer(workdir / "redis")
    procs: list[subprocess.Popen] = []
    worker: CeleryWorker | None = None
    try:
        postgres.start()
        redis.start()
        port = free_port()
        env = django_env(
            DEBUG="0",
            SECRET_KEY="bench-secret-key-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=postgres.url(),
            CELERY_BROKER_URL=f"{redis.url}/0",
            LOG_LEVEL="WARNING",
            ONCALL_DATA_DIR=str(workdir / "data"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            ONCALL_DEMO_TOKEN=TOKEN,
            PAGING_TRANSPORT="console",
            # Storm protection would hold all but the first few pages to one
            # person for a bundle; off here so every incident's first page goes
            # to the transport on its own (the most work for the worker).
            STORM_MAX_PAGES="1000000",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        setup_django(env)
        from django.db import connection

        from alerts.models import Alert, Incident, WebhookDelivery
        from oncall.demo import demo_load

        # The demo organisation: its Alertmanager integration (token from
        # ONCALL_DEMO_TOKEN), routes with the demo escalation policy (the on-call
        # primary by SMS at once) and the paired rotation, so every new incident
        # pages somebody through the console transport.
        demo_load()
        connection.close()

        web_log = open(workdir / "gunicorn.log", "ab")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    str(args.web_workers),
                    "--worker-class",
                    "sync",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--backlog",
                    "2048",
                    "oncall.wsgi:application",
                ],
                cwd=REPO,
                env=env,
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_until(lambda: port_open(port), 30, "gunicorn")
        worker = CeleryWorker(env, workdir / "worker.log")
        worker.start()
        wait_until(
            lambda: "ready" in worker.log(), 60, "the Celery worker", interval=0.2
        )
        base = f"http://127.0.0.1:{port}"
        path = "/api/v1/alertmanager/"

        # Warm up: each gunicorn worker imports and connects before we measure.
        warm = payload_for("warmup")
        for _ in range(20):
            post(base + path, warm)

        load1, load5, _ = os.getloadavg()
        print(
            f"machine load average before the run: {load1:.2f} (1 min), "
            f"{load5:.2f} (5 min): anything else running shares these CPUs"
        )
        print(
            f"stack: gunicorn {args.web_workers} sync workers, PostgreSQL "
            f"{postgres.bindir.parent.name}, redis, 1 Celery worker (solo); "
            f"{os.cpu_count()} CPUs"
        )

        # --- phase 1 -----------------------------------------------------------
        bodies = [payload_for(f"svc-{i:04d}") for i in range(args.groups)]
        lua_bodies = workdir / "bodies.lua"
        lua_bodies.write_text(
            "return {\n" + ",\n".join(lua_string(b) for b in bodies) + "\n}\n"
        )
        script = workdir / "alertmanager.lua"
        script.write_text(
            WRK_SCRIPT % {"bodies": lua_bodies, "path": path, "token": TOKEN}
        )
        before = WebhookDelivery.objects.count()
        connection.close()
        roles = {
            "gunicorn": [procs[0].pid],
            "celery worker": [worker.proc.pid],
            "postgresql": [postgres.pid()],
            "redis": [redis.proc.pid],
        }
        cpu_before = cpu_by_role(roles)
        children_before = os.times()
        run = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(args.connections),
                "-d",
                f"{args.duration}s",
                "--timeout",
                "5s",
                "-s",
                str(script),
                base + path,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        wrk_done = time.monotonic()
        cpu_after = cpu_by_role(roles)
        children_after = os.times()
        # wrk has exited by now, so /proc no longer has it: its CPU is ours to reap.
        cpu_after["wrk (client)"] = (
            children_after.children_user
            + children_after.children_system
            - children_before.children_user
            - children_before.children_system
        )
        line = next(x for x in run.stdout.splitlines() if x.startswith("WRKJSON "))
        result = json.loads(line[len("WRKJSON ") :])
        seconds = result["duration_us"] / 1e6
        accepted = result["requests"] - result["non2xx"]
        stored = WebhookDelivery.objects.count() - before
        rate = accepted / seconds
        print(
            f"\nphase 1: {args.connections} clients, {args.duration}s, "
            f"{args.groups} groups cycling (repeats)"
        )
        print(
            f"  accepted {accepted} ({result['non2xx']} non-2xx, socket errors "
            f"connect/read/write/timeout {result['connect']}/{result['read']}/"
            f"{result['write']}/{result['timeout']}); stored {stored}"
        )
        print(f"  accepted/s      {rate:8.0f}   (target >= 1500)")
        for p in ("p50", "p90", "p95", "p99"):
            target = "   (target <= 30 ms)" if p == "p99" else ""
            print(f"  latency {p}     {result[p] / 1000:8.1f} ms{target}")
        print(f"  latency max     {result['max'] / 1000:8.1f} ms")
        print(
            f"  CPU used during the run ({seconds:.1f} s x {os.cpu_count()} CPUs "
            f"= {seconds * (os.cpu_count() or 1):.1f} CPU-s available):"
        )
        for role in sorted(cpu_after, key=lambda r: -cpu_after[r]):
            used = cpu_after[role] - cpu_before.get(role, 0.0)
            per = used / accepted * 1000 if accepted else 0.0
            print(
                f"    {role:<14} {used:6.2f} CPU-s  {used / seconds * 100:5.0f}% "
                f"of a CPU  {per:6.3f} ms per accepted webhook"
            )

        processed_at_end = WebhookDelivery.objects.filter(
            processed_at__isnull=False
        ).count()
        backlog = WebhookDelivery.objects.filter(processed_at__isnull=True).count()
        print(
            f"  worker during the run: {processed_at_end} processed, "
            f"{backlog} waiting when wrk stopped"
        )
        wait_until(
            lambda: (
                not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
            ),
            3600,
            "the worker to drain the backlog",
            interval=0.2,
        )
        drained = time.monotonic() - wrk_done
        total = WebhookDelivery.objects.count()
        print(
            f"  backlog drained {drained:.1f}s after wrk stopped; worker average "
            f"{total / (seconds + drained):.0f} deliveries/s over the phase"
        )
        groups = Incident.objects.filter(group_key__contains="svc-").count()
        alerts = Alert.objects.filter(labels__service__startswith="svc-").count()
        print(
            f"  dedupe: {stored} posts over {args.groups} groups -> {groups} "
            f"incidents, {alerts} alert rows (expected {args.groups} and "
            f"{args.groups})"
        )

        # --- phase 2 -----------------------------------------------------------
        connection.close()
        burst_phase(base + path, args.burst, args.connections)
        return 0
    finally:
        if worker is not None:
            worker.stop()
        for proc in procs:
            stop(proc)
        redis.stop()
        postgres.destroy()
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {TOKEN}",
            "User-Agent": "Alertmanager/0.25.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
