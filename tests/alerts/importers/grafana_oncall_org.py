"""A realistic Grafana OnCall organisation for the fake: two teams.  Payments
runs a primary/secondary weekly rotation in Europe/Berlin (a DST zone) as two
web schedules; Platform runs a follow-the-sun calendar schedule (a weekday
daytime layer, 08:00-20:00 Berlin, level 1, over a 24/7 weekly layer handed off
at 09:00 New York time, level 0); override shifts on both; a three-step chain
per team (waits between the steps, a repeat); two integrations with regex and
jinja2 routes; and things our model cannot hold (an iCal schedule, a monthly
shift, a Slack user-group step, a jinja2 route that is not a label test, a
chain of no team)."""

from __future__ import annotations

import datetime as dt

from tests.alerts.importers.fake_grafana_oncall import FakeGrafanaOnCall

PAYMENTS = ["alice", "bob", "charlie", "david", "eve", "frank"]
PLATFORM = ["grace", "heidi", "ivan", "judy"]


def uid(name: str) -> str:
    return "U" + name.upper()[:5]


def _user(name: str, team: str | None) -> dict:
    return {
        "id": uid(name),
        "email": f"{name}@example.com",
        "slack": None,
        "username": name,
        "name": name.title() + " Example",
        "role": "user",
        "is_phone_number_verified": False,
        "timezone": "Europe/Berlin",
        "teams": [team] if team else [],
    }


def _rolling(
    id_: str, name: str, start: str, users: list[str], zone: str, **extra: object
) -> dict:
    return {
        "id": id_,
        "name": name,
        "type": "rolling_users",
        "team_id": None,
        "time_zone": zone,
        "level": 0,
        "start": start,
        "duration": 7 * 86400,
        "frequency": "weekly",
        "interval": 1,
        "week_start": "MO",
        "by_day": None,
        "by_month": None,
        "by_monthday": None,
        "until": None,
        "rolling_users": [[uid(u)] for u in users],
        "start_rotation_from_user_index": 0,
        **extra,
    }


def _override(id_: str, at: dt.datetime, hours: int, user: str) -> dict:
    """An override shift (its ``start`` in its ``time_zone``, UTC here)."""
    return {
        "id": id_,
        "name": f"override {id_}",
        "type": "override",
        "team_id": None,
        "time_zone": "UTC",
        "level": 0,
        "start": at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(),
        "duration": hours * 3600,
        "users": [uid(user)],
    }


def _step(id_: str, chain: str, position: int, kind: str, **extra: object) -> dict:
    return {
        "id": id_,
        "escalation_chain_id": chain,
        "position": position,
        "type": kind,
        **extra,
    }


