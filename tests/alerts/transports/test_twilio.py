from __future__ import annotations

import pytest

from alerts.transports import TransportError, get_transport
from alerts.transports.twilio import TwilioTransport

ALICE = "+254700000001"


def test_twilio_transport_sends_sms_with_status_callback(fake_twilio):
    transport = get_transport()
    assert isinstance(transport, TwilioTransport)
    sid = transport.send_sms(
        to=ALICE, body="oncall #7", status_callback="http://x.example/twilio/status/"
    )
    [sent] = fake_twilio.messages(ALICE)
    assert sent.sid == sid
    assert sent.form["Body"] == "oncall #7"
    assert sent.form["From"] == "+15005550006"
    assert sent.status_callback == "http://x.example/twilio/status/"


def test_twilio_transport_places_calls_with_machine_detection(fake_twilio):
    sid = get_transport().place_call(
        to=ALICE,
        url="http://x.example/twilio/voice/9/",
        status_callback="http://x.example/twilio/status/",
    )
    [call] = fake_twilio.calls(ALICE)
    assert call.sid == sid and sid.startswith("CA")
    assert call.form["Url"] == "http://x.example/twilio/voice/9/"
    assert call.form["MachineDetection"] == "Enable"


@pytest.mark.parametrize(
    ("status", "code", "permanent", "contact_broken"),
    [
        (400, 21211, True, True),  # invalid number: the member's number is broken
        (400, 21610, True, True),  # opted out with STOP
        (401, None, True, False),  # our credentials: permanent, not the member
        (429, None, False, False),
        (500, None, False, False),
        (503, None, False, False),
    ],
)
def test_twilio_errors_are_classified(
    fake_twilio, status, code, permanent, contact_broken
):
    fake_twilio.fail_next(1, status, code=code)
    with pytest.raises(TransportError) as error:
        get_transport().send_sms(to=ALICE, body="x", status_callback=None)
    assert error.value.permanent is permanent
    assert error.value.contact_broken is contact_broken
    assert fake_twilio.messages() == []


def test_a_twilio_timeout_is_transient(fake_twilio, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 1
    fake_twilio.stall_next(1, 2.5)
    with pytest.raises(TransportError) as error:
        get_transport().send_sms(to=ALICE, body="x", status_callback=None)
    assert error.value.permanent is False


def test_twilio_transport_refuses_to_start_without_credentials(settings):
    settings.PAGING_TRANSPORT = "twilio"
    settings.TWILIO_ACCOUNT_SID = ""
    with pytest.raises(TransportError, match="TWILIO_ACCOUNT_SID"):
        get_transport()
