"""Alertmanager intake benchmark, in the shape docker-compose runs.

    make bench-intake                     # or: .venv/bin/python bench/intake.py --help
    .venv/bin/python bench/intake.py --compare main   # this checkout vs main, one run

The stack is the compose configuration on loopback: a throwaway PostgreSQL with
its stock settings (fsync and synchronous commit on), redis-server with the
compose's append-only file, the web server started exactly as compose starts it
(``python -m oncall.granian_server``, or with ``--server gunicorn``
``gunicorn -c python:oncall.gunicorn_conf``: workers, access log and
Prometheus multiprocess metrics, ``LOG_FORMAT=json``; bench/_web_server.py), the
compose worker
command (``celery -A oncall worker --loglevel=INFO``, prefork pool) and beat.
``--tuned`` shows a faster configuration instead (PostgreSQL fsync off, redis
without persistence, logging at WARNING); its figures are labelled "tuned".

Bodies follow a mix of what Alertmanager sends (bench/intake_payloads.py;
``--mix``): byte-identical repeats, repeats with changed annotations or startsAt,
alerts joining groups, partial resolves and new groups.  The load client is wrk
with a Lua script rotating tens of thousands of distinct bodies; its own CPU is
measured and printed.

For each run it prints:

1. accept rate and latency with keep-alive (as Alertmanager's HTTP client sends)
   and without (``Connection: close``), and the CPU each part of the stack spent
   per accepted webhook (web, worker, beat, PostgreSQL, redis, the client), the
   worker's counted until it has drained the backlog;
2. the worker's CPU per webhook for one kind at a time (identical repeats,
   changed annotations, new groups);
3. ``/healthz`` and ``/metrics`` requests per second, with and without keep-alive;
4. a burst of new groups: when the last webhook was accepted, and how long after
   it every incident existed and every first page had gone to the transport;
5. with ``--soak SECONDS``: web and worker resident memory at the start and end of
   a soak at the full accept rate.

``--compare REF`` runs the same benchmark against a checkout of REF (a git
worktree made for the purpose, the same virtualenv) right after this one,
``--rounds`` times alternately, and prints both side by side with their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import _web_server  # noqa: E402
import psycopg  # noqa: E402
from intake_payloads import Mix, parse_mix  # noqa: E402

from tests.processes import (  # noqa: E402
    PostgresServer,
    RedisServer,
    django_env,
    free_port,
    port_open,
    stop,
    wait_until,
)

TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105
PATH = "/api/v1/alertmanager/"
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Alertmanager/0.25.0",
    "Authorization": f"Bearer {TOKEN}",
}

# wrk: each thread walks its own stretch of the bodies, so the stream each
# connection sends keeps the mix's order (a group exists before alerts join it).
WRK_POST = r"""
local bodies = dofile("%(bodies)s")
local n = #bodies
local threads = {}
local nthreads = %(threads)d

