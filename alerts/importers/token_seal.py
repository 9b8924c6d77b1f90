"""Handing a source's API token from the admin to a Celery worker without
storing it.

The token has to cross a process boundary: the admin's web process takes it, a
worker uses it.  The database must never hold it, and the broker should not hold
it in clear either (a Redis dump, a message left after a crash).  So the web
process *seals* it: Fernet (AES-CBC + HMAC-SHA256, with its creation time) under
a key derived from ``SECRET_KEY``, which web and worker share and Redis does not.
The sealed text travels in the task message only; the worker opens it at most
:data:`TOKEN_TTL` after sealing (a message replayed later opens to nothing) and
forgets it when the run ends.  Neither side logs it, sealed or not.
"""

from __future__ import annotations

import base64
import datetime as dt

from cryptography.fernet import Fernet, InvalidToken
from django.utils.crypto import salted_hmac

# Long enough for a worker busy with other work to pick the run up; short
# enough that a message found later in the broker is useless.
TOKEN_TTL = dt.timedelta(minutes=15)
_PURPOSE = "alerts.importers.token_seal"


class SealBroken(Exception):
    """The sealed token is too old, was sealed under another key, or was altered."""


def _fernet() -> Fernet:
    digest = salted_hmac(_PURPOSE, "fernet key", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def token_seal(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode("ascii")


def token_open(sealed: str, *, ttl: dt.timedelta = TOKEN_TTL) -> str:
    try:
        return (
            _fernet().decrypt(sealed.encode("ascii"), ttl=int(ttl.total_seconds()))
        ).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise SealBroken(
            f"the token could not be opened (older than {TOKEN_TTL} or altered): "
            "start the import again"
        ) from None
