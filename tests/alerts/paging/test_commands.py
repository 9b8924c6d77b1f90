from __future__ import annotations

import pytest

from alerts.paging.commands import SmsCommand, parse_sms_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ack 42", SmsCommand("ack", 42)),
        ("ACK #42", SmsCommand("ack", 42)),
        ("Ack#42", SmsCommand("ack", 42)),
        ("  res 7 ", SmsCommand("resolve", 7)),
        ("ESC 1234", SmsCommand("escalate", 1234)),
        ("resolve 5", SmsCommand("resolve", 5)),
        ("ack", SmsCommand("ack", None)),
        ("Ack.", SmsCommand("ack", None)),
        ("ack all", SmsCommand("ack", None, all=True)),
        ("ACK ALL", SmsCommand("ack", None, all=True)),
    ],
)
def test_it_understands_replies(text, expected):
    assert parse_sms_command(text) == expected


@pytest.mark.parametrize(
    "text", ["", "hello", "ack 42 please", "stop", "ack -1", "42", "ack 4 2"]
)
def test_it_rejects_anything_else(text):
    assert parse_sms_command(text) is None