function setup(thread)
  thread:set("offset", #threads * math.floor(n / nthreads))
  table.insert(threads, thread)
end

function init(args)
  counter = offset
end

request = function()
  counter = counter + 1
  local body = bodies[(counter %% n) + 1]
  return wrk.format("POST", "%(path)s", {%(headers)s}, body)
end
"""

WRK_GET = r"""
request = function()
  return wrk.format("GET", "%(path)s", {%(headers)s})
end
"""

WRK_REPORT = r"""
done = function(summary, latency, requests)
  local s = summary
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"duration_us\": %d, \"non2xx\": %d, " ..
    "\"connect\": %d, \"read\": %d, \"write\": %d, \"timeout\": %d, " ..
    "\"p50\": %d, \"p90\": %d, \"p99\": %d, \"max\": %d}\n",
    s.requests, s.duration, s.errors.status, s.errors.connect, s.errors.read,
    s.errors.write, s.errors.timeout,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> tuple[dict[int, int], dict[int, tuple[float, int]]]:
    """Every process's parent, and its CPU seconds and resident bytes."""
    parent: dict[int, int] = {}
    usage: dict[int, tuple[float, int]] = {}
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
        # utime + stime, and cutime + cstime: the CPU of children it has reaped
        # (a PostgreSQL backend that exited), which /proc no longer lists.
        cpu = sum(int(f) for f in fields[11:15]) / _TICKS
        usage[pid] = (cpu, int(fields[21]) * _PAGE)
    return parent, usage


def by_role(roots: dict[str, int]) -> dict[str, tuple[float, int]]:
    """(CPU seconds so far, resident bytes now) per part of the stack: each
    role's root process and all its descendants, read from /proc."""
    parent, usage = _processes()
    owner = {pid: role for role, pid in roots.items()}
    totals: dict[str, tuple[float, int]] = {}
    for pid, (cpu, rss) in usage.items():
        ancestor = pid
        while ancestor > 1 and ancestor not in owner:
            ancestor = parent.get(ancestor, 0)
        if ancestor in owner:
            role = owner[ancestor]
            old_cpu, old_rss = totals.get(role, (0.0, 0))
            totals[role] = (old_cpu + cpu, old_rss + rss)
    return totals


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    parent, _ = _processes()
    found = []
    for pid in parent:
        ancestor = pid
        while ancestor > 1 and ancestor != root:
            ancestor = parent.get(ancestor, 0)
        if ancestor == root:
            found.append(pid)
    return found


@contextlib.contextmanager
def paused(root: int) -> Iterator[None]:
    """SIGSTOP a process tree for the block (SIGCONT after)."""
    pids = descendants(root)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


class _Spy:
    """A running py-spy (or none): ``stop()`` ends the sampling early, once."""

    def __init__(self, proc: subprocess.Popen | None, out: Path | None) -> None:
        self.proc, self.out = proc, out

    def stop(self) -> None:
        if self.proc is None or self.out is None:
            return
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)
        self.proc = None
        print_profile(self.out)


def _py_spy(out: Path) -> list[str]:
    """py-spy's command line, less what to sample.  ``--gil``: only the thread
    holding the GIL is sampled, so a profile shows where CPU goes in Python, not
    where threads wait (for the database, Redis, or the GIL itself: without it,
    gunicorn's four threads waiting to get the GIL back after a send made the
    socket calls look like the heaviest code)."""
    return [
        str(Path(sys.executable).parent / "py-spy"),
        "record",
        "--gil",
        "--format",
        "raw",
        "--rate",
        "250",
        "--output",
        str(out),
    ]


