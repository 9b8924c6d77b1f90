"""OpenSLO v1 YAML for ratio SLOs, so teams keep SLOs as code.

Export: per service a ``kind: Service`` document, per Prometheus ratio SLO a
``kind: SLO`` with an inline ``indicator`` whose ``ratioMetric`` (``counter:
true``) holds the good and total selectors as Prometheus ``metricSource``
queries.  Import reads the same shape (inline indicators, one objective, a
rolling ``28d``/``30d`` or calendar ``1M`` window) into services of one team and
ratio SLOs, creating or updating by name.  Incident-time SLOs have no OpenSLO
form and are not exported.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from alerts.models import SLO, Service
from alerts.slos.setup import service_create
from scheduling.models import Team

API_VERSION = "openslo/v1"
WINDOWS = {"rolling_28d": "28d", "rolling_30d": "30d"}


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def openslo_export(slos: Iterable[SLO]) -> str:
    docs: list[dict[str, Any]] = []
    seen: set[int] = set()
    for slo in slos:
        if slo.source != SLO.Source.PROMETHEUS_RATIO:
            continue
        service = slo.service
        if service.pk not in seen:
            seen.add(service.pk)
            docs.append(
                {
                    "apiVersion": API_VERSION,
                    "kind": "Service",
                    "metadata": {"name": service.slug, "displayName": service.name},
                    "spec": {"description": f"owned by team {service.team.slug}"},
                }
            )
        if slo.window == SLO.Window.CALENDAR_MONTH:
            window = {
                "duration": "1M",
                "isRolling": False,
                "calendar": {
                    "startTime": "2020-01-01 00:00:00",
                    "timeZone": service.team.time_zone,
                },
            }
        else:
            window = {"duration": WINDOWS[slo.window], "isRolling": True}
        docs.append(
            {
                "apiVersion": API_VERSION,
                "kind": "SLO",
                "metadata": {
                    "name": f"{service.slug}-{slugify(slo.name)}",
                    "displayName": slo.name,
                },
                "spec": {
                    "service": service.slug,
                    "indicator": {
                        "metadata": {"name": f"{service.slug}-{slugify(slo.name)}-sli"},
                        "spec": {
                            "ratioMetric": {
                                "counter": True,
                                "good": _source(slo.good_query),
                                "total": _source(slo.total_query),
                            }
                        },
                    },
                    "timeWindow": [window],
                    "budgetingMethod": "Occurrences",
                    "objectives": [
                        {
                            "displayName": slo.name,
                            "target": float(Decimal(slo.objective) / 100),
                        }
                    ],
                },
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=1000)


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ValidationError(f"missing {'.'.join(path)}")
        node = node[key]
    return node


def _window(spec: dict) -> str:
    windows = _get(spec, "timeWindow")
    if (
        not isinstance(windows, list)
        or len(windows) != 1
        or not isinstance(windows[0], dict)
    ):
        raise ValidationError("timeWindow: exactly one window")
    duration, rolling = windows[0].get("duration"), windows[0].get("isRolling")
    if rolling and duration in ("28d", "30d"):
        return f"rolling_{duration}"
    if not rolling and duration == "1M":
        return SLO.Window.CALENDAR_MONTH
    raise ValidationError(
        f"timeWindow {duration!r} (rolling: {rolling!r}): use rolling 28d or 30d, "
        "or calendar 1M"
    )


def _parse(text: str) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ValidationError(f"not YAML: {exc}") from None
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("apiVersion") != API_VERSION:
            raise ValidationError(f"not an {API_VERSION} document")
    return docs


def _service(doc: dict, team: Team, done: list[str]) -> Service:
    slug = str(_get(doc, "metadata", "name"))
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        service = service_create(
            slug=slug,
            name=str(doc["metadata"].get("displayName") or slug),
            team=team,
            match_labels={"service": slug},
        )
        done.append(f"service {slug}")
    elif service.team_id != team.pk:
        raise ValidationError(f"service {slug} belongs to another team")
    return service


def _slo_fields(doc: dict) -> tuple[str, dict[str, Any]]:
    spec = _get(doc, "spec")
    ratio = _get(spec, "indicator", "spec", "ratioMetric")
    objectives = _get(spec, "objectives")
    if (
        not isinstance(objectives, list)
        or len(objectives) != 1
        or not isinstance(objectives[0], dict)
    ):
        raise ValidationError("objectives: exactly one")
    objective = objectives[0]
    try:
        percent = Decimal(str(_get(objective, "target"))) * 100
    except InvalidOperation:
        raise ValidationError("objectives[0].target: a number") from None
    if not percent.is_finite():
        raise ValidationError("objectives[0].target: a number")
    metadata = _get(doc, "metadata")
    if not isinstance(metadata, dict):
        raise ValidationError("metadata: a mapping")
    name = str(
        objective.get("displayName")
        or metadata.get("displayName")
        or _get(doc, "metadata", "name")
    )
    return name, {
        "objective": percent.normalize(),
        "window": _window(spec),
        "source": SLO.Source.PROMETHEUS_RATIO,
        "good_query": str(_get(ratio, "good", "metricSource", "spec", "query")),
        "total_query": str(_get(ratio, "total", "metricSource", "spec", "query")),
    }


@transaction.atomic
def openslo_import(*, text: str, team: Team) -> list[str]:
    """Create or update the services and ratio SLOs of ``text`` for ``team``;
    returns what changed.  Any error refuses the whole file."""
    docs = _parse(text)
    done: list[str] = []
    made = [_service(d, team, done) for d in docs if d.get("kind") == "Service"]
    services = {service.slug: service for service in made}
    for doc in (d for d in docs if d.get("kind") == "SLO"):
        slug = str(_get(doc, "spec", "service"))
        service = (
            services.get(slug) or Service.objects.filter(slug=slug, team=team).first()
        )
        if service is None:
            raise ValidationError(f"SLO of unknown service {slug}")
        name, fields = _slo_fields(doc)
        slo = SLO.objects.filter(service=service, name=name).first() or SLO(
            service=service, name=name
        )
        changed = slo.pk is None or any(getattr(slo, k) != v for k, v in fields.items())
        for key, value in fields.items():
            setattr(slo, key, value)
        slo.full_clean()
        if changed:
            slo.save()
            done.append(f"SLO {slo}")
    return done
