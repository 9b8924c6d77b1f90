"""A member imported without a phone number (Grafana OnCall's public API holds
none) holds shifts; a page to them fails with "no phone number", says so on
the timeline, and the escalation goes on to the next step at once."""

from __future__ import annotations

from alerts.models import Page
from tests.alerts.conftest import drive, open_incident, sent
from tests.cast import PHONES


def test_a_page_to_a_member_without_a_phone_fails_and_the_next_step_pages(
    integration, policy, alice, bob
):
    alice.phone = ""
    alice.save(update_fields=["phone"])
    assert alice.paging_warning == "no phone number"
    incident = open_incident(integration)

    drive()

    failed = Page.objects.get(member=alice)
    assert (failed.status, failed.error) == (Page.Status.FAILED, "no phone number")
    # Bob's step is 5 minutes later, yet a failed page falls through at once.
    assert [s.to for s in sent()] == [PHONES["bob"]]
    texts = list(incident.timeline.values_list("text", flat=True))
    assert any("to Alice" in t and "failed: no phone number" in t for t in texts)


def test_a_member_with_a_phone_or_contact_methods_has_no_warning(alice):
    from alerts.paging.contacts import contact_method_create

    assert alice.paging_warning == ""
    alice.phone = ""
    alice.save(update_fields=["phone"])
    contact_method_create(member=alice, phone="+15550111", label="mobile", position=0)
    assert alice.paging_warning == ""