@contextlib.contextmanager
def profiled(args: argparse.Namespace, root: int, name: str) -> Iterator[_Spy]:
    """With ``--profile DIR``: py-spy samples the process tree during the block
    (collapsed stacks in DIR/NAME.txt; its heaviest functions are printed).  The
    block may end the sampling sooner with the spy's ``stop()``."""
    if not args.profile:
        yield _Spy(None, None)
        return
    out = Path(args.profile) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = _Spy(
        subprocess.Popen(
            [*_py_spy(out), "--pid", str(root), "--subprocesses", "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        out,
    )
    try:
        yield spy
    finally:
        spy.stop()


def print_profile(collapsed: Path, top: int = 12) -> None:
    """The functions with the most samples (inclusive) in our code and Django's."""
    inclusive: dict[str, int] = {}
    total = 0
    if not collapsed.exists():
        return
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            if re.search(r"\((alerts|oncall|scheduling|django)/", frame):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
    print(f"      profile {collapsed.name}: {total} samples; heaviest of ours:")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"        {count / max(total, 1) * 100:5.1f}%  {frame[:110]}")


def cpu_by_role(roots: dict[str, int]) -> dict[str, float]:
    return {role: cpu for role, (cpu, _) in by_role(roots).items()}


@contextlib.contextmanager
def cpu_meter(roots: dict[str, int]) -> Iterator[dict[str, float]]:
    """CPU seconds each role spent inside the ``with`` block (filled in at exit)."""
    spent: dict[str, float] = {}
    before = cpu_by_role(roots)
    yield spent
    after = cpu_by_role(roots)
    for role, seconds in after.items():
        spent[role] = seconds - before.get(role, 0.0)


@dataclass
class Shape:
    tuned: bool
    web_workers: int
    worker_concurrency: int
    server: str = "gunicorn"  # bench/_web_server.py
    web_threads: int = 4


class Stack:
    """The compose stack, started from one checkout of the project."""

    def __init__(self, checkout: Path, shape: Shape) -> None:
        self.checkout = checkout
        self.shape = shape
        self.workdir = Path(tempfile.mkdtemp(prefix="oncall-bench-"))
        self.postgres = PostgresServer(durable=not shape.tuned)
        self.redis = RedisServer(self.workdir / "redis", appendonly=not shape.tuned)
        self.procs: dict[str, subprocess.Popen] = {}
        self.port = free_port()
        self.base = f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        prometheus = self.workdir / "prometheus"
        prometheus.mkdir(exist_ok=True)
        env = django_env(
            DEBUG="0",
            SECRET_KEY="bench-secret-key-" + "x" * 40,
            ALLOWED_HOSTS="127.0.0.1",
            PUBLIC_BASE_URL=f"http://{self.base}",
            DATABASE_URL=self.postgres.url(),
            CELERY_BROKER_URL=f"{self.redis.url}/0",
            CACHE_URL=f"{self.redis.url}/1",
            LOG_FORMAT="json",
            LOG_LEVEL="WARNING" if self.shape.tuned else "INFO",
            PROMETHEUS_MULTIPROC_DIR=str(prometheus),
            ONCALL_DATA_DIR=str(self.workdir / "data"),
            ONCALL_DEMO_TOKEN=TOKEN,
            PAGING_TRANSPORT="console",
            # Storm protection would hold all but the first few pages to one
            # person for a bundle; off here so every incident's first page goes
            # to the transport on its own (the most work for the worker).
            STORM_MAX_PAGES="1000000",
        )
        env.update(
            _web_server.environment(
                bind=self.base,
                workers=self.shape.web_workers,
                threads=self.shape.web_threads,
            )
        )
        env["PYTHONPATH"] = str(self.checkout)
        return env

    def _spawn(self, role: str, argv: list[str]) -> None:
        log = open(self.workdir / f"{role}.log", "ab")  # closed with the process
        self.procs[role] = subprocess.Popen(
            argv,
            cwd=self.checkout,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        self.postgres.start()
        self.redis.start()
        for command in (["migrate", "--noinput", "-v", "0"], ["oncall_demo"]):
            # The demo command creates admin/admin and so asks for DEBUG.
            debug = {"DEBUG": "1"} if command[0] == "oncall_demo" else {}
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=self.checkout,
                env=self.env() | debug,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        level = "WARNING" if self.shape.tuned else "INFO"
        self._spawn("web", _web_server.command(self.shape.server))
        self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oncall",
                "worker",
                f"--loglevel={level}",
                f"--concurrency={self.shape.worker_concurrency}",
            ],
        )
        self._spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oncall",
                "beat",
                f"--loglevel={level}",
                f"--schedule={self.workdir / 'celerybeat-schedule'}",
            ],
        )
        wait_until(lambda: port_open(self.port), 60, self.shape.server)
        wait_until(self.worker_ready, 120, "the Celery worker", interval=0.2)

    def worker_ready(self) -> bool:
        """The worker logs "ready" at INFO; at WARNING (``--tuned``) it logs
        nothing, so ask it (``celery inspect ping``) instead."""
        if "ready" in (self.workdir / "worker.log").read_text(errors="replace"):
            return True
        if not self.shape.tuned:
            return False
        ping = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "oncall", "inspect", "ping"],
            cwd=self.checkout,
            env=self.env(),
            capture_output=True,
            check=False,
        )
        return ping.returncode == 0

    def roots(self) -> dict[str, int]:
        return {
            "web": self.procs["web"].pid,
            "worker": self.procs["worker"].pid,
            "beat": self.procs["beat"].pid,
            "postgresql": self.postgres.pid(),
            "redis": self.redis.proc.pid if self.redis.proc else 0,
        }

    def sql(self, query: str) -> int:
        with psycopg.connect(self.postgres.url()) as conn:
            row = conn.execute(query).fetchone()
            return int(row[0]) if row else 0

    def backlog(self) -> int:
        return self.sql(
            "SELECT count(*) FROM alerts_webhookdelivery WHERE processed_at IS NULL"
        )

    def drain(self) -> None:
        wait_until(lambda: self.backlog() == 0, 3600, "the backlog", interval=0.1)

    def due_work(self) -> int:
        """Escalation steps and pages due now and not done yet."""
        return self.sql(
            "SELECT (SELECT count(*) FROM alerts_escalation WHERE state = 'active' "
            "AND next_action_at <= now()) + (SELECT count(*) FROM alerts_page "
            "WHERE status IN ('queued', 'sending') AND due_at <= now())"
        )

    def settle(self) -> None:
        """Drain, then wait until the work the webhooks caused (first steps and
        their pages) is done too, so that it is charged to them and not to
        whatever is measured next."""
        self.drain()
        wait_until(lambda: self.due_work() == 0, 3600, "due steps and pages", 0.1)

    def stop(self) -> None:
        for proc in self.procs.values():
            stop(proc, timeout=20)
        self.redis.stop()
        self.postgres.destroy()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _lua_headers(headers: dict[str, str]) -> str:
    return ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())


