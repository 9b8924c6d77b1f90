"""The paging transport interface.

A transport sends one SMS or places one call and returns the provider's id for it,
or raises :class:`TransportError` saying whether trying again could help.  Only
``alerts/transports/twilio.py`` imports the Twilio SDK, so tests replace the
provider in exactly one place (and the end-to-end tests point it at a local fake).
"""

from __future__ import annotations

from typing import Protocol


class TransportError(Exception):
    """A send failed.

    ``permanent``: retrying the same request cannot succeed (an invalid or
    unreachable number, a number that opted out).  ``contact_broken``: the fault is
    the member's contact method, so it should be marked broken and skipped from now
    on; an account or configuration error is permanent but not the member's fault.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        contact_broken: bool = False,
        provider_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.contact_broken = contact_broken
        self.provider_code = provider_code


class Transport(Protocol):
    name: str

    def send_sms(self, *, to: str, body: str, status_callback: str | None) -> str:
        """Send an SMS; return the provider's message id."""
        ...

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_callback: str | None,
        machine_detection: bool = True,
    ) -> str:
        """Place a voice call that fetches its TwiML from ``url``; return its id."""
        ...
