"""The API throttle with CACHE_URL naming Redis, as in production: a real
redis-server holds each bucket's sliding log (scheduling/throttling.py)."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model

from scheduling import throttling
from scheduling.throttling import PerTokenRateThrottle, RedisSlidingLog
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens/"


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def redis_url(redis_server, settings):
    """A Redis database of its own, emptied, named by CACHE_URL."""
    import redis

    url = f"{redis_server.url}/11"
    redis.Redis.from_url(url).flushdb()
    settings.CACHE_URL = url
    return url


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(1_800_000_000.0)
    monkeypatch.setattr(PerTokenRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="pw")


def test_each_token_has_its_own_bucket_in_redis(alice, settings, redis_url, clock):
    import redis

    settings.API_THROTTLE_RATE = "2/min"
    first, second = bearer_client(alice), bearer_client(alice)
    assert first.get(TOKENS).status_code == 200
    clock.at += 10
    assert first.get(TOKENS).status_code == 200
    clock.at += 10
    refused = first.get(TOKENS)
    assert refused.status_code == 429
    # The first request leaves the window 60 s after it came: 40 s from now.
    assert refused["Retry-After"] == "40"
    assert "throttled" in refused.json()["error"]
    assert second.get(TOKENS).status_code == 200
    # The buckets are in Redis, one sorted set per token, the refusal not counted.
    keys = sorted(redis.Redis.from_url(redis_url).keys("oncall:throttle_api_token:*"))
    assert len(keys) == 2
    assert [redis.Redis.from_url(redis_url).zcard(k) for k in keys] in ([2, 1], [1, 2])
    # 40 s later the first request has left the window: one slot again.
    clock.at += 40
    assert first.get(TOKENS).status_code == 200
    assert first.get(TOKENS).status_code == 429


def test_a_lower_rate_waits_for_enough_requests_to_leave(
    alice, settings, redis_url, clock
):
    settings.API_THROTTLE_RATE = "3/min"
    client = bearer_client(alice)
    for _ in range(3):
        assert client.get(TOKENS).status_code == 200
        clock.at += 5  # requests at 0, 5 and 10 s
    settings.API_THROTTLE_RATE = "1/min"
    refused = client.get(TOKENS)  # at 15 s: three in the window, one allowed
    # Down to none left once the third (at 10 s) leaves, at 70 s: 55 s from now.
    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"


def test_processes_sharing_redis_never_exceed_the_limit(redis_url):
    """Eight threads, each with its own client (as web processes have), take
    from one bucket at once: exactly the limit gets through."""
    logs = [RedisSlidingLog(redis_url) for _ in range(8)]
    taken: list[float | None] = []
    lock = threading.Lock()
    start = threading.Barrier(len(logs))

    def hammer(log: RedisSlidingLog) -> None:
        start.wait()
        for _ in range(25):
            answer = log.take("oncall:race", now=1000.0, window=60, limit=50)
            with lock:
                taken.append(answer)

    threads = [threading.Thread(target=hammer, args=(log,)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 200
    assert taken.count(None) == 50
    # Every refusal names the oldest request's time: one slot frees when it leaves.
    assert set(taken) - {None} == {1000.0}


def test_redis_down_lets_the_api_answer(alice, settings, caplog, monkeypatch):
    from tests.processes import free_port

    monkeypatch.setattr(throttling, "_warned_at", None)
    settings.CACHE_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.API_THROTTLE_RATE = "1/min"
    client = bearer_client(alice)
    with caplog.at_level("WARNING", logger="scheduling.throttling"):
        assert [client.get(TOKENS).status_code for _ in range(3)] == [200] * 3
    # Said once, not on every request while Redis stays down ...
    assert [r.getMessage() for r in caplog.records] == [
        "API throttle not applied: Redis ConnectionError"
    ]
    # ... and again once the quiet minute has passed.
    monkeypatch.setattr(throttling, "WARN_EVERY_SECONDS", 0.0)
    caplog.clear()
    with caplog.at_level("WARNING", logger="scheduling.throttling"):
        assert client.get(TOKENS).status_code == 200
    assert len(caplog.records) == 1


def test_without_redis_drf_counts_in_the_process_cache(alice, settings, clock):
    from django.core.cache import cache

    settings.CACHE_URL = ""
    settings.API_THROTTLE_RATE = "1/min"
    cache.clear()
    try:
        client = bearer_client(alice)
        assert client.get(TOKENS).status_code == 200
        assert throttling.redis_log() is None
        assert client.get(TOKENS).status_code == 429
    finally:
        cache.clear()
