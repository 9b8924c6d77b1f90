"""Pieces of the Grafana OnCall mapping that need no source: routes as label
matchers, and the --phones file."""

from __future__ import annotations

import pytest

from alerts.importers.grafana_oncall import phones_parse, route_matchers


@pytest.mark.parametrize(
    ("kind", "expression", "matchers"),
    [
        ("regex", '"severity": "critical"', ['severity="critical"']),
        ("regex", '"severity":"critical"', ['severity="critical"']),
        ("regex", '"team": "(db|storage)"', ['team=~"db|storage"']),
        ("jinja2", '{{ payload.commonLabels.service == "db" }}', ['service="db"']),
        ("jinja2", "{{ payload.labels.env != 'staging' }}", ['env!="staging"']),
        ("jinja2", '{{payload.groupLabels.cluster=="eu-1"}}', ['cluster="eu-1"']),
        # Not one label test: reported, not guessed.
        ("regex", "critical", None),
        ("regex", '"severity": "crit.*"', None),
        ("regex", ".*", None),
        ("jinja2", '{{ "eu" in payload.commonLabels.region }}', None),
        ("jinja2", '{{ payload.commonLabels.a == "b" and true }}', None),
        ("jinja2", "", None),
    ],
)
def test_a_route_becomes_label_matchers_only_when_it_is_one_label_test(
    kind, expression, matchers
):
    assert route_matchers(kind, expression) == matchers


def test_the_phones_file_reads_email_and_e164():
    lines = ["email,phone", "Alice@Example.com, +4915100000001", "", "b@x.io,+15550100"]
    assert phones_parse(lines) == {
        "alice@example.com": "+4915100000001",
        "b@x.io": "+15550100",
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("alice@example.com", "line 1: expected email,phone"),
        ("alice,+4915100000001", "line 1: expected email,phone"),
        ("alice@example.com,0151 000", "line 1: '0151 000' is not an E.164"),
    ],
)
def test_a_bad_phones_line_is_named(line, problem):
    with pytest.raises(ValueError, match=problem):
        phones_parse([line])
