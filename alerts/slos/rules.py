"""The burn-rate alerts as a Prometheus rules file, for teams who prefer
Prometheus and Alertmanager to evaluate them (``GET /api/v1/slos/rules.yaml``,
``manage.py oncall_slo_rules``).

Per ratio SLO, one group: a recording rule of the error ratio over each window
the alerts use, and the four alerts of ``burn.RULES`` (severity ``page`` or
``ticket``), the same thresholds our own evaluator applies.  Incident-time SLOs
have no metrics and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

import yaml

from alerts.models import SLO
from alerts.slos.budget import error_rate_allowed
from alerts.slos.burn import RULES, WINDOWS


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def _labels(slo: SLO) -> dict[str, str]:
    return {"oncall_service": slo.service.slug, "oncall_slo": slo.name}


def _selector(record: str, labels: dict[str, str]) -> str:
    # json.dumps quotes and escapes as PromQL strings want (Go-style escapes).
    inner = ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    return f"{record}{{{inner}}}"


def _record(span: str) -> str:
    return f"oncall_slo:error_ratio:rate{span}"


def slo_rule_group(slo: SLO) -> dict:
    labels = _labels(slo)
    rules: list[dict] = []
    for window in WINDOWS:
        span = _span(int(window.total_seconds()))
        rules.append(
            {
                "record": _record(span),
                "expr": (
                    f"1 - sum(rate({slo.good_query}[{span}]))"
                    f" / sum(rate({slo.total_query}[{span}]))"
                ),
                "labels": labels,
            }
        )
    allowed = error_rate_allowed(Decimal(slo.objective))
    for rule in RULES:
        threshold = f"{Decimal(str(rule.factor)) * allowed:f}"
        long_span = _span(int(rule.long.total_seconds()))
        short_span = _span(int(rule.short.total_seconds()))
        rules.append(
            {
                "alert": "SLOErrorBudgetBurn",
                "expr": (
                    f"{_selector(_record(long_span), labels)} > {threshold}\n"
                    f"and\n{_selector(_record(short_span), labels)} > {threshold}"
                ),
                "labels": {
                    "severity": rule.tier,
                    "service": slo.service.slug,
                    "slo": slo.name,
                    "long_window": long_span,
                    "short_window": short_span,
                },
                "annotations": {
                    "summary": (
                        f"{slo.service.slug}: SLO {slo.name} ({slo.objective}%) "
                        f"burns its error budget {rule.factor}x too fast over "
                        f"{long_span} and {short_span}"
                    )
                },
            }
        )
    return {"name": f"oncall-slo-{slo.service.slug}-{slo.pk}", "rules": rules}


def slo_rules_yaml(slos: Iterable[SLO]) -> str:
    """The rules file of ``slos`` (ratio SLIs only)."""
    groups = [
        slo_rule_group(slo) for slo in slos if slo.source == SLO.Source.PROMETHEUS_RATIO
    ]
    return yaml.safe_dump(
        {"groups": groups}, sort_keys=False, allow_unicode=True, width=1000
    )
