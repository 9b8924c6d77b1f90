"""The WSGI application the web server serves (granian, or gunicorn).

Requests for the Alertmanager webhook go through a Django handler whose middleware
chain is ``settings.INTAKE_MIDDLEWARE``, calendar feeds (``/ical/``) through one
with ``settings.FEED_MIDDLEWARE``; everything else through the usual
``settings.MIDDLEWARE``.  Same project, same URLs and views: only the chain differs.
(``manage.py runserver`` and the test client use the usual chain for everything.)
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
default_application = get_wsgi_application()

from oncall.handlers import PathDispatcher, handler_with_middleware  # noqa: E402
from oncall.metrics import forget_dead_processes  # noqa: E402

# A worker that replaces a dead one clears the dead one's live gauges (granian
# has no hook in its master for it; gunicorn's child_exit does the same).
forget_dead_processes()

# Both webhook URLs: the token in the path comes after this prefix.
intake_application = handler_with_middleware("INTAKE_MIDDLEWARE")
feed_application = handler_with_middleware("FEED_MIDDLEWARE")
application = PathDispatcher(
    default=default_application,
    routes={"alertmanager-webhook": intake_application},
    # Every feed URL has its token after this prefix (oncall/urls.py).
    prefixes={"/ical/": feed_application},
)
