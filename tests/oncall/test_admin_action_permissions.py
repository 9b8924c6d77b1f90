"""Every admin list action declares a permission, and a staff user who may only
view cannot run any of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client, RequestFactory

from alerts.intake.drain import delivery_process
from alerts.models import Incident, Integration, WebhookDelivery
from oncall.demo import demo_load

pytestmark = pytest.mark.django_db

TOKEN = "action-permissions-demo-token-0123456789"
RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager" / "raw"


@pytest.fixture
def world(settings):
    settings.ONCALL_DEMO_TOKEN = TOKEN
    demo_load()
    response = Client().post(
        "/api/v1/alertmanager/",
        (RECORDED / "a_single_firing.body").read_bytes(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
    )
    assert response.status_code == 202
    for pk in WebhookDelivery.objects.values_list("pk", flat=True):
        delivery_process(delivery_id=pk)


def _staff(username: str, codenames_like: tuple[str, ...]):
    user = get_user_model().objects.create_user(username, is_staff=True)
    perms = Permission.objects.none()
    for prefix in codenames_like:
        perms |= Permission.objects.filter(codename__startswith=prefix)
    user.user_permissions.set(perms)
    return get_user_model().objects.get(pk=user.pk)  # fresh permission cache


def _actions(modeladmin, user) -> dict:
    request = RequestFactory().get("/admin/")
    request.user = user
    return modeladmin.get_actions(request)


def test_every_admin_action_declares_its_permissions():
    undeclared = [
        f"{type(modeladmin).__name__}.{name}"
        for modeladmin in admin.site._registry.values()
        for func, name, _ in modeladmin._get_base_actions()
        if not getattr(func, "allowed_permissions", None)
    ]
    assert undeclared == []


def test_a_view_only_staff_user_is_offered_no_action(world):
    viewer = _staff("viewer", ("view_",))
    offered = {
        type(modeladmin).__name__: sorted(_actions(modeladmin, viewer))
        for modeladmin in admin.site._registry.values()
    }
    assert {name: acts for name, acts in offered.items() if acts} == {}


def test_a_view_only_staff_user_cannot_run_any_action_by_posting_it(world):
    root = get_user_model().objects.get(username="admin")
    viewer = _staff("viewer", ("view_",))
    client = Client()
    client.force_login(viewer)
    token_hashes = list(Integration.objects.values_list("token_hash", flat=True))
    statuses = list(Incident.objects.values_list("status", flat=True))
    tried = 0
    for model, modeladmin in admin.site._registry.items():
        first = model._default_manager.order_by("pk").first()
        if first is None:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for name in _actions(modeladmin, root):
            response = client.post(
                url, {"action": name, "_selected_action": [first.pk], "index": 0}
            )
            tried += 1
            # Refused: the list again (or 403), never the action's result.
            assert response.status_code in (200, 403), (url, name)
            if response.status_code == 200:
                assert response.templates[0].name.endswith("change_list.html"), (
                    url,
                    name,
                )
    assert tried >= 5  # rotate_token, acknowledge, resolve, escalate, generate...
    assert list(Integration.objects.values_list("token_hash", flat=True)) == (
        token_hashes
    )
    assert list(Incident.objects.values_list("status", flat=True)) == statuses


def test_a_staff_user_who_may_change_incidents_may_resolve_them(world):
    operator = _staff("operator", ("view_", "change_incident"))
    client = Client()
    client.force_login(operator)
    # The one the webhook opened (the demo's own incidents are all resolved).
    incident = Incident.objects.get(status=Incident.Status.TRIGGERED)
    response = client.post(
        "/admin/alerts/incident/",
        {"action": "resolve", "_selected_action": [incident.pk], "index": 0},
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
