"""The URLconf of the Alertmanager webhook's handler (oncall/wsgi.py).

The webhook's URLs exactly as ``oncall.urls`` mounts them, and its error views,
without the patterns the root URLconf tries before them: every webhook of a storm
resolved its URL against thirty patterns of the scheduling API first.  Only paths
under the webhook's prefix come here (``oncall.handlers.PathDispatcher``), and no
other URL pattern of the root URLconf matches such a path, so both resolve alike
(tests/oncall/test_wsgi.py checks it).
"""

from __future__ import annotations

from django.urls import include, path

from oncall.urls import handler400, handler404, handler500

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]

urlpatterns = [
    path("api/v1/", include("alerts.webhooks.urls")),
]
