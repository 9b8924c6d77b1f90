"""The REST API's JSON parser: bounded in size and depth.

DRF's own parser reads the whole body, however large (Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` guards only form bodies), and lets the
``RecursionError`` of a deeply nested document escape as a 500.  This one answers
413 past ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and 400 for nesting Python cannot decode.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "request body too large"
    default_code = "too_large"


def too_large() -> RequestTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RequestTooLarge(f"request body larger than {limit} bytes")


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # One byte past the limit is enough to know the body is too large.
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise too_large()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError("JSON parse error: nested too deeply") from None
        except (ValueError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON; DRF's strict mode refuses them the same way.
    raise ValueError(f"{name} is not valid JSON")
