"""API tokens: make one (the secret is returned this once), revoke one, and find
the token a request's secret belongs to.

Only the hash of a secret is stored (DESIGN.md §6, invariant 8).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.db.models import Field

from scheduling.hot_sql import column_instant, hot_fetch
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


# Every API request looks its token up: the statement is compiled by the ORM
# once per process and database alias, then run as SQL with the hash in place of
# ``_DIGEST`` (compiling the queryset cost more CPU than the database spent
# running it; bench/slo_gate.py).  It reads every concrete column of the token and
# of its user, so both come back as complete instances, as select_related gave.
_DIGEST = "\x00digest\x00"
_lookups: dict[str, tuple[str, tuple[Any, ...], list[Any], list[Any]]] = {}


def _convert(field: Field) -> Callable[[Any], Any]:
    """How a raw cursor's value becomes what the ORM would have given, for the
    column kinds a token and a user have (the backends hand back datetimes as
    text or naive on SQLite, booleans as integers there, JSON as text)."""
    if isinstance(field, models.DateTimeField):
        return column_instant
    if isinstance(field, models.BooleanField):
        return lambda v: None if v is None else bool(v)
    if isinstance(field, models.JSONField):
        return lambda v: json.loads(v) if isinstance(v, str | bytes) else v
    return lambda v: v


def _lookup(alias: str) -> tuple[str, tuple[Any, ...], list[Any], list[Any]]:
    found = _lookups.get(alias)
    if found is None:
        user_model = ApiToken._meta.get_field("user").related_model
        token_fields = list(ApiToken._meta.concrete_fields)
        user_fields = list(user_model._meta.concrete_fields)  # type: ignore[union-attr]
        query = (
            ApiToken.objects.using(alias)
            .filter(token_hash=_DIGEST)
            .order_by()
            .values_list(
                *(f.attname for f in token_fields),
                *(f"user__{f.attname}" for f in user_fields),
            )[:1]
        )
        sql, params = query.query.sql_with_params()
        found = (sql, tuple(params), token_fields, user_fields)
        _lookups[alias] = found
    return found


def _token_by_hash(digest: str) -> ApiToken | None:
    alias = router.db_for_read(ApiToken)
    sql, params, token_fields, user_fields = _lookup(alias)
    args = [digest if p == _DIGEST else p for p in params]
    # Prepared on PostgreSQL, and its own health check (scheduling/hot_sql.py).
    row = hot_fetch(connections[alias], sql, args)
    if row is None:
        return None
    fields = token_fields + user_fields
    values = [_convert(f)(v) for f, v in zip(fields, row, strict=True)]
    n = len(token_fields)
    token = ApiToken.from_db(alias, [f.attname for f in token_fields], values[:n])
    user_model = ApiToken._meta.get_field("user").related_model
    # The user from the same row, cached on the token as select_related would.
    token.user = user_model.from_db(  # type: ignore[union-attr,assignment]
        alias, [f.attname for f in user_fields], values[n:]
    )
    return token


def api_token_authenticate(*, secret: str, now: dt.datetime) -> ApiToken | None:
    """The live token whose secret this is, with its user; ``None`` for an
    unknown, expired or deactivated one.  Records the use (coarsely)."""
    digest = hash_api_token(secret)
    token = _token_by_hash(digest)
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
