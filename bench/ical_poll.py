"""Steady-state feed polling: gunicorn + PostgreSQL + Redis (the feed cache).

    .venv/bin/python bench/ical_poll.py [--tokens 1000] [--duration 10]

Everything runs on loopback on this machine: a throwaway PostgreSQL cluster, a
redis-server (``CACHE_URL``, where rendered feeds are shared between workers) and
gunicorn as docker-compose runs it (``oncall/gunicorn_conf.py``: ``--web-workers``
gthread workers with keep-alive, the access log on, written to a file here),
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
user+system time of gunicorn's, PostgreSQL's and redis's processes
(``/proc/<pid>/stat``, live processes of each tree) and prints it per poll, with
wrk's own CPU apart (the load generator).  The 2-core target is 2 s / 1,500 =
1.33 ms of CPU per poll, all processes included, split per process (gunicorn,
PostgreSQL, redis).  ``--profile N`` then runs N unchanged polls in-process
through the same WSGI application under cProfile and prints where their time
goes; ``--py-spy`` samples the gunicorn workers during each run (gunicorn's own
HTTP work and access log included) and prints the share under each part.

A/B.  ``--code DIR`` serves another checkout (``git archive <commit> | tar -x
-C DIR``) with this bench; ``--no-access-log`` runs gunicorn without its access
log; ``--only 200|304`` runs one of the two.  On a loaded machine run the
variants interleaved (A, B, A, B) and compare CPU per poll.

Target (issue 14): unchanged polls >= 1,500/s on 2 cores; one indexed lookup
per unchanged poll.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

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

done = function(summary, latency, requests)
  local s = summary
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"non2xx\": %%d, " ..
    "\"p50\": %%d, \"p99\": %%d}\n",
    s.requests, s.duration, s.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def setup_django(env: dict[str, str], code: Path) -> None:
    os.environ.update(env)
    if code != REPO:  # the models and migrations of the code under test
        sys.path.insert(0, str(code))
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


def gunicorn_config(workdir: Path, *, access_log: bool) -> list[str]:
    """gunicorn's options: docker-compose's configuration, the access log
    written to a file here (or, to measure what it costs, none)."""
    if access_log:
        return [
            "-c",
            "python:oncall.gunicorn_conf",
            "--access-logfile",
            str(workdir / "access.log"),
        ]
    conf = workdir / "gunicorn_no_access_log.py"
    conf.write_text("from oncall.gunicorn_conf import *  # noqa\naccesslog = None\n")
    return ["-c", str(conf)]


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


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def tree_cpu_seconds(roots: list[int]) -> float:
    """User + system CPU of the live processes under (and including) ``roots``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
    wanted = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    return sum(_ticks(pid) for pid in wanted) / os.sysconf("SC_CLK_TCK")


def py_spy_start(pids: list[int], out: Path) -> list[subprocess.Popen]:
    """Sample each gunicorn worker with py-spy (``--nonblocking``: the workers
    are not paused, so the figures of the run it watches stay near the plain
    ones) until :func:`py_spy_report` stops them."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return [
        subprocess.Popen(
            [
                binary,
                "record",
                "--nonblocking",
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(out.with_suffix(f".{pid}.txt")),
                "--pid",
                str(pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def _busy_samples(out: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw stacks of the workers, without idle threads (waiting in
    select/poll/accept or on a lock is not CPU)."""
    samples = []
    for file in out.parent.glob(out.stem + ".*.txt"):
        for line in file.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or "(" not in stack:
                continue
            frames = stack.split(";")
            idle = ("select (", "poll (", "wait (", "accept (")
            if not any(w in frames[-1] for w in idle):
                samples.append((frames, int(count)))
    return samples


# What a poll's CPU is spent on, by the frames it runs under.
SPY_MARKS = {
    "gunicorn: read and parse the request": "gunicorn/http/",
    "gunicorn: access log line": "glogging.py",
    "the WSGI application (Django or the lean path)": "oncall/wsgi.py",
    "Django's handler": "django/core/handlers/wsgi.py",
    "the lean path": "oncall/handlers.py",
    "psycopg (the lookup)": "psycopg/",
    "prometheus metrics": "prometheus_client/",
}


def py_spy_report(spies: list[subprocess.Popen], out: Path, top: int = 22) -> None:
    """Stop the samplers; print the share of the workers' busy samples under
    some frames (inclusive) and the functions that hold the most (self)."""
    import signal
    from collections import Counter

    for spy in spies:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for spy in spies:
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    samples = _busy_samples(out)
    total = sum(n for _, n in samples)
    for frames, n in samples:
        own[frames[-1]] += n
        for label, needle in SPY_MARKS.items():
            if any(needle in f for f in frames):
                under[label] += n
    if not total:
        print("  py-spy: no busy samples")
        return
    print(f"  py-spy: {total} busy samples of the gunicorn workers")
    for label, n in under.most_common():
        print(f"    {100 * n / total:5.1f} %  under {label}")
    print("    self time, top functions:")
    for leaf, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {leaf[:110]}")


