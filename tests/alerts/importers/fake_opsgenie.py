"""A fake Opsgenie REST API v2 on loopback, in the documented shapes: answers
wrapped in ``data`` (with ``took`` and ``requestId``), ``/v2/users`` paged by
offset/limit with a ``paging.next`` URL, ``Authorization: GenieKey <key>``, 401
and 403 in Opsgenie's error shape (``message``, ``took``, ``requestId``), one
429 with ``Retry-After`` and ``X-RateLimit-State: THROTTLED``.

``/v2/schedules/{id}/timeline`` is computed by the fake's own reading of the
rotations -- turns of ``length`` hours, days or weeks from ``startDate`` on the
schedule's wall clock, ``time-of-day`` and ``weekday-and-time-of-day``
restrictions, everyone on call in any rotation (Opsgenie's rotations are
cumulative), overrides on top of the rotations they name (all when none) --
written independently of our rotation code, so the faithfulness check compares
two implementations.  It walks in half-hour steps: every boundary in the
organisations the tests build falls on a half hour.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STEP = dt.timedelta(minutes=30)
KEY = "good-key"
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
TURNS = {
    "hourly": dt.timedelta(hours=1),
    "daily": dt.timedelta(days=1),
    "weekly": dt.timedelta(weeks=1),
}


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def _minute_of_week(day: str, hour: int, minute: int) -> int:
    return DAYS.index(day) * 1440 + hour * 60 + minute


def _allowed(restriction: dict[str, Any] | None, local: dt.datetime) -> bool:
    if not restriction:
        return True
    if restriction["type"] == "time-of-day":
        r = restriction["restriction"]
        now = local.hour * 60 + local.minute
        start = r["startHour"] * 60 + r["startMin"]
        end = r["endHour"] * 60 + r["endMin"]
        return start <= now < end if start < end else now >= start or now < end
    now = _minute_of_week(DAYS[local.weekday()], local.hour, local.minute)
    for r in restriction["restrictions"]:
        start = _minute_of_week(r["startDay"], r["startHour"], r["startMin"])
        end = _minute_of_week(r["endDay"], r["endHour"], r["endMin"])
        inside = start <= now < end if start < end else now >= start or now < end
        if inside:
            return True
    return False


def rotation_participant(
    schedule: dict[str, Any], rotation: dict[str, Any], at: dt.datetime
) -> dict[str, Any] | None:
    """The participant whose turn it is at ``at``, None outside the rotation's
    time (before it starts, after it ends, outside its restriction, a 'none'
    turn)."""
    start = _parse(rotation["startDate"])
    if at < start or (rotation.get("endDate") and at >= _parse(rotation["endDate"])):
        return None
    tz = zoneinfo.ZoneInfo(schedule["timezone"])
    local = at.astimezone(tz).replace(tzinfo=None)
    if not _allowed(rotation.get("timeRestriction"), local):
        return None
    anchor = start.astimezone(tz).replace(tzinfo=None)
    turn = TURNS[rotation["type"]] * rotation.get("length", 1)
    people = rotation["participants"]
    participant = people[((local - anchor) // turn) % len(people)]
    return None if participant["type"] == "none" else participant


def _number_compare(value: str, bound: str, greater: bool) -> bool | None:
    try:
        number, limit = float(value), float(bound)
    except ValueError:
        return None  # not a number: the condition does not hold
    return number > limit if greater else number < limit


# Opsgenie's text operations, as its documentation describes them.
_OPERATIONS = {
    "equals": lambda value, expected: value == expected,
    "contains": lambda value, expected: expected in value,
    "starts-with": lambda value, expected: value.startswith(expected),
    "ends-with": lambda value, expected: value.endswith(expected),
    "matches": lambda value, expected: re.fullmatch(expected, value) is not None,
    "greater-than": lambda value, expected: _number_compare(value, expected, True),
    "less-than": lambda value, expected: _number_compare(value, expected, False),
}


def _holds(condition: dict[str, Any], alert: dict[str, Any]) -> bool:
    """One routing condition on an alert, written from Opsgenie's description of
    its operations (not from the importer's mapping)."""
    field = condition["field"]
    if field == "extra-properties":
        value = alert["details"].get(condition["key"])
    elif field == "message":
        value = alert["message"]
    else:
        raise AssertionError(f"the fake does not evaluate {field}")
    operation = condition["operation"]
    if operation == "is-empty":
        result = not value
    else:
        compare = _OPERATIONS[operation]
        result = value is not None and bool(
            compare(value, condition.get("expectedValue", ""))
        )
    return result != bool(condition.get("not"))


class FakeOpsgenie:
    def __init__(self, *, key: str = KEY) -> None:
        self.key = key
        self.users: list[dict[str, Any]] = []
        self.contacts: dict[str, list[dict[str, Any]]] = {}
        self.teams: list[dict[str, Any]] = []  # with their members
        self.schedules: list[dict[str, Any]] = []  # with their rotations
        self.overrides: dict[str, list[dict[str, Any]]] = {}
        self.escalations: list[dict[str, Any]] = []
        self.notification_rules: dict[str, list[dict[str, Any]]] = {}  # user id ->
        self.integrations: list[dict[str, Any]] = []  # as GET /v2/integrations/{id}
        self.routing_rules: dict[str, list[dict[str, Any]]] = {}  # team id ->
        self.rate_limit_next = "/v2/users"  # one 429 on the first request there
        self.forbidden = ""  # a key without configuration access: 403 here
        self.broken: dict[str, str] = {}  # path -> body served instead
        self.requests: list[str] = []
        self.page_limit = 2  # small pages: pagination is exercised
        self.url = ""

    # --- the final schedule ---------------------------------------------------
    def schedule(self, sid: str) -> dict[str, Any]:
        return next(s for s in self.schedules if s["id"] == sid)

    def on_call(self, sid: str, at: dt.datetime) -> dict[str, dict[str, Any]]:
        """Rotation id -> the recipient on call in it at ``at``."""
        schedule = self.schedule(sid)
        found = {}
        for rotation in schedule["rotations"]:
            who = rotation_participant(schedule, rotation, at)
            if who is None:
                continue
            for o in self.overrides.get(sid, []):
                named = [r["id"] for r in o.get("rotations") or []]
                if (not named or rotation["id"] in named) and (
                    _parse(o["startDate"]) <= at < _parse(o["endDate"])
                ):
                    who = {**o["user"], "override": True}
            found[rotation["id"]] = who
        return found

    def who(self, sid: str, at: dt.datetime) -> set[str]:
        return {r["id"] for r in self.on_call(sid, at).values()}

    def timeline(self, sid: str, start: dt.datetime, end: dt.datetime) -> dict:
        schedule = self.schedule(sid)
        rotations = []
        for order, rotation in enumerate(schedule["rotations"], start=1):
            periods: list[dict[str, Any]] = []
            current, begun, at = None, start, start
            while at <= end:
                who = self.on_call(sid, at).get(rotation["id"]) if at < end else None
                if who != current:
                    if current is not None:
                        periods.append(
                            {
                                "startDate": begun.isoformat(),
                                "endDate": at.isoformat(),
                                "type": "override"
                                if current.get("override")
                                else "default",
                                "recipient": {
                                    "type": current["type"],
                                    "id": current["id"],
                                    "name": current.get("username")
                                    or current.get("name"),
                                },
                            }
                        )
                    current, begun = who, at
                at += STEP
            rotations.append(
                {
                    "id": rotation["id"],
                    "name": rotation["name"],
                    "order": float(order),
                    "periods": periods,
                }
            )
        return {
            "_parent": {"id": sid, "name": schedule["name"], "enabled": True},
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "finalTimeline": {"rotations": rotations},
        }

    # --- routing: which rule takes an alert ------------------------------------
    def route(self, team_id: str, alert: dict[str, Any]) -> dict[str, Any]:
        """The team's rule that takes ``alert`` (``message``, ``tags``,
        ``details``), as Opsgenie documents it: the first rule, by order, whose
        criteria match.  Time-restricted rules are not evaluated here: a test
        that reaches one is told so."""
        rules = sorted(self.routing_rules[team_id], key=lambda r: r["order"])
        for rule in rules:
            criteria = rule["criteria"]
            results = [_holds(c, alert) for c in criteria.get("conditions") or []]
            if criteria["type"] == "match-all":
                hit = True
            elif criteria["type"] == "match-all-conditions":
                hit = all(results)
            else:
                hit = any(results)
            if hit:
                assert not rule.get("timeRestriction"), "the fake keeps no clock"
                return rule
        raise AssertionError("Opsgenie always has a default rule")

    # --- HTTP ------------------------------------------------------------------
    @staticmethod
    def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
        body = {"message": message, "took": 0.001, "requestId": "fake-error"}
        return status, {}, json.dumps(body).encode()

    def _ok(self, data: Any, **extra: Any) -> tuple[int, dict[str, str], bytes]:
        body = {"data": data, **extra, "took": 0.01, "requestId": "fake-request"}
        return 200, {}, json.dumps(body).encode()

    def answer(  # noqa: C901 -- one branch per endpoint
        self, path: str, query: dict[str, list[str]], auth: str
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(path)
        if auth != f"GenieKey {self.key}":
            return self._error(401, "Could not authenticate")
        if path == self.forbidden:
            return self._error(
                403, "You are not authorized for this action: configuration access"
            )
        if path == self.rate_limit_next:
            self.rate_limit_next = ""
            return (
                429,
                {"Retry-After": "2", "X-RateLimit-State": "THROTTLED"},
                b'{"message": "Request rate limit exceeded", "took": 0.0}',
            )
        if path in self.broken:
            return 200, {}, self.broken[path].encode()
        one = lambda k: (query.get(k) or [None])[0]  # noqa: E731
        parts = path.strip("/").split("/")  # v2, collection, id, sub
        if path == "/v2/users":
            offset = int(one("offset") or 0)
            limit = min(int(one("limit") or 20), self.page_limit)
            page = self.users[offset : offset + limit]
            paging = {
                "first": f"{self.url}/v2/users?limit={limit}&offset=0",
                "last": f"{self.url}/v2/users?limit={limit}&offset="
                f"{max(0, len(self.users) - limit)}",
            }
            if offset + limit < len(self.users):
                paging["next"] = (
                    f"{self.url}/v2/users?limit={limit}&offset={offset + limit}"
                    "&sort=username&order=asc"
                )
            return self._ok(page, paging=paging, totalCount=len(self.users))
        if parts[:2] == ["v2", "users"] and parts[3:4] == ["notification-rules"]:
            rules = self.notification_rules.get(parts[2], [])
            if len(parts) == 4:  # the list: no criteria, no steps
                keep = ("id", "name", "actionType", "order", "enabled")
                return self._ok([{k: x[k] for k in keep if k in x} for x in rules])
            found = next((x for x in rules if x["id"] == parts[4]), None)
            if found is None:
                return self._error(404, "Notification rule not found")
            return self._ok(found)
        if parts[:2] == ["v2", "users"] and parts[3:] == ["contacts"]:
            return self._ok(self.contacts.get(parts[2], []))
        if path == "/v2/teams":
            return self._ok(
                [{k: v for k, v in t.items() if k != "members"} for t in self.teams]
            )
        if parts[:2] == ["v2", "teams"] and len(parts) == 3:
            team = next((t for t in self.teams if t["id"] == parts[2]), None)
            if team is None:
                return self._error(404, "No team exists with id")
            return self._ok(team)
        if path == "/v2/schedules":
            expand = one("expand") == "rotation"
            return self._ok(
                [
                    s if expand else {k: v for k, v in s.items() if k != "rotations"}
                    for s in self.schedules
                ],
                expandable=["rotation"],
            )
        if parts[:2] == ["v2", "schedules"] and parts[3:] == ["overrides"]:
            return self._ok(self.overrides.get(parts[2], []))
        if parts[:2] == ["v2", "schedules"] and parts[3:] == ["timeline"]:
            start = _parse(one("date"))
            weeks = int(one("interval") or 1)
            assert one("intervalUnit") == "weeks"
            end = start + dt.timedelta(weeks=weeks)
            return self._ok(self.timeline(parts[2], start, end))
        if path == "/v2/escalations":
            return self._ok(self.escalations)
        if path == "/v2/integrations":
            # The list carries no owner team object: only a teamId, sometimes.
            return self._ok(
                [
                    {k: i[k] for k in ("id", "name", "enabled", "type")}
                    | ({"teamId": i["ownerTeam"]["id"]} if i.get("ownerTeam") else {})
                    for i in self.integrations
                ]
            )
        if parts[:2] == ["v2", "integrations"] and len(parts) == 3:
            found = next((i for i in self.integrations if i["id"] == parts[2]), None)
            if found is None:
                return self._error(404, "Integration with id could not be found")
            return self._ok(found)
        if parts[:2] == ["v2", "teams"] and parts[3:] == ["routing-rules"]:
            return self._ok(self.routing_rules.get(parts[2], []))
        return self._error(404, "Not found")

    def serve(self) -> ThreadingHTTPServer:
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
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return server
