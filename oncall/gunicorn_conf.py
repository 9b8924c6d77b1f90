"""gunicorn settings for docker-compose: ``gunicorn -c python:oncall.gunicorn_conf``."""

import os

from oncall.env import env_int, env_str

bind = env_str("GUNICORN_BIND", "0.0.0.0:8000")  # noqa: S104 - inside a container
workers = env_int("GUNICORN_WORKERS", 2)
timeout = 30
accesslog = "-"


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook signature
    # Drop the dead worker's live-gauge files so /metrics does not report them.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
