"""The WSGI application as granian serves it (``oncall.granian_server``):
``oncall.wsgi.application`` without the process environment in its environ.

granian's WSGI layer starts every request's environ from a copy of the process
environment (``os.environ``, taken when the worker starts), as CGI did.  Here
that is the service's configuration -- ``SECRET_KEY``, ``DATABASE_URL`` with
its password, ``TWILIO_AUTH_TOKEN`` -- which would then be in ``request.META``
and in whatever prints it (an error report, a debugging session).  Django and
the application read their settings, never the environ, for these; so each
request's environ loses what came from the process environment before the
application sees it.  A request header cannot be lost this way: headers are
``HTTP_*`` keys, and the server's own keys (``REQUEST_METHOD``, ``PATH_INFO``,
...) are kept whatever the environment holds.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable
from typing import Any

from oncall.wsgi import application as _application

# What the server puts in an environ itself (PEP 3333 and CGI): never removed.
SERVER_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
        "GATEWAY_INTERFACE",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "RAW_URI",
    }
)


def inherited_keys(environment: Iterable[str]) -> tuple[str, ...]:
    """The names of ``environment`` that granian's copy would add to an
    environ and no server or client puts there."""
    return tuple(
        key
        for key in environment
        if key not in SERVER_KEYS and not key.startswith(("HTTP_", "wsgi."))
    )


INHERITED = inherited_keys(os.environ)


def without_process_environment(
    app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """``app``, called with an environ that holds none of :data:`INHERITED`."""

    def wrapped(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for key in INHERITED:
            environ.pop(key, None)
        return app(environ, start_response)

    return wrapped


application = without_process_environment(_application)

# Everything loaded so far (Django, the URL conf, the models, the compiled
# statements' modules) lives as long as the worker: moved out of the cyclic
# collector's reach, a full collection no longer walks it, which kept a
# request waiting for milliseconds now and then (the p99 of a cheap endpoint).
gc.freeze()
