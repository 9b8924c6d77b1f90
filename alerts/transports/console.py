"""The development transport: logs each page and keeps it in memory, sends nothing.

``make run`` uses it, so a demo shows exactly what would reach a phone in the worker's
log.  Tests read :data:`OUTBOX`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

logger = logging.getLogger("oncall.pages")


@dataclass(frozen=True)
class Sent:
    kind: str  # "sms" or "call"
    to: str
    body: str
    provider_id: str
    status_callback: str | None
    at: datetime = field(default_factory=timezone.now)


OUTBOX: list[Sent] = []
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        OUTBOX.clear()


class ConsoleTransport:
    name = "console"

    def _record(self, sent: Sent) -> str:
        with _lock:
            OUTBOX.append(sent)
        return sent.provider_id

    def send_sms(self, *, to: str, body: str, status_callback: str | None) -> str:
        logger.info("SMS to %s: %s", to, body)
        return self._record(
            Sent("sms", to, body, f"console-SM{uuid.uuid4().hex}", status_callback)
        )

    def place_call(
        self,
        *,
        to: str,
        url: str,
        status_callback: str | None,
        machine_detection: bool = True,
    ) -> str:
        logger.info("CALL to %s, TwiML from %s", to, url)
        return self._record(
            Sent("call", to, url, f"console-CA{uuid.uuid4().hex}", status_callback)
        )