def profile_polls(secret: str, etag: str, count: int) -> None:
    """``count`` unchanged polls through the WSGI application gunicorn serves,
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
        "only: Django, psycopg; not gunicorn's HTTP work nor PostgreSQL's)"
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


def poll_run(
    label: str,
    conditional: str,
    *,
    base: str,
    lua_paths: Path,
    workdir: Path,
    parts: dict[str, list[int]],
    web_pid: int,
    args: argparse.Namespace,
) -> None:
    """One wrk run over every token, with its figures (and py-spy's)."""
    script = workdir / f"poll-{conditional}.lua"
    script.write_text(WRK_SCRIPT % {"paths": lua_paths, "conditional": conditional})
    spies = []
    if args.py_spy:
        workers = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent(int(p.name)) == web_pid
        ]
        spies = py_spy_start(workers, workdir / f"spy-{conditional}.raw")
    before = {name: tree_cpu_seconds(pids) for name, pids in parts.items()}
    wrk_before = os.times()
    result = wrk(base, script, args.duration, args.connections)
    wrk_after = os.times()
    spent = {
        name: tree_cpu_seconds(pids) - before[name] for name, pids in parts.items()
    }
    cpu = sum(spent.values())
    wrk_cpu = (wrk_after.children_user + wrk_after.children_system) - (
        wrk_before.children_user + wrk_before.children_system
    )
    seconds = result["duration_us"] / 1e6
    polls = max(result["requests"], 1)
    print(
        f"  unchanged polls, {label}: {result['requests'] / seconds:7.0f}/s "
        f"(target >= 1500)  p50 {result['p50'] / 1000:.1f} ms  "
        f"p99 {result['p99'] / 1000:.1f} ms  non-2xx/3xx "
        f"{result['non2xx']}"
    )
    print(
        f"    CPU per poll: {cpu / polls * 1000:.3f} ms (gunicorn + "
        f"PostgreSQL + redis; target <= 1.33)  wrk "
        f"{wrk_cpu / polls * 1000:.3f} ms  load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(
        "      of which "
        + ", ".join(
            f"{name} {seconds / polls * 1000:.3f} ms" for name, seconds in spent.items()
        )
    )
    if spies:
        py_spy_report(spies, workdir / f"spy-{conditional}.raw")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument(
        "--profile", type=int, default=0, help="then profile N polls in-process"
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="sample the gunicorn workers with py-spy during each run (skews "
        "the CPU figures a little: compare runs made the same way)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=REPO,
        help="the checkout gunicorn serves (an A/B against another commit: "
        "`git archive <commit> | tar -x -C DIR`); the bench's own code stays "
        "this one's",
    )
    parser.add_argument(
        "--no-access-log",
        action="store_true",
        help="gunicorn without its access log (what the line costs)",
    )
    parser.add_argument(
        "--only",
        choices=("200", "304"),
        help="one of the two runs (shorter A/B rounds)",
    )
    args = parser.parse_args()
    code = args.code.resolve()
    if shutil.which("wrk") is None:
        print("wrk is not installed", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-ical-"))
    postgres = PostgresServer()
    redis = RedisServer(workdir / "redis")
    web: subprocess.Popen | None = None
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
            cwd=code,
            env=env,
            check=True,
        )
        setup_django(env, code)
        from django.db import connection

        secrets = make_feeds(args.tokens)
        connection.close()
        log = open(workdir / "gunicorn.log", "ab")
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                *gunicorn_config(workdir, access_log=not args.no_access_log),
                "--backlog",
                "2048",
                "oncall.wsgi:application",
            ],
            cwd=code,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": str(args.web_workers),
                "GUNICORN_THREADS": str(args.web_threads),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: port_open(port), 30, "gunicorn")
        base = f"http://127.0.0.1:{port}"
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
        # As autovacuum would have by now: the first fetches wrote each token's
        # last poll, and an index-only scan needs the visibility map set.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE scheduling_feedtoken")
        connection.close()
        lua_paths = workdir / "paths.lua"
        lua_paths.write_text(
            "return {\n"
            + ",\n".join(f'{{"{p}", {json.dumps(e)}}}' for p, e in paths)
            + "\n}\n"
        )
        load1, _, _ = os.getloadavg()
        if code != REPO:
            print(f"gunicorn serves the code in {code}")
        print(
            f"stack: gunicorn {args.web_workers} gthread workers x "
            f"{args.web_threads} threads (keep-alive, "
            f"{'no access log' if args.no_access_log else 'access log'}), PostgreSQL, "
            f"redis cache; {os.cpu_count()} CPUs; load average before: {load1:.2f}"
        )
        parts = {
            "gunicorn": [web.pid],
            "PostgreSQL": [postgres.pid()],
            "redis": [redis.proc.pid],
        }
        runs = [("200 (no If-None-Match)", "false"), ("304", "true")]
        if args.only:
            runs = [runs[0] if args.only == "200" else runs[1]]
        for label, conditional in runs:
            poll_run(
                label,
                conditional,
                base=base,
                lua_paths=lua_paths,
                workdir=workdir,
                parts=parts,
                web_pid=web.pid,
                args=args,
            )
        print("database work per unchanged poll (in-process, same PostgreSQL):")
        poll_queries(secrets[0], paths[0][1])
        if args.profile:
            profile_polls(secrets[0], paths[0][1], args.profile)
        connection.close()
    except Exception:
        log_file = workdir / "gunicorn.log"
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
