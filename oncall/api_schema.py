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
