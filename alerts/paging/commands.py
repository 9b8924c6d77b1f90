"""Parse what an engineer texts back: ``ack 42``, ``RES #42``, ``esc 42``, ``ack``.

Accepted, case-insensitive, with or without ``#`` and spaces: ``ack 42``, ``ACK#42``,
``ack``, ``ack all`` (every incident in the bundle the member was last sent), and
the long words ``acknowledge``, ``resolve``, ``escalate``.  Anything else is
``None``: the caller answers with a short help text and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACTIONS = {
    "ack": "ack",
    "acknowledge": "ack",
    "a": "ack",
    "res": "resolve",
    "resolve": "resolve",
    "r": "resolve",
    "esc": "escalate",
    "escalate": "escalate",
    "e": "escalate",
}


_PATTERN = re.compile(
    r"^\s*(?P<word>[a-z]+)\s*(?:(?P<all>all)|#?\s*(?P<number>\d{1,12}))?\s*[.!]?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SmsCommand:
    action: str  # "ack", "resolve" or "escalate"
    incident_id: int | None  # None: the sender's latest page
    all: bool = False  # "ack all": every incident of the latest bundle


def parse_sms_command(text: str) -> SmsCommand | None:
    match = _PATTERN.match(text or "")
    if not match:
        return None
    action = ACTIONS.get(match["word"].lower())
    if action is None:
        return None
    number = int(match["number"]) if match["number"] else None
    return SmsCommand(action=action, incident_id=number, all=bool(match["all"]))


HELP_TEXT = (
    "Reply ACK 42, RES 42 or ESC 42 (42 = incident number), "
    "or ACK for your latest page."
)
