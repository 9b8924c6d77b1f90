"""A throttle on failed logins (the admin's, and engineers' at ``/login/``), per
client address and user name.

After ``ADMIN_LOGIN_MAX_FAILURES`` failures the login form refuses to check the
password of that user name from that address for ``ADMIN_LOGIN_LOCKOUT_SECONDS``
(a form error: the admin answers 200 with the message, like any bad login).
Failures are counted in Django's cache, so each web process counts its own unless
a shared cache is configured.  Only the address Django sees is used: behind a proxy
that is the proxy's, and the user name keeps one user's lockout from locking out
everyone.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def _key(request: HttpRequest | None, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    # Hashed: the key holds neither the address nor the name in clear.
    digest = hashlib.sha256(f"{address}\0{username.lower()}".encode()).hexdigest()
    return f"oncall:admin-login-failures:{digest}"


class _Throttled(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        key = _key(self.request, username)
        if cache.get(key, 0) >= settings.ADMIN_LOGIN_MAX_FAILURES:
            minutes = settings.ADMIN_LOGIN_LOCKOUT_SECONDS // 60
            raise ValidationError(
                f"Too many failed logins for this user from this address; try "
                f"again in {minutes} minutes.",
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError:
            try:
                cache.incr(key)
            except ValueError:  # first failure: no counter yet
                cache.set(key, 1, settings.ADMIN_LOGIN_LOCKOUT_SECONDS)
            raise


class ThrottledAdminAuthenticationForm(_Throttled, AdminAuthenticationForm):
    """The admin's login: staff only."""


class ThrottledMemberAuthenticationForm(_Throttled):
    """Engineers' login (``/login/``, for their handoff pages): any active user,
    staff or not; the same failure counter as the admin's."""
