from __future__ import annotations

import pytest

from oncall.celery import app as celery_app
from tests.processes import free_port


def test_healthz_answers_ok_without_touching_the_database(client):
    # No django_db mark: any database access here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_broker_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_ok_with_a_real_redis_broker(client, redis_server, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", redis_server.url)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_readyz_says_the_broker_is_down(client, monkeypatch):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    monkeypatch.setattr(celery_app.conf, "broker_url", dead)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "failed"  # the reason is logged, not shown


@pytest.mark.django_db
def test_readyz_says_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError, connection

    def broken_cursor():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failed", "broker": "ok"}
    assert "could not connect" not in response.content.decode()


def test_health_endpoints_refuse_other_methods(client):
    assert client.post("/healthz").status_code == 405
