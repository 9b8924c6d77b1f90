"""The WSGI application the web server serves (granian, or gunicorn).

Requests for the Alertmanager webhook go through a Django handler whose middleware
chain is ``settings.INTAKE_MIDDLEWARE`` (and whose URLconf, ``oncall.intake_urls``,
holds only the webhook's URLs), calendar feeds (``/ical/``) through one
with ``settings.FEED_MIDDLEWARE``; everything else through the usual
``settings.MIDDLEWARE``.  Same project, same URLs and views: only the chain differs.
In front of the feed chain, a lean path answers the unchanged polls without
Django's request machinery (``scheduling/feed_polls.py``, ``LeanPath`` in
oncall/handlers.py) and hands it everything else; another answers the deploy
gate's common case in front of the usual chain (``alerts/api/gate_fast.py``).
(``manage.py runserver`` and the test client use the usual chain for everything.)
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
default_application = get_wsgi_application()

from django.urls import resolve, reverse  # noqa: E402

from alerts.api.gate_fast import deploy_gate_answer  # noqa: E402
from oncall.handlers import (  # noqa: E402
    API_MIRRORS,
    LeanPath,
    PathDispatcher,
    frame_options_headers,
    handler_with_middleware,
)
from oncall.metrics import forget_dead_processes  # noqa: E402
from scheduling.feed_polls import unchanged_poll  # noqa: E402

# A worker that replaces a dead one clears the dead one's live gauges (granian
# has no hook in its master for it; gunicorn's child_exit does the same).
forget_dead_processes()

# Both webhook URLs: the token in the path comes after this prefix.
intake_application = handler_with_middleware(
    "INTAKE_MIDDLEWARE", urlconf="oncall.intake_urls"
)
feed_application = LeanPath(
    answer=unchanged_poll,
    handler=handler_with_middleware("FEED_MIDDLEWARE"),
    handler_setting="FEED_MIDDLEWARE",
    # The label RequestMetricsMiddleware gives a feed: its URL pattern.
    route="/" + resolve(reverse("ical-feed", kwargs={"token": "t"})).route,
)
# The deploy gate: its authorised, unthrottled answers without Django's and
# DRF's request machinery (alerts/api/gate_fast.py); the rest through the usual
# chain, untouched.
gate_application = LeanPath(
    answer=deploy_gate_answer,
    handler=default_application,
    handler_setting="MIDDLEWARE",
    route="/" + resolve(reverse("service-deploy-gate", kwargs={"slug": "s"})).route,
    mirrors=API_MIRRORS,
    extra_headers=frame_options_headers,
)
application = PathDispatcher(
    default=default_application,
    routes={"alertmanager-webhook": intake_application},
    # Every feed URL has its token after this prefix (oncall/urls.py).
    prefixes={"/ical/": feed_application},
    # The gate's URL has the service's slug in the middle.
    suffixes={"/deploy-gate": gate_application},
)
