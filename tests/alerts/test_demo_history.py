"""The demo's generated month: marked as demo data, made once, and enough for the
insights page to show load, a flagged week and noisy alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.demo.history import DEMO_HISTORY_INTEGRATION
from alerts.insights.alert_quality import alert_quality
from alerts.insights.health import health
from alerts.models import Incident, Page
from scheduling.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo command runs only with DEBUG on


def test_the_demo_generates_a_month_of_marked_history_once(capsys):
    call_command("oncall_demo")
    assert "demo history:" in capsys.readouterr().out
    # All but the demo's own incident (the postmortem's, alerts/demo/__init__.py).
    incidents = Incident.objects.filter(integration__name=DEMO_HISTORY_INTEGRATION)
    assert Incident.objects.exclude(pk__in=incidents).count() == 1
    count = incidents.count()
    assert count > 30
    assert all(i.title.startswith("[demo]") for i in incidents)
    assert all(i.common_labels["demo"] == "generated" for i in incidents)
    assert not incidents.first().integration.enabled  # takes no webhooks
    assert Page.objects.filter(
        incident__in=incidents, sent_at__isnull=False
    ).count() > count

    call_command("oncall_demo")
    assert incidents.count() == count


def test_the_demo_month_has_a_flagged_week_and_noisy_alerts(admin_client):
    call_command("oncall_demo")
    team = Team.objects.get(slug="payments")
    now = timezone.now()
    start = now - timedelta(days=35)
    report = health(team=team, start=start, end=now)
    assert report.flagged
    assert sum(m.pages for m in report.load.members) > 40
    quality = alert_quality(teams=Team.objects.filter(pk=team.pk), start=start, end=now)
    by_name = {a.key["alertname"]: a for a in quality.alerts}
    assert by_name["OrdersQueueStuck"].flapping > 0
    assert by_name["OrdersQueueStuck"].noisy

    page = admin_client.get(f"/admin/alerts/insightsettings/team/{team.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="flagged-week"' in html
    assert "OrdersQueueStuck" in html
