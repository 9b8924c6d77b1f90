"""Paging transports, chosen by ``settings.PAGING_TRANSPORT``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from alerts.transports.base import Transport, TransportError

__all__ = ["Transport", "TransportError", "get_transport"]


def get_transport() -> Transport:
    name = settings.PAGING_TRANSPORT
    # Imported when chosen, not at the top: the Twilio SDK costs a noticeable
    # start-up time and memory in every process, and is unused with "console".
    if name == "console":
        from alerts.transports.console import ConsoleTransport

        return ConsoleTransport()
    if name == "twilio":
        from alerts.transports.twilio import TwilioTransport

        return TwilioTransport()
    raise ImproperlyConfigured(
        f"PAGING_TRANSPORT={name!r}: use 'console' (development) or 'twilio'"
    )
