"""Check that a request really comes from Twilio (``X-Twilio-Signature``).

Twilio signs the full URL it called plus the sorted POST parameters with our auth
token.  Behind a proxy the URL Django sees (``http://web:8000/...``) is not the one
Twilio called, so the URL is rebuilt from ``PUBLIC_BASE_URL``, the address we gave
Twilio in the first place.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator


def public_url(request: HttpRequest) -> str:
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def twilio_request_is_valid(request: HttpRequest) -> bool:
    if not settings.TWILIO_VALIDATE_SIGNATURES:
        return True  # only possible with DEBUG on: the settings refuse otherwise
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(public_url(request), request.POST.dict(), signature)
