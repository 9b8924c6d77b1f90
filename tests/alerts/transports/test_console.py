"""The console transport: what `make run` pages through."""

from __future__ import annotations

from alerts.transports import get_transport
from alerts.transports.console import ConsoleTransport
from tests.cast import PHONES

ALICE = PHONES["alice"]


def test_console_transport_records_and_logs_instead_of_sending(
    settings, caplog, phones
):
    settings.PAGING_TRANSPORT = "console"
    transport = get_transport()
    assert isinstance(transport, ConsoleTransport)
    with caplog.at_level("INFO", logger="oncall.pages"):
        sid = transport.send_sms(to=ALICE, body="oncall #1", status_callback=None)
    assert sid.startswith("console-SM")
    assert [(s.kind, s.to, s.body) for s in phones.sent(via="console")] == [
        ("sms", ALICE, "oncall #1")
    ]
    assert f"SMS to {ALICE}: oncall #1" in caplog.text
