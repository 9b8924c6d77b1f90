"""manage.py oncall_import grafana-oncall: a realistic organisation on a fake
Grafana OnCall API arrives through the configuration-as-code path, agrees with
the source's final shifts at every hour of the next 8 weeks (across two DST
changes), a second run writes nothing, and a source that cannot be read writes
nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from alerts.importers.grafana_oncall import (
    grafana_oncall_apply,
    grafana_oncall_client,
    grafana_oncall_read,
)
from tests.alerts.importers.fake_grafana_oncall import TOKEN
from tests.alerts.importers.grafana_oncall_org import organisation

pytestmark = pytest.mark.django_db


def next_march(today: dt.datetime) -> dt.datetime:
    """1 March 00:00 UTC after today: the 8 weeks from then hold the spring
    changes of the United States (2nd Sunday) and of Europe (last Sunday)."""
    year = today.year if today.month < 3 else today.year + 1
    return dt.datetime(year, 3, 1, tzinfo=dt.UTC)


NOW = next_march(dt.datetime.now(dt.UTC))
PHONES = {"alice@example.com": "+4915100000001", "bob@example.com": "+4915100000002"}


@pytest.fixture
def fake():
    fake = organisation(NOW)
    server, _ = fake.serve()
    yield fake
    server.shutdown()
    server.server_close()


def run_import(fake, *, token=TOKEN, team=None, dry_run=False, now=NOW, phones=None):
    client = grafana_oncall_client(url=fake.url, token=token)
    try:
        report = grafana_oncall_read(
            client=client, team=team, now=now, phones=PHONES if phones is None else phones
        )
        return grafana_oncall_apply(
            report=report, client=client, now=now, dry_run=dry_run
        )
    finally:
        client.close()


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("oncall_import", *args, stdout=out)
    return out.getvalue()


def test_explore(fake, waits):
    report = run_import(fake)
    for c in report.checks:
        print(c.line(), c.note, c.disagreements[:5])
    print("\n".join(report.problems))
    print(report.document["rotations"])
    print(report.document["escalation_policies"])
    print(report.document["integrations"])
    assert 0
