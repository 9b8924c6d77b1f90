"""Fairness: is the load shared?  Per member, and one figure per team.

Over a period (a quarter on the insights page), for the members who were on call
or were paged: on-call hours, pages and sleep interruptions, each with its
deviation from the team's mean (``value - mean``).  Per figure, the team gets
``max_over_mean`` (the busiest member's value over the mean: 1.0 is perfectly
even; 2.0 means someone carries twice the average) and the Gini coefficient
(0 = everyone the same, towards 1 = one person carries it all).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.insights.page_load import PageLoad
from scheduling.models import Member

FIGURES = ("oncall_hours", "pages", "sleep")


def gini(values: list[float]) -> float | None:
    """Mean absolute difference over twice the mean; None when all are zero."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return None
    ordered = sorted(values)
    weighted = sum((2 * (i + 1) - n - 1) * v for i, v in enumerate(ordered))
    return weighted / (n * total)


@dataclass(frozen=True)
class FairnessRow:
    member: Member
    values: dict[str, float]
    deviations: dict[str, float]


@dataclass(frozen=True)
class Fairness:
    rows: list[FairnessRow]
    means: dict[str, float]
    max_over_mean: dict[str, float | None]
    gini: dict[str, float | None]


def fairness(load: PageLoad) -> Fairness:
    people = [m for m in load.members if m.oncall_hours > 0 or m.pages > 0]
    values = {
        m.member.pk: {
            "oncall_hours": round(m.oncall_hours, 2),
            "pages": float(m.pages),
            "sleep": float(m.sleep),
        }
        for m in people
    }
    means: dict[str, float] = {}
    max_over_mean: dict[str, float | None] = {}
    ginis: dict[str, float | None] = {}
    for figure in FIGURES:
        column = [v[figure] for v in values.values()]
        mean = sum(column) / len(column) if column else 0.0
        means[figure] = mean
        max_over_mean[figure] = max(column) / mean if mean else None
        ginis[figure] = gini(column)
    rows = [
        FairnessRow(
            m.member,
            values[m.member.pk],
            {f: values[m.member.pk][f] - means[f] for f in FIGURES},
        )
        for m in people
    ]
    return Fairness(rows, means, max_over_mean, ginis)
