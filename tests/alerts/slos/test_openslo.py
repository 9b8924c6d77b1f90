"""OpenSLO v1: export ratio SLOs, import them back (round trip), refuse bad files."""

from __future__ import annotations

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from alerts.models import SLO, Service
from alerts.slos.openslo import openslo_export, openslo_import
from alerts.slos.setup import slo_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def ratio_slos(service, slo):
    return [
        slo_create(
            service=service,
            name="requests",
            objective="99.95",
            source="prometheus_ratio",
            good_query='http_requests_total{job="api",code!~"5.."}',
            total_query='http_requests_total{job="api"}',
        ),
        slo_create(
            service=service,
            name="monthly",
            objective="99",
            window="calendar_month",
            source="prometheus_ratio",
            good_query="grpc_ok_total",
            total_query="grpc_all_total",
        ),
    ]


FIELDS = ("name", "objective", "window", "source", "good_query", "total_query")


def _rows():
    return sorted(
        tuple(str(getattr(s, f)) for f in FIELDS)
        for s in SLO.objects.filter(source="prometheus_ratio")
    )


def test_export_then_import_round_trips(ratio_slos, team):
    text = openslo_export(SLO.objects.order_by("pk"))
    docs = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in docs] == ["Service", "SLO", "SLO"]  # not incident time
    ratio = docs[1]["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["good"]["metricSource"]["spec"]["query"].startswith("http_requests")
    assert docs[1]["spec"]["objectives"][0]["target"] == 0.9995
    before = _rows()
    SLO.objects.filter(source="prometheus_ratio").delete()
    Service.objects.all().delete()

    done = openslo_import(text=text, team=team)
    assert done[0] == "service payments-api"
    assert _rows() == before
    assert Service.objects.get().match_labels == {"service": "payments-api"}
    # Importing again changes nothing; exporting again gives the same documents.
    assert openslo_import(text=text, team=team) == []
    again = list(yaml.safe_load_all(openslo_export(SLO.objects.order_by("pk"))))
    assert [d["spec"] for d in again] == [d["spec"] for d in docs]


@pytest.mark.parametrize(
    "text",
    [
        "not: [yaml",
        "apiVersion: openslo/v0\nkind: SLO\n",
        "apiVersion: openslo/v1\nkind: SLO\nspec: {service: nope}\n",
    ],
)
def test_a_bad_file_is_refused_whole(text, team):
    with pytest.raises(ValidationError):
        openslo_import(text=text, team=team)
    assert not Service.objects.exists()


def test_the_command_exports_and_imports(tmp_path, ratio_slos, team):
    out = tmp_path / "slos.yaml"
    call_command("oncall_openslo", "export", str(out))
    SLO.objects.filter(name="requests").delete()
    call_command("oncall_openslo", "import", str(out), "--team", team.slug)
    assert SLO.objects.filter(name="requests").exists()
    with pytest.raises(CommandError, match="no team"):
        call_command("oncall_openslo", "import", str(out), "--team", "nope")
