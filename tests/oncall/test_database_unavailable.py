from __future__ import annotations

import pytest
from django.db import OperationalError


@pytest.mark.django_db
def test_a_database_outage_answers_503_with_retry_after(client, monkeypatch):
    from alerts.webhooks import alertmanager as views

    def database_down(token):
        raise OperationalError("connection to server at 127.0.0.1 failed")

    monkeypatch.setattr(views, "integration_for_token", database_down)
    response = client.post(
        "/api/v1/alertmanager/some-token/", b"{}", content_type="application/json"
    )
    assert response.status_code == 503
    assert response.json() == {"error": "database unavailable; retry shortly"}
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_other_errors_are_not_disguised_as_an_outage(client, monkeypatch):
    from alerts.webhooks import alertmanager as views

    def bug(token):
        raise ZeroDivisionError

    monkeypatch.setattr(views, "integration_for_token", bug)
    with pytest.raises(ZeroDivisionError):
        client.post("/api/v1/alertmanager/x/", b"{}", content_type="application/json")