def organisation(now: dt.datetime) -> FakeGrafanaOnCall:
    fake = FakeGrafanaOnCall()
    fake.teams = [
        {
            "id": "TPAY",
            "grafana_id": 1,
            "name": "Payments",
            "email": "",
            "avatar_url": "",
        },
        {
            "id": "TPLAT",
            "grafana_id": 2,
            "name": "Platform",
            "email": "",
            "avatar_url": "",
        },
    ]
    fake.users = [_user(n, "TPAY") for n in PAYMENTS]
    fake.users += [_user(n, "TPLAT") for n in PLATFORM]
    fake.users.append(_user("mallory", None))  # in no team: not imported
    primary = ["alice", "charlie", "eve", "bob", "david", "frank"]
    secondary = ["bob", "david", "frank", "alice", "charlie", "eve"]
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    fake.shifts = [
        _rolling(
            "OPRI", "Primary weekly", "2026-01-05T09:00:00", primary, "Europe/Berlin"
        ),
        _rolling(
            "OSEC",
            "Secondary weekly",
            "2026-01-05T09:00:00",
            secondary,
            "Europe/Berlin",
        ),
        _override("OVP1", day + dt.timedelta(days=10, hours=11), 6, "frank"),
        _override("OVP0", day - dt.timedelta(days=3, hours=11), 6, "eve"),  # past
        _rolling(
            "OBASE",
            "Americas 24/7",
            "2026-01-05T09:00:00",
            ["grace", "heidi"],
            "America/New_York",
        ),
        _rolling(
            "ODAY",
            "Europe daytime",
            "2026-01-05T08:00:00",
            ["ivan", "judy"],
            "Europe/Berlin",
            level=1,
            duration=12 * 3600,
            by_day=["MO", "TU", "WE", "TH", "FR"],
        ),
        _override("OVF1", day + dt.timedelta(days=20, hours=9), 4, "judy"),
        {
            "id": "OMONTH",
            "name": "Monthly DB patching",
            "type": "recurrent_event",
            "team_id": "TPLAT",
            "time_zone": "Europe/Berlin",
            "level": 0,
            "start": "2026-01-03T06:00:00",
            "duration": 4 * 3600,
            "frequency": "monthly",
            "interval": 1,
            "by_day": None,
            "by_month": None,
            "by_monthday": [3],
            "until": None,
            "users": [uid("ivan")],
        },
    ]
    fake.schedules = [
        {
            "id": "SPRI",
            "name": "Payments primary",
            "type": "web",
            "team_id": "TPAY",
            "time_zone": "Europe/Berlin",
            "on_call_now": [],
            "shifts": ["OPRI", "OVP1", "OVP0"],
            "slack": None,
        },
        {
            "id": "SSEC",
            "name": "Payments secondary",
            "type": "web",
            "team_id": "TPAY",
            "time_zone": "Europe/Berlin",
            "on_call_now": [],
            "shifts": ["OSEC"],
            "slack": None,
        },
        {
            "id": "SFTS",
            "name": "Platform follow-the-sun",
            "type": "calendar",
            "team_id": "TPLAT",
            "time_zone": "Europe/Berlin",
            "on_call_now": [],
            "shifts": ["OBASE", "ODAY", "OVF1"],
            "ical_url_overrides": None,
            "slack": None,
        },
        {
            "id": "SDB",
            "name": "Platform DB",
            "type": "calendar",
            "team_id": "TPLAT",
            "time_zone": "Europe/Berlin",
            "on_call_now": [],
            "shifts": ["OMONTH"],
            "slack": None,
        },
        {
            "id": "SICAL",
            "name": "Platform holidays",
            "type": "ical",
            "team_id": "TPLAT",
            "ical_url_primary": "https://calendar.example.com/holidays.ics",
            "ical_url_overrides": None,
            "on_call_now": [],
            "slack": None,
        },
    ]
    fake.chains = [
        {"id": "CPAY", "name": "Payments default", "team_id": "TPAY"},
        {"id": "CPLAT", "name": "Platform default", "team_id": "TPLAT"},
        {"id": "CORPHAN", "name": "Nobody's", "team_id": None},
    ]
    fake.steps = [
        # Out of order on purpose: the position decides.
        _step(
            "EP3",
            "CPAY",
            2,
            "notify_on_call_from_schedule",
            important=False,
            notify_on_call_from_schedule="SSEC",
        ),
        _step(
            "EP1",
            "CPAY",
            0,
            "notify_on_call_from_schedule",
            important=False,
            notify_on_call_from_schedule="SPRI",
        ),
        _step("EP2", "CPAY", 1, "wait", duration=600),
        _step("EP4", "CPAY", 3, "wait", duration=900),
        _step(
            "EP5",
            "CPAY",
            4,
            "notify_persons",
            important=True,
            persons_to_notify=[uid("frank")],
        ),
        _step("EP6", "CPAY", 5, "wait", duration=1800),
        _step("EP7", "CPAY", 6, "repeat_escalation"),
        _step(
            "EF1",
            "CPLAT",
            0,
            "notify_on_call_from_schedule",
            notify_on_call_from_schedule="SFTS",
        ),
        _step("EF2", "CPLAT", 1, "wait", duration=900),
        _step("EF3", "CPLAT", 2, "notify_persons", persons_to_notify=[uid("heidi")]),
        _step("EF4", "CPLAT", 3, "wait", duration=600),
        _step("EF5", "CPLAT", 4, "notify_user_group", group_to_notify="GSLACK"),
        _step(
            "EF6",
            "CPLAT",
            5,
            "notify_persons",
            persons_to_notify=[uid("grace"), uid("judy")],
        ),
        _step("EO1", "CORPHAN", 0, "notify_persons", persons_to_notify=[uid("alice")]),
    ]
    fake.integrations = [
        {
            "id": "IPAY",
            "name": "Payments Alertmanager",
            "team_id": "TPAY",
            "type": "alertmanager",
            "link": "https://oncall.example.com/integrations/v1/alertmanager/x/",
            "default_route": {"id": "RPAYD", "escalation_chain_id": "CPAY"},
        },
        {
            "id": "IPLAT",
            "name": "Platform Grafana",
            "team_id": "TPLAT",
            "type": "grafana_alerting",
            "link": "https://oncall.example.com/integrations/v1/grafana_alerting/y/",
            "default_route": {"id": "RPLATD", "escalation_chain_id": "CPLAT"},
        },
    ]
    fake.routes = [
        {
            "id": "RPAY1",
            "integration_id": "IPAY",
            "escalation_chain_id": "CPAY",
            "routing_type": "regex",
            "routing_regex": '"severity": "critical"',
            "position": 0,
            "is_the_last_route": False,
        },
        {
            "id": "RPAY2",
            "integration_id": "IPAY",
            "escalation_chain_id": "CPLAT",
            "routing_type": "jinja2",
            "routing_regex": '{{ payload.commonLabels.service == "db" }}',
            "position": 1,
            "is_the_last_route": False,
        },
        {
            "id": "RPAY3",
            "integration_id": "IPAY",
            "escalation_chain_id": "CPAY",
            "routing_type": "jinja2",
            "routing_regex": '{{ "eu" in payload.commonLabels.region }}',
            "position": 2,
            "is_the_last_route": False,
        },
        {
            "id": "RPAYD",
            "integration_id": "IPAY",
            "escalation_chain_id": "CPAY",
            "routing_type": "regex",
            "routing_regex": ".*",
            "position": 3,
            "is_the_last_route": True,
        },
        {
            "id": "RPLATD",
            "integration_id": "IPLAT",
            "escalation_chain_id": "CPLAT",
            "routing_type": "regex",
            "routing_regex": ".*",
            "position": 0,
            "is_the_last_route": True,
        },
    ]
    fake.rules = [
        {
            "id": "N1",
            "user_id": uid("alice"),
            "position": 0,
            "important": False,
            "type": "notify_by_sms",
        },
        {
            "id": "N2",
            "user_id": uid("alice"),
            "position": 1,
            "important": False,
            "type": "wait",
            "duration": 300,
        },
        {
            "id": "N3",
            "user_id": uid("alice"),
            "position": 2,
            "important": False,
            "type": "notify_by_phone_call",
        },
        {
            "id": "N4",
            "user_id": uid("bob"),
            "position": 0,
            "important": False,
            "type": "notify_by_sms",
        },
        {
            "id": "N5",
            "user_id": uid("charlie"),
            "position": 0,
            "important": False,
            "type": "notify_by_mobile_app",
        },
    ]
    return fake