def wrk(
    stack: Stack,
    *,
    path: str,
    connections: int,
    seconds: int,
    keepalive: bool,
    bodies: Path | None = None,
) -> dict:
    """One wrk run; its figures and its own CPU seconds."""
    headers = dict(HEADERS) if bodies else {}
    if not keepalive:
        headers["Connection"] = "close"
    values = {
        "path": path,
        "headers": _lua_headers(headers),
        "bodies": bodies,
        "threads": 2,
    }
    script = (WRK_POST if bodies else WRK_GET) % values + WRK_REPORT
    script_file = stack.workdir / "wrk.lua"
    script_file.write_text(script)
    before = os.times()
    run = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script_file),
            f"http://{stack.base}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    after = os.times()
    line = next(x for x in run.stdout.splitlines() if x.startswith("WRKJSON "))
    result = json.loads(line[len("WRKJSON ") :])
    result["seconds"] = result["duration_us"] / 1e6
    result["ok"] = result["requests"] - result["non2xx"]
    result["rate"] = result["ok"] / result["seconds"]
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "timeout"))
    # wrk has exited: its CPU is ours to reap from the children's times.
    result["client_cpu"] = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    return result


def post_all(stack: Stack, bodies: list[bytes], clients: int) -> float:
    """POST every body with ``clients`` keep-alive connections; the time the last
    one was accepted (monotonic)."""
    pending = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[int] = []

    def client() -> None:
        conn = http.client.HTTPConnection(stack.base, timeout=30)
        while True:
            with lock:
                if not pending:
                    break
                body = pending.pop()
            conn.request("POST", PATH, body=body, headers=HEADERS)
            response = conn.getresponse()
            response.read()
            if response.status != 202:
                failures.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} webhooks refused: {sorted(set(failures))}")
    return time.monotonic()


def write_bodies(stack: Stack, bodies: list[bytes]) -> Path:
    target = stack.workdir / "bodies.lua"
    target.write_text(
        "return {\n"
        + ",\n".join("[==[" + b.decode() + "]==]" for b in bodies)
        + "\n}\n"
    )
    return target


def per_webhook(spent: dict[str, float], count: int) -> dict[str, float]:
    return (
        {role: seconds / count * 1000 for role, seconds in spent.items()}
        if count
        else {}
    )


