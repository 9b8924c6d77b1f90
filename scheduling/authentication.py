"""``Authorization: Bearer <token>`` for the REST API (DRF authentication class).

The secret is looked up by its hash (``scheduling.tokens``); ``request.auth`` is
then the ``ApiToken``, whose scopes ``scheduling.access.permissions`` enforces.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from scheduling.models import ApiToken
from scheduling.tokens import api_token_authenticate


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # not ours: session authentication may try
        if len(parts) != 2:
            raise AuthenticationFailed("use 'Authorization: Bearer <token>'")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid or expired token") from None
        token = api_token_authenticate(secret=secret, now=timezone.now())
        if token is None:
            # One message for unknown, expired and deactivated: no oracle.
            raise AuthenticationFailed("invalid or expired token")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
