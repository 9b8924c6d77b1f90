from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

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
