"""Rate limits for the REST API: one bucket per API token (DRF throttle).

Requests with a token are counted per token, session requests per user, anything
else per client address.  The rate is ``API_THROTTLE_RATE`` (e.g. ``600/min``),
read on every request so a deployment (or a test) can change it.  Counts live in
Django's cache: shared by every web process once ``CACHE_URL`` names Redis.
Over the rate: 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from scheduling.models import ApiToken

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PerTokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATE or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
