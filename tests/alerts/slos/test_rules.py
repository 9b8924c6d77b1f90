"""The burn-rate alerts as a Prometheus rules file: ``promtool check rules``
accepts what the API and the management command answer."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from django.core.management import call_command

from alerts.slos.setup import slo_create
from tests.api_client import bearer_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def ratio_slos(service):
    return [
        slo_create(
            service=service,
            name="requests",
            objective="99.9",
            source="prometheus_ratio",
            good_query='http_requests_total{job="api",code!~"5.."}',
            total_query='http_requests_total{job="api"}',
        ),
        slo_create(
            service=service,
            name='quoted "name"',
            objective="99.95",
            source="prometheus_ratio",
            good_query="grpc_ok_total",
            total_query="grpc_all_total",
        ),
    ]


def _promtool_check(tmp_path, text: str) -> subprocess.CompletedProcess:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is installed by make test"
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    return subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True
    )


def test_promtool_accepts_the_rules_of_the_api(tmp_path, ratio_slos, slo, alice):
    response = bearer_client(alice.user).get("/api/v1/slos/rules.yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    text = response.content.decode()
    checked = _promtool_check(tmp_path, text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # 2 ratio SLOs × (7 recording rules + 4 alerts); the incident-time SLO has none.
    assert "SUCCESS: 22 rules found" in checked.stdout
    groups = yaml.safe_load(text)["groups"]
    alerts = [r for r in groups[0]["rules"] if "alert" in r]
    assert [(a["labels"]["severity"], a["labels"]["long_window"]) for a in alerts] == [
        ("page", "1h"),
        ("page", "6h"),
        ("ticket", "1d"),
        ("ticket", "3d"),
    ]
    # 14.4 × 0.1 % as the threshold on both windows.
    assert "oncall_slo:error_ratio:rate1h{" in alerts[0]["expr"]
    assert "> 0.01440" in alerts[0]["expr"]


def test_promtool_rejects_a_broken_file_so_the_check_means_something(tmp_path):
    broken = "groups:\n- name: x\n  rules:\n  - alert: X\n    expr: sum(\n"
    assert _promtool_check(tmp_path, broken).returncode != 0


def test_the_command_writes_the_same_rules(tmp_path, ratio_slos):
    out = tmp_path / "slo-rules.yaml"
    call_command("oncall_slo_rules", str(out))
    checked = _promtool_check(tmp_path, out.read_text())
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_another_teams_rules_are_not_shown(ratio_slos, make_member):
    outsider = bearer_client(make_member("zoe").user)
    body = outsider.get("/api/v1/slos/rules.yaml").content.decode()
    assert yaml.safe_load(body) == {"groups": []}


def test_a_refusal_answers_in_a_format_the_client_accepts(client):
    # Anonymous: 401; JSON by default, YAML for a client that accepts only YAML.
    assert client.get("/api/v1/slos/rules.yaml").json()["error"]
    refused = client.get("/api/v1/slos/rules.yaml", HTTP_ACCEPT="application/yaml")
    assert refused.status_code == 401
    assert "error" in yaml.safe_load(refused.content)
