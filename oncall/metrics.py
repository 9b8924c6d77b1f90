"""Prometheus metrics: request counts and latency, background-process liveness.

Labels use the URL *route pattern* (``api/v1/teams/<slug:slug>/oncall/``), never the
raw path, so a scanner hitting random URLs cannot explode the series count.  Under
gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` (docker-compose does)
and every worker's samples are aggregated at scrape time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

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


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(process_registry)
    else:
        process_registry = REGISTRY
    return generate_latest(process_registry) + generate_latest(_EXTRA), (
        CONTENT_TYPE_LATEST
    )
