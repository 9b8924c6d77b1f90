"""The API throttle's own cost per request, in-process, against a real redis-server.

    .venv/bin/python bench/api_throttle.py [--calls 3000] [--history 1000]

Compares, on one bucket already holding ``--history`` requests of the window (at
compose's 1,200/min a busy token holds up to 1,200):

* DRF's ``SimpleRateThrottle`` counting through Django's Redis cache (what
  ``PerTokenRateThrottle`` did before): the bucket's list of times read, trimmed
  and written back whole, two round trips, each through a new client object;
* ``scheduling.throttling.PerTokenRateThrottle`` with ``CACHE_URL`` naming Redis:
  one Lua script on a kept client, one round trip.

Prints this process's CPU and the wall time per allowed request (medians of
``--rounds``), and the redis-server's CPU per request.  The rate is set high
enough that every measured request is allowed, so both count each one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import _django  # noqa: F401 - sets up Django on a throwaway database
from _proc_cpu import tree_cpu_seconds
from django.core.cache import caches
from django.test import override_settings
from rest_framework.throttling import SimpleRateThrottle

from scheduling.throttling import PerTokenRateThrottle
from tests.processes import RedisServer

RATE = "1000000/min"  # never refuses: each measured request is counted


def _request(user_pk: int) -> SimpleNamespace:
    """What the throttle reads of a request: a signed-in user, no token."""
    return SimpleNamespace(
        auth=None, user=SimpleNamespace(is_authenticated=True, pk=user_pk), META={}
    )


def _drf_allow(request: SimpleNamespace) -> bool:
    throttle = PerTokenRateThrottle()
    return SimpleRateThrottle.allow_request(throttle, request, None)  # type: ignore[arg-type]


def _lua_allow(request: SimpleNamespace) -> bool:
    return PerTokenRateThrottle().allow_request(request, None)  # type: ignore[arg-type]


def measure(
    allow: Callable[[SimpleNamespace], bool],
    *,
    user_pk: int,
    history: int,
    calls: int,
    redis_pid: int,
) -> tuple[float, float, float]:
    """This process's CPU, the wall time and redis-server's CPU, in ms per call."""
    request = _request(user_pk)
    for _ in range(history):
        assert allow(request)
    redis_before = tree_cpu_seconds([redis_pid])
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        assert allow(request)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_cpu = tree_cpu_seconds([redis_pid]) - redis_before
    return cpu / calls * 1e3, wall / calls * 1e3, redis_cpu / calls * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    redis = RedisServer(Path(tempfile.mkdtemp(prefix="oncall-bench-throttle-")))
    redis.start()
    try:
        url = f"{redis.url}/1"
        cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
        with override_settings(
            CACHE_URL=url,
            CACHES={"default": {**cache, "LOCATION": url}},
            API_THROTTLE_RATE=RATE,
        ):
            caches["default"].clear()
            figures: dict[str, list[tuple[float, float, float]]] = {}
            user_pk = 0
            for _ in range(args.rounds):  # interleaved: DRF, Lua, DRF, Lua ...
                for name, allow in (
                    ("DRF list in Django's cache", _drf_allow),
                    ("Lua sliding log", _lua_allow),
                ):
                    user_pk += 1  # a fresh bucket per run
                    figures.setdefault(name, []).append(
                        measure(
                            allow,
                            user_pk=user_pk,
                            history=args.history,
                            calls=args.calls,
                            redis_pid=redis.proc.pid,  # type: ignore[union-attr]
                        )
                    )
        print(
            f"{args.calls} allowed requests per run, bucket holding "
            f"{args.history}+ requests, {args.rounds} rounds (medians):"
        )
        for name, runs in figures.items():
            cpu, wall, redis_cpu = (
                statistics.median(f[i] for f in runs) for i in range(3)
            )
            print(
                f"  {name:<28} CPU {cpu:.3f} ms  wall {wall:.3f} ms  "
                f"redis-server CPU {redis_cpu:.3f} ms  per request"
            )
    finally:
        redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
