"""A note from draft to acknowledgement, as the engineers live it: the outgoing
engineer gets a link by SMS (through the fake Twilio), opens it once, edits and
submits; the incoming one is notified by SMS and email, opens their link and
acknowledges.  Links are single-use and expire; forgotten drafts are submitted as
drafted; unacknowledged notes remind the incoming engineer and tell the secondary."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core import mail
from django.core.cache import cache

from alerts import queue
from alerts.handoff.actions import (
    HandoffError,
    handoff_acknowledge,
    handoff_submit,
    handoffs_auto_submit,
    handoffs_remind,
)
from alerts.handoff.draft import handoffs_draft_due
from alerts.handoff.markdown import handoff_markdown
from alerts.handoff.notify import handoff_notify, handoffs_notify_pending
from alerts.models import HandoffNote
from tests.alerts.handoff.conftest import FIRST_CHANGE
from tests.cast import PHONES

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/handoffs/link/[^/\s]+/)")


def _link(body: str) -> str:
    found = LINK.search(body)
    assert found, body
    return found.group(1)


def _notify_published(published, now) -> list[str]:
    """Run the notification tasks that were published, as a worker would."""
    told = []
    for task in published:
        if task.name == queue.HANDOFF_NOTIFY:
            told += handoff_notify(note_id=task.args[0], now=now)
    published.clear()
    return told


@pytest.fixture
def drafted(demo, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notes = handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(minutes=1))
    return {n.role: n for n in notes}


def test_from_draft_to_acknowledged_through_signed_links(
    drafted, published, cast, fake_twilio, client, django_capture_on_commit_callbacks
):
    cast["charlie"].user.email = "charlie@example.org"
    cast["charlie"].user.save()
    now = FIRST_CHANGE + dt.timedelta(minutes=1)
    assert sorted(_notify_published(published, now)) == ["alice", "bob"]
    [to_alice] = fake_twilio.messages(to=PHONES["alice"])
    [to_bob] = fake_twilio.messages(to=PHONES["bob"])
    assert "On-call handoff: alice → charlie" in to_alice.body
    assert "bob → david" in to_bob.body
    link = _link(to_alice.body)

    opened = client.get(link)
    assert opened.status_code == 302
    page = client.get(opened["Location"])
    assert page.status_code == 200
    assert "On-call handoff: Alice → Charlie" in page.content.decode()
    assert 'value="submit"' in page.content.decode()

    # The link is spent: a second use is refused with a page saying so.
    again = client.__class__().get(link)
    assert again.status_code == 410
    assert "already used" in again.content.decode()

    note = drafted["primary"]
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(
            opened["Location"],
            {
                "action": "submit",
                "ongoing": "[watch] payments-api p99 creeping up\nold deploy done",
                "tips": "Restart **the worker** if the queue backs up.",
            },
        )
    assert posted.status_code == 302
    note.refresh_from_db()
    assert note.status == "submitted"
    assert note.ongoing == [
        {"text": "payments-api p99 creeping up", "watch": True},
        {"text": "old deploy done", "watch": False},
    ]
    assert _notify_published(published, now) == ["charlie"]
    [to_charlie] = fake_twilio.messages(to=PHONES["charlie"])
    assert "read and acknowledge" in to_charlie.body
    [email] = mail.outbox
    assert email.to == ["charlie@example.org"]
    assert _link(email.body) != _link(to_charlie.body)  # one link per message

    # Alice's session may no longer edit a submitted note, nor acknowledge it.
    assert client.post(opened["Location"], {"action": "acknowledge"}).status_code == 403

    charlie = client.__class__()
    page = charlie.get(charlie.get(_link(to_charlie.body))["Location"])
    assert "payments-api p99 creeping up" in page.content.decode()
    assert "<strong>the worker</strong>" in page.content.decode()
    assert (
        charlie.post(
            f"/handoffs/{note.pk}/", {"action": "save", "ongoing": "", "tips": "x"}
        ).status_code
        == 403
    )
    assert (
        charlie.post(f"/handoffs/{note.pk}/", {"action": "acknowledge"}).status_code
        == 302
    )
    note.refresh_from_db()
    assert note.status == "acknowledged"
    assert note.acknowledged_at is not None
    # Nothing more to say to anyone, however often the catch-up runs.
    assert handoffs_notify_pending(now=now) == 0
    assert fake_twilio.messages(to=PHONES["bob"]) == [to_bob]


def test_an_expired_link_is_refused_with_a_clear_page(
    drafted, published, client, phones, settings, monkeypatch
):
    handoff_notify(note_id=drafted["primary"].pk, now=FIRST_CHANGE)
    link = _link(phones.expect_sms(to="alice").body)
    later = time.time() + settings.HANDOFF_LINK_MAX_AGE_SECONDS + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    refused = client.get(link)
    monkeypatch.undo()
    assert refused.status_code == 410
    assert "expired" in refused.content.decode()


def test_a_tampered_link_is_refused_and_a_stranger_is_sent_to_log_in(
    drafted, client, phones
):
    handoff_notify(note_id=drafted["primary"].pk, now=FIRST_CHANGE)
    link = _link(phones.expect_sms(to="alice").body)
    assert client.get(link[:-3] + "xx/").status_code == 404
    answer = client.get(f"/handoffs/{drafted['primary'].pk}/")
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]


def test_a_teammate_signed_in_reads_but_may_not_submit(drafted, cast, client):
    client.force_login(cast["eve"].user)
    note = drafted["primary"]
    assert client.get(f"/handoffs/{note.pk}/").status_code == 200
    answer = client.post(f"/handoffs/{note.pk}/", {"action": "submit"})
    assert answer.status_code == 403
    note.refresh_from_db()
    assert note.status == "draft"


def test_another_teams_member_gets_a_404(drafted, make_team, client):
    _, [zed] = make_team("checkout", time_zone="UTC", people=["zed"])
    client.force_login(zed.user)
    assert client.get(f"/handoffs/{drafted['primary'].pk}/").status_code == 404


def test_a_forgotten_draft_is_submitted_as_drafted_once(
    drafted, published, django_capture_on_commit_callbacks, phones
):
    published.clear()
    too_early = FIRST_CHANGE + dt.timedelta(hours=3, minutes=59)
    assert handoffs_auto_submit(now=too_early) == []
    late = FIRST_CHANGE + dt.timedelta(hours=4)
    with django_capture_on_commit_callbacks(execute=True):
        done = handoffs_auto_submit(now=late)
    assert sorted(n.role for n in done) == ["primary", "secondary"]
    assert all(n.auto_submitted and n.status == "submitted" for n in done)
    assert "(submitted as drafted)" in handoff_markdown(done[0])
    assert handoffs_auto_submit(now=late) == []
    for task in published:
        handoff_notify(note_id=task.args[0], now=late)
    assert "submitted as drafted" in phones.expect_sms(to="charlie").body
    phones.expect_sms(to="david")


def test_an_unacknowledged_note_reminds_the_incoming_and_tells_the_secondary(
    drafted, phones
):
    note = handoff_submit(note=drafted["primary"], now=FIRST_CHANGE)
    handoff_notify(note_id=note.pk, now=FIRST_CHANGE)
    phones.expect_sms(to="charlie", containing="read and acknowledge")
    assert handoffs_remind(now=FIRST_CHANGE + dt.timedelta(minutes=29)) == []
    reminded = handoffs_remind(now=FIRST_CHANGE + dt.timedelta(minutes=30))
    assert [n.pk for n in reminded] == [note.pk]
    phones.expect_sms(to="charlie", containing="Reminder")
    phones.expect_sms(to="david", containing="not acknowledged")
    assert handoffs_remind(now=FIRST_CHANGE + dt.timedelta(minutes=45)) == []
    note.refresh_from_db()
    assert note.status == "submitted" and note.reminded_at is not None


def test_acknowledging_a_draft_is_refused(drafted):
    with pytest.raises(HandoffError):
        handoff_acknowledge(note=drafted["primary"], now=FIRST_CHANGE)
    assert HandoffNote.objects.get(pk=drafted["primary"].pk).status == "draft"


def test_the_sweep_catches_up_on_notifications_never_sent(drafted, phones):
    # The drafting published its notifications, but no worker ran them.
    assert handoffs_notify_pending(now=FIRST_CHANGE) == 2
    phones.expect_sms(to="alice", containing="is drafted")
    phones.expect_sms(to="bob", containing="is drafted")
    assert handoffs_notify_pending(now=FIRST_CHANGE) == 0


def test_an_id_past_the_integer_range_is_a_404(client, cast):
    client.force_login(cast["alice"].user)
    assert client.get(f"/handoffs/{2**70}/").status_code == 404


def test_notes_older_than_the_lookback_are_history(drafted, settings, phones):
    settings.HANDOFF_LOOKBACK_HOURS = 24
    days_later = FIRST_CHANGE + dt.timedelta(hours=25)
    assert handoffs_auto_submit(now=days_later) == []
    assert handoffs_notify_pending(now=days_later) == 0
    note = handoff_submit(note=drafted["primary"], now=FIRST_CHANGE)
    assert handoffs_remind(now=days_later) == []
    note.refresh_from_db()
    assert note.reminded_at is None


def test_a_lookback_of_zero_turns_the_periodic_work_off(demo, settings):
    settings.HANDOFF_LOOKBACK_HOURS = 0
    assert handoffs_draft_due(now=FIRST_CHANGE + dt.timedelta(minutes=1)) == []
    assert HandoffNote.objects.count() == 0


def test_the_history_page_lists_mine_and_my_teams_notes(drafted, cast, client):
    client.force_login(cast["charlie"].user)
    page = client.get("/handoffs/?team=payments").content.decode()
    mine = page[page.index("<h2>Mine</h2>") : page.index("<h2>Team payments</h2>")]
    assert "alice → charlie" in mine
    assert "bob → david" not in mine
    assert "bob → david" in page[page.index("<h2>Team payments</h2>") :]
    assert client.get("/handoffs/").status_code == 200


def test_the_history_page_needs_a_login(client):
    answer = client.get("/handoffs/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]


def test_nul_characters_from_the_page_are_dropped_not_a_500(drafted, cast, client):
    client.force_login(cast["alice"].user)
    note = drafted["primary"]
    answer = client.post(
        f"/handoffs/{note.pk}/",
        {"action": "save", "ongoing": "a\x00b", "tips": "c\x00d"},
    )
    assert answer.status_code == 302
    note.refresh_from_db()
    assert (note.ongoing, note.tips) == ([{"text": "ab", "watch": False}], "cd")


def test_too_many_ongoing_issues_are_a_400_page(drafted, cast, client):
    client.force_login(cast["alice"].user)
    note = drafted["primary"]
    answer = client.post(
        f"/handoffs/{note.pk}/",
        {"action": "save", "ongoing": "\n".join(f"item {n}" for n in range(51))},
    )
    assert answer.status_code == 400
    assert "at most 50" in answer.content.decode()


def test_an_engineer_signs_in_at_login_and_reaches_their_note(drafted, cast, client):
    user = cast["alice"].user
    user.set_password("correct horse battery staple")
    user.save()
    note = drafted["primary"]
    answer = client.get(f"/handoffs/{note.pk}/")
    assert answer["Location"] == f"/login/?next=/handoffs/{note.pk}/"
    assert client.get(answer["Location"]).status_code == 200
    signed_in = client.post(
        "/login/",
        {
            "username": "alice",
            "password": "correct horse battery staple",
            "next": f"/handoffs/{note.pk}/",
        },
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == f"/handoffs/{note.pk}/"
    page = client.get(f"/handoffs/{note.pk}/").content.decode()
    assert 'value="submit"' in page


def test_failed_engineer_logins_are_throttled(cast, client, settings):
    user = cast["bob"].user
    user.set_password("right")
    user.save()
    try:
        for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
            client.post("/login/", {"username": "bob", "password": "wrong"})
        refused = client.post("/login/", {"username": "bob", "password": "right"})
        assert refused.status_code == 200
        assert "Too many failed logins" in refused.content.decode()
    finally:
        cache.clear()  # the failure counter would outlive the test


def test_a_note_is_texted_to_the_first_sms_contact_method(drafted, cast, phones):
    """The incoming person's contact methods decide the number (their profile
    phone may be blank, as imported people's are), as for pages."""
    from alerts.paging.contacts import contact_method_create

    charlie = cast["charlie"]
    charlie.phone = ""
    charlie.save(update_fields=["phone"])
    contact_method_create(member=charlie, phone="+15550120", sms=False, position=0)
    contact_method_create(member=charlie, phone="+15550121", position=1)
    note = handoff_submit(note=drafted["primary"], now=FIRST_CHANGE)
    handoff_notify(note_id=note.pk, now=FIRST_CHANGE)
    phones.expect_sms(to="+15550121", containing="read and acknowledge")
