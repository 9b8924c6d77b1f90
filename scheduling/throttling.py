"""Rate limits for the REST API: one bucket per API token (DRF throttle).

Requests with a token are counted per token, session requests per user, anything
else per client address.  The rate is ``API_THROTTLE_RATE`` (e.g. ``600/min``),
read on every request so a deployment (or a test) can change it.  Over the rate:
429 with ``Retry-After``.

Where the counts live:

* ``CACHE_URL`` names Redis (production): a sliding log per bucket in Redis, one
  sorted set of request times, checked and appended by one Lua script in one
  round trip (:class:`RedisSlidingLog`), so every web process shares it and two
  processes cannot both take the last slot.  DRF's own throttle keeps the same
  log as a pickled list read and written back through Django's cache: two round
  trips, a new client object per call and the whole list both ways, five times
  the CPU per API request (``bench/api_throttle.py``).  If Redis cannot be
  reached the request is let through and a warning logged (at most once a minute
  per process): a rate limit is not a reason to refuse the API while its store
  is down.
* otherwise: DRF's throttle in Django's per-process cache (development, tests).

Either way a refused request is not counted.  ``Retry-After``: in Redis, the
time until enough requests leave the window for one more; DRF's, its own
estimate.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import time
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from scheduling.models import ApiToken

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# While Redis is unreachable every API request would say so: once a minute does.
WARN_EVERY_SECONDS = 60.0
_warned_at: float | None = None

# KEYS[1]: the bucket's sorted set (member: a unique request id, score: its time).
# ARGV: now, the window in seconds, the limit, the new member.  Drops the times
# that left the window (DRF's rule: at or before now - window), then either adds
# this request and answers nil, or, with the bucket full, answers the time of the
# request whose leaving frees a slot (the (n - limit + 1)-th oldest).
_LOG_SCRIPT = """
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - window)
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if n >= limit then
  local freeing = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return freeing[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return false
"""


class RedisSlidingLog:
    """The Lua script above on one Redis client (thread-safe: redis-py's client
    takes a pooled connection per command, and re-creates its pool after a fork)."""

    def __init__(self, url: str) -> None:
        self._script = redis.Redis.from_url(
            url, socket_timeout=2, socket_connect_timeout=2
        ).register_script(_LOG_SCRIPT)
        self._ids = itertools.count()

    def take(self, key: str, *, now: float, window: float, limit: int) -> float | None:
        """Count a request at ``now`` in ``key``'s bucket: ``None`` when it is
        within ``limit`` per ``window`` seconds, else (not counted) the time at
        which a slot frees."""
        # Unique per request: the process, this log and its count (ZADD of a
        # member already there would count nothing).
        member = f"{now!r}:{os.getpid()}:{id(self)}:{next(self._ids)}"
        freeing = self._script(keys=[key], args=[repr(now), window, limit, member])
        return None if freeing is None else float(freeing)


@functools.cache
def _redis_log(url: str) -> RedisSlidingLog:
    return RedisSlidingLog(url)


def redis_log() -> RedisSlidingLog | None:
    """The shared log when ``CACHE_URL`` names Redis, else ``None``."""
    url = settings.CACHE_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    return _redis_log(url)


def _warn_unapplied(exc: redis.RedisError) -> None:
    global _warned_at
    now = time.monotonic()
    if _warned_at is None or now - _warned_at >= WARN_EVERY_SECONDS:
        _warned_at = now
        logger.warning("API throttle not applied: Redis %s", type(exc).__name__)


class PerTokenRateThrottle(SimpleRateThrottle):
    scope = "api"
    # Set by SimpleRateThrottle.__init__ from the rate (unset without one).
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATE or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        log = redis_log()
        if log is None or self.rate is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            freeing = log.take(
                # ':log': not the key DRF's pickled list used, so an upgrade
                # meets no value of the wrong type.
                f"oncall:{self.key}:log",
                now=self.now,
                window=self.duration,
                limit=self.num_requests,
            )
        except redis.RedisError as exc:
            _warn_unapplied(exc)
            return True
        self._frees_at = freeing
        return freeing is None

    def wait(self) -> float | None:
        frees_at: float | None = getattr(self, "_frees_at", None)
        if frees_at is None:
            return super().wait()
        return max(frees_at + self.duration - self.now, 0.0)
