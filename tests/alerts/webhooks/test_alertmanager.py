"""POST /api/v1/alertmanager/: authentication, persistence, and every bad input."""

from __future__ import annotations

import base64
import json

import pytest

from alerts.models import WebhookDelivery
from tests.alerts.conftest import auth_kwargs, recorded, recorded_headers
from tests.cast import TOKEN

pytestmark = pytest.mark.django_db

STYLES = ["path", "bearer", "basic"]


@pytest.mark.parametrize("style", STYLES)
def test_it_stores_the_delivery_before_answering_2xx(webhook, integration, style):
    response = webhook.post("a_single_firing", style=style)

    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(pk=response.json()["delivery"])
    assert delivery.integration == integration
    assert delivery.body.encode() == recorded("a_single_firing")
    assert delivery.auth == style
    assert delivery.processed_at is None
    assert delivery.group_key == '{}:{alertname="HighErrorRate", service="payments"}'
    assert delivery.headers["User-Agent"] == "Alertmanager/0.25.0"
    # The secret is never kept with the delivery.
    assert TOKEN not in json.dumps(delivery.headers)
    assert "Authorization" not in delivery.headers


def test_it_accepts_the_recorded_bearer_and_basic_headers(client, team):
    """The exact Authorization headers a real Alertmanager sent (scenario h)."""
    from alerts.intake.integrations import integration_create

    integration_create(team=team, name="bearer", token="test-token")
    integration_create(team=team, name="basic", token="test-password")
    for name in ("h_auth_bearer", "h_auth_basic"):
        headers = recorded_headers(name)
        response = client.post(
            "/api/v1/alertmanager/",
            data=recorded(name),
            content_type=headers["Content-Type"],
            HTTP_AUTHORIZATION=headers["Authorization"],
        )
        assert response.status_code == 202, response.content
    assert sorted(WebhookDelivery.objects.values_list("auth", flat=True)) == [
        "basic",
        "bearer",
    ]


def test_it_enqueues_processing_only_after_commit(
    webhook, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = webhook.post("a_single_firing")
    assert response.status_code == 202
    assert len(callbacks) == 1  # the publish, run once the row is committed


@pytest.mark.parametrize("style", ["bearer", "basic"])
def test_an_unknown_token_in_a_header_is_401(webhook, style):
    response = webhook.post("a_single_firing", style=style, token="nope")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid credentials"
    assert "Bearer" in response["WWW-Authenticate"]
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_token_in_the_path_is_404(webhook):
    response = webhook.post("a_single_firing", style="path", token="nope")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("style", STYLES)
def test_a_disabled_integration_answers_like_an_unknown_one(
    webhook, integration, style
):
    integration.enabled = False
    integration.save()
    unknown = webhook.post("a_single_firing", style=style, token="nope")
    disabled = webhook.post("a_single_firing", style=style)
    assert disabled.status_code == unknown.status_code
    assert disabled.json() == unknown.json()
    assert not WebhookDelivery.objects.exists()


def test_no_credentials_is_401_saying_how_to_authenticate(client, integration):
    response = client.post(
        "/api/v1/alertmanager/",
        data=recorded("a_single_firing"),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Token x",
    ],
)
def test_a_malformed_authorization_header_is_401(client, integration, header):
    response = client.post(
        "/api/v1/alertmanager/",
        data=recorded("a_single_firing"),
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 401


def test_get_is_405(client, integration):
    path, headers = auth_kwargs("path", TOKEN)
    response = client.get(path, **headers)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded"]
)
def test_a_wrong_content_type_is_415(client, integration, content_type):
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(
        path, data=recorded("a_single_firing"), content_type=content_type, **headers
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_json_with_a_charset_parameter_is_fine(client, integration):
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(
        path,
        data=recorded("a_single_firing"),
        content_type="application/json; charset=utf-8",
        **headers,
    )
    assert response.status_code == 202


def test_a_body_over_the_limit_is_413(client, integration, settings):
    settings.ALERTMANAGER_MAX_BODY_BYTES = 1000
    body = recorded("a_single_firing")
    assert len(body) > 1000
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(path, data=body, content_type="application/json", **headers)
    assert response.status_code == 413
    assert "1000-byte limit" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_the_default_limit_is_one_mebibyte(settings):
    assert settings.ALERTMANAGER_MAX_BODY_BYTES == 1024 * 1024


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b" "])
def test_a_body_that_is_not_json_is_400(client, integration, body):
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(path, data=body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def _post_json(client, data) -> dict:
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(
        path, data=json.dumps(data), content_type="application/json", **headers
    )
    assert response.status_code == 400, response.content
    return response.json()


def test_json_that_is_not_a_webhook_names_the_wrong_fields(client, integration):
    body = _post_json(client, {"hello": "world"})
    assert body["error"] == "not an Alertmanager webhook (version 4) payload"
    assert set(body["detail"]) >= {"version", "groupKey", "status", "alerts"}


def test_a_json_list_is_400(client, integration):
    body = _post_json(client, [1, 2])
    assert "$" in body["detail"]


def test_a_broken_alert_inside_a_real_payload_is_named_by_index(client, integration):
    data = json.loads(recorded("b_group_of_three_firing"))
    data["alerts"][1]["startsAt"] = "yesterday"
    data["alerts"][2]["status"] = "exploded"
    data["alerts"][2]["labels"] = {"alertname": 7}
    del data["alerts"][0]["fingerprint"]
    body = _post_json(client, data)
    assert set(body["detail"]) == {
        "alerts[0].fingerprint",
        "alerts[1].startsAt",
        "alerts[2].status",
        "alerts[2].labels.alertname",
    }
    assert not WebhookDelivery.objects.exists()


def test_a_wrong_version_is_400(client, integration):
    data = json.loads(recorded("a_single_firing"))
    data["version"] = "3"
    assert "version" in _post_json(client, data)["detail"]


def test_a_negative_truncated_count_is_400(client, integration):
    data = json.loads(recorded("a_single_firing"))
    data["truncatedAlerts"] = -1
    assert "truncatedAlerts" in _post_json(client, data)["detail"]


def test_unknown_extra_fields_are_accepted_and_kept(client, integration):
    """Newer Alertmanager versions add fields; refusing them would lose alerts."""
    data = json.loads(recorded("a_single_firing"))
    data["newTopLevelField"] = {"x": 1}
    data["alerts"][0]["newAlertField"] = "y"
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(
        path, data=json.dumps(data), content_type="application/json", **headers
    )
    assert response.status_code == 202
    stored = json.loads(WebhookDelivery.objects.get().body)
    assert stored["newTopLevelField"] == {"x": 1}
    assert stored["alerts"][0]["newAlertField"] == "y"


def test_a_huge_number_of_problems_is_capped_readably(client, integration):
    data = json.loads(recorded("a_single_firing"))
    data["alerts"] = [{"status": "?"} for _ in range(50)]
    detail = _post_json(client, data)["detail"]
    assert len(detail) == 21
    assert detail["..."].startswith("and ")


def test_absurdly_nested_json_is_400_not_500(client, integration):
    path, headers = auth_kwargs("bearer", TOKEN)
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post(path, data=body, content_type="application/json", **headers)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_a_nul_character_is_refused_at_intake(client, integration):
    data = json.loads(recorded("a_single_firing"))
    data["alerts"][0]["labels"]["instance"] = "bad\x00host"
    path, headers = auth_kwargs("bearer", TOKEN)
    response = client.post(
        path, data=json.dumps(data), content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()
