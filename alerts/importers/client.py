"""The one HTTP client the importers share: ``httpx`` with timeouts, offset
pagination, and 429 handled by waiting ``Retry-After`` (bounded).

Every failure is a :class:`SourceError` whose message says what went wrong in
words an operator can act on (bad token, unreachable, malformed answer)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_RETRIES = 5
MAX_WAIT = 60.0  # seconds; a source asking for longer is reported, not obeyed


class SourceError(Exception):
    """The source could not be read; nothing has been written."""


class SourceClient:
    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        name: str,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        # Looked up when used: tests replace ``time.sleep`` and assert the wait.
        self.sleep = sleep or (lambda seconds: time.sleep(seconds))
        self.waits: list[float] = []
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=TIMEOUT,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        for _ in range(MAX_RETRIES + 1):
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException:
                raise SourceError(f"{self.name}: {path} timed out") from None
            except httpx.HTTPError as exc:
                raise SourceError(
                    f"{self.name} unreachable at {self._http.base_url}: {exc}"
                ) from None
            if response.status_code == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait > MAX_WAIT:
                    raise SourceError(
                        f"{self.name}: rate limited for {wait:.0f}s; try again later"
                    )
                self.waits.append(wait)
                self.sleep(wait)
                continue
            if response.status_code in (401, 403):
                said = _source_message(response)
                raise SourceError(
                    f"{self.name} refused the token ({response.status_code} on "
                    f"{path}{': ' + said if said else ''}): check --token and its "
                    "permissions"
                )
            if response.status_code != 200:
                raise SourceError(
                    f"{self.name}: {path} answered {response.status_code}"
                )
            try:
                body = response.json()
            except ValueError:
                raise SourceError(
                    f"{self.name}: {path} answered something that is not JSON"
                ) from None
            if not isinstance(body, dict):
                raise SourceError(f"{self.name}: {path} answered {type(body).__name__}")
            return body
        raise SourceError(f"{self.name}: {path} still rate limited after retries")

    def offset_pages(
        self, path: str, key: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of an offset/limit/more collection (PagerDuty's classic one)."""
        offset, limit = 0, 100
        while True:
            body = self.get(path, {**(params or {}), "offset": offset, "limit": limit})
            items = body.get(key)
            if not isinstance(items, list):
                raise SourceError(f"{self.name}: {path} has no list {key!r}")
            for item in items:
                if not isinstance(item, dict):
                    raise SourceError(f"{self.name}: {path}: an item is not an object")
                yield item
            if not body.get("more") or not items:
                return
            offset += len(items)


def _source_message(response: httpx.Response) -> str:
    """The source's own words for a refusal: Opsgenie's ``{"message": ...}``,
    PagerDuty's ``{"error": {"message": ...}}`` (cut short: it is shown, and a
    source is not trusted to keep it brief); empty when there are none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    said = error.get("message") if isinstance(error, dict) else body.get("message")
    return " ".join(str(said).split())[:200] if isinstance(said, str) else ""


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0  # an HTTP date: wait a moment and ask again
