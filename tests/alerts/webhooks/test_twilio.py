"""Paging through the Twilio transport, against the local fake Twilio, and the
webhooks Twilio calls back (signed with the SDK's validator, or not at all)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from alerts.models import ContactMethod, ContactRule, Escalation, Incident, Page
from tests.alerts.conftest import (
    drive,
    later,
    open_incident,
    signed_post,
    sms_from,
    status,
)
from tests.cast import PHONES, policy_create


@pytest.fixture
def paged(integration, policy, alice, bob, fake_twilio):
    """An incident whose first SMS went to alice through the fake Twilio."""
    incident = open_incident(integration)
    drive()
    assert len(fake_twilio.messages()) == 1
    return incident


def test_the_sms_goes_out_through_twilio_with_a_status_callback(
    paged, fake_twilio, alice
):
    message = fake_twilio.messages()[0]
    page = Page.objects.get()
    assert message.to == PHONES["alice"]
    assert message.form["From"] == "+15005550006"
    assert message.body.startswith(f"oncall #{paged.pk} [CRIT] HighErrorRate")
    assert message.status_callback.endswith(f"/twilio/status/?page={page.pk}")
    assert page.provider_id == message.sid
    assert page.status == "sent"


def test_a_delivered_callback_marks_the_page_delivered(client, paged, fake_twilio):
    response = status(client, fake_twilio, fake_twilio.messages()[0], "delivered")
    assert response.status_code == 200
    page = Page.objects.get()
    assert page.status == "delivered"
    assert page.delivered_at is not None
    assert paged.timeline.filter(text="SMS to Alice delivered").exists()
    # Late and out of order: "sent" after "delivered" changes nothing.
    status(client, fake_twilio, fake_twilio.messages()[0], "sent")
    assert Page.objects.get().status == "delivered"


def test_an_undelivered_sms_counts_as_unanswered_at_once(client, paged, fake_twilio):
    status(
        client, fake_twilio, fake_twilio.messages()[0], "undelivered", ErrorCode="30003"
    )
    page = Page.objects.get()
    assert page.status == "failed"
    assert "30003" in page.error
    drive()  # no 5 minute wait: the secondary is paged now
    assert [m.to for m in fake_twilio.messages()] == [PHONES["alice"], PHONES["bob"]]


def test_a_status_for_an_unknown_id_is_answered_200_and_changes_nothing(
    client, paged, fake_twilio
):
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"}
    response = signed_post(client, fake_twilio, "/twilio/status/", params)
    assert response.status_code == 200
    assert Page.objects.get().status == "sent"


@pytest.mark.parametrize("signature", ["", "not-a-signature"])
def test_unsigned_or_badly_signed_requests_change_nothing(
    client, paged, fake_twilio, signature
):
    response = sms_from(
        client, fake_twilio, PHONES["alice"], f"ack {paged.pk}", signature=signature
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    page = Page.objects.get()
    response = signed_post(
        client,
        fake_twilio,
        f"/twilio/voice/{page.pk}/",
        {"CallSid": "CA1", "Digits": "1"},
        signature=signature,
    )
    assert response.status_code == 403
    response = signed_post(
        client,
        fake_twilio,
        "/twilio/status/",
        {"MessageSid": page.provider_id, "MessageStatus": "failed"},
        signature=signature,
    )
    assert response.status_code == 403
    paged.refresh_from_db()
    assert paged.status == "triggered"
    assert Page.objects.get().status == "sent"


def test_a_request_signed_for_other_parameters_is_refused(client, paged, fake_twilio):
    good = fake_twilio.sign(
        django_settings.PUBLIC_BASE_URL + "/twilio/sms/", {"Body": "help"}
    )
    response = sms_from(
        client, fake_twilio, PHONES["alice"], f"ack {paged.pk}", signature=good
    )
    assert response.status_code == 403
    paged.refresh_from_db()
    assert paged.status == "triggered"


@pytest.mark.parametrize("text", ["ack {n}", "ACK #{n}", "Ack#{n}", "ack"])
def test_replying_ack_acknowledges_and_stops_the_chain(
    client, paged, fake_twilio, alice, text
):
    response = sms_from(client, fake_twilio, PHONES["alice"], text.format(n=paged.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert f"Acknowledged #{paged.pk}" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "acknowledged"
    assert paged.acknowledged_by == alice
    assert paged.timeline.filter(text="acknowledged by Alice via SMS").exists()
    assert Page.objects.get().status == "answered"
    drive(later(30))
    assert len(fake_twilio.messages()) == 1


def test_replying_res_resolves(client, paged, fake_twilio, alice):
    response = sms_from(client, fake_twilio, PHONES["alice"], f"RES {paged.pk}")
    assert f"Resolved #{paged.pk}" in response.content.decode()
    paged.refresh_from_db()
    assert (paged.status, paged.resolved_by) == ("resolved", alice)


def test_replying_esc_pages_the_next_step_now(client, paged, fake_twilio):
    response = sms_from(client, fake_twilio, PHONES["alice"], f"esc {paged.pk}")
    assert "Escalating" in response.content.decode()
    drive()
    assert [m.to for m in fake_twilio.messages()] == [PHONES["alice"], PHONES["bob"]]


def test_an_unknown_sender_is_politely_refused(client, paged, fake_twilio):
    response = sms_from(client, fake_twilio, "+15550001111", f"ack {paged.pk}")
    assert response.status_code == 200
    assert "not registered" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_someone_not_on_the_incident_cannot_act_on_it(client, paged, fake_twilio):
    from django.contrib.auth import get_user_model

    from scheduling.models import Member

    user = get_user_model().objects.create_user(username="mallory")
    stranger = Member.objects.create(user=user, phone="+254700000099")
    response = sms_from(client, fake_twilio, stranger.phone, f"ack {paged.pk}")
    assert "not an incident you can act on" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_gibberish_gets_the_help_text(client, paged, fake_twilio):
    response = sms_from(client, fake_twilio, PHONES["alice"], "what is this?")
    assert "Reply ACK 42" in response.content.decode()
    paged.refresh_from_db()
    assert paged.status == "triggered"


def test_an_invalid_number_marks_the_contact_broken_and_tries_the_next(
    integration, policy, alice, fake_twilio, phones
):
    ContactMethod.objects.create(member=alice, position=0, phone="+254711111111")
    ContactMethod.objects.create(member=alice, position=1, phone=PHONES["alice"])
    fake_twilio.fail_next(1, 400, code=21211)
    incident = open_incident(integration)
    drive()
    assert [m.to for m in fake_twilio.messages()] == [PHONES["alice"]]
    broken = ContactMethod.objects.get(phone="+254711111111")
    assert broken.broken_at is not None
    assert "21211" in broken.broken_reason
    assert incident.timeline.filter(text__contains="marked broken").exists()
    # From now on the broken number is skipped without asking Twilio.
    other = open_incident(integration, alertname="Other")
    drive()
    assert len(fake_twilio.rejected) == 1
    phones.expect_sms(to="alice", containing=f"#{other.pk} [CRIT] Other")


def test_a_member_with_no_working_number_is_skipped_to_the_next_step(
    integration, policy, alice, bob, fake_twilio
):
    fake_twilio.fail_next(1, 400, code=21614)
    incident = open_incident(integration)
    drive()
    page = Page.objects.get(member=alice)
    assert page.status == "failed"
    assert ContactMethod.objects.get(member=alice).broken_at is not None
    # The step failed outright: the secondary is paged now, not in 5 minutes.
    assert [m.to for m in fake_twilio.messages()] == [PHONES["bob"]]
    assert incident.timeline.filter(text__contains="next step now").exists()


def test_transient_errors_retry_with_backoff_then_fail_over(
    integration, policy, alice, bob, fake_twilio, settings
):
    settings.PAGE_MAX_ATTEMPTS = 3
    fake_twilio.fail_next(1, 500)
    open_incident(integration)
    now = timezone.now()
    drive(now)
    page = Page.objects.get(member=alice)
    assert page.status == "queued"
    assert page.due_at > now  # backing off, not hammering
    drive(now + timedelta(seconds=settings.PAGE_RETRY_BASE_SECONDS + 1))
    assert [m.to for m in fake_twilio.messages()] == [PHONES["alice"]]
    page.refresh_from_db()
    assert (page.status, page.attempts) == ("sent", 2)

    # Twilio down for good: after the attempts, the next step gets its chance.
    fake_twilio.fail_next(10, 503)
    open_incident(integration, alertname="Other")
    for seconds in range(0, 200, 5):
        drive(now + timedelta(seconds=seconds))
    failed = Page.objects.get(member=alice, incident__title__startswith="Other")
    assert failed.status == "failed"
    assert failed.attempts == 3


def test_a_member_contact_rule_overrides_the_step_channel(
    integration, policy, alice, fake_twilio
):
    ContactRule.objects.create(member=alice, channel="voice", delay=timedelta(0))
    open_incident(integration)
    drive()
    assert fake_twilio.messages() == []
    [call] = fake_twilio.calls()
    page = Page.objects.get()
    assert call.to == PHONES["alice"]
    assert call.form["Url"].endswith(f"/twilio/voice/{page.pk}/")
    assert call.form["MachineDetection"] == "Enable"


# --- voice ------------------------------------------------------------------------


@pytest.fixture
def called(integration, team, rotation, alice, bob, fake_twilio):
    policy_create(
        team,
        {"target": "primary", "channel": "voice"},
        {"target": "secondary", "channel": "voice", "delay": timedelta(minutes=5)},
        team_default=True,
    )
    incident = open_incident(integration)
    drive()
    [call] = fake_twilio.calls()
    return incident, call, Page.objects.get()


def voice(client, fake, call, page, query: str = "", **extra):
    params = fake.call_params(call, **extra)
    return signed_post(client, fake, f"/twilio/voice/{page.pk}/{query}", params)


def test_answering_reads_the_summary_and_gathers_one_digit(client, called, fake_twilio):
    incident, call, page = called
    response = voice(client, fake_twilio, call, page)
    body = response.content.decode()
    assert response.status_code == 200
    assert '<Gather numDigits="1"' in body
    assert f"Incident {incident.pk}, critical: HighErrorRate" in body
    assert "Press 1 to acknowledge, 2 to escalate, 3 to resolve" in body
    page.refresh_from_db()
    assert page.status == "delivered"


def test_pressing_1_acknowledges(client, called, fake_twilio, alice):
    incident, call, page = called
    response = voice(client, fake_twilio, call, page, Digits="1")
    assert "Acknowledged" in response.content.decode()
    assert "<Hangup/>" in response.content.decode()
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_by) == ("acknowledged", alice)
    assert incident.timeline.filter(
        text="acknowledged by Alice via phone call"
    ).exists()
    # The call then completes: an answered page stays answered.
    status(client, fake_twilio, call, "completed")
    page.refresh_from_db()
    assert page.status == "answered"


def test_pressing_2_escalates_and_3_resolves(client, called, fake_twilio, alice):
    incident, call, page = called
    voice(client, fake_twilio, call, page, Digits="2")
    drive()
    assert [c.to for c in fake_twilio.calls()] == [PHONES["alice"], PHONES["bob"]]
    voice(client, fake_twilio, call, page, Digits="3")
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_star_repeats_the_message(client, called, fake_twilio):
    incident, call, page = called
    body = voice(client, fake_twilio, call, page, Digits="*").content.decode()
    assert f"Incident {incident.pk}" in body
    assert "<Gather" in body
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_no_key_pressed_counts_as_unanswered(client, called, fake_twilio):
    incident, call, page = called
    voice(client, fake_twilio, call, page)
    response = voice(client, fake_twilio, call, page, query="?noinput=1")
    assert "<Hangup/>" in response.content.decode()
    page.refresh_from_db()
    assert page.status == "unanswered"
    drive()
    assert [c.to for c in fake_twilio.calls()] == [PHONES["alice"], PHONES["bob"]]


@pytest.mark.parametrize("outcome", ["no-answer", "busy", "failed"])
def test_no_answer_busy_or_failed_calls_move_on_at_once(
    client, called, fake_twilio, outcome
):
    incident, call, page = called
    status(client, fake_twilio, call, outcome)
    page.refresh_from_db()
    assert page.status in ("unanswered", "failed")
    drive()
    assert [c.to for c in fake_twilio.calls()] == [PHONES["alice"], PHONES["bob"]]


def test_an_answering_machine_counts_as_unanswered(client, called, fake_twilio):
    incident, call, page = called
    response = voice(client, fake_twilio, call, page, AnsweredBy="machine_start")
    assert "<Gather" not in response.content.decode()
    page.refresh_from_db()
    assert page.status == "unanswered"
    assert incident.timeline.filter(text__contains="answered by machine").exists()
    drive()
    assert len(fake_twilio.calls()) == 2


def test_a_voice_webhook_for_another_call_changes_nothing(client, called, fake_twilio):
    incident, call, page = called
    params = {"CallSid": "CA" + "9" * 32, "Digits": "1"}
    response = signed_post(client, fake_twilio, f"/twilio/voice/{page.pk}/", params)
    assert "not about a current page" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert Escalation.objects.get(pk=incident.pk).state == "active"
    assert Incident.objects.count() == 1
