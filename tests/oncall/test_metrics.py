from __future__ import annotations

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from oncall.metrics import DATABASE_GAUGES
from oncall.models import Heartbeat
from oncall.tasks import beat_heartbeat


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def counter(found, route, status="200", method="GET"):
    key = (
        "oncall_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return found.get(key, 0.0)


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_status(client):
    before = samples(client.get("/metrics").content.decode())
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page/")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    after = samples(response.content.decode())
    assert counter(after, "/healthz") - counter(before, "/healthz") == 2
    assert counter(after, "unmatched", "404") - counter(before, "unmatched", "404") == 1
    latency = (
        "oncall_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/healthz")),
    )
    assert after[latency] - before.get(latency, 0) == 2


@pytest.mark.django_db
def test_metrics_expose_the_beat_heartbeat_age(client):
    beat_heartbeat()
    found = samples(client.get("/metrics").content.decode())
    age = found[("oncall_heartbeat_age_seconds", (("name", "beat"),))]
    assert 0 <= age < 5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cached(settings, monkeypatch) -> Clock:
    """The database gauges reused for 5 s, on a clock the test moves."""
    clock = Clock()
    settings.METRICS_DATABASE_GAUGES_SECONDS = 5
    monkeypatch.setattr(DATABASE_GAUGES, "clock", clock)
    DATABASE_GAUGES.clear()
    return clock


def heartbeat_names(client) -> set[str]:
    found = samples(client.get("/metrics").content.decode())
    return {
        dict(labels)["name"]
        for name, labels in found
        if name == "oncall_heartbeat_age_seconds"
    }


@pytest.mark.django_db
def test_database_gauges_are_reused_within_the_window_then_asked_again(
    client, cached, django_assert_num_queries
):
    beat_heartbeat()
    assert heartbeat_names(client) == {"beat"}
    Heartbeat.objects.create(name="worker", last_seen=timezone.now())
    cached.now += 4.9
    with django_assert_num_queries(0):
        # Within the window: the same text, not one query.
        assert heartbeat_names(client) == {"beat"}
    cached.now += 0.1
    assert heartbeat_names(client) == {"beat", "worker"}


@pytest.mark.django_db
def test_request_counters_are_live_while_the_database_gauges_are_reused(client, cached):
    before = samples(client.get("/metrics").content.decode())
    client.get("/healthz")
    after = samples(client.get("/metrics").content.decode())
    assert counter(after, "/healthz") - counter(before, "/healthz") == 1


@pytest.mark.django_db
def test_with_no_window_every_scrape_asks_the_database(client, settings):
    settings.METRICS_DATABASE_GAUGES_SECONDS = 0
    beat_heartbeat()
    assert heartbeat_names(client) == {"beat"}
    Heartbeat.objects.create(name="worker", last_seen=timezone.now())
    assert heartbeat_names(client) == {"beat", "worker"}
