"""Opsgenie's personal notification rules: the new-alert rule that applies to
every alert orders a person's numbers and says SMS or voice for each; what ours
cannot hold (delays, email and app steps, rules for some alerts or times) is
reported."""

from __future__ import annotations

import pytest

from alerts.importers.opsgenie_mapping import notification_phones
from scheduling.models import Member
from tests.alerts.importers.opsgenie_org import oid, organisation
from tests.alerts.importers.test_opsgenie import NOW, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def methods(username: str) -> list[tuple]:
    member = Member.objects.get(user__username=username)
    return list(
        member.contact_methods.order_by("position").values_list("phone", "sms", "voice")
    )


def test_the_new_alert_rule_orders_the_numbers_and_sets_their_channels(fake, waits):
    report = run_import(fake)
    # david's desk phone is called first (voice only: its SMS step is disabled),
    # then their mobile by SMS and, ten minutes later there, a call.
    assert methods("david") == [
        ("+12125559999", False, True),
        ("+12125550103", True, True),
    ]
    # No rule: the contacts as they are.
    assert methods("alice") == [("+12125550100", True, True)]
    # A rule reaching them by no phone: their numbers kept, and said so.
    assert methods("charlie") == [("+12125550102", True, True)]

    text = "\n".join(report.problems)
    assert (
        "user david@example.com: notification rule 'New Alert': not imported: "
        "email 'david@example.com', voice '1-2125550103' after 10 min" in text
    )
    assert (
        "user david@example.com: notification rule 'Nights' applies to some alerts "
        "or at some times only" in text
    )
    assert (
        "user charlie@example.com: notification rule 'New Alert' reaches them by "
        "no phone (mobile 'Pixel 8', email 'charlie@example.com')" in text
    )
    # Rules for other events (closed, acknowledged...) are not new-alert rules.
    assert "'Closed'" not in text
    # The list leaves steps out; each new-alert rule was read on its own.
    assert f"/v2/users/{oid('david')}/notification-rules/{oid('david New Alert')}" in (
        fake.requests
    )


def test_a_second_run_keeps_the_order(fake, waits, writes):
    run_import(fake)
    with writes() as w:
        run_import(fake)
    assert [s for s in w.statements if "contact" in s.lower()] == []
    assert methods("david")[0] == ("+12125559999", False, True)


def test_the_rule_orders_first_and_a_number_missing_from_contacts_is_reported():
    numbers = [
        {"phone": "+15550001", "label": "", "sms": True, "voice": True},
        {"phone": "+15550002", "label": "", "sms": True, "voice": False},
    ]
    problems: list[str] = []
    rule = {
        "name": "New Alert",
        "steps": [
            {"contact": {"method": "sms", "to": "1-5550002"}, "sendAfter": {}},
            {"contact": {"method": "voice", "to": "1-5559999"}},
        ],
    }
    assert notification_phones(numbers, rule, "a", problems) == [
        {"phone": "+15550002", "label": "", "sms": True, "voice": False},
        {"phone": "+15550001", "label": "", "sms": True, "voice": True},
    ]
    # A number the rule uses that is not among the contacts is not invented.
    assert problems == [
        "user a: notification rule 'New Alert': not imported: voice '1-5559999' "
        "(ours pages a member's numbers in order, each by SMS and/or voice at the "
        "step's time)"
    ]
