"""A fake PagerDuty REST API v2 on loopback, in the documented shapes: offset /
limit / more pagination, ``Authorization: Token token=...``, a 401 in the
documented error shape, one 429 with ``Retry-After``, and ``/oncalls`` computed
by its own reading of the schedules (layers top first, wall-clock turns in the
schedule's zone, daily and weekly restrictions, overrides on top) -- written
independently of our rotation code, so the faithfulness check compares two
implementations.

Its segment computation walks in half-hour steps: every boundary in the
organisations the tests build falls on a half hour.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STEP = dt.timedelta(minutes=30)
TOKEN = "good-token"


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def _in_restriction(layer: dict[str, Any], local: dt.datetime) -> bool:
    restrictions = layer.get("restrictions") or []
    if not restrictions:
        return True
    naive = local.replace(tzinfo=None)
    for r in restrictions:
        start = dt.time.fromisoformat(r["start_time_of_day"])
        length = dt.timedelta(seconds=r["duration_seconds"])
        for back in range(8):
            day = naive.date() - dt.timedelta(days=back)
            if r["type"] == "weekly_restriction" and (
                day.isoweekday() != r["start_day_of_week"]
            ):
                continue
            if r["type"] == "daily_restriction" and back > 1:
                break
            begin = dt.datetime.combine(day, start)
            if begin <= naive < begin + length:
                return True
    return False


def layer_user(
    schedule: dict[str, Any], layer: dict[str, Any], at: dt.datetime
) -> str | None:
    if _parse(layer["start"]) > at or (layer.get("end") and _parse(layer["end"]) <= at):
        return None
    tz = zoneinfo.ZoneInfo(schedule["time_zone"])
    local = at.astimezone(tz)
    if not _in_restriction(layer, local):
        return None
    virtual = (
        _parse(layer["rotation_virtual_start"]).astimezone(tz).replace(tzinfo=None)
    )
    turn = dt.timedelta(seconds=layer["rotation_turn_length_seconds"])
    k = (local.replace(tzinfo=None) - virtual) // turn
    users = layer["users"]
    return users[k % len(users)]["user"]["id"]


class FakePagerDuty:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.users: list[dict[str, Any]] = []
        self.teams: list[dict[str, Any]] = []
        self.schedules: list[dict[str, Any]] = []
        self.overrides: dict[str, list[dict[str, Any]]] = {}
        self.policies: list[dict[str, Any]] = []
        self.services: list[dict[str, Any]] = []
        self.rate_limit_next = "/users"  # one 429 on the first request there
        self.broken: dict[str, str] = {}  # path -> body served instead
        self.requests: list[str] = []
        self._oncalls: list[dict[str, Any]] = []
        self.page_limit = 2  # small pages: pagination is exercised

    # --- the final schedule ---------------------------------------------------
    def schedule(self, sid: str) -> dict[str, Any]:
        return next(s for s in self.schedules if s["id"] == sid)

    def who(self, sid: str, at: dt.datetime) -> str | None:
        for o in self.overrides.get(sid, []):
            if _parse(o["start"]) <= at < _parse(o["end"]):
                return o["user"]["id"]
        schedule = self.schedule(sid)
        for layer in schedule["schedule_layers"]:  # top first
            user = layer_user(schedule, layer, at)
            if user is not None:
                return user
        return None

    def oncalls(
        self, policy_ids: list[str], since: dt.datetime, until: dt.datetime
    ) -> list[dict[str, Any]]:
        found = []
        for policy in self.policies:
            if policy["id"] not in policy_ids:
                continue
            for level, rule in enumerate(policy["escalation_rules"], start=1):
                for target in rule["targets"]:
                    base = {
                        "escalation_policy": {
                            "id": policy["id"],
                            "type": "escalation_policy_reference",
                        },
                        "escalation_level": level,
                    }
                    if target["type"] == "user_reference":
                        found.append(
                            {
                                **base,
                                "schedule": None,
                                "start": None,
                                "end": None,
                                "user": {"id": target["id"], "type": "user_reference"},
                            }
                        )
                        continue
                    at, current, begun = since, None, since
                    while at <= until:
                        user = self.who(target["id"], at) if at < until else None
                        if user != current:
                            if current is not None:
                                found.append(
                                    {
                                        **base,
                                        "schedule": {
                                            "id": target["id"],
                                            "type": "schedule_reference",
                                        },
                                        "user": {
                                            "id": current,
                                            "type": "user_reference",
                                        },
                                        "start": begun.isoformat(),
                                        "end": at.isoformat(),
                                    }
                                )
                            current, begun = user, at
                        at += STEP
        return found

    # --- HTTP ------------------------------------------------------------------
    def answer(
        self, path: str, query: dict[str, list[str]], auth: str
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(path)
        if auth != f"Token token={self.token}":
            return (
                401,
                {},
                json.dumps(
                    {"error": {"message": "Unauthorized", "code": 2006}}
                ).encode(),
            )
        if path == self.rate_limit_next:
            self.rate_limit_next = ""
            return (
                429,
                {"Retry-After": "2"},
                b'{"error": {"message": "Rate Limit Exceeded", "code": 2020}}',
            )
        if path in self.broken:
            return 200, {}, self.broken[path].encode()
        one = lambda k: (query.get(k) or [None])[0]  # noqa: E731
        collections = {
            "/users": ("users", self.users),
            "/teams": ("teams", self.teams),
            "/schedules": (
                "schedules",
                [
                    {k: v for k, v in s.items() if k != "schedule_layers"}
                    for s in self.schedules
                ],
            ),
            "/escalation_policies": ("escalation_policies", self.policies),
            "/services": ("services", self.services),
        }
        if path == "/oncalls":
            # Computed for the first page, served from that for the next ones.
            if int(one("offset") or 0) == 0:
                self._oncalls = self.oncalls(
                    query.get("escalation_policy_ids[]", []),
                    _parse(one("since")),
                    _parse(one("until")),
                )
            key, items = "oncalls", self._oncalls
        elif path in collections:
            key, items = collections[path]
            if path == "/users" and "contact_methods" not in query.get("include[]", []):
                items = [
                    {k: v for k, v in u.items() if k != "contact_methods"}
                    for u in items
                ]
        elif path.startswith("/schedules/") and path.endswith("/overrides"):
            sid = path.split("/")[2]
            since, until = _parse(one("since")), _parse(one("until"))
            return (
                200,
                {},
                json.dumps(
                    {
                        "overrides": [
                            o
                            for o in self.overrides.get(sid, [])
                            if _parse(o["end"]) > since and _parse(o["start"]) < until
                        ]
                    }
                ).encode(),
            )
        elif path.startswith("/schedules/"):
            sid = path.split("/")[2]
            return 200, {}, json.dumps({"schedule": self.schedule(sid)}).encode()
        else:
            return 404, {}, b'{"error": {"message": "Not Found", "code": 2100}}'
        offset = int(one("offset") or 0)
        limit = min(int(one("limit") or 25), self.page_limit)
        page = items[offset : offset + limit]
        return (
            200,
            {},
            json.dumps(
                {
                    key: page,
                    "offset": offset,
                    "limit": limit,
                    "more": offset + limit < len(items),
                    "total": None,
                }
            ).encode(),
        )

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                status, headers, body = fake.answer(
                    url.path, parse_qs(url.query), self.headers.get("Authorization", "")
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"
