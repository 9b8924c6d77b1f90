"""Grafana OnCall's personal notification rules arrive as our contact rules: an
SMS and a call, each after the waits before it; what has no place here (other
kinds, important rules that differ, important steps) is reported."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.models import ContactRule
from tests.alerts.importers.grafana_oncall_org import organisation, uid
from tests.alerts.importers.test_grafana_oncall import NOW, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server, _ = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def rules() -> list[tuple[str, str, dt.timedelta]]:
    return list(
        ContactRule.objects.order_by("member__user__username", "delay").values_list(
            "member__user__username", "channel", "delay"
        )
    )


def test_notification_rules_become_contact_rules_with_their_waits(fake, waits):
    report = run_import(fake)

    # alice: SMS, wait 5 minutes, call; bob: SMS; charlie: the mobile app only.
    assert rules() == [
        ("alice", "sms", dt.timedelta(0)),
        ("alice", "voice", dt.timedelta(minutes=5)),
        ("bob", "sms", dt.timedelta(0)),
    ]
    assert report.contact_rules_written == 3
    text = "\n".join(report.problems)
    for expected in (
        "person charlie: notification rule notify_by_mobile_app has no equivalent",
        "person alice: their important notification rules (for important steps) "
        "differ from their default ones",
        "escalation chain 'Payments default' step 5: important",
    ):
        assert expected in text, expected
    assert "person bob: their important" not in text


def test_a_second_run_writes_no_rule_and_a_changed_wait_is_updated(fake, waits):
    run_import(fake)
    assert run_import(fake).contact_rules_written == 0

    wait = next(r for r in fake.rules if r["id"] == "N2")
    wait["duration"] = 600
    fake.rules.append(
        {
            "id": "N7",
            "user_id": uid("alice"),
            "position": 3,
            "important": False,
            "type": "notify_by_sms",
        }
    )
    report = run_import(fake)

    assert report.contact_rules_written == 1
    assert ("alice", "voice", dt.timedelta(minutes=10)) in rules()
    assert "person alice: a second notify_by_sms after 600s" in "\n".join(
        report.problems
    )
