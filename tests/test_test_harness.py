"""The harness that starts real components for tests works as real users see them.

These guard the helpers in ``tests/processes.py`` and ``tests/fake_twilio.py`` that
the end-to-end tests build on: a broken harness must fail here, loudly, not make
an end-to-end test pass or hang for the wrong reason.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from tests.processes import AlertmanagerServer, PostgresServer, free_port, wait_until


def test_postgres_server_starts_stops_and_restarts():
    server = PostgresServer()
    server.start()
    try:
        with psycopg.connect(server.url(), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        server.stop(mode="immediate")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url(), connect_timeout=2)
        server.start()
        with psycopg.connect(server.url(), connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("oncall",)
    finally:
        server.destroy()


class Capture(BaseHTTPRequestHandler):
    received: list[tuple[dict, dict]] = []

    def log_message(self, *args):
        return

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Capture.received.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()


def test_alertmanager_server_delivers_webhooks_with_bearer_auth(tmp_path):
    port = free_port()
    receiver = ThreadingHTTPServer(("127.0.0.1", port), Capture)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    config = f"""
route:
  receiver: hook
  group_by: [alertname, service]
  group_wait: 100ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: hook
  webhook_configs:
  - url: 'http://127.0.0.1:{port}/hook'
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials: 'secret-token'
"""
    am = AlertmanagerServer(tmp_path / "am", config)
    am.start()
    try:
        am.post_alerts(
            [
                {
                    "labels": {"alertname": "HighErrorRate", "service": "payments"},
                    "annotations": {"summary": "errors"},
                }
            ]
        )
        wait_until(lambda: Capture.received, 15, "a webhook from alertmanager")
        headers, body = Capture.received[0]
        assert headers["Authorization"] == "Bearer secret-token"
        assert body["status"] == "firing"
        assert body["groupKey"] == '{}:{alertname="HighErrorRate", service="payments"}'
    finally:
        am.stop()
        receiver.shutdown()


class FakeTwilioHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=2)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        url = url.replace("https://api.twilio.com", self.base_url)
        return super().request(method, url, *args, **kwargs)


def sdk_client(fake: FakeTwilio) -> Client:
    return Client(ACCOUNT_SID, AUTH_TOKEN, http_client=FakeTwilioHttpClient(fake.url))


def test_fake_twilio_answers_the_sdk_like_twilio(fake_twilio):
    client = sdk_client(fake_twilio)
    message = client.messages.create(
        to="+254700000001",
        from_=FROM_NUMBER,
        body="oncall #1 test",
        status_callback="http://127.0.0.1:1/twilio/status/",
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    call = client.calls.create(
        to="+254700000001", from_=FROM_NUMBER, url="http://127.0.0.1:1/twilio/voice/1/"
    )
    assert call.sid.startswith("CA")
    assert [r.body for r in fake_twilio.messages("+254700000001")] == ["oncall #1 test"]
    assert len(fake_twilio.calls()) == 1


def test_fake_twilio_errors_reach_the_sdk_as_twilio_errors(fake_twilio):
    client = sdk_client(fake_twilio)
    fake_twilio.fail_next(1, 400)
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to="+1", from_=FROM_NUMBER, body="x")
    assert (error.value.status, error.value.code) == (400, 21211)
    fake_twilio.fail_next(1, 429)
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to="+254700000001", from_=FROM_NUMBER, body="x")
    assert error.value.status == 429
    assert fake_twilio.messages() == []
    bad = Client(
        ACCOUNT_SID, "wrong", http_client=FakeTwilioHttpClient(fake_twilio.url)
    )
    with pytest.raises(TwilioRestException) as error:
        bad.messages.create(to="+254700000001", from_=FROM_NUMBER, body="x")
    assert error.value.status == 401


def test_fake_twilio_stalls_past_a_client_timeout(fake_twilio):
    from twilio.base.exceptions import TwilioException

    fake_twilio.stall_next(1, 3)
    with pytest.raises((TwilioException, OSError)):
        sdk_client(fake_twilio).messages.create(
            to="+254700000001", from_=FROM_NUMBER, body="x"
        )


def test_fake_twilio_signs_callbacks_the_way_the_sdk_validates(fake_twilio):
    url = "https://oncall.example.com/twilio/sms/"
    params = {"From": "+254700000001", "Body": "ack 42"}
    signature = fake_twilio.sign(url, params)
    assert RequestValidator(AUTH_TOKEN).validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def test_fake_twilio_can_report_delivery_like_twilio():
    received: list[dict] = []

    class StatusReceiver(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_POST(self):
            import urllib.parse

            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            form = dict(urllib.parse.parse_qsl(body))
            url = f"http://127.0.0.1:{port}{self.path}"
            valid = RequestValidator(AUTH_TOKEN).validate(
                url, form, self.headers["X-Twilio-Signature"]
            )
            received.append(dict(form, valid=valid))
            self.send_response(204)
            self.end_headers()

    port = free_port()
    receiver = ThreadingHTTPServer(("127.0.0.1", port), StatusReceiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    fake = FakeTwilio(auto_deliver=True).start()
    try:
        message = sdk_client(fake).messages.create(
            to="+254700000001",
            from_=FROM_NUMBER,
            body="x",
            status_callback=f"http://127.0.0.1:{port}/twilio/status/",
        )
        wait_until(lambda: len(received) == 2, 5, "two status callbacks")
        assert [
            (r["MessageSid"], r["MessageStatus"], r["valid"]) for r in received
        ] == [
            (message.sid, "sent", True),
            (message.sid, "delivered", True),
        ]
    finally:
        fake.stop()
        receiver.shutdown()


def test_phones_report_every_page_until_the_test_expects_it(settings, phones):
    from alerts.transports import get_transport

    settings.PAGING_TRANSPORT = "console"
    transport = get_transport()
    transport.send_sms(
        to="+254700000001", body="oncall #7 [CRIT]", status_callback=None
    )
    transport.send_sms(
        to="+254700000002", body="oncall #7 [CRIT]", status_callback=None
    )
    assert [m.to for m in phones.unexpected()] == ["+254700000001", "+254700000002"]
    with pytest.raises(AssertionError, match="unexpected messages:\n  sms to"):
        phones.assert_quiet()
    phones.expect_sms(to="alice", containing="#7")
    with pytest.raises(AssertionError, match="expected one sms to alice"):
        phones.expect_sms(to="alice")  # taken already: not twice
    assert [m.to for m in phones.unexpected()] == ["+254700000002"]
    phones.expect_sms(to="bob", containing="[CRIT]")
    phones.assert_quiet()


def test_phones_watch_a_fake_twilio_and_count_what_the_test_read(fake_twilio, phones):
    from alerts.transports import get_transport

    get_transport().send_sms(to="+254700000003", body="hello", status_callback=None)
    assert [m.body for m in phones.unexpected()] == ["hello"]
    assert [m.to for m in fake_twilio.messages()] == ["+254700000003"]
    phones.assert_quiet()  # what the test read through the fake is expected
