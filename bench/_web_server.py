"""The HTTP server a bench starts in front of the WSGI application (``--server``).

``gunicorn``: as docker-compose runs it, ``gunicorn -c python:oncall.gunicorn_conf``
(gthread workers, keep-alive, the redacting access log).  ``granian``: granian's
WSGI interface as ``python -m oncall.granian_server`` runs it (the same number of
workers and threads, keep-alive, an access log through Python logging with the
same redaction).  Both write their access log to the process's output, which the
benches send to a file.
"""

from __future__ import annotations

from tests.processes import WEB_SERVER_COMMANDS

SERVERS = tuple(WEB_SERVER_COMMANDS)


def parse_servers(text: str) -> list[str]:
    """``gunicorn``, ``granian`` or both, comma-separated: the arms of an A/B run."""
    servers = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in servers if name not in SERVERS]
    if unknown or not servers:
        raise SystemExit(f"--server: {text!r}; use {', '.join(SERVERS)} or both")
    return servers


def command(server: str) -> list[str]:
    return list(WEB_SERVER_COMMANDS[server])


def environment(*, bind: str, workers: int, threads: int) -> dict[str, str]:
    """Both servers' variables, so either reads what it knows."""
    return {
        "GUNICORN_BIND": bind,
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "WEB_BIND": bind,
        "WEB_WORKERS": str(workers),
        "WEB_THREADS": str(threads),
    }


def describe(server: str, workers: int, threads: int) -> str:
    kind = "gthread" if server == "gunicorn" else "WSGI"
    return (
        f"{server} {workers} {kind} workers x {threads} threads "
        "(keep-alive, access log)"
    )
