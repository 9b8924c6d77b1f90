"""gunicorn settings for docker-compose: ``gunicorn -c python:oncall.gunicorn_conf``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from oncall.env import env_int, env_str

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

# All interfaces: gunicorn runs inside a container, whose port mapping decides
# what is reachable.
bind = env_str("GUNICORN_BIND", "0.0.0.0:8000")
workers = env_int("GUNICORN_WORKERS", 2)
# Threads that keep connections alive.  Alertmanager, Prometheus and load
# balancers reuse their connections; gunicorn's sync workers close each one after
# its request, so every webhook and scrape paid for a new TCP connection.  With
# gthread an idle keep-alive connection waits in the worker's poller, not in a
# thread, and the threads serve whichever connection has a request.
worker_class = "gthread"
threads = env_int("GUNICORN_THREADS", 4)
# Longer than the idle timeouts of the clients that keep connections (Go's HTTP
# client, which Alertmanager and Prometheus use, drops idle ones after 90 s; an
# AWS ALB after 60 s): the server should not be the side that closes first.
keepalive = env_int("GUNICORN_KEEPALIVE_SECONDS", 95)
timeout = 30
accesslog = "-"
# Webhook tokens in URL paths never reach the access log (oncall/log_redaction.py).
logger_class = "oncall.log_redaction.RedactingGunicornLogger"


def child_exit(server: Arbiter, worker: Worker) -> None:
    """gunicorn's hook, called in the master after a worker exits."""
    # Drop the dead worker's live-gauge files so /metrics does not report them.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
