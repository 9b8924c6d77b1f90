from __future__ import annotations

import re
import zoneinfo

from django.core.exceptions import ValidationError

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def validate_e164(value: str) -> None:
    """A phone number in E.164: '+', country code, 7 to 15 digits in all."""
    if not _E164.match(value or ""):
        raise ValidationError(
            "%(value)s is not an E.164 phone number (e.g. +254700000001)",
            params={"value": value},
            code="invalid_phone",
        )


def validate_time_zone(value: str) -> None:
    """An IANA time zone name known to zoneinfo, e.g. Africa/Nairobi."""
    try:
        zoneinfo.ZoneInfo(value)
    # OSError: a name too long for a file name (zoneinfo looks it up on disk).
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            "%(value)s is not an IANA time zone (e.g. Europe/Berlin)",
            params={"value": value},
            code="invalid_time_zone",
        ) from None
