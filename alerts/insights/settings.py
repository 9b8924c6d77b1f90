"""A team's insight settings: read (a team without a row has the defaults) and
changed through one service, which the API calls (the admin edits the model
with the same validation: ``full_clean``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from alerts.models import InsightSettings
from scheduling.models import Team

FIELDS = (
    "business_start",
    "business_end",
    "business_weekdays",
    "sleep_start",
    "sleep_end",
    "max_pages_per_week",
    "max_sleep_interruptions_per_week",
    "flap_window",
)


def insight_settings_of(*, team: Team) -> InsightSettings:
    """The team's settings; an unsaved row with the defaults when it has none."""
    found = InsightSettings.objects.filter(team=team).first()
    return found if found is not None else InsightSettings(team=team)


def insight_settings_update(*, team: Team, **fields: Any) -> InsightSettings:
    """Change some of ``team``'s settings (``FIELDS``); the others keep their
    values (the defaults for a team without a row).  Raises Django's
    ``ValidationError`` (a 400 in the API) for values the model refuses:
    business hours that end before they start, weekdays that are not ISO digits."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not insight settings: {sorted(unknown)}")
    with transaction.atomic():
        settings = InsightSettings.objects.select_for_update().filter(
            team=team
        ).first() or InsightSettings(team=team)
        for name, value in fields.items():
            setattr(settings, name, value)
        settings.full_clean()
        settings.save()
    return settings
