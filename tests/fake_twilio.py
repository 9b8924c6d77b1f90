"""A local stand-in for Twilio's REST API and its webhooks, for tests.

It listens on 127.0.0.1 and implements what our Twilio transport uses:

* ``POST /2010-04-01/Accounts/<sid>/Messages.json`` and ``.../Calls.json``: checks
  HTTP basic auth (account SID and auth token), records the form, answers ``201``
  with a JSON resource shaped like Twilio's (``sid``, ``status: queued``, ...).
* Programmed failures: :meth:`FakeTwilio.fail_next` answers the next requests with a
  Twilio-style error (``500``, ``429``, ``400`` with code ``21211`` for an invalid
  number ...) or stalls them longer than a client's timeout.
* Callbacks into the service, signed like Twilio signs them (``X-Twilio-Signature``,
  HMAC-SHA1 of URL + sorted params with the auth token, computed with the SDK's
  ``RequestValidator``): delivery status (:meth:`send_message_status`,
  :meth:`send_call_status`), inbound SMS (:meth:`send_inbound_sms`) and the voice
  webhook a call fetches when answered (:meth:`post_signed`).

The SDK reaches it when its HTTP client rewrites ``https://api.twilio.com`` to
:attr:`FakeTwilio.url` (the transport's ``TWILIO_API_BASE_URL`` setting).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from twilio.request_validator import RequestValidator

from tests.processes import free_port

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FROM_NUMBER = "+15005550006"

ERRORS = {
    # status: (Twilio error code, message)
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service unavailable"),
}


@dataclass
class Recorded:
    kind: str  # "message" or "call"
    sid: str
    form: dict[str, str]
    status_callback: str | None
    received_at: float = field(default_factory=time.monotonic)

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


@dataclass
class _Failure:
    status: int | None  # None: stall instead of answering
    code: int | None = None
    stall_seconds: float = 0.0


class FakeTwilio:
    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        *,
        auto_deliver: bool = False,
    ) -> None:
        """``auto_deliver``: like Twilio, follow each accepted SMS with ``sent`` and
        ``delivered`` status callbacks (when it was sent with a StatusCallback)."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.auto_deliver = auto_deliver
        self.callback_results: list[tuple[str, str, int]] = []
        self.port = free_port()
        self.requests: list[Recorded] = []
        # Told what a test read through messages() and calls() (tests/phones.py).
        self.on_read = lambda records: None
        self.rejected: list[tuple[int, str, dict[str, str]]] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    # --- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- programming ---------------------------------------------------------
    def fail_next(
        self, count: int, status: int = 500, *, code: int | None = None
    ) -> None:
        """Answer the next ``count`` create requests with a Twilio error."""
        with self._lock:
            self._failures.extend(_Failure(status, code) for _ in range(count))

    def stall_next(self, count: int, seconds: float) -> None:
        """Hold the next ``count`` create requests for ``seconds`` before a 500."""
        with self._lock:
            self._failures.extend(
                _Failure(None, stall_seconds=seconds) for _ in range(count)
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    # --- what was sent -------------------------------------------------------
    def requests_snapshot(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def messages(self, to: str | None = None) -> list[Recorded]:
        return self._read("message", to)

    def calls(self, to: str | None = None) -> list[Recorded]:
        return self._read("call", to)

    def _read(self, kind: str, to: str | None) -> list[Recorded]:
        found = [
            r
            for r in self.requests_snapshot()
            if r.kind == kind and (to is None or r.to == to)
        ]
        self.on_read(found)
        return found

    # --- signed callbacks into the service -------------------------------------
    def sign(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def post_signed(
        self,
        url: str,
        params: dict[str, str],
        *,
        signature: str | None = None,
        timeout: float = 10,
    ) -> tuple[int, str]:
        """POST a form to ``url`` as Twilio would; returns (status, body)."""
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "TwilioProxy/1.1",
                "X-Twilio-Signature": signature
                if signature is not None
                else self.sign(url, params),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def send_message_status(
        self, recorded: Recorded, status: str, *, error_code: int | None = None
    ) -> tuple[int, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "From": recorded.form.get("From", ""),
            "To": recorded.to,
            "MessageSid": recorded.sid,
            "SmsSid": recorded.sid,
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        assert recorded.status_callback, "the message was sent without StatusCallback"
        return self.post_signed(recorded.status_callback, params)

    def _deliver(self, recorded: Recorded) -> None:
        for status in ("sent", "delivered"):
            time.sleep(0.05)
            try:
                code, _ = self.send_message_status(recorded, status)
            except OSError:
                code = 0  # the service is down: Twilio would give up too
            with self._lock:
                self.callback_results.append((recorded.sid, status, code))

    def send_call_status(
        self, recorded: Recorded, status: str, *, answered_by: str | None = None
    ) -> tuple[int, str]:
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": recorded.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": recorded.form.get("From", ""),
            "To": recorded.to,
        }
        if answered_by is not None:
            params["AnsweredBy"] = answered_by
        assert recorded.status_callback, "the call was placed without StatusCallback"
        return self.post_signed(recorded.status_callback, params)

    def send_inbound_sms(
        self, url: str, *, from_: str, body: str, to: str = FROM_NUMBER
    ) -> tuple[int, str]:
        sid = "SM" + secrets.token_hex(16)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "Body": body,
            "From": from_,
            "To": to,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        return self.post_signed(url, params)

    def call_params(self, recorded: Recorded, **extra: str) -> dict[str, str]:
        """The form Twilio posts to a call's ``Url`` (answered) or ``<Gather>``."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": recorded.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "From": recorded.form.get("From", ""),
            "To": recorded.to,
        }
        params.update(extra)
        return params

    # --- HTTP ------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a stalled request)

            def _error(self, status: int, code: int | None = None) -> None:
                default_code, message = ERRORS.get(status, (20500, "Error"))
                code = code or default_code
                self._answer(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/"
                path = self.path.split("?", 1)[0]
                if not path.startswith(prefix) or path[len(prefix) :] not in (
                    "Messages.json",
                    "Calls.json",
                ):
                    fake.rejected.append((404, path, form))
                    return self._error(404)
                expected = (
                    "Basic "
                    + base64.b64encode(
                        f"{fake.account_sid}:{fake.auth_token}".encode()
                    ).decode()
                )
                if self.headers.get("Authorization") != expected:
                    fake.rejected.append((401, path, form))
                    return self._error(401)
                with fake._lock:
                    failure = fake._failures.pop(0) if fake._failures else None
                if failure is not None:
                    fake.rejected.append((failure.status or 0, path, form))
                    if failure.status is None:
                        time.sleep(failure.stall_seconds)
                        return self._error(500)
                    return self._error(failure.status, failure.code)
                kind = "message" if path.endswith("Messages.json") else "call"
                missing = [k for k in ("To", "From") if not form.get(k)]
                if kind == "message" and not form.get("Body"):
                    missing.append("Body")
                if kind == "call" and not (form.get("Url") or form.get("Twiml")):
                    missing.append("Url")
                if missing:
                    fake.rejected.append((400, path, form))
                    return self._answer(
                        400,
                        {"code": 21604, "message": f"Missing {missing}", "status": 400},
                    )
                sid = ("SM" if kind == "message" else "CA") + secrets.token_hex(16)
                recorded = Recorded(kind, sid, form, form.get("StatusCallback"))
                with fake._lock:
                    fake.requests.append(recorded)
                if kind == "message" and fake.auto_deliver and recorded.status_callback:
                    threading.Thread(
                        target=fake._deliver, args=(recorded,), daemon=True
                    ).start()
                now = format_datetime(datetime.now(UTC), usegmt=True)
                resource = {
                    "sid": sid,
                    "account_sid": fake.account_sid,
                    "api_version": "2010-04-01",
                    "to": form["To"],
                    "from": form["From"],
                    "status": "queued",
                    "date_created": now,
                    "date_updated": now,
                    "direction": "outbound-api",
                    "uri": f"{prefix}{'Messages' if kind == 'message' else 'Calls'}"
                    f"/{sid}.json",
                }
                if kind == "message":
                    resource.update(
                        body=form["Body"],
                        num_segments="1",
                        num_media="0",
                        error_code=None,
                        error_message=None,
                        price=None,
                        price_unit="USD",
                        messaging_service_sid=None,
                        date_sent=None,
                        subresource_uris={},
                    )
                else:
                    resource.update(
                        parent_call_sid=None,
                        phone_number_sid=None,
                        start_time=None,
                        end_time=None,
                        duration=None,
                        price=None,
                        price_unit="USD",
                        answered_by=None,
                        caller_name=None,
                        forwarded_from=None,
                        group_sid=None,
                        queue_time="0",
                        trunk_sid=None,
                        subresource_uris={},
                    )
                return self._answer(201, resource)

        return Handler
