"""Recorded Alertmanager payloads → alerts and incidents, through the endpoint.

Scenario letters refer to tests/fixtures/alertmanager/README.md.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from alerts.incidents import state as incidents
from alerts.intake import batch, drain, process
from alerts.models import Alert, Incident, IncidentAlert, TimelineEntry, WebhookDelivery
from tests.alerts.conftest import (
    TOKEN,
    auth_kwargs,
    only_incident,
    process_inbox,
    recorded_json,
)

pytestmark = pytest.mark.django_db

B_GROUP = '{}:{alertname="HighLatency", service="checkout"}'


@pytest.fixture
def opened(monkeypatch) -> list[int]:
    """Ids of incidents passed to the on_incident_opened hook (where paging starts)."""
    calls: list[int] = []
    original = incidents.on_incident_opened

    def spy(incident):
        calls.append(incident.pk)
        original(incident)

    original_many = incidents.on_incidents_opened

    def spy_many(opened):
        calls.extend(incident.pk for incident in opened)
        original_many(opened)

    monkeypatch.setattr(incidents, "on_incident_opened", spy)
    monkeypatch.setattr(incidents, "on_incidents_opened", spy_many)
    return calls


def statuses(incident: Incident) -> dict[str, str]:
    return {
        link.alert.labels["instance"]: link.status
        for link in incident.incident_alerts.select_related("alert")
    }


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.values_list("kind", flat=True))


@pytest.mark.parametrize("style", ["path", "bearer", "basic"])
def test_a_firing_alert_opens_a_triggered_incident(webhook, opened, style):
    webhook.send("a_single_firing", style=style)

    incident = only_incident()
    assert incident.status == "triggered"
    assert incident.group_key == '{}:{alertname="HighErrorRate", service="payments"}'
    assert incident.title == "HighErrorRate: Payments API 5xx ratio above 5% for 5m"
    assert incident.team.slug == "payments"
    assert incident.urgency == "high"  # severity=critical
    assert incident.routing.startswith('matched route 1 "catch-all"')
    assert opened == [incident.pk]
    alert = Alert.objects.get()
    assert alert.fingerprint == "1d31034106d44412"
    assert alert.status == "firing"
    assert alert.ends_at is None  # Go's zero time
    assert alert.starts_at.isoformat() == "2026-11-24T00:44:36.868000+00:00"
    assert "\\u0026" not in alert.generator_url and "&g0.tab=1" in alert.generator_url
    assert kinds(incident) == ["opened", "routed", "escalation"]
    assert WebhookDelivery.objects.get().result == f"opened incident #{incident.pk}"


def test_repeat_notifications_attach_to_the_open_incident_and_page_nobody(
    webhook, opened
):
    """Scenario e: three byte-identical bodies, 6 s apart."""
    webhook.send("e_repeat_1_initial", "e_repeat_2_repeat", "e_repeat_3_repeat")

    incident = only_incident()
    assert opened == [incident.pk]
    assert Alert.objects.count() == 1
    assert incident.notifications == 3
    # Repeats are not state changes.
    assert kinds(incident) == ["opened", "routed", "escalation"]
    results = list(
        WebhookDelivery.objects.order_by("pk").values_list("result", flat=True)
    )
    assert (
        results[1:]
        == [f"attached to incident #{incident.pk} (repeat: nothing changed)"] * 2
    )


def test_the_same_group_sent_fifty_times_is_one_incident_and_one_alert_per_fp(
    webhook, opened
):
    for _ in range(50):
        webhook.send("b_group_of_three_firing")
    incident = only_incident()
    assert Alert.objects.count() == 3
    assert IncidentAlert.objects.count() == 3
    assert opened == [incident.pk]
    assert incident.notifications == 50


def test_retries_and_ha_duplicates_are_harmless(webhook, opened):
    """Scenario i: a 5xx retry and 4xx re-sends arrive as identical bodies."""
    webhook.send(
        "i_retry_500_attempt1_got500",
        "i_retry_500_attempt2_got500",
        "i_retry_500_attempt3_got200",
    )
    assert len(opened) == 1
    assert Incident.objects.count() == 1
    assert Alert.objects.count() == 1


def test_a_partial_resolve_keeps_the_incident_open_and_records_which_resolved(
    webhook,
):
    """Scenario c: the group's status stays "firing"; one alert's own is resolved."""
    webhook.send("b_group_of_three_firing", "c_group_partial_resolve")

    incident = only_incident()
    assert incident.status == "triggered"
    assert statuses(incident) == {
        "checkout-1": "firing",
        "checkout-2": "resolved",
        "checkout-3": "firing",
    }
    link = incident.incident_alerts.get(alert__labels__instance="checkout-2")
    assert link.resolved_at.isoformat() == "2026-11-24T00:44:44.474000+00:00"
    entry = incident.timeline.get(kind="alert_resolved")
    assert entry.text == "alert resolved: HighLatency instance=checkout-2"


def test_the_full_resolve_closes_the_incident_even_though_it_lists_two_of_three(
    webhook, opened
):
    """Scenario d: the resolved notification omits checkout-2 (already reported)."""
    webhook.send(
        "b_group_of_three_firing", "c_group_partial_resolve", "d_group_all_resolved"
    )

    incident = only_incident()
    assert incident.status == "resolved"
    assert incident.resolved_how == "alerts"
    assert incident.resolved_by is None
    assert set(statuses(incident).values()) == {"resolved"}
    assert incident.timeline.last().text == "resolved: all 3 alerts resolved"
    assert len(opened) == 1


def test_a_group_firing_again_after_resolving_opens_a_new_incident(webhook, opened):
    webhook.send(
        "b_group_of_three_firing", "c_group_partial_resolve", "d_group_all_resolved"
    )
    webhook.send("b_group_of_three_firing")

    first, second = Incident.objects.order_by("pk")
    assert (first.status, second.status) == ("resolved", "triggered")
    assert first.group_key == second.group_key == B_GROUP
    assert opened == [first.pk, second.pk]
    assert Alert.objects.count() == 3  # still one row per fingerprint
    assert statuses(second) == dict.fromkeys(
        ["checkout-1", "checkout-2", "checkout-3"], "firing"
    )
    assert set(statuses(first).values()) == {"resolved"}  # history kept


def test_inside_the_reopen_window_the_resolved_incident_reopens(
    webhook, integration, opened
):
    integration.reopen_window = 300
    integration.save()
    webhook.send(
        "b_group_of_three_firing", "c_group_partial_resolve", "d_group_all_resolved"
    )
    webhook.send("b_group_of_three_firing")

    incident = only_incident()
    assert incident.status == "triggered"
    assert incident.resolved_at is None
    assert opened == [incident.pk, incident.pk]
    assert "reopened" in kinds(incident)
    assert statuses(incident) == dict.fromkeys(
        ["checkout-1", "checkout-2", "checkout-3"], "firing"
    )


def test_a_resolve_for_an_alert_never_seen_is_recorded_and_harmless(webhook):
    """Scenario j3: checkout-9 arrives already resolved inside a firing group."""
    webhook.send(
        "j_resolved_never_fired_joins_group_1_firing",
        "j_resolved_never_fired_joins_group_2_with_resolved",
    )
    incident = only_incident()
    assert incident.status == "triggered"
    assert statuses(incident) == {"checkout-1": "firing", "checkout-9": "resolved"}
    assert incident.timeline.filter(
        text="alert resolved, never seen firing: HighLatency instance=checkout-9"
    ).exists()


def test_a_resolved_notification_for_an_unknown_group_opens_nothing(webhook, opened):
    [result] = webhook.send("d_group_all_resolved")
    assert not Incident.objects.exists()
    assert opened == []
    assert Alert.objects.filter(status="resolved").count() == 2
    assert result == "2 resolved alert(s) recorded; no incident for the group"


def test_truncated_alerts_are_recorded_and_shown(webhook):
    """Scenario g: max_alerts 2 of 3."""
    webhook.send("g_max_alerts_2_of_3_truncated")
    incident = only_incident()
    assert incident.truncated_alerts == 1
    entry = incident.timeline.get(kind="truncated")
    assert "left 1 alert(s) out" in entry.text


def test_a_resolve_without_annotations_replaces_them(webhook):
    """Scenario k: the resolved alert came with "annotations": {}."""
    webhook.send("k_root_route_firing")
    assert Alert.objects.get().annotations != {}
    webhook.send("k_resolved_without_annotations")
    alert = Alert.objects.get()
    assert alert.annotations == {}
    assert alert.status == "resolved"
    assert only_incident().status == "resolved"


def test_two_groups_are_two_incidents(webhook):
    webhook.send("f_two_groups_checkout", "f_two_groups_payments")
    assert Incident.objects.filter(status="triggered").count() == 2


def test_a_child_route_group_key_is_its_own_group(webhook):
    webhook.send("k_child_route_groupkey", "a_single_firing")
    keys = set(Incident.objects.values_list("group_key", flat=True))
    assert '{}/{team="payments"}:{alertname="HighErrorRate"}' in keys
    assert len(keys) == 2


def test_processing_a_delivery_twice_changes_nothing(webhook):
    response = webhook.post("b_group_of_three_firing")
    delivery_id = response.json()["delivery"]
    first = drain.delivery_process(delivery_id=delivery_id)
    before = (
        Incident.objects.get().notifications,
        TimelineEntry.objects.count(),
        list(Alert.objects.values_list("updated_at", flat=True)),
    )
    assert drain.delivery_process(delivery_id=delivery_id) == first
    assert (
        drain.delivery_process(delivery_id=delivery_id, batch=False)
        == "already processed"
    )
    after = (
        Incident.objects.get().notifications,
        TimelineEntry.objects.count(),
        list(Alert.objects.values_list("updated_at", flat=True)),
    )
    assert before == after
    assert WebhookDelivery.objects.get().attempts == 1


def test_a_late_delivery_never_undoes_newer_news(webhook):
    """c and d processed in the wrong order end where the right order ends."""
    webhook.send("b_group_of_three_firing")
    c = webhook.post("c_group_partial_resolve").json()["delivery"]
    d = webhook.post("d_group_all_resolved").json()["delivery"]
    # Make the receipt order unambiguous, then process d first.
    WebhookDelivery.objects.filter(pk=d).update(
        received_at=timezone.now() + timedelta(seconds=2)
    )
    drain.delivery_process(delivery_id=d, batch=False)
    assert only_incident().status == "triggered"  # checkout-2 still firing
    result = drain.delivery_process(delivery_id=c, batch=False)

    incident = only_incident()
    assert incident.status == "resolved"
    assert set(statuses(incident).values()) == {"resolved"}
    assert "2 stale alert update(s) ignored" in result


def test_losing_the_race_to_open_the_incident_retries_and_attaches(
    webhook, monkeypatch, opened
):
    """Another worker opens the group's incident between our read and our insert:
    the unique constraint refuses ours, we retry and attach to theirs."""
    webhook.send("b_group_of_three_firing")
    winner = only_incident()
    real_open = process.incident_open_or_reopen
    raced = []

    def racing_open(*args, **kwargs):
        if not raced:
            raced.append(True)
            # What the loser does: try to open a second incident for the group.
            return real_open(*args, **kwargs)
        raise AssertionError("retry should have found the open incident")

    # Hide the open incident from the first lookup only, as a race would.
    real_filter = Incident.objects.select_for_update
    hidden = []

    def select_for_update(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        if not hidden:
            hidden.append(True)
            return qs.exclude(pk=winner.pk)
        return qs

    monkeypatch.setattr(process, "incident_open_or_reopen", racing_open)
    monkeypatch.setattr(Incident.objects, "select_for_update", select_for_update)
    delivery_id = webhook.post("c_group_partial_resolve").json()["delivery"]
    drain.delivery_process(delivery_id=delivery_id, batch=False)

    assert raced == [True]
    incident = only_incident()
    assert incident.pk == winner.pk
    assert statuses(incident)["checkout-2"] == "resolved"
    assert opened == [winner.pk]


def test_the_database_refuses_a_second_open_incident_for_a_group(webhook):
    webhook.send("a_single_firing")
    incident = only_incident()
    incident.pk = None
    with pytest.raises(IntegrityError):
        incident.save()


def test_a_repeat_costs_a_handful_of_queries(webhook, django_assert_max_num_queries):
    webhook.send("b_group_of_three_firing")
    delivery_id = webhook.post("b_group_of_three_firing").json()["delivery"]
    with django_assert_max_num_queries(13):
        drain.delivery_process(delivery_id=delivery_id)


DISTINCT_GROUPS = [
    "a_single_firing",
    "b_group_of_three_firing",
    "f_two_groups_checkout",
    "g_max_alerts_2_of_3_truncated",
    "k_child_route_groupkey",
    "k_root_route_firing",
]


def test_a_burst_of_new_groups_is_opened_in_bulk(
    webhook, opened, django_assert_max_num_queries
):
    ids = [webhook.post(name).json()["delivery"] for name in DISTINCT_GROUPS]
    # 16 for intake, 5 for starting every escalation at once (route policies, team
    # defaults, their steps, the escalation rows, their timeline entries).
    with django_assert_max_num_queries(21):
        drain.delivery_process(delivery_id=ids[0])
    assert Incident.objects.filter(status="triggered").count() == len(DISTINCT_GROUPS)
    assert len(opened) == len(DISTINCT_GROUPS)
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    # The bulk path gives what the one-by-one path gives.
    b = Incident.objects.get(group_key=B_GROUP)
    assert kinds(b) == ["opened", "routed", "escalation"]
    assert b.timeline.first().text == (
        "opened by Alertmanager: 3 alerts firing (HighLatency instance=checkout-1, "
        "HighLatency instance=checkout-2, HighLatency instance=checkout-3)"
    )
    g = Incident.objects.get(group_labels__alertname="DiskFull")
    assert g.truncated_alerts == 1 and "truncated" in kinds(g)
    for delivery_id in ids[1:]:  # their own tasks find them done
        assert drain.delivery_process(delivery_id=delivery_id).startswith(
            "opened incident #"
        )


def test_a_batch_of_repeats_costs_a_handful_of_queries(
    webhook, opened, django_assert_max_num_queries
):
    webhook.send(*DISTINCT_GROUPS)
    before = TimelineEntry.objects.count()
    ids = [webhook.post(name).json()["delivery"] for name in DISTINCT_GROUPS]
    with django_assert_max_num_queries(13):
        drain.delivery_process(delivery_id=ids[-1])
    results = WebhookDelivery.objects.filter(pk__in=ids).values_list(
        "result", flat=True
    )
    assert all(r.endswith("(repeat: nothing changed)") for r in results)
    assert len(opened) == len(DISTINCT_GROUPS)
    assert TimelineEntry.objects.count() == before
    assert set(Incident.objects.values_list("notifications", flat=True)) == {2}


def test_a_storm_of_repeats_within_one_batch_is_processed_in_bulk_rounds(
    webhook, opened, django_assert_max_num_queries
):
    """Under a storm Alertmanager sends each group again and again, so one batch
    holds several deliveries of a group: one round per repeat, each in bulk."""
    webhook.send(*DISTINCT_GROUPS)
    ids = [
        webhook.post(name).json()["delivery"]
        for _ in range(3)
        for name in DISTINCT_GROUPS
    ]
    # Three rounds of a handful of queries each, not a dozen per delivery.
    with django_assert_max_num_queries(3 * 8 + 4):
        drain.delivery_process(delivery_id=ids[0])
    results = WebhookDelivery.objects.filter(pk__in=ids).values_list(
        "result", flat=True
    )
    assert all(r.endswith("(repeat: nothing changed)") for r in results)
    assert len(opened) == len(DISTINCT_GROUPS)
    assert set(Incident.objects.values_list("notifications", flat=True)) == {4}


def test_identical_resends_behind_a_new_group_are_repeats_of_its_incident(
    webhook, opened
):
    """Alertmanager's HA pair and its retries send the very same body again before
    we processed the first: one incident, the others count as its repeats."""
    ids = [webhook.post("b_group_of_three_firing").json()["delivery"] for _ in range(3)]
    process_inbox()

    incident = only_incident()
    assert incident.notifications == 3
    assert len(opened) == 1
    assert Alert.objects.count() == 3
    results = [WebhookDelivery.objects.get(pk=pk).result for pk in ids]
    assert results[0] == f"opened incident #{incident.pk}"
    assert (
        results[1:]
        == [f"attached to incident #{incident.pk} (repeat: nothing changed)"] * 2
    )
    # The stale guard compares with the latest of them.
    last = WebhookDelivery.objects.get(pk=ids[-1]).received_at
    assert set(Alert.objects.values_list("last_received_at", flat=True)) == {last}


def test_one_batch_applies_a_groups_deliveries_in_the_order_they_arrived(
    webhook, opened
):
    """Fire, partial resolve, full resolve, fire again, all waiting in the inbox
    at once: the outcome is that of processing them one by one."""
    for name in (
        "b_group_of_three_firing",
        "b_group_of_three_firing",
        "c_group_partial_resolve",
        "d_group_all_resolved",
        "b_group_of_three_firing",
        "a_single_firing",
    ):
        assert webhook.post(name).status_code == 202
    process_inbox()

    first, second = Incident.objects.filter(group_key=B_GROUP).order_by("pk")
    assert (first.status, second.status) == ("resolved", "triggered")
    assert first.notifications == 4 and second.notifications == 1
    assert set(statuses(first).values()) == {"resolved"}
    assert set(statuses(second).values()) == {"firing"}
    assert Incident.objects.count() == 3
    assert len(opened) == 3
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()


def test_a_batch_that_fails_falls_back_to_one_by_one(webhook, monkeypatch, opened):
    """Another worker opened one of the groups between our read and our insert: the
    batch rolls back whole and its deliveries are processed one by one."""
    from alerts.intake import batch
    from alerts.models import hash_group_key

    ids = [webhook.post(name).json()["delivery"] for name in DISTINCT_GROUPS[:2]]
    real_classify = batch.groups_classify

    def classify_then_race(items):
        result = real_classify(items)
        first = result[0][0]
        Incident.objects.create(
            integration_id=first.key[0],
            group_key=first.payload.group_key,
            group_key_hash=hash_group_key(first.payload.group_key),
            title="opened by another worker",
            team_id=first.delivery.integration.team_id,
            urgency="high",
        )
        return result

    monkeypatch.setattr(batch, "groups_classify", classify_then_race)
    result = drain.delivery_process(delivery_id=ids[0])

    assert result.startswith("opened incident #")
    # The racing insert rolled back with the batch; both deliveries were then
    # processed one by one, so nothing waits for a task of its own.
    assert Incident.objects.count() == 2
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    assert len(opened) == 2


def test_opening_an_incident_costs_a_bounded_number_of_queries(
    webhook, django_assert_max_num_queries
):
    delivery_id = webhook.post("b_group_of_three_firing").json()["delivery"]
    # 15 for intake, 5 for starting the escalation (restart check, route and team
    # policy lookups, the escalation row, its timeline entry).
    with django_assert_max_num_queries(22):
        drain.delivery_process(delivery_id=delivery_id)


def test_the_inbox_sweep_finds_every_unprocessed_delivery(webhook):
    webhook.post("f_two_groups_checkout")
    webhook.post("f_two_groups_payments")
    assert len(process_inbox()) == 2
    assert Incident.objects.count() == 2


def joined_body() -> bytes:
    """a_single_firing with a second alert (another instance) joining the group."""
    data = recorded_json("a_single_firing")
    second = copy.deepcopy(data["alerts"][0])
    second["labels"]["instance"] = "payments-2"
    second["fingerprint"] = "00000000feedface"
    data["alerts"].append(second)
    return json.dumps(data).encode()


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one_by_one"])
def test_an_alert_joining_an_open_group_is_added_in_bulk_as_one_by_one(
    client, webhook, opened, monkeypatch, bulk
):
    webhook.send("a_single_firing")
    incident = only_incident()
    one_by_one: list[int] = []
    real_apply = batch.delivery_apply

    def spy(delivery_id):
        one_by_one.append(delivery_id)
        return real_apply(delivery_id)

    monkeypatch.setattr(batch, "delivery_apply", spy)
    path, headers = auth_kwargs("bearer", TOKEN)
    ids = [
        client.post(
            path, data=joined_body(), content_type="application/json", **headers
        ).json()["delivery"]
        for _ in range(2)  # the join, and Alertmanager's HA peer sending it again
    ]
    if bulk:
        drain.delivery_process(delivery_id=ids[0])
        assert one_by_one == []  # the bulk path took the join
    else:
        for pk in ids:
            drain.delivery_process(delivery_id=pk, batch=False)

    results = [WebhookDelivery.objects.get(pk=pk).result for pk in ids]
    assert results == [
        f"attached to incident #{incident.pk}",
        f"attached to incident #{incident.pk} (repeat: nothing changed)",
    ]
    joined = Alert.objects.get(fingerprint="00000000feedface")
    assert joined.status == "firing"
    assert joined.last_received_at == WebhookDelivery.objects.get(pk=ids[1]).received_at
    link = IncidentAlert.objects.get(incident=incident, alert=joined)
    assert (link.status, link.resolved_at) == ("firing", None)
    entry = incident.timeline.order_by("pk").last()
    assert (entry.kind, entry.text) == (
        "alert_firing",
        "alert firing: HighErrorRate instance=payments-2",
    )
    assert kinds(incident).count("alert_firing") == 1
    incident.refresh_from_db()
    assert (incident.status, incident.notifications) == ("triggered", 3)
    assert len(opened) == 1


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one_by_one"])
def test_a_partial_resolve_is_applied_in_bulk_as_one_by_one(
    webhook, opened, monkeypatch, bulk
):
    """Scenario c waiting in the inbox with its HA duplicate: the bulk path records
    the resolved alert on its link with its entry, as delivery_apply does."""
    webhook.send("b_group_of_three_firing")
    incident = only_incident()
    one_by_one: list[int] = []
    real_apply = batch.delivery_apply

    def spy(delivery_id):
        one_by_one.append(delivery_id)
        return real_apply(delivery_id)

    monkeypatch.setattr(batch, "delivery_apply", spy)
    ids = [webhook.post("c_group_partial_resolve").json()["delivery"] for _ in "ab"]
    if bulk:
        drain.delivery_process(delivery_id=ids[0])
        assert one_by_one == []  # the bulk path took it
    else:
        for pk in ids:
            drain.delivery_process(delivery_id=pk, batch=False)

    results = [WebhookDelivery.objects.get(pk=pk).result for pk in ids]
    assert results == [
        f"attached to incident #{incident.pk}; 2 alert(s) still firing",
        f"attached to incident #{incident.pk} (repeat: nothing changed)",
    ]
    assert statuses(incident) == {
        "checkout-1": "firing",
        "checkout-2": "resolved",
        "checkout-3": "firing",
    }
    resolved = IncidentAlert.objects.get(incident=incident, status="resolved")
    assert resolved.resolved_at == resolved.alert.ends_at
    assert resolved.alert.status == "resolved"
    entry = incident.timeline.order_by("pk").last()
    assert (entry.kind, entry.text) == (
        "alert_resolved",
        "alert resolved: HighLatency instance=checkout-2",
    )
    incident.refresh_from_db()
    assert (incident.status, incident.notifications) == ("triggered", 3)


def test_the_full_resolve_in_a_batch_still_goes_one_by_one(webhook, monkeypatch):
    webhook.send("b_group_of_three_firing", "c_group_partial_resolve")
    one_by_one: list[int] = []
    real_apply = batch.delivery_apply

    def spy(delivery_id):
        one_by_one.append(delivery_id)
        return real_apply(delivery_id)

    monkeypatch.setattr(batch, "delivery_apply", spy)
    delivery = webhook.post("d_group_all_resolved").json()["delivery"]
    drain.delivery_process(delivery_id=delivery)
    assert one_by_one == [delivery]
    assert only_incident().status == "resolved"
