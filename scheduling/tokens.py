"""API tokens: make one (the secret is returned this once), revoke one, and find
the token a request's secret belongs to.

Only the hash of a secret is stored (DESIGN.md §6, invariant 8).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from scheduling.models import ApiToken, hash_api_token

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A recognisable prefix lets secret scanners (and people) tell what leaked.
SECRET_PREFIX = "oncall_"  # noqa: S105 (a label, not a secret)
# last_used_at is written at most this often per token: not one UPDATE per request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def _check_scopes(scopes: list[str]) -> list[str]:
    wanted = sorted(set(scopes))
    allowed = [sorted(s) for s in ApiToken.SCOPE_SETS]
    if wanted not in allowed:
        raise ValidationError(
            {
                "scopes": [
                    'use ["read"], ["read", "write"] (write needs read) or '
                    '["deploy-gate"] (alone)'
                ]
            }
        )
    return [s for s in ApiToken.SCOPES if s in wanted]


def _check_expiry(expires_at: dt.datetime | None, now: dt.datetime) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise ValidationError(
            {"expires_at": ["needs a UTC offset or Z: a naive time is ambiguous"]}
        )
    if expires_at <= now:
        raise ValidationError({"expires_at": ["must be in the future"]})


@transaction.atomic
def api_token_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    created_by: User | None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime,
) -> IssuedToken:
    """Make a token for ``user``; the secret is in the result and nowhere else."""
    if not name.strip():
        raise ValidationError({"name": ["must not be blank"]})
    scopes = _check_scopes(scopes)
    _check_expiry(expires_at, now)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        scopes=scopes,
        token_hash=hash_api_token(secret),
        token_hint=secret[: len(SECRET_PREFIX) + 4],
        expires_at=expires_at,
        created_by=created_by,
    )
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


def api_token_authenticate(*, secret: str, now: dt.datetime) -> ApiToken | None:
    """The live token whose secret this is, with its user; ``None`` for an
    unknown, expired or deactivated one.  Records the use (coarsely)."""
    digest = hash_api_token(secret)
    token = ApiToken.objects.select_related("user").filter(token_hash=digest).first()
    # The lookup is by an index on the hash; this compare is the constant-time
    # check that what was found is what was asked for.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
