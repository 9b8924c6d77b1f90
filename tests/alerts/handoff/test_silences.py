"""A real Alertmanager holds silences; the one ending during the next shift is in
the draft, those ending before or after it are not.  Alertmanager is the
``prometheus-alertmanager`` the end-to-end stack runs (``tests/processes.py``)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
from django.utils import timezone

from alerts.handoff.draft import handoffs_draft_for
from alerts.handoff.silences import silences_expiring
from alerts.intake.integrations import route_add
from tests.processes import AlertmanagerServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CONFIG = """
route:
  receiver: nobody
receivers:
- name: nobody
"""


@pytest.fixture
def alertmanager(tmp_path, settings):
    server = AlertmanagerServer(tmp_path / "am", CONFIG)
    server.start()
    settings.ALERTMANAGER_URL = server.url
    try:
        yield server
    finally:
        server.stop()


def silence(
    am: AlertmanagerServer,
    *,
    ends: dt.datetime,
    comment: str,
    matchers: list[dict] | None = None,
) -> str:
    body = {
        "matchers": matchers
        or [
            {
                "name": "alertname",
                "value": "DiskFull",
                "isRegex": False,
                "isEqual": True,
            }
        ],
        "startsAt": timezone.now().isoformat(),
        "endsAt": ends.isoformat(),
        "createdBy": "alice",
        "comment": comment,
    }
    request = urllib.request.Request(
        f"{am.url}/api/v2/silences",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["silenceID"]


def test_a_silence_ending_in_the_next_shift_is_in_the_draft(
    alertmanager, team, rotation, integration
):
    # integration: payments' own, whose catch-all route sends everything to it.
    # rotation: weekly from today 00:00 UTC, alice then charlie as primary.
    change = rotation.shifts.filter(role="primary").order_by("starts_at")[1].starts_at
    silence(alertmanager, ends=change - dt.timedelta(hours=1), comment="ends before")
    silence(alertmanager, ends=change + dt.timedelta(days=2), comment="disk swap")
    silence(alertmanager, ends=change + dt.timedelta(days=9), comment="ends after")

    notes = handoffs_draft_for(
        team=team, start=change - dt.timedelta(minutes=1), end=change
    )

    primary = next(n for n in notes if n.role == "primary")
    assert (primary.outgoing.username, primary.incoming.username) == (
        "alice",
        "charlie",
    )
    silences = [m for m in primary.maintenance if m["kind"] == "silence"]
    assert [m["text"] for m in silences] == [
        'Alertmanager silence {alertname="DiskFull"} ends: disk swap (by alice)'
    ]
    assert dt.datetime.fromisoformat(silences[0]["ends_at"]) == change + dt.timedelta(
        days=2
    )


def test_an_unreachable_alertmanager_is_said_in_the_note(settings):
    settings.ALERTMANAGER_URL = "http://127.0.0.1:9"  # discard port: refused
    now = timezone.now()
    [item] = silences_expiring(start=now, end=now + dt.timedelta(days=7))
    assert "could not be read" in item["text"]


def test_without_an_alertmanager_url_nothing_is_read(settings):
    settings.ALERTMANAGER_URL = ""
    now = timezone.now()
    assert silences_expiring(start=now, end=now + dt.timedelta(days=7)) == []


def m(name: str, op: str, value: str) -> dict:
    """A matcher as Alertmanager's API v2 writes it."""
    return {
        "name": name,
        "value": value,
        "isRegex": op in ("=~", "!~"),
        "isEqual": op in ("=", "=~"),
    }


def test_each_team_sees_only_the_silences_of_alerts_routed_to_it(
    alertmanager, team, other_team, integration
):
    # payments' integration: service="checkout-api" goes to checkout, the rest
    # (the catch-all) to payments.
    route_add(
        integration=integration, team=other_team, matchers=['service="checkout-api"']
    )
    ends = timezone.now() + dt.timedelta(days=2)
    for comment, matchers in (
        ("no service: either team", [m("alertname", "=", "DiskFull")]),
        ("checkout's service", [m("service", "=", "checkout-api")]),
        ("payments' service", [m("service", "=", "payments-api")]),
        ("by team label", [m("team", "=", "checkout"), m("alertname", "=", "X")]),
        ("regex clear of checkout", [m("service", "=~", "pay.*")]),
        ("regex that may be checkout", [m("service", "=~", ".*-api")]),
    ):
        silence(alertmanager, ends=ends, comment=comment, matchers=matchers)
    start, end = timezone.now(), timezone.now() + dt.timedelta(days=7)

    def comments(for_team) -> set[str]:
        found = silences_expiring(start=start, end=end, team=for_team)
        return {item["text"].split(" ends: ")[1].split(" (by")[0] for item in found}

    assert comments(team) == {
        "no service: either team",
        "payments' service",
        "regex clear of checkout",
        "regex that may be checkout",
    }
    assert comments(other_team) == {
        "no service: either team",
        "checkout's service",
        "by team label",
        "regex that may be checkout",
    }
    # Without a team (an operator's overview): all of them.
    assert len(silences_expiring(start=start, end=end)) == 6
