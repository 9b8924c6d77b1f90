from __future__ import annotations

import pytest
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from alerts.transports.twilio_signature import twilio_request_is_valid
from tests.fake_twilio import AUTH_TOKEN

PARAMS = {"From": "+254700000001", "Body": "ack 42", "MessageSid": "SM1"}
PUBLIC = "https://oncall.example.com"


@pytest.fixture(autouse=True)
def public_base(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = PUBLIC


def sign(url, params, token=AUTH_TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def post(path, params, signature):
    return RequestFactory().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_request_signed_for_the_public_url_is_valid():
    signature = sign(f"{PUBLIC}/twilio/sms/", PARAMS)
    assert twilio_request_is_valid(post("/twilio/sms/", PARAMS, signature))


def test_a_tampered_request_is_invalid():
    signature = sign(f"{PUBLIC}/twilio/sms/", PARAMS)
    tampered = dict(PARAMS, Body="res 42")
    assert not twilio_request_is_valid(post("/twilio/sms/", tampered, signature))


def test_an_unsigned_request_is_invalid():
    assert not twilio_request_is_valid(post("/twilio/sms/", PARAMS, ""))


def test_a_signature_for_another_host_or_token_is_invalid():
    other_host = sign("https://evil.example.com/twilio/sms/", PARAMS)
    assert not twilio_request_is_valid(post("/twilio/sms/", PARAMS, other_host))
    other_token = sign(f"{PUBLIC}/twilio/sms/", PARAMS, token="not-ours")
    assert not twilio_request_is_valid(post("/twilio/sms/", PARAMS, other_token))


def test_validation_can_be_disabled_only_by_setting(settings):
    settings.TWILIO_VALIDATE_SIGNATURES = False
    assert twilio_request_is_valid(post("/twilio/sms/", PARAMS, ""))
