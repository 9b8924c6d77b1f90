"""Ratio SLIs and burn-rate alerts against a real Prometheus.

The Prometheus started here serves a history backfilled with ``promtool``: four
days of 1000 requests a minute with 0.02 % errors, and a 20-minute burst of 50 %
errors nine hours ago.  The evaluator queries it at chosen instants (``time=``),
so the test drives evaluation by calling the service, never by waiting.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Incident, SLOEvaluation
from alerts.slos.evaluate import slo_evaluate
from alerts.slos.gate import deploy_gate
from alerts.slos.setup import slo_create
from tests.alerts.conftest import drive
from tests.processes import PrometheusServer, free_port

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(second=0, microsecond=0)
HISTORY_START = NOW - dt.timedelta(days=4)
BURST = NOW - dt.timedelta(hours=9)
BURST_END = BURST + dt.timedelta(minutes=20)
PER_MINUTE = 1000
BASELINE_ERRORS = 0.2  # per minute: 0.02 %, a 0.2x burn of a 99.9 % SLO
BURST_ERRORS = 500  # per minute: 50 %


def _history() -> str:
    """OpenMetrics text: the two counters, a sample a minute."""
    good, bad = 0.0, 0.0
    good_lines, bad_lines = [], []
    at = HISTORY_START
    while at < NOW - dt.timedelta(minutes=1):
        errors = BURST_ERRORS if BURST <= at < BURST_END else BASELINE_ERRORS
        good += PER_MINUTE - errors
        bad += errors
        stamp = int(at.timestamp())
        good_lines.append(f'http_requests_total{{code="200"}} {good} {stamp}')
        bad_lines.append(f'http_requests_total{{code="500"}} {bad} {stamp}')
        at += dt.timedelta(minutes=1)
    return "\n".join(
        ["# TYPE http_requests counter", *good_lines, *bad_lines, "# EOF", ""]
    )


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), _history())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ratio_slo(ratio, prometheus, settings):
    """The package's ratio SLO, evaluated against the real Prometheus."""
    settings.PROMETHEUS_URL = prometheus.url
    return ratio


def test_the_budget_comes_from_promql(ratio_slo):
    # Before the burst: 0.02 % errors over the window is a fifth of a 0.1 %
    # budget: 80 % left, burning at 0.2x.
    before = slo_evaluate(slo=ratio_slo, now=BURST - dt.timedelta(minutes=1))
    assert before.burn_1h == pytest.approx(0.2, rel=0.05)
    assert before.budget_remaining == pytest.approx(0.8, abs=0.01)
    assert before.decision == "allow"
    # After it: 10 000 bad requests among the ~5.5 million of the data (about
    # 0.18 % with the baseline) overspend the budget.
    after = slo_evaluate(slo=ratio_slo, now=BURST_END + dt.timedelta(hours=1))
    assert after.budget_remaining < -0.5
    assert after.decision == "freeze"
    assert after.burn_6h > 6


def test_a_fast_burn_pages_the_primary_and_resolves_when_it_stops(
    ratio_slo, integration, policy, alice, phones, published
):
    # Ten minutes into the burst: 1 h and 5 m both burn far above 14.4x.
    evaluation = slo_evaluate(slo=ratio_slo, now=BURST + dt.timedelta(minutes=10))
    assert evaluation.burn_1h > 14.4
    page = Incident.objects.get(source="slo_burn")
    assert page.urgency == "high"
    assert page.common_labels["severity"] == "page"
    assert page.common_labels["service"] == "payments-api"
    assert "SLO requests" in page.title
    drive()
    phones.expect_sms(to="alice", containing=f"#{page.pk}")

    # Evaluated again while burning: still the one incident.
    slo_evaluate(slo=ratio_slo, now=BURST + dt.timedelta(minutes=15))
    assert Incident.objects.filter(source="slo_burn").count() == 1
    # The gate freezes while the page is open.
    assert deploy_gate(service=ratio_slo.service).decision == "freeze"

    # 40 minutes after the burst: the short windows are quiet, the page resolves;
    # the 1 d / 2 h tier still burns above 3x: a low-urgency ticket opens.
    slo_evaluate(slo=ratio_slo, now=BURST_END + dt.timedelta(minutes=40))
    page.refresh_from_db()
    assert (page.status, page.resolved_how) == ("resolved", "burn stopped")
    ticket = Incident.objects.get(source="slo_burn", status="triggered")
    assert (ticket.urgency, ticket.common_labels["severity"]) == ("low", "ticket")

    # Seven hours after: even the 6 h window is quiet, the ticket resolves.
    slo_evaluate(slo=ratio_slo, now=BURST_END + dt.timedelta(hours=7))
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_no_burn_no_incident(ratio_slo, integration):
    slo_evaluate(slo=ratio_slo, now=BURST - dt.timedelta(hours=1))
    assert not Incident.objects.exists()


def test_prometheus_down_keeps_the_last_figures_marked_stale(
    ratio_slo, settings, integration
):
    at = BURST - dt.timedelta(minutes=1)
    good = slo_evaluate(slo=ratio_slo, now=at)
    settings.PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"  # nobody listens
    stale = slo_evaluate(slo=ratio_slo, now=at + dt.timedelta(minutes=1))
    assert stale.stale
    assert "unreachable" in stale.error
    assert stale.budget_remaining == good.budget_remaining
    gate = deploy_gate(service=ratio_slo.service, now=at + dt.timedelta(minutes=1))
    assert (gate.decision, gate.stale) == ("allow", True)  # fail-open, warned
    assert "unreachable" in gate.warning


def test_prometheus_answering_an_error_is_stale_too(ratio_slo, service):
    broken = slo_create(
        service=service,
        name="broken",
        objective="99.9",
        source="prometheus_ratio",
        good_query='http_requests_total{code=~"("}',  # not a valid regex
        total_query="http_requests_total",
    )
    assert slo_evaluate(slo=broken, now=BURST) is None  # nothing good to keep
    assert not SLOEvaluation.objects.filter(slo=broken).exists()
    gate = deploy_gate(service=service, now=BURST)
    assert gate.stale and "not been evaluated" in gate.warning
