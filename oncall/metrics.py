"""Prometheus metrics: request counts and latency, background-process liveness.

Labels use the URL *route pattern* (``api/v1/teams/<slug:slug>/oncall/``), never the
raw path, so a scanner hitting random URLs cannot explode the series count.  Under
gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (docker-compose does)
and every worker's samples are aggregated at scrape time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "oncall_http_requests_total",
    "HTTP requests answered, by method, route and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "oncall_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + match.route if match.route else match.view_name or "unknown"


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


class HeartbeatCollector(Collector):
    """Seconds since each background heartbeat, read from the database at scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from oncall.models import Heartbeat

        family = GaugeMetricFamily(
            "oncall_heartbeat_age_seconds",
            "Seconds since a background process (Celery beat through a worker) "
            "last reported alive.",
            labels=["name"],
        )
        now = timezone.now()
        for name, last_seen in Heartbeat.objects.values_list("name", "last_seen"):
            family.add_metric([name], (now - last_seen).total_seconds())
        yield family


_EXTRA = CollectorRegistry(auto_describe=False)
_EXTRA.register(HeartbeatCollector())


def register_collector(collector: Collector) -> None:
    """Add a scrape-time collector (apps use this for database-derived gauges)."""
    _EXTRA.register(collector)


class ScrapeCache:
    """The database-derived part of a scrape, kept ``seconds`` in this process.

    Those gauges are a dozen ``GROUP BY`` queries over pages and incidents: tens to
    hundreds of milliseconds a scrape, which made ``/metrics`` the slowest endpoint
    (a few requests per second).  Every Prometheus scraping every web process within
    ``seconds`` gets the same text; one thread computes it while the others wait
    for its answer instead of running the same queries beside it.  The request
    counters and latency (the multiprocess part) are never cached.

    ``clock`` is the seam tests move time with (``time.monotonic`` otherwise).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._text = b""
        self._until = float("-inf")

    def get(self, seconds: float, compute: Callable[[], bytes]) -> bytes:
        if seconds <= 0:
            return compute()
        with self._lock:
            if self.clock() >= self._until:
                self._text = compute()
                # Timed from when the text was made: it is at most `seconds` old.
                self._until = self.clock() + seconds
            return self._text

    def clear(self) -> None:
        with self._lock:
            self._until = float("-inf")


DATABASE_GAUGES = ScrapeCache()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_processes(directory: str | None = None) -> list[int]:
    """Drop the live-gauge files of web processes that no longer exist.

    gunicorn's master does this in its ``child_exit`` hook (oncall/gunicorn_conf.py);
    granian has no such hook, but it starts a new worker for one that died, and
    every worker calls this as it loads the application (oncall/wsgi.py).  Only
    ``live*`` gauges are dropped: a dead process's counters and histograms still
    count, as prometheus_client's multiprocess mode means them to.  Returns the
    process ids whose files went.
    """
    directory = directory or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return []
    dead: set[int] = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        digits = path.stem.rpartition("_")[2]
        if digits.isdigit() and not _alive(int(digits)):
            dead.add(int(digits))
    for pid in dead:
        multiprocess.mark_process_dead(pid, directory)
    return sorted(dead)


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    database = DATABASE_GAUGES.get(
        settings.METRICS_DATABASE_GAUGES_SECONDS, lambda: generate_latest(_EXTRA)
    )
    return generate_latest(process_registry) + database, CONTENT_TYPE_LATEST
