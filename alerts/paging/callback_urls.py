"""The URLs we give Twilio to call us back on (status callbacks, the voice menu)."""

from __future__ import annotations

from django.conf import settings

from alerts.models import Page, PageBundle


def status_callback_url(
    *, page: Page | None = None, bundle: PageBundle | None = None
) -> str:
    base = f"{settings.PUBLIC_BASE_URL}/twilio/status/"
    if page is not None:
        return f"{base}?page={page.pk}"
    if bundle is not None:
        return f"{base}?bundle={bundle.pk}"
    return base


def voice_url(page: Page) -> str:
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/{page.pk}/"


def bundle_voice_url(bundle: PageBundle) -> str:
    """What a storm's bundle call asks Twilio to fetch: the words and the keys."""
    return f"{settings.PUBLIC_BASE_URL}/twilio/voice/bundle/{bundle.pk}/"
