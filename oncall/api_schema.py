"""Post-processing of the OpenAPI schema (drf-spectacular's hook).

Local wall-clock times (a rotation's handoff, a policy's business hours) are
``HH:MM[:SS]`` with no offset: they are read in a team's or member's time zone.
OpenAPI's ``format: time`` is RFC 3339's *full-time*, which requires an offset,
so a validating client (schemathesis, generated SDKs) would call every answer
wrong.  They are described as what they are: a pattern, not ``format: time``.
"""

from __future__ import annotations

from typing import Any

LOCAL_TIME = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "example": "09:00:00",
}


def _local_times(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "time" and node.get("type") == "string":
            del node["format"]
            node.update(LOCAL_TIME)
        for value in node.values():
            _local_times(value)
    elif isinstance(node, list):
        for value in node:
            _local_times(value)


def local_times(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry: see the module's docstring."""
    _local_times(result)
    return result


# The answers any operation of the API may give besides its own, all in the one
# JSON error shape (oncall/api_errors.py).  Documented once here rather than on
# each view, so an operation added tomorrow is documented too.
STANDARD_ERRORS = {
    "400": "The request is invalid: `detail` says what is wrong, field by field.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Not allowed: the token lacks the scope, or the object is the caller's "
    "to see but not to change.",
    "404": "No such object, or one the caller may not know exists.",
    "429": "Too many requests: retry after `Retry-After` seconds.",
}
_METHODS = {"get", "put", "patch", "post", "delete"}


def error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular ``POSTPROCESSING_HOOKS`` entry: every ``/api/v1/``
    operation documents the standard error answers it does not document itself."""
    from scheduling.access.views import ERROR

    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in STANDARD_ERRORS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR}},
                    },
                )
    return result
