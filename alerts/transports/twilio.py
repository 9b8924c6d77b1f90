"""The Twilio transport: the only module that imports the Twilio SDK.

Errors are sorted into *transient* (timeouts, connection errors, HTTP 429 and 5xx:
worth retrying with backoff) and *permanent* (Twilio's 4xx with an error code:
retrying the same request cannot help).  Among permanent ones, the codes that mean
"this phone number cannot be reached" mark the member's contact method broken.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from alerts.transports.base import TransportError

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"

# Twilio error codes that mean the destination number is the problem.
# https://www.twilio.com/docs/api/errors
CONTACT_BROKEN_CODES = {
    13223,  # call: invalid phone number format
    13224,  # call: invalid phone number
    13225,  # call: forbidden phone number (e.g. premium)
    21211,  # invalid 'To' phone number
    21217,  # phone number does not appear to be valid
    21214,  # 'To' number cannot be reached
    21408,  # permission to send to this region is not enabled
    21610,  # the recipient replied STOP: opted out
    21612,  # the 'To' number is not currently reachable via SMS
    21614,  # 'To' number is not a valid mobile number
}


class _RoutedHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to ``base_url`` instead of api.twilio.com.

    Production leaves ``TWILIO_API_BASE_URL`` at Twilio; tests point it at the local
    fake.  A request timeout keeps a stalled Twilio from holding a worker.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url != TWILIO_API and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _classify(error: Exception) -> TransportError:
    if isinstance(error, TwilioRestException):
        status, code = error.status, error.code
        transient = status == 429 or status >= 500
        return TransportError(
            f"Twilio answered {status} (code {code}): {error.msg}",
            permanent=not transient,
            contact_broken=(not transient) and code in CONTACT_BROKEN_CODES,
            provider_code=code,
        )
    return TransportError(f"Twilio unreachable: {error}", permanent=False)


class TwilioTransport:
    name = "twilio"

    def __init__(self) -> None:
        missing = [
            name
            for name in (
                "TWILIO_ACCOUNT_SID",
                "TWILIO_AUTH_TOKEN",
                "TWILIO_FROM_NUMBER",
            )
            if not getattr(settings, name)
        ]
        if missing:
            raise TransportError(
                f"PAGING_TRANSPORT=twilio but {', '.join(missing)} not set",
                permanent=True,
            )
        self.from_number = settings.TWILIO_FROM_NUMBER
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=_RoutedHttpClient(
                settings.TWILIO_API_BASE_URL, settings.TWILIO_TIMEOUT_SECONDS
            ),
        )

    def send_sms(self, *, to: str, body: str, status_callback: str | None) -> str:
        try:
            message = self.client.messages.create(
                to=to,
                from_=self.from_number,
                body=body,
                **({"status_callback": status_callback} if status_callback else {}),
            )
        except (TwilioException, requests.RequestException) as error:
            raise _classify(error) from error
        return message.sid

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_callback: str | None,
        machine_detection: bool = True,
    ) -> str:
        options: dict = {}
        if status_callback:
            options.update(
                status_callback=status_callback,
                status_callback_event=["initiated", "ringing", "answered", "completed"],
            )
        if machine_detection:
            options["machine_detection"] = "Enable"
        try:
            call = self.client.calls.create(
                to=to, from_=self.from_number, url=url, timeout=30, **options
            )
        except (TwilioException, requests.RequestException) as error:
            raise _classify(error) from error
        return call.sid
