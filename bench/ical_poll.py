"""Steady-state feed polling: the web server + PostgreSQL + Redis (the feed cache).

    .venv/bin/python bench/ical_poll.py [--tokens 1000] [--duration 10]

Everything runs on loopback on this machine: a throwaway PostgreSQL cluster, a
redis-server (``CACHE_URL``, where rendered feeds are shared between workers) and
the web server as docker-compose runs it (``--server``, bench/_web_server.py:
granian by default, or gunicorn; ``--web-workers`` workers of ``--web-threads``
threads with keep-alive, the access log on, written to a file here),
``DEBUG=0``.  The demo's team and six people
on the paired weekly rotation; ``--tokens`` feed tokens spread over the team's
feed and the six member feeds.  Each token is fetched once (a render per scope,
then the cache), then wrk polls all of them in turn for ``--duration`` seconds:
once without ``If-None-Match`` (200s from the cache), once with each token's
ETag (304s).  Then the database work of one unchanged poll: the statements a
poll runs (counted in-process, against the same PostgreSQL) and PostgreSQL's
plan for the token lookup.

CPU.  The machine is shared, so polls/s moves with whatever else runs; the CPU
time the stack spent per poll does not.  Around each wrk run the bench reads the
user+system time of the server's, PostgreSQL's and redis's processes
(``/proc/<pid>/stat``, live processes of each tree) and prints it per poll, with
wrk's own CPU apart (the load generator).  The 2-core target is 2 s / 1,500 =
1.33 ms of CPU per poll, all processes included.  ``--profile N`` then runs N
unchanged polls in-process through the same WSGI application under cProfile and
prints where their time goes.

Target (issue 14): unchanged polls >= 1,500/s on 2 cores; one indexed lookup
per unchanged poll.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import _web_server  # noqa: E402
from _proc_cpu import tree_cpu_seconds  # noqa: E402

from tests.processes import (  # noqa: E402
    PostgresServer,
    RedisServer,
    django_env,
    free_port,
    port_open,
    stop,
    wait_until,
)

WRK_SCRIPT = r"""
local paths = dofile("%(paths)s")
local n = #paths
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
  local p = paths[(counter %% n) + 1]
  local headers = {["User-Agent"] = "Google-Calendar-Importer"}
  if %(conditional)s then headers["If-None-Match"] = p[2] end
  return wrk.format("GET", p[1], headers)
end

%(delay)s
done = function(summary, latency, requests)
  local s = summary
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"non2xx\": %%d, " ..
    "\"p50\": %%d, \"p99\": %%d}\n",
    s.requests, s.duration, s.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


# With --rate: each connection waits this long after each answer, so that both
# servers see about the same request rate and their latencies compare.
WRK_DELAY = """
delay = function()
  return %d
end
"""


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def make_feeds(count: int) -> list[str]:
    """The cast's team with its rotation, and ``count`` feed secrets."""
    from django.contrib.auth import get_user_model

    from scheduling.feeds import feed_create
    from tests import cast

    team = cast.team_create(people=cast.PEOPLE)
    members = list(team.members.order_by("user__username"))
    cast.rotation_starting_now(team, members)
    owner = get_user_model().objects.create_user("feedbench", is_staff=True)
    subjects = [team, *members]
    return [
        feed_create(
            subject=subjects[i % len(subjects)], owner=owner, created_by=owner
        ).secret
        for i in range(count)
    ]


def wrk(base: str, script: Path, duration: int, connections: int) -> dict:
    run = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            base + "/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in run.stdout.splitlines() if x.startswith("WRKJSON "))
    return json.loads(line[len("WRKJSON ") :])


