"""Prometheus' HTTP API, for ratio SLIs: one instant query at a chosen time.

``PROMETHEUS_URL`` (with ``PROMETHEUS_USERNAME``/``PROMETHEUS_PASSWORD`` for basic
auth or ``PROMETHEUS_BEARER_TOKEN``) names the server.  Every failure -- not
configured, unreachable, an HTTP error, an error answer, a result that is not a
number -- is a :class:`PrometheusError` with a message fit for the admin: the
evaluator turns it into a stale evaluation, never a crash.

An evaluation cycle sends many small queries (eight per ratio SLO);
:func:`prometheus_queries` sends a batch of them over one pooled connection set,
``PROMETHEUS_CONCURRENCY`` at a time, so a cycle of 200 SLOs waits on Prometheus'
answers side by side instead of one after the other.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.conf import settings


class PrometheusError(Exception):
    pass


def _auth() -> tuple[dict[str, str], httpx.BasicAuth | None]:
    token = getattr(settings, "PROMETHEUS_BEARER_TOKEN", "")
    if token:
        return {"Authorization": f"Bearer {token}"}, None
    username = getattr(settings, "PROMETHEUS_USERNAME", "")
    if username:
        password = getattr(settings, "PROMETHEUS_PASSWORD", "")
        return {}, httpx.BasicAuth(username, password)
    return {}, None


def _base() -> str:
    base = getattr(settings, "PROMETHEUS_URL", "").rstrip("/")
    if not base:
        raise PrometheusError("PROMETHEUS_URL is not set")
    return base


def _client(connections: int) -> httpx.Client:
    headers, auth = _auth()
    return httpx.Client(
        base_url=_base(),
        headers=headers,
        auth=auth,
        timeout=float(getattr(settings, "PROMETHEUS_TIMEOUT_SECONDS", 10)),
        limits=httpx.Limits(max_connections=connections),
    )


def prometheus_query(query: str, *, at: dt.datetime) -> float | None:
    """The scalar value of ``query`` at ``at``: ``None`` when the answer is an
    empty vector (no such series: no traffic), the sum of a vector's samples
    otherwise."""
    with _client(1) as client:
        return _query(client, query, at)


Answer = float | None | PrometheusError


def prometheus_queries(
    queries: Sequence[tuple[str, dt.datetime]], *, concurrency: int | None = None
) -> list[Answer]:
    """The value of each ``(query, at)``, in order, asked ``concurrency`` at a
    time (``PROMETHEUS_CONCURRENCY``, default 8); a query that fails answers its
    :class:`PrometheusError` in its place (one SLO's bad query spoils only that
    SLO).  Not configured: :class:`PrometheusError` for all, raised."""
    if not queries:
        return []
    workers = concurrency or int(getattr(settings, "PROMETHEUS_CONCURRENCY", 8))
    workers = max(1, min(workers, len(queries)))

    def one(client: httpx.Client, query: str, at: dt.datetime) -> Answer:
        try:
            return _query(client, query, at)
        except PrometheusError as exc:
            return exc

    with _client(workers) as client, ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda qa: one(client, *qa), queries))


def _query(client: httpx.Client, query: str, at: dt.datetime) -> float | None:
    try:
        response = client.get(
            "/api/v1/query",
            params={"query": query, "time": f"{at.timestamp():.3f}"},
        )
    except httpx.HTTPError as exc:
        raise PrometheusError(f"Prometheus unreachable: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        raise PrometheusError(
            f"Prometheus answered {response.status_code} without JSON"
        ) from None
    if response.status_code != 200 or body.get("status") != "success":
        raise PrometheusError(
            f"Prometheus answered {response.status_code}: "
            f"{body.get('errorType', '')} {body.get('error', '')}".strip()
        )
    return _value(body.get("data") or {})


def _value(data: dict) -> float | None:
    kind, result = data.get("resultType"), data.get("result") or []
    try:
        if kind == "scalar":
            values = [float(result[1])]
        elif kind == "vector":
            values = [float(sample["value"][1]) for sample in result]
        else:
            raise PrometheusError(f"unexpected result type {kind!r}")
    except (TypeError, KeyError, IndexError, ValueError):
        raise PrometheusError("Prometheus answered an unreadable result") from None
    if not values:
        return None
    total = math.fsum(values)
    return None if math.isnan(total) else total
