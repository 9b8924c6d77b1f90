"""Serve the WSGI application with granian: ``python -m oncall.granian_server``.

granian has no Python configuration file like gunicorn's, so this module is one:
it reads the same kind of environment variables (``WEB_*``, see README) and
starts granian's server in-process.  Its access log goes through Python logging
(the ``granian.access`` logger), so it gets the project's redaction filter and,
with ``LOG_FORMAT=json``, the project's JSON formatter.
"""

from __future__ import annotations

import os
from typing import Any

from oncall.env import env_int, env_str

TARGET = "oncall.wsgi:application"
# granian's access-log atoms; the path carries webhook and feed tokens, which
# the redaction filter removes from the formatted line.
ACCESS_FORMAT = (
    '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f ms '
    'query="%(query_string)s"'
)


def logging_config(log_format: str) -> dict[str, Any]:
    """granian's dictConfig: its own and its access logger through a handler with
    the project's formatter and redaction filter (settings.LOGGING does the same
    for everything else once Django is set up in a worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {
                    "asctime": "time",
                    "levelname": "level",
                    "name": "logger",
                },
            },
        },
        "filters": {"redact": {"()": "oncall.log_redaction.RedactingFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["redact"],
                "stream": "ext://sys.stdout",
            },
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
    """granian's constructor arguments, from the environment."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    host, _, port = env_str("WEB_BIND", "0.0.0.0:8000").rpartition(":")
    log_format = env_str("LOG_FORMAT", "text")
    return {
        "target": TARGET,
        "address": host or "0.0.0.0",  # noqa: S104 - inside a container
        "port": int(port),
        "interface": Interfaces.WSGI,
        "workers": env_int("WEB_WORKERS", 2),
        # The Python threads that run requests; each holds its own database
        # connection, like a gthread worker's threads.
        "blocking_threads": env_int("WEB_THREADS", 4),
        "http": HTTPModes.http1,
        "websockets": False,
        "http1_settings": HTTP1Settings(keep_alive=True),
        "log_dictconfig": logging_config(log_format),
        "log_access": True,
        "log_access_format": ACCESS_FORMAT,
        "respawn_failed_workers": True,
        "workers_kill_timeout": env_int("WEB_TIMEOUT_SECONDS", 30),
    }


def main() -> None:
    from granian import Granian

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    Granian(**server_options()).serve()


if __name__ == "__main__":
    main()
