"""Postmortem drafts from resolved incidents: the template, the timeline in order
in the team's zone, several incidents, action items going overdue and their
owners told once."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.incidents.state import incident_acknowledge, incident_resolve
from alerts.models import Postmortem
from alerts.postmortems.draft import (
    PostmortemError,
    postmortem_for_incident,
    postmortem_link_incident,
)
from alerts.postmortems.items import (
    action_item_add,
    action_item_done,
    action_item_update,
    action_items_overdue,
    action_items_remind_overdue,
)
from alerts.postmortems.markdown import postmortem_markdown
from tests.alerts.conftest import open_incident
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(integration, alice):
    # 21:50 UTC on 1 March is 00:50 on 2 March in Nairobi (UTC+3).
    incident = open_incident(
        integration, alertname="HighErrorRate", at=utc(2026, 3, 1, 21, 50)
    )
    incident_acknowledge(incident=incident, by=alice, at=utc(2026, 3, 1, 22, 5))
    return incident_resolve(incident=incident, by=alice, at=utc(2026, 3, 1, 23, 10))


def test_a_draft_has_the_template_and_the_timeline_in_local_time(resolved):
    postmortem, created = postmortem_for_incident(incident=resolved)
    assert created
    times = [e["at"] for e in postmortem.timeline]
    assert times == sorted(times)
    assert [e["kind"] for e in postmortem.timeline][-2:] == ["acknowledged", "resolved"]
    text = postmortem_markdown(postmortem)
    assert text.startswith("# Postmortem: HighErrorRate")
    assert "- Date: 2026-03-02 (Africa/Nairobi)" in text
    assert "- Duration: 1h 20m (00:50 – 02:10 EAT)" in text
    assert f"2026-03-02 01:05:00 EAT · #{resolved.pk} · acknowledged" in text
    assert f"2026-03-02 02:10:00 EAT · #{resolved.pk} · resolved" in text
    for heading in (
        "## Impact",
        "## Timeline",
        "## Root cause",
        "## What went well",
        "## What went wrong",
        "## Action items",
        "## Lessons learned",
    ):
        assert heading in text
    assert text.index("## Timeline") < text.index("## Root cause")


def test_the_second_request_returns_the_same_draft(resolved):
    first, _ = postmortem_for_incident(incident=resolved)
    again, created = postmortem_for_incident(incident=resolved)
    assert (again.pk, created) == (first.pk, False)
    assert Postmortem.objects.count() == 1


def test_an_open_incident_has_no_postmortem_yet(integration):
    incident = open_incident(integration, at=utc(2026, 3, 1, 21, 50))
    with pytest.raises(PostmortemError, match="resolve it first"):
        postmortem_for_incident(incident=incident)


def test_several_incidents_share_one_postmortem_and_one_timeline(
    resolved, integration, alice
):
    other = open_incident(integration, alertname="DiskFull", at=utc(2026, 3, 1, 22, 0))
    incident_resolve(incident=other, by=alice, at=utc(2026, 3, 2, 0, 0))
    postmortem, _ = postmortem_for_incident(incident=resolved)
    postmortem_link_incident(postmortem=postmortem, incident=other)
    postmortem.refresh_from_db()
    times = [e["at"] for e in postmortem.timeline]
    assert times == sorted(times)
    assert {e["incident"] for e in postmortem.timeline} == {resolved.pk, other.pk}
    assert postmortem.ended_at == utc(2026, 3, 2, 0, 0)
    assert f"- Incidents: #{resolved.pk}, #{other.pk}" in postmortem_markdown(
        postmortem
    )


def test_an_incident_of_another_team_cannot_be_linked(resolved, other_team):
    from tests import cast

    integration = cast.integration_create(
        other_team, token="checkout-token-0123456789abcdef"
    )
    theirs = open_incident(integration, at=utc(2026, 3, 1, 21, 0))
    postmortem, _ = postmortem_for_incident(incident=resolved)
    with pytest.raises(PostmortemError):
        postmortem_link_incident(postmortem=postmortem, incident=theirs)


def test_overdue_items_are_listed_and_their_owner_told_once(
    resolved, team, alice, bob, phones
):
    postmortem, _ = postmortem_for_incident(incident=resolved)
    late = action_item_add(
        postmortem=postmortem,
        text="Alert on queue depth",
        owner=bob,
        priority="P0",
        due=dt.date(2026, 3, 5),
    )
    action_item_add(
        postmortem=postmortem,
        text="Runbook for the ledger",
        owner=alice,
        priority="P2",
        due=dt.date(2026, 3, 20),
    )
    finished = action_item_add(
        postmortem=postmortem,
        text="Raise the pool size",
        owner=alice,
        priority="P1",
        due=dt.date(2026, 3, 3),
    )
    action_item_done(item=finished, now=utc(2026, 3, 3, 8))
    # 20:59 UTC on the 5th is 23:59 in Nairobi: still due today.
    assert list(action_items_overdue(team=team, now=utc(2026, 3, 5, 20, 59))) == []
    # 21:00 UTC is midnight in Nairobi: overdue.
    now = utc(2026, 3, 5, 21, 0)
    assert list(action_items_overdue(team=team, now=now)) == [late]
    assert action_items_remind_overdue(now=now) == [late]
    phones.expect_sms(to="bob", containing="Alert on queue depth")
    assert action_items_remind_overdue(now=now + dt.timedelta(hours=1)) == []
    assert (
        "| P0 | Alert on queue depth | bob | 2026-03-05 | open |"
        in postmortem_markdown(postmortem)
    )


def test_a_new_due_date_may_remind_the_owner_again_once_overdue(
    resolved, team, bob, phones
):
    postmortem, _ = postmortem_for_incident(incident=resolved)
    item = action_item_add(
        postmortem=postmortem,
        text="Alert on queue depth",
        owner=bob,
        priority="P0",
        due=dt.date(2026, 3, 5),
    )
    assert action_items_remind_overdue(now=utc(2026, 3, 6, 9)) == [item]
    phones.expect_sms(to="bob", containing="due 2026-03-05")
    action_item_update(item=item, now=utc(2026, 3, 6, 10), due=dt.date(2026, 3, 9))
    assert action_items_remind_overdue(now=utc(2026, 3, 7, 9)) == []
    assert action_items_remind_overdue(now=utc(2026, 3, 10, 9)) == [item]
    phones.expect_sms(to="bob", containing="due 2026-03-09")
    done = action_item_update(item=item, now=utc(2026, 3, 10, 10), status="done")
    assert done.done_at == utc(2026, 3, 10, 10)
    assert list(action_items_overdue(team=team, now=utc(2026, 3, 11))) == []


def test_the_reminder_goes_to_the_owners_first_working_sms_number(
    resolved, bob, phones
):
    """Reminders use the numbers paging uses: the first SMS contact method that
    is not broken, not the profile's ``phone`` (blank for imported people)."""
    from alerts.paging.contacts import contact_method_create
    from alerts.paging.numbers import contact_mark_broken

    bob.phone = ""
    bob.save(update_fields=["phone"])
    broken = contact_method_create(member=bob, phone="+15550100", position=0)
    contact_mark_broken(
        member=bob,
        method=broken,
        phone=broken.phone,
        reason="21211",
        at=utc(2026, 3, 1),
    )
    contact_method_create(member=bob, phone="+15550101", sms=False, position=1)
    contact_method_create(member=bob, phone="+15550102", position=2)
    postmortem, _ = postmortem_for_incident(incident=resolved)
    item = action_item_add(
        postmortem=postmortem,
        text="Alert on queue depth",
        owner=bob,
        priority="P0",
        due=dt.date(2026, 3, 5),
    )
    assert action_items_remind_overdue(now=utc(2026, 3, 6, 9)) == [item]
    phones.expect_sms(to="+15550102", containing="Alert on queue depth")
