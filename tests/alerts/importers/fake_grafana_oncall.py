"""A fake Grafana OnCall public API (``/api/v1/``) on loopback, in the documented
shapes: ``results`` with ``next``/``previous``/``count``/``current_page_number``/
``page_size``/``total_pages`` pagination (a small page size), ``Authorization:
<token>`` without a scheme, a 401 for a bad token, one 429 with ``Retry-After``,
and ``/schedules/<id>/final_shifts`` computed by its own reading of the
on-call shifts -- iCalendar recurrence rules through ``dateutil.rrule`` (which
our code does not use), the users rolling per turn, the highest ``level``
winning and, within a level, the event that began last; override shifts on top
of everything -- written independently of our rotation code, so the
faithfulness check compares two implementations.

Its final shifts walk in half-hour steps: every boundary in the organisation the
tests build falls on a half hour.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from dateutil import rrule

STEP = dt.timedelta(minutes=30)
TOKEN = "good-grafana-token"
FREQ = {
    "hourly": rrule.HOURLY,
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "monthly": rrule.MONTHLY,
}
DAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
WEEKDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _utc(local: dt.datetime, zone: str) -> dt.datetime:
    return local.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.UTC)


def _naive(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class FakeGrafanaOnCall:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.users: list[dict[str, Any]] = []
        self.teams: list[dict[str, Any]] = []
        self.schedules: list[dict[str, Any]] = []
        self.shifts: list[dict[str, Any]] = []
        self.chains: list[dict[str, Any]] = []
        self.steps: list[dict[str, Any]] = []
        self.integrations: list[dict[str, Any]] = []
        self.routes: list[dict[str, Any]] = []
        self.rules: list[dict[str, Any]] = []
        self.rate_limit_next = "/api/v1/users/"  # one 429, on the first request
        self.broken: dict[str, str] = {}  # path -> body served instead
        self.requests: list[str] = []
        self.page_size = 2  # small pages: pagination is exercised
        self.url = ""
        self._final: list[dict[str, Any]] = []

    # --- the final schedule ---------------------------------------------------
    def schedule(self, sid: str) -> dict[str, Any]:
        return next(s for s in self.schedules if s["id"] == sid)

    def shift(self, oid: str) -> dict[str, Any]:
        return next(s for s in self.shifts if s["id"] == oid)

    def _zone(self, schedule: dict[str, Any], shift: dict[str, Any]) -> str:
        return shift.get("time_zone") or schedule.get("time_zone") or "UTC"

    def _events(
        self, schedule: dict[str, Any], lo: dt.datetime, hi: dt.datetime
    ) -> list[tuple[int, dt.datetime, dt.datetime, list[str]]]:
        """(level, start, end, users) of every event of the schedule's shifts
        that overlaps [lo, hi); override shifts get level 10**6 (on top)."""
        events = []
        for oid in schedule.get("shifts", []):
            shift = self.shift(oid)
            zone = self._zone(schedule, shift)
            length = dt.timedelta(seconds=shift["duration"])
            first = _naive(shift["start"])
            if shift["type"] in ("override", "single_event"):
                begin = _utc(first, zone)
                level = 10**6 if shift["type"] == "override" else shift.get("level", 0)
                if begin < hi and begin + length > lo:
                    events.append((level, begin, begin + length, shift["users"]))
                continue
            rule = rrule.rrule(
                FREQ[shift["frequency"]],
                interval=shift.get("interval") or 1,
                dtstart=first,
                byweekday=[DAYS[d] for d in shift.get("by_day") or []] or None,
                wkst=DAYS[shift.get("week_start") or "SU"],
                bymonthday=shift.get("by_monthday") or None,
                until=_naive(shift["until"]) if shift.get("until") else None,
            )
            groups = (
                shift["rolling_users"]
                if shift["type"] == "rolling_users"
                else [shift["users"]]
            )
            offset = shift.get("start_rotation_from_user_index") or 0
            local_lo = lo.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
            local_hi = hi.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)
            for n, occurrence in enumerate(rule):
                if occurrence >= local_hi + dt.timedelta(days=1):
                    break
                if occurrence + length < local_lo - dt.timedelta(days=1):
                    continue
                turn = self._turn(shift, first, occurrence, n)
                users = groups[(turn + offset) % len(groups)]
                begin = _utc(occurrence, zone)
                if begin < hi and begin + length > lo:
                    events.append((shift.get("level", 0), begin, begin + length, users))
        return events

    @staticmethod
    def _turn(
        shift: dict[str, Any], first: dt.datetime, occurrence: dt.datetime, n: int
    ) -> int:
        """Which turn an event is in: with by_day, the weeks (from week_start)
        since the first event's week; else each event is a turn."""
        if shift.get("by_day") and shift["frequency"] == "weekly":
            wkst = WEEKDAY.index(shift.get("week_start") or "SU")

            def week_of(day: dt.date) -> dt.date:
                return day - dt.timedelta(days=(day.weekday() - wkst) % 7)

            return (week_of(occurrence.date()) - week_of(first.date())).days // 7
        return n

    def who(self, sid: str, at: dt.datetime) -> list[str]:
        events = self._events(self.schedule(sid), at, at + STEP)
        covering = [e for e in events if e[1] <= at < e[2]]
        if not covering:
            return []
        best = max(covering, key=lambda e: (e[0], e[1]))
        return list(best[3])

    def final_shifts(
        self, sid: str, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        lo = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        hi = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
        schedule = self.schedule(sid)
        events = self._events(schedule, lo, hi)
        out: list[dict[str, Any]] = []
        at, current, begun = lo, None, lo
        while at <= hi:
            if at < hi:
                covering = [e for e in events if e[1] <= at < e[2]]
                best = max(covering, key=lambda e: (e[0], e[1])) if covering else None
                users = tuple(best[3]) if best else ()
            else:
                users = None
            if users != current:
                for uid in current or ():
                    user = next(u for u in self.users if u["id"] == uid)
                    out.append(
                        {
                            "user_pk": uid,
                            "user_email": user["email"],
                            "user_username": user["username"],
                            "shift_start": begun.isoformat().replace("+00:00", "Z"),
                            "shift_end": at.isoformat().replace("+00:00", "Z"),
                        }
                    )
                current, begun = users, at
            at += STEP
        return out

    # --- HTTP ------------------------------------------------------------------
    def _page(
        self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        page = int((query.get("page") or ["1"])[0])
        size = self.page_size
        total_pages = max(1, -(-len(items) // size))
        chunk = items[(page - 1) * size : page * size]

        def link(n: int) -> str | None:
            if not 1 <= n <= total_pages:
                return None
            rest = {k: v[0] for k, v in query.items() if k != "page"}
            return f"{self.url}{path}?{urlencode({**rest, 'page': n})}"

        return {
            "count": len(items),
            "next": link(page + 1),
            "previous": link(page - 1),
            "results": chunk,
            "current_page_number": page,
            "page_size": size,
            "total_pages": total_pages,
        }

    def answer(
        self, path: str, query: dict[str, list[str]], auth: str
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(path)
        if auth != self.token:
            return 401, {}, b'{"detail": "Invalid token."}'
        if path == self.rate_limit_next:
            self.rate_limit_next = ""
            return (
                429,
                {"Retry-After": "3"},
                b'{"detail": "Request was throttled. '
                b'Expected available in 3 seconds."}',
            )
        if path in self.broken:
            return 200, {}, self.broken[path].encode()
        collections = {
            "/api/v1/users/": self.users,
            "/api/v1/teams/": self.teams,
            "/api/v1/schedules/": self.schedules,
            "/api/v1/escalation_chains/": self.chains,
            "/api/v1/escalation_policies/": self.steps,
            "/api/v1/integrations/": self.integrations,
            "/api/v1/routes/": self.routes,
            "/api/v1/personal_notification_rules/": self.rules,
        }
        if path in collections:
            items = collections[path]
        elif path == "/api/v1/on_call_shifts/":
            sid = (query.get("schedule_id") or [None])[0]
            ids = (
                self.schedule(sid)["shifts"] if sid else [s["id"] for s in self.shifts]
            )
            items = [self.shift(i) for i in ids]
        elif path.startswith("/api/v1/schedules/") and path.endswith("/final_shifts"):
            sid = path.split("/")[4]
            try:
                start = dt.date.fromisoformat(query["start_date"][0])
                end = dt.date.fromisoformat(query["end_date"][0])
            except (KeyError, ValueError):
                return 400, {}, b'{"detail": "start_date and end_date are required"}'
            # Computed for the first page, served from that for the next ones.
            if (query.get("page") or ["1"])[0] == "1":
                self._final = self.final_shifts(sid, start, end)
            items = self._final
        else:
            return 404, {}, b'{"detail": "Not found."}'
        return 200, {}, json.dumps(self._page(path, query, items)).encode()

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
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return server, self.url
