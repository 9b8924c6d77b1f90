"""A primary and a secondary schedule that are one of our rotations: the
paired and follow schemes (:mod:`scheduling.plan`) recognised in a source's
two one-layer schedules, whichever the source."""

from __future__ import annotations

import math
from typing import Any

from scheduling import plan


def paired_or_follow(
    p_rotation: dict[str, Any],
    s_rotation: dict[str, Any],
    *,
    slug: str,
    name: str,
) -> dict[str, Any] | None:
    """One paired or follow rotation (a document entry named ``slug``, ``name``)
    equal to a one-layer primary and a one-layer secondary schedule, each already
    read as a rotation of its own, when there is one: same shifts and
    restrictions, and every turn's primary and secondary the scheme's."""
    same = (
        "shift_length",
        "shift_unit",
        "start_date",
        "handoff_time",
        "time_zone",
        "restrict_weekdays",
        "restrict_start",
        "restrict_end",
    )
    if any(p_rotation[k] != s_rotation[k] for k in same):
        return None
    p, s = p_rotation["participants"], s_rotation["participants"]
    n = len(p)
    candidates = [(plan.FOLLOW, list(p))]
    if n % 2 == 0 and len(s) == n:
        half = n // 2
        paired = [x for pair in zip(p[:half], s[:half], strict=True) for x in pair]
        candidates.insert(0, (plan.PAIRED, paired))
    cycle = n * len(s) // math.gcd(n, len(s))
    for scheme, people in candidates:
        if len(set(people)) != len(people) or plan.scheme_problem(scheme, len(people)):
            continue
        ids = tuple(range(len(people)))
        ok = all(
            dict(plan.assignment(scheme, ids, k))
            == {
                plan.PRIMARY: people.index(p[k % n]),
                plan.SECONDARY: people.index(s[k % len(s)]),
            }
            if p[k % n] in people and s[k % len(s)] in people
            else False
            for k in range(max(cycle, len(people)))
        )
        if ok:
            return {
                **p_rotation,
                "slug": slug,
                "name": name,
                "scheme": scheme,
                "participants": people,
            }
    return None
