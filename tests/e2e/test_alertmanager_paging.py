"""Scenarios 1 and 2: a real Alertmanager pages real (fake-Twilio) phones.

1. Alertmanager → webhook → page the primary → no ack → page the secondary after
   the step delay → the secondary acknowledges by a signed inbound SMS → the chain
   stops → the alert resolves in Alertmanager → the incident resolves.
2. Three alerts in one group: one resolves → the incident stays open; all resolve
   → it resolves; Alertmanager's repeat notifications page nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.stack import wait_for
from tests.processes import AlertmanagerServer

STEP = 4  # seconds between escalation steps in these scenarios


@pytest.fixture(scope="module")
def seeded(seeded, stack):
    stack.seed_policy(
        [("primary", "sms", 0), ("secondary", "sms", STEP), ("team", "sms", STEP)]
    )
    return seeded


def alert(name: str, **labels: str) -> dict:
    return {
        "labels": {
            "alertname": name,
            "service": "payments",
            "severity": "critical",
            **labels,
        },
        "annotations": {"summary": f"{name} is firing"},
    }


def resolved(item: dict) -> dict:
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    return {**item, "endsAt": past}


def incident_titled(stack, name: str) -> dict | None:
    found = [i for i in stack.incidents() if name in i["title"]]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_page_escalate_acknowledge_by_sms_then_resolve(stack, alertmanager):
    primary, secondary = stack.oncall()
    twilio = stack.twilio
    sent_before = len(twilio.messages())
    firing = alert("CheckoutErrors")
    alertmanager.post_alerts([firing])

    wait_for(lambda: incident_titled(stack, "CheckoutErrors"), 20, "the incident")
    number = incident_titled(stack, "CheckoutErrors")["id"]
    wait_for(lambda: twilio.messages(primary), 15, "the primary's SMS")
    first = twilio.messages(primary)[0]
    assert f"#{number}" in first.body and "ACK" in first.body
    assert twilio.messages(secondary) == []  # not yet: the step delay

    wait_for(lambda: twilio.messages(secondary), STEP + 10, "the secondary's SMS")
    opened = datetime.fromisoformat(
        stack.api("GET", f"/api/v1/incidents/{number}/").json()["opened_at"]
    )
    assert twilio.messages(secondary)[0].received_at - first.received_at >= STEP - 1
    assert opened  # parsed

    status, body = twilio.send_inbound_sms(
        stack.url + "/twilio/sms/", from_=secondary, body=f"ack {number}"
    )
    assert status == 200 and f"{number}" in body
    detail = stack.api("GET", f"/api/v1/incidents/{number}/").json()
    assert detail["status"] == "acknowledged"

    # The chain stopped: the whole-team step never comes.  Wait until it would
    # have been due (a step delay after the secondary's step fired, which is when
    # its page was due, by the database) and nothing more is due, queued, in
    # flight or held by the worker.
    pages = stack.api("GET", f"/api/v1/incidents/{number}/pages/").json()["results"]
    secondary_fired = max(
        datetime.fromisoformat(p["due_at"]) for p in pages if p["step"] == 1
    )
    team_due = secondary_fired + timedelta(seconds=STEP)
    stack.settle("the team step's due time", until=team_due.isoformat())
    team_pages = [
        m for m in twilio.messages()[sent_before:] if m.to not in (primary, secondary)
    ]
    assert team_pages == []
    assert len(twilio.messages(primary)) == 1
    assert len(twilio.messages(secondary)) == 1

    alertmanager.post_alerts([resolved(firing)])
    wait_for(
        lambda: (
            stack.api("GET", f"/api/v1/incidents/{number}/").json()["status"]
            == "resolved"
        ),
        20,
        "the incident to resolve",
    )
    timeline = stack.api("GET", f"/api/v1/incidents/{number}/timeline/").json()
    text = str(timeline)
    assert "SMS" in text or "sms" in text


def test_partial_resolve_and_repeats_through_real_alertmanager(stack, seeded, tmp_path):
    config = stack.alertmanager_config().replace(
        "repeat_interval: 1h", "repeat_interval: 2s"
    )
    am = AlertmanagerServer(tmp_path / "am-repeat", config)
    am.start()
    try:
        group = [alert("DiskFull", instance=f"disk-{n}") for n in (1, 2, 3)]
        am.post_alerts(group)
        wait_for(lambda: incident_titled(stack, "DiskFull"), 20, "the incident")
        number = incident_titled(stack, "DiskFull")["id"]
        # Acknowledge at once so only repeats could page from here on.
        assert stack.api("POST", f"/api/v1/incidents/{number}/ack/").status == 200

        # A page a worker claimed just before the ack may still be on its way to
        # Twilio: count once nothing is in flight.
        def settled() -> bool:
            found = stack.api("GET", f"/api/v1/incidents/{number}/pages/").json()
            return all(
                p["status"] not in ("queued", "sending") for p in found["results"]
            )

        wait_for(settled, 15, "pages in flight to settle")
        pages = len(stack.twilio.messages())
        deliveries_before = am.log().count("Notify success")

        am.post_alerts([resolved(group[1])])

        def statuses() -> list[str]:
            found = stack.api("GET", f"/api/v1/incidents/{number}/alerts/").json()
            found = found["results"] if isinstance(found, dict) else found
            return sorted(a["status"] for a in found)

        wait_for(
            lambda: statuses() == ["firing", "firing", "resolved"],
            15,
            "one of the three alerts to resolve",
        )
        stack.settle("the resolved alert to be processed")
        detail = stack.api("GET", f"/api/v1/incidents/{number}/").json()
        assert detail["status"] == "acknowledged"  # two still fire: still open

        # Let Alertmanager repeat the group a few times (every ~3 s here).
        wait_for(
            lambda: am.log().count("Notify success") >= deliveries_before + 3,
            20,
            "repeat notifications",
        )
        assert len(stack.twilio.messages()) == pages  # repeats paged nobody
        assert incident_titled(stack, "DiskFull")["id"] == number  # no new incident

        am.post_alerts([resolved(group[0]), resolved(group[2])])
        wait_for(
            lambda: (
                stack.api("GET", f"/api/v1/incidents/{number}/").json()["status"]
                == "resolved"
            ),
            20,
            "the incident to resolve",
        )
    finally:
        am.stop()


def test_a_postmortem_of_a_paged_incident_has_its_timeline_in_local_time(
    stack, alertmanager
):
    """An incident from a real Alertmanager, paged, acknowledged and resolved, gets
    a postmortem draft whose timeline is the incident's, in order, at the team's
    local times; an action item past its due date is in the overdue list."""
    from zoneinfo import ZoneInfo

    primary, _ = stack.oncall()
    firing = alert("PostmortemProbe")
    alertmanager.post_alerts([firing])
    wait_for(lambda: incident_titled(stack, "PostmortemProbe"), 20, "the incident")
    number = incident_titled(stack, "PostmortemProbe")["id"]
    wait_for(
        lambda: any(f"#{number}" in m.body for m in stack.twilio.messages(primary)),
        15,
        "the primary's SMS",
    )
    assert stack.api("POST", f"/api/v1/incidents/{number}/ack/").status == 200
    early = stack.api("POST", f"/api/v1/incidents/{number}/postmortem/")
    assert early.status == 409  # not resolved yet
    alertmanager.post_alerts([resolved(firing)])
    wait_for(
        lambda: (
            stack.api("GET", f"/api/v1/incidents/{number}/").json()["status"]
            == "resolved"
        ),
        20,
        "the incident to resolve",
    )

    made = stack.api("POST", f"/api/v1/incidents/{number}/postmortem/")
    assert made.status == 201, made.body
    postmortem = made.json()
    entries = stack.api("GET", f"/api/v1/incidents/{number}/timeline/?page_size=500")
    incident_timeline = [(e["at"], e["kind"]) for e in entries.json()["results"]]
    ats = [e["at"] for e in postmortem["timeline"]]
    assert ats == sorted(ats)
    kinds = [e["kind"] for e in postmortem["timeline"]]
    assert {"opened", "page", "acknowledged", "resolved"} <= set(kinds)
    assert kinds.index("acknowledged") < kinds.index("resolved")
    assert len(kinds) == len(incident_timeline)
    nairobi = ZoneInfo("Africa/Nairobi")
    for entry in postmortem["timeline"]:
        local = datetime.fromisoformat(entry["at"]).astimezone(nairobi)
        assert (
            f"{local:%Y-%m-%d %H:%M:%S} EAT · #{number} · {entry['kind']}"
            in (postmortem["markdown"])
        )

    item = stack.api(
        "POST",
        f"/api/v1/postmortems/{postmortem['id']}/action-items/",
        {
            "text": "Alert on ledger lag",
            "owner": "bob",
            "priority": "P1",
            "due": "2020-01-01",
        },
    )
    assert item.status == 201, item.body
    overdue = stack.api("GET", "/api/v1/postmortems/overdue/?team=payments").json()
    assert "Alert on ledger lag" in [i["text"] for i in overdue]
