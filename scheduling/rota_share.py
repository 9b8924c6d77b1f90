"""How much of their time a rotation's scheme keeps each person on call.  Pure.

A rotation with ``roles`` people on call at a time (2 for primary/secondary, 1 for
primary-only) shared evenly by ``people`` keeps each on call ``roles / people`` of
the time.  The Google SRE book puts the limit at 25 % (and asks for at least 8
engineers for a primary/secondary rotation at one site); the six-person paired
weekly scheme of DESIGN.md §7 is 2 weeks in 6, 33 %.  The rotation's admin page
and the insights page (``alerts/insights/rota.py``) both say it with these words.
"""

from __future__ import annotations

import math

MAX_SHARE = 0.25
MIN_PEOPLE_PAIRED_ONE_SITE = 8


def scheme_share(*, roles: int, people: int) -> float | None:
    """Each person's share of time on call; None for an empty rotation."""
    return None if people <= 0 else min(1.0, roles / people)


def scheme_advice(*, roles: int, people: int) -> str:
    """The share said plainly, and above the limit, what would fix it."""
    share = scheme_share(roles=roles, people=people)
    if share is None:
        return "nobody is on this rotation"
    who = "a primary and a secondary" if roles == 2 else "one person"
    said = (
        f"{people} people, {who} on call at a time: each is on call "
        f"{roles} {'periods' if roles > 1 else 'period'} in {people} "
        f"({share:.0%} of the time)"
    )
    if share <= MAX_SHARE:
        return f"{said}, within the {MAX_SHARE:.0%} limit."
    needed = math.ceil(roles / MAX_SHARE)
    fix = f"add {needed - people} more people (at least {needed})"
    if roles == 2:
        fix += (
            f", or take the secondary from another site (then {1 / people:.0%} "
            "each here)"
        )
    return (
        f"{said}, above the {MAX_SHARE:.0%} the Google SRE book recommends (it asks "
        f"for at least {MIN_PEOPLE_PAIRED_ONE_SITE} engineers for a primary/secondary "
        f"rotation at one site). To fix it: {fix}."
    )
