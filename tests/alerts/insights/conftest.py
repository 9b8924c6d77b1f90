"""The sending clock: a page's hour is when it was sent (``sent_at``, stamped by
the transport round with ``timezone.now()``), so a test that drives the engine at
an instant of its choosing also sends at that instant."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from tests.alerts.conftest import drive


def drive_at(at: dt.datetime, *, rounds: int = 10) -> list[str]:
    """:func:`drive` at ``at`` with the wall clock reading ``at`` too: pages go out
    (and are stamped ``sent_at``) at ``at``."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        return drive(at, rounds=rounds)