def intake_phase(
    stack: Stack, args: argparse.Namespace, mix: Mix, keepalive: bool
) -> dict:
    """wrk posts the mix; CPU per accepted webhook, the worker's until drained."""
    seconds = args.duration if keepalive else max(5, args.duration // 2)
    # More bodies than wrk can send, so no body is sent twice by rotation.
    bodies = write_bodies(stack, mix.take(args.bodies))
    roots = stack.roots()
    name = "keepalive" if keepalive else "close"
    with (
        cpu_meter(roots) as spent,
        profiled(args, roots["worker"], f"worker-{name}"),
        profiled(args, roots["web"], f"web-{name}") as web_spy,
    ):
        result = wrk(
            stack,
            path=PATH,
            connections=args.connections,
            seconds=seconds,
            keepalive=keepalive,
            bodies=bodies,
        )
        web_spy.stop()
        stopped = time.monotonic()
        backlog = stack.backlog()
        stack.drain()
        result["drain_seconds"] = time.monotonic() - stopped
        stack.settle()  # the new groups' first pages are part of the mix's cost
    spent["client"] = result["client_cpu"]
    result["backlog"] = backlog
    result["cpu_ms"] = per_webhook(spent, result["ok"])
    label = "keep-alive" if keepalive else "no keep-alive (Connection: close)"
    print(f"\n  webhooks, {label}: {args.connections} connections, {seconds} s")
    print(
        f"    accepted/s   {result['rate']:8.0f}   ({result['non2xx']} non-2xx, "
        f"{result['errors']} socket errors)"
    )
    print(
        f"    latency      p50 {result['p50'] / 1000:.1f} ms  p90 "
        f"{result['p90'] / 1000:.1f} ms  p99 {result['p99'] / 1000:.1f} ms  max "
        f"{result['max'] / 1000:.1f} ms"
    )
    print(
        f"    backlog when wrk stopped {backlog}, drained "
        f"{result['drain_seconds']:.1f} s later"
    )
    print(
        "    CPU per accepted webhook (worker counted until drained and the new "
        "groups' first pages sent):"
    )
    for role, ms in sorted(result["cpu_ms"].items(), key=lambda kv: -kv[1]):
        print(f"      {role:<11} {ms:7.3f} ms")
    return result


def kinds_phase(stack: Stack, args: argparse.Namespace) -> dict[str, float]:
    """The worker's CPU per webhook for one kind of body at a time.

    The worker is stopped (SIGSTOP) while the bodies are posted and let go once
    all are stored, so what it spends is the cost of processing them in batches,
    as during a storm, and not of polling an inbox that fills slowly.
    """
    costs: dict[str, float] = {}
    roots = stack.roots()
    print(
        f"\n  CPU per webhook, one kind at a time ({args.per_kind} each; the worker "
        "drains them as a backlog, a new group's first page included):"
    )
    # Groups of their own: a repeat re-sends exactly what was stored last.
    own = Mix({"new_group": 1}, seed=3, prefix="kind")
    for kind in ("new_group", "repeat", "annotations"):
        if kind == "new_group":
            bodies = [own.new_group() for _ in range(args.per_kind)]
        else:
            bodies = own.each_group(kind)
        # The HTTP side alone: the worker is paused, so PostgreSQL's and redis's
        # CPU here is what the web's requests cost them.
        http_roles = ("web", "postgresql", "redis")
        with cpu_meter({role: roots[role] for role in http_roles}) as web:
            with paused(roots["worker"]), profiled(args, roots["web"], f"web-{kind}"):
                post_all(stack, bodies, clients=4)
        with cpu_meter({"worker": roots["worker"]}) as worker:
            with profiled(args, roots["worker"], f"worker-{kind}"):
                # A new group's first page is part of its cost.
                stack.settle()
        costs[kind] = worker.get("worker", 0.0) / len(bodies) * 1000
        costs[f"web {kind}"] = web.get("web", 0.0) / len(bodies) * 1000
        costs[f"http {kind}"] = sum(web.values()) / len(bodies) * 1000
        print(
            f"    {kind:<12} worker {costs[kind]:6.3f} ms   web "
            f"{costs[f'web {kind}']:6.3f} ms   web+pg+redis "
            f"{costs[f'http {kind}']:6.3f} ms"
        )
    return costs


def trivial_phase(stack: Stack, args: argparse.Namespace) -> dict[str, float]:
    rates: dict[str, float] = {}
    print("\n  trivial endpoints, requests/s (16 connections, 5 s):")
    for path in ("/healthz", "/metrics"):
        for keepalive in (True, False):
            with cpu_meter({"web": stack.roots()["web"]}) as web:
                result = wrk(
                    stack, path=path, connections=16, seconds=5, keepalive=keepalive
                )
            key = f"{path} {'keep-alive' if keepalive else 'close'}"
            rates[key] = result["rate"]
            rates[f"{key} p99"] = result["p99"] / 1000
            rates[f"{key} cpu"] = web.get("web", 0.0) / max(result["ok"], 1) * 1000
            print(
                f"    {key:<22} {result['rate']:8.0f}   p99 "
                f"{result['p99'] / 1000:.1f} ms  web CPU "
                f"{rates[f'{key} cpu']:.3f} ms/request  ({result['non2xx']} "
                f"non-2xx, {result['errors']} socket errors)"
            )
    return rates


def burst_phase(stack: Stack, args: argparse.Namespace) -> dict[str, float]:
    """New groups at once: when are all incidents there, and all first pages out,
    after the last webhook was accepted?"""
    mix = Mix({"new_group": 1}, seed=7, prefix="burst")
    bodies = mix.take(args.burst)
    started = time.monotonic()
    roots = stack.roots()
    meter = cpu_meter(roots)
    spent = meter.__enter__()
    spy = profiled(args, roots["worker"], "worker-burst")
    spy.__enter__()
    last = post_all(stack, bodies, clients=args.connections)

    def incidents() -> int:
        return stack.sql(
            "SELECT count(*) FROM alerts_incident WHERE group_key LIKE '%burst-%'"
        )

    def paged() -> int:
        return stack.sql(
            "SELECT count(DISTINCT p.incident_id) FROM alerts_page p JOIN "
            "alerts_incident i ON i.id = p.incident_id WHERE i.group_key LIKE "
            "'%burst-%' AND p.sent_at IS NOT NULL"
        )

    wait_until(lambda: incidents() >= args.burst, 600, "burst incidents", interval=0.02)
    all_incidents = time.monotonic() - last
    wait_until(lambda: paged() >= args.burst, 600, "first pages", interval=0.02)
    all_paged = time.monotonic() - last
    spy.__exit__(None, None, None)
    meter.__exit__(None, None, None)
    figures = {
        "accepted": last - started,
        "incidents": all_incidents,
        "pages": all_paged,
        "cpu_ms": per_webhook(spent, args.burst),
    }
    print(f"\n  burst: {args.burst} new groups, {args.connections} keep-alive clients")
    print(f"    all accepted after       {figures['accepted']:6.2f} s")
    print(f"    all incidents            {all_incidents:6.2f} s after the last webhook")
    print(
        f"    all first pages sent     {all_paged:6.2f} s after the last webhook "
        "(console transport)"
    )
    print("    CPU per new incident, webhook to first page sent (each role):")
    for role, ms in sorted(figures["cpu_ms"].items(), key=lambda kv: -kv[1]):
        print(f"      {role:<11} {ms:7.3f} ms")
    return figures


def soak_phase(stack: Stack, args: argparse.Namespace, mix: Mix) -> dict[str, float]:
    roots = stack.roots()
    start = by_role(roots)
    bodies = write_bodies(stack, mix.take(args.bodies))
    result = wrk(
        stack,
        path=PATH,
        connections=args.connections,
        seconds=args.soak,
        keepalive=True,
        bodies=bodies,
    )
    end = by_role(roots)
    stack.drain()
    print(f"\n  soak: {args.soak} s at {result['rate']:.0f} accepted/s")
    figures: dict[str, float] = {}
    for role in ("web", "worker"):
        a, b = start[role][1] / 2**20, end[role][1] / 2**20
        figures[f"rss {role} start"], figures[f"rss {role} end"] = a, b
        print(f"    {role:<7} RSS {a:7.1f} MiB at the start, {b:7.1f} MiB at the end")
    return figures


# The in-process phase's child: run with the checkout's code (``python -c``, so a
# checkout compared with ``--compare`` needs nothing of this bench), it calls the
# WSGI application gunicorn serves, in one thread, once per body, and prints the
# process CPU per call: the in-process share of an accepted webhook, without
# gunicorn's HTTP parsing and access log, and without the noise of a loaded
# machine on wall-clock rates (a thread's CPU time is its own).
INPROCESS_CHILD = r"""
import io, json, os, sys, time
from oncall.wsgi import application

bodies = json.loads(open(sys.argv[1]).read())
token = sys.argv[2]
host, port = sys.argv[3].split(":")

def environ(body):
    raw = body.encode()
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/alertmanager/",
        "QUERY_STRING": "", "SCRIPT_NAME": "", "SERVER_NAME": host,
        "SERVER_PORT": port, "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)), "HTTP_USER_AGENT": "Alertmanager/0.25.0",
        "HTTP_AUTHORIZATION": "Bearer " + token, "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }

statuses = {}
def call(body):
    got = []
    chunks = application(environ(body), lambda status, headers, *a: got.append(status))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    statuses[got[0]] = statuses.get(got[0], 0) + 1

warm = min(200, len(bodies) // 10)
for body in bodies[:warm]:
    call(body)
statuses.clear()
cpu, wall = time.process_time(), time.perf_counter()
for body in bodies[warm:]:
    call(body)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
n = len(bodies) - warm
print("INPROCESS " + json.dumps(
    {"calls": n, "cpu_ms": cpu / n * 1000, "wall_ms": wall / n * 1000,
     "statuses": statuses}))
"""


def inprocess_phase(stack: Stack, args: argparse.Namespace, mix: Mix) -> dict:
    """The WSGI application called in one thread, as gunicorn's threads call it:
    process CPU per accepted webhook (see ``INPROCESS_CHILD``)."""
    bodies = stack.workdir / "inprocess-bodies.json"
    bodies.write_text(json.dumps([b.decode() for b in mix.take(args.inprocess)]))
    env = stack.env()
    argv = [sys.executable, "-c", INPROCESS_CHILD, str(bodies), TOKEN, stack.base]
    out = None
    if args.profile:
        out = Path(args.profile) / "web-inprocess.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [*_py_spy(out), "--", *argv]
    run = subprocess.run(
        argv,
        cwd=stack.checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        raise RuntimeError(f"in-process phase failed:\n{run.stderr[-3000:]}")
    if out is not None:
        print_profile(out)
    line = next(x for x in run.stdout.splitlines() if x.startswith("INPROCESS "))
    result = json.loads(line[len("INPROCESS ") :])
    stack.drain()
    print(
        f"\n  webhooks in process (the WSGI application called {result['calls']} "
        "times in one thread, no HTTP server):"
    )
    print(
        f"    CPU {result['cpu_ms']:.3f} ms, wall {result['wall_ms']:.3f} ms per "
        f"webhook; answers {result['statuses']}"
    )
    return result


PHASES = ("inprocess", "keepalive", "close", "kinds", "trivial", "burst")


def one_run(
    checkout: Path, label: str, args: argparse.Namespace, server: str = "gunicorn"
) -> dict:
    if server == "granian" and not (checkout / "oncall" / "granian_server.py").exists():
        # An older checkout (--compare REF) ran gunicorn in production.
        print(f"\n({label} has no oncall/granian_server.py: it runs gunicorn)")
        server = "gunicorn"
    shape = Shape(
        args.tuned, args.web_workers, args.worker_concurrency, server, args.web_threads
    )
    stack = Stack(checkout, shape)
    try:
        stack.start()
        mix = Mix(parse_mix(args.mix), seed=1)
        # The groups that exist before we measure: repeats repeat something.
        post_all(stack, [mix.new_group() for _ in range(args.groups)], clients=4)
        stack.settle()
        load1, _, _ = os.getloadavg()
        name = "tuned" if args.tuned else "production shape"
        web = _web_server.describe(server, args.web_workers, args.web_threads)
        print(
            f"\n== {label} ({name}): {web}, "
            f"{args.worker_concurrency} worker process(es); load average "
            f"{load1:.2f} before the run on {os.cpu_count()} CPUs =="
        )
        phases = {
            "inprocess": lambda: inprocess_phase(stack, args, mix),
            "keepalive": lambda: intake_phase(stack, args, mix, True),
            "close": lambda: intake_phase(stack, args, mix, False),
            "kinds": lambda: kinds_phase(stack, args),
            "trivial": lambda: trivial_phase(stack, args),
            "burst": lambda: burst_phase(stack, args),
        }
        figures: dict = {
            phase: run() for phase, run in phases.items() if phase in args.phases
        }
        if args.soak:
            figures["soak"] = soak_phase(stack, args, mix)
        return figures
    finally:
        stack.stop()


def server_side(cpu_ms: dict[str, float]) -> float:
    """What the HTTP side of a webhook costs: web, PostgreSQL and redis."""
    return sum(cpu_ms.get(role, 0.0) for role in ("web", "postgresql", "redis"))


def summary(results: dict[str, list[dict]]) -> None:
    labels = list(results)
    rows: list[tuple[str, Callable[[dict], float]]] = [
        ("in-process CPU ms/webhook", lambda f: f["inprocess"]["cpu_ms"]),
        ("accepted/s keep-alive", lambda f: f["keepalive"]["rate"]),
        ("p50 ms keep-alive", lambda f: f["keepalive"]["p50"] / 1000),
        ("p99 ms keep-alive", lambda f: f["keepalive"]["p99"] / 1000),
        ("accepted/s no keep-alive", lambda f: f["close"]["rate"]),
        ("web CPU ms/webhook", lambda f: f["keepalive"]["cpu_ms"].get("web", 0)),
        ("web+pg+redis ms/webhook", lambda f: server_side(f["keepalive"]["cpu_ms"])),
        ("worker CPU ms/webhook", lambda f: f["keepalive"]["cpu_ms"].get("worker", 0)),
        ("worker ms, repeat", lambda f: f["kinds"]["repeat"]),
        ("web ms, new group (paused)", lambda f: f["kinds"]["web new_group"]),
        ("web ms, annotations (p.)", lambda f: f["kinds"]["web annotations"]),
        ("web+pg+redis ms, annot. (p.)", lambda f: f["kinds"]["http annotations"]),
        ("web+pg+redis ms, new gr. (p.)", lambda f: f["kinds"]["http new_group"]),
        ("worker ms, annotations", lambda f: f["kinds"]["annotations"]),
        ("worker ms, new group", lambda f: f["kinds"]["new_group"]),
        ("/healthz keep-alive /s", lambda f: f["trivial"]["/healthz keep-alive"]),
        ("/healthz keep-alive p99", lambda f: f["trivial"]["/healthz keep-alive p99"]),
        ("/healthz web CPU ms/req", lambda f: f["trivial"]["/healthz keep-alive cpu"]),
        ("/metrics keep-alive /s", lambda f: f["trivial"]["/metrics keep-alive"]),
        ("/metrics keep-alive p99", lambda f: f["trivial"]["/metrics keep-alive p99"]),
        ("/metrics web CPU ms/req", lambda f: f["trivial"]["/metrics keep-alive cpu"]),
        ("burst: all incidents s", lambda f: f["burst"]["incidents"]),
        ("burst: all first pages s", lambda f: f["burst"]["pages"]),
        ("burst: worker ms/incident", lambda f: f["burst"]["cpu_ms"]["worker"]),
        ("burst: web ms/incident", lambda f: f["burst"]["cpu_ms"]["web"]),
    ]
    print("\n== summary (median over rounds) ==")
    print(
        f"  {'':<26}"
        + "".join(f"{label[:22]:>24}" for label in labels)
        + ("        ratio" if len(labels) == 2 else "")
    )
    for name, get in rows:
        try:
            values = [
                statistics.median(get(f) for f in results[label]) for label in labels
            ]
        except KeyError:  # a phase left out (--phases)
            continue
        line = f"  {name:<26}" + "".join(f"{v:24.2f}" for v in values)
        if len(values) == 2 and values[1]:
            line += f"  {values[0] / values[1]:10.2f}x"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="keep-alive seconds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--groups",
        type=int,
        default=200,
        help="groups that exist before the measured phases",
    )
    parser.add_argument(
        "--bodies", type=int, default=40000, help="distinct bodies wrk rotates over"
    )
    parser.add_argument(
        "--mix",
        default="realistic",
        help="'realistic' or KIND=WEIGHT,... (bench/intake_payloads.py)",
    )
    parser.add_argument("--per-kind", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=1000, help="new groups at once")
    parser.add_argument("--soak", type=int, default=0, help="soak seconds (0: none)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=1)
    parser.add_argument(
        "--server",
        default="granian",
        help="the HTTP server: gunicorn, granian, or both comma-separated (each "
        "round runs them in turn, an interleaved A/B)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"which measured phases to run, comma-separated ({', '.join(PHASES)}); "
        "e.g. 'keepalive' alone for a quick web-CPU A/B",
    )
    parser.add_argument(
        "--tuned",
        action="store_true",
        help="fsync off, no redis persistence, logs at WARNING",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample the worker (and per kind, the web) with py-spy; collapsed "
        "stacks go to DIR",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="also run a checkout of REF (e.g. main) for comparison",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--inprocess",
        type=int,
        default=3000,
        help="webhooks the in-process phase sends through the WSGI application",
    )
    args = parser.parse_args()
    parse_mix(args.mix)
    servers = _web_server.parse_servers(args.server)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not set(args.phases) <= set(PHASES):
        parser.error(f"--phases: choose from {', '.join(PHASES)}")
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: scripts/ensure-system-packages wrk", file=sys.stderr
        )
        return 2

    checkouts = {"this checkout": REPO}
    refdir = None
    if args.compare:
        refdir = Path(tempfile.mkdtemp(prefix="oncall-bench-ref-")) / "checkout"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(refdir), args.compare],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        checkouts[args.compare] = refdir
    arms = [
        (label if len(servers) == 1 else f"{label}, {server}", checkout, server)
        for label, checkout in checkouts.items()
        for server in servers
    ]
    results: dict[str, list[dict]] = {arm: [] for arm, _, _ in arms}
    try:
        for _ in range(args.rounds):
            for arm, checkout, server in arms:
                results[arm].append(one_run(checkout, arm, args, server))
        summary(results)
    finally:
        if refdir is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(refdir)],
                cwd=REPO,
                check=False,
                capture_output=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
