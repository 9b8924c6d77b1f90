"""How the OpenAPI schema (drf-spectacular) describes our Bearer API tokens.

Loaded by ``SchedulingConfig.ready``: DRF imports ``authentication.py`` while it
defines ``APIView``, too early to import drf-spectacular's extension machinery
there.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "scheduling.authentication.BearerTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: POST /api/v1/tokens/ or "
            "manage.py oncall_token. Authorization: Bearer <token>.",
        }