def profile_polls(secret: str, etag: str, count: int) -> None:
    """``count`` unchanged polls through the WSGI application the server serves,
    in this process, under cProfile: where a poll's CPU goes."""
    import cProfile
    import io
    import pstats

    from oncall.wsgi import application

    def environ(conditional: bool) -> dict:
        env = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": f"/ical/{secret}.ics",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_USER_AGENT": "Google-Calendar-Importer",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
        }
        if conditional:
            env["HTTP_IF_NONE_MATCH"] = etag
        return env

    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses.append(status)

    def run(n: int) -> None:
        for i in range(n):
            body = application(environ(i % 2 == 1), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()

    run(50)  # warm
    started = time.process_time()
    run(count)
    plain = time.process_time() - started
    print(
        f"in-process: {count} unchanged polls (half conditional) through the "
        f"WSGI application, {plain / count * 1000:.3f} ms CPU each (this process "
        "only: Django, psycopg; not the server's HTTP work nor PostgreSQL's)"
    )
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.runcall(run, count)
    cpu = time.process_time() - started
    print(
        f"the same under cProfile: "
        f"{cpu / count * 1000:.3f} ms CPU each with the profiler's overhead; "
        f"statuses {sorted(set(statuses))}"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def poll_queries(secret: str, etag: str) -> None:
    """The statements one unchanged poll runs, and the lookup's plan."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    path = f"/ical/{secret}.ics"
    client.get(path, HTTP_USER_AGENT="Google-Calendar-Importer")  # warm
    for label, headers in (("200", {}), ("304", {"HTTP_IF_NONE_MATCH": etag})):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                path, HTTP_USER_AGENT="Google-Calendar-Importer", **headers
            )
        print(
            f"  unchanged poll answered {response.status_code} (expected {label}): "
            f"{len(queries.captured_queries)} SQL statement(s)"
        )
    [lookup] = queries.captured_queries
    print(f"  the statement: {lookup['sql'][:160]}…")
    # The compiled statement with this poll's values (a prepared statement is
    # logged as written, with its placeholders).
    from scheduling.feeds import _DIGEST, _compiled_poll
    from scheduling.models import hash_feed_token

    sql, params = _compiled_poll()
    args = [hash_feed_token(secret) if p == _DIGEST else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, args)
        plan = [row[0] for row in cursor.fetchall()]
    print("  PostgreSQL's plan:")
    for row in plan:
        print(f"    {row}")


def first_fetch(base: str, secrets: list[str]) -> list[tuple[str, str]]:
    """Each token once (a render per scope, then the cache): paths and ETags."""
    started = time.monotonic()
    paths: list[tuple[str, str]] = []
    for secret in secrets:
        path = f"/ical/{secret}.ics"
        # As wrk will ask: a poll by another client records it (an UPDATE),
        # and a thousand of those would land in the measured runs.
        first = urllib.request.Request(  # noqa: S310
            base + path, headers={"User-Agent": "Google-Calendar-Importer"}
        )
        with urllib.request.urlopen(first, timeout=30) as answer:  # noqa: S310
            paths.append((path, answer.headers["ETag"]))
    print(
        f"{len(paths)} feed tokens over {len({e for _, e in paths})} distinct "
        f"bodies, first fetched in {time.monotonic() - started:.1f} s"
    )
    return paths


def write_scripts(
    workdir: Path, paths: list[tuple[str, str]], args: argparse.Namespace
) -> None:
    """wrk's scripts: every token in turn, without and with If-None-Match."""
    lua_paths = workdir / "paths.lua"
    lua_paths.write_text(
        "return {\n"
        + ",\n".join(f'{{"{p}", {json.dumps(e)}}}' for p, e in paths)
        + "\n}\n"
    )
    for conditional in ("false", "true"):
        (workdir / f"poll-{conditional}.lua").write_text(
            WRK_SCRIPT
            % {
                "paths": lua_paths,
                "conditional": conditional,
                "delay": WRK_DELAY % (args.connections * 1000 // args.rate)
                if args.rate
                else "",
            }
        )


def start_web(
    server: str, env: dict[str, str], port: int, args: argparse.Namespace, log: Path
) -> subprocess.Popen:
    out = open(log, "ab")  # closed with the process
    web = subprocess.Popen(
        _web_server.command(server),
        cwd=REPO,
        env={
            **env,
            **_web_server.environment(
                bind=f"127.0.0.1:{port}",
                workers=args.web_workers,
                threads=args.web_threads,
            ),
        },
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    wait_until(lambda: port_open(port), 60, server)
    # Both servers listen before their workers have imported Django: wait until
    # the boot's CPU is spent, or it would be charged to the first polls.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=60):
        pass
    wait_idle([web.pid])
    return web


def wait_idle(roots: list[int], quiet: float = 0.02, timeout: float = 120) -> None:
    """Until the process trees spend under ``quiet`` CPU seconds in half a second."""
    deadline = time.monotonic() + timeout
    before = tree_cpu_seconds(roots)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        after = tree_cpu_seconds(roots)
        if after - before < quiet:
            return
        before = after
    raise TimeoutError("the web server did not settle")


def measure(
    server: str,
    web: subprocess.Popen,
    stack: list[int],
    workdir: Path,
    base: str,
    args: argparse.Namespace,
) -> dict[str, dict[str, float]]:
    """wrk's two runs against one server; per run: polls/s, p50, p99 and CPU."""
    load1, _, _ = os.getloadavg()
    print(
        f"stack: {_web_server.describe(server, args.web_workers, args.web_threads)}"
        f", PostgreSQL, redis cache; {os.cpu_count()} CPUs; load average before: "
        f"{load1:.2f}"
    )
    figures: dict[str, dict[str, float]] = {}
    for label, conditional in (
        ("200 (no If-None-Match)", "false"),
        ("304", "true"),
    ):
        script = workdir / f"poll-{conditional}.lua"
        # Unmeasured: every worker and thread has its connections and imports.
        wrk(base, script, 1, args.connections)
        cpu_before = tree_cpu_seconds([web.pid, *stack])
        wrk_before = os.times()
        result = wrk(base, script, args.duration, args.connections)
        wrk_after = os.times()
        cpu = tree_cpu_seconds([web.pid, *stack]) - cpu_before
        wrk_cpu = (wrk_after.children_user + wrk_after.children_system) - (
            wrk_before.children_user + wrk_before.children_system
        )
        seconds = result["duration_us"] / 1e6
        polls = max(result["requests"], 1)
        figures[label] = {
            "rate": result["requests"] / seconds,
            "p50": result["p50"] / 1000,
            "p99": result["p99"] / 1000,
            "cpu": cpu / polls * 1000,
        }
        print(
            f"  unchanged polls, {label}: {result['requests'] / seconds:7.0f}/s "
            f"(target >= 1500)  p50 {result['p50'] / 1000:.1f} ms  "
            f"p99 {result['p99'] / 1000:.1f} ms  non-2xx/3xx "
            f"{result['non2xx']}"
        )
        print(
            f"    CPU per poll: {cpu / polls * 1000:.3f} ms ({server} + "
            f"PostgreSQL + redis; target <= 1.33)  wrk "
            f"{wrk_cpu / polls * 1000:.3f} ms  load average "
            f"{os.getloadavg()[0]:.2f}"
        )
    return figures


def summary(results: dict[str, list[dict[str, dict[str, float]]]]) -> None:
    """Medians over the rounds, each server side by side (and their ratio)."""
    servers = list(results)
    print("\n== summary (median over rounds) ==")
    print(f"  {'':<36}" + "".join(f"{name:>12}" for name in servers))
    for label in ("200 (no If-None-Match)", "304"):
        for key, name in (
            ("cpu", "CPU ms/poll"),
            ("rate", "polls/s"),
            ("p50", "p50 ms"),
            ("p99", "p99 ms"),
        ):
            values = [
                statistics.median(run[label][key] for run in results[server])
                for server in servers
            ]
            line = f"  {label[:22] + ' ' + name:<36}" + "".join(
                f"{v:12.3f}" for v in values
            )
            if len(values) == 2 and values[0]:
                line += f"   {servers[1]}/{servers[0]} {values[1] / values[0]:.2f}"
            print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument(
        "--server",
        default="granian",
        help="gunicorn, granian, or both comma-separated (run alternately, A/B)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="times each server is measured"
    )
    parser.add_argument(
        "--rate",
        type=int,
        default=0,
        help="about this many polls/s in all (each connection pauses after each "
        "answer), to compare latency at the same load; 0: as fast as answered",
    )
    parser.add_argument(
        "--profile", type=int, default=0, help="then profile N polls in-process"
    )
    args = parser.parse_args()
    servers = _web_server.parse_servers(args.server)
    if shutil.which("wrk") is None:
        print("wrk is not installed", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-ical-"))
    postgres = PostgresServer()
    redis = RedisServer(workdir / "redis")
    web: subprocess.Popen | None = None
    log_file = workdir / "web.log"
    try:
        postgres.start()
        redis.start()
        port = free_port()
        env = django_env(
            DEBUG="0",
            SECRET_KEY="bench-secret-key-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=postgres.url(),
            CACHE_URL=f"{redis.url}/1",
            LOG_LEVEL="WARNING",
            ONCALL_DATA_DIR=str(workdir / "data"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            API_THROTTLE_RATE="",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=env,
            check=True,
        )
        setup_django(env)
        from django.db import connection

        secrets = make_feeds(args.tokens)
        connection.close()
        web = start_web(servers[0], env, port, args, log_file)
        base = f"http://127.0.0.1:{port}"
        paths = first_fetch(base, secrets)
        # As autovacuum would have by now: the first fetches wrote each token's
        # last poll, and an index-only scan needs the visibility map set.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scheduling_feedtoken")
        connection.close()
        write_scripts(workdir, paths, args)
        stack = [postgres.pid(), redis.proc.pid]
        results: dict[str, list[dict[str, dict[str, float]]]] = {
            server: [] for server in servers
        }
        # A/B: the servers take turns in each round, on the same database and
        # cache, so that both see the same machine minutes.
        for _ in range(args.rounds):
            for server in servers:
                if web is None:
                    web = start_web(server, env, port, args, log_file)
                results[server].append(measure(server, web, stack, workdir, base, args))
                stop(web, timeout=30)
                web = None
        if len(servers) > 1 or args.rounds > 1:
            summary(results)
        print("database work per unchanged poll (in-process, same PostgreSQL):")
        poll_queries(secrets[0], paths[0][1])
        if args.profile:
            profile_polls(secrets[0], paths[0][1], args.profile)
        connection.close()
    except Exception:
        if log_file.exists():  # why the server went away, before it is deleted
            print(log_file.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        if web is not None:
            stop(web)
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
