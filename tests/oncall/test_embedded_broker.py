"""The embedded default's broker carries a page in well under a second a hop
(issue 11, item 13; ``make bench-embedded-paging`` measures the whole way)."""

from __future__ import annotations

from django.conf import settings


def test_the_filesystem_broker_is_polled_every_100_ms() -> None:
    # kombu's default (1 s) added a second to every hop from webhook to page.
    assert settings.CELERY_BROKER_URL.startswith("filesystem://")
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] <= 0.1
