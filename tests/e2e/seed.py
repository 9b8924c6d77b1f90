"""Run inside the stack (``manage.py shell``): load the demo organisation and give
the tests an API token.  Prints one JSON line the test reads back."""

from __future__ import annotations

import json


def seed_demo() -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from oncall.demo import demo_load

    result = demo_load()
    user = get_user_model().objects.get(username="admin")
    token, _ = Token.objects.get_or_create(user=user)
    print(json.dumps({"team": result.team.slug, "api_token": token.key}))
