"""Serve the WSGI application with granian: ``python -m oncall.granian_server``.

granian has no Python configuration file like gunicorn's, so this module is one:
it reads the environment (``WEB_*``; the ``GUNICORN_*`` names of the same
settings still count, so an existing ``.env`` keeps working) and runs granian's
server in this process, which forks the workers.

What gunicorn's configuration (oncall/gunicorn_conf.py) gave, and how it is kept:

- workers and threads: ``WEB_WORKERS`` processes, each with ``WEB_THREADS``
  Python threads that run requests (each holds its own database connection);
  granian's Rust side reads and writes the sockets, so an idle keep-alive
  connection costs no thread.
- keep-alive: granian closes an idle HTTP/1 connection when no request header
  arrived for ``WEB_KEEPALIVE_SECONDS`` (its header-read timeout, which runs from
  the end of the previous response): longer than Go's 90 s idle timeout, the
  client Alertmanager and Prometheus use, so the server is not the side that
  closes first.
- the access log: through Python logging (logger ``granian.access``), with the
  project's redaction filter and, with ``LOG_FORMAT=json``, its JSON formatter.
- a worker that dies is started again (gunicorn's arbiter did the same); the new
  one clears the dead one's live gauges (``oncall.metrics.forget_dead_processes``,
  gunicorn's ``child_exit`` hook did it in the master).
- shutdown: on SIGTERM granian stops accepting, lets the requests in flight
  finish and stops the workers; a worker still busy after ``WEB_TIMEOUT_SECONDS``
  is killed.
"""

from __future__ import annotations

import os
from typing import Any

from oncall import log_format as log_formats
from oncall.env import env_int, env_str

# oncall.wsgi's application, without the process environment granian copies
# into every request's environ (oncall/granian_app.py).
TARGET = "oncall.granian_app:application"


def _either(name: str, old_name: str, default: int) -> int:
    """``name``, else the gunicorn-era ``old_name``, else ``default``."""
    return env_int(name, env_int(old_name, default))


# All interfaces: the server runs inside a container, whose port mapping decides
# what is reachable.
BIND = env_str("WEB_BIND", env_str("GUNICORN_BIND", "0.0.0.0:8000"))
WORKERS = _either("WEB_WORKERS", "GUNICORN_WORKERS", 2)
THREADS = _either("WEB_THREADS", "GUNICORN_THREADS", 4)
KEEPALIVE_SECONDS = _either("WEB_KEEPALIVE_SECONDS", "GUNICORN_KEEPALIVE_SECONDS", 95)
TIMEOUT_SECONDS = env_int("WEB_TIMEOUT_SECONDS", 30)
LOG_FORMAT = env_str("LOG_FORMAT", "text")

# granian's access-log atoms.  The path carries webhook and feed tokens, which the
# redaction filter removes from the formatted line (query="token=..." too).
ACCESS_FORMAT = (
    '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f ms '
    'query="%(query_string)s"'
)


def logging_config(log_format: str) -> dict[str, Any]:
    """granian's dictConfig: its own logger and its access logger through a
    handler with the project's formatter and redaction filter (settings.LOGGING
    does the same for everything else once Django is set up in a worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": log_formats.formatters(),
        "filters": log_formats.filters(),
        "handlers": {
            "console": log_formats.console_handler(
                log_format, stream="ext://sys.stdout"
            ),
        },
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {
                "handlers": ["console"],
                "level": "INFO",
                "propagate": False,
            },
        },
    }


def server_options() -> dict[str, Any]:
    """granian's constructor arguments."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    host, _, port = BIND.rpartition(":")
    return {
        "target": TARGET,
        "address": host or "0.0.0.0",  # noqa: S104 - inside a container
        "port": int(port),
        "interface": Interfaces.WSGI,
        "workers": WORKERS,
        "blocking_threads": THREADS,
        # granian starts request threads as needed and ends idle ones; each
        # holds a database connection (CONN_MAX_AGE), so keep them (600 s is
        # granian's longest) rather than reconnect after every quiet minute.
        "blocking_threads_idle_timeout": 600,
        "http": HTTPModes.http1,
        "websockets": False,
        "http1_settings": HTTP1Settings(
            keep_alive=True, header_read_timeout=KEEPALIVE_SECONDS * 1000
        ),
        "log_dictconfig": logging_config(LOG_FORMAT),
        "log_access": True,
        "log_access_format": ACCESS_FORMAT,
        "respawn_failed_workers": True,
        "respawn_interval": 1.0,
        "workers_kill_timeout": TIMEOUT_SECONDS,
    }


def main() -> None:
    from granian import Granian

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    Granian(**server_options()).serve()


if __name__ == "__main__":
    main()
