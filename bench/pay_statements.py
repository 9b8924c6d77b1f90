"""A month's pay statements for 1,000 rotations; print time and query counts.

    .venv/bin/python bench/pay_statements.py [--rotations 1000] [--postgres]

The data of ``bench/scheduling_generate.py`` (half weekly paired, a quarter daily
follow, a quarter 12-hourly restricted; one team, eight people), six weeks
materialized, team rates per role (hourly for secondaries, weekly for primaries,
weekend and holiday multipliers, Kenyan holidays).  Times computing February
2026's statements (open) under both two-roles rules (``both``: every rotation's
own timeline; ``highest``: the team's layered one), closing the month under
``both`` (computed and stored) and reading the closed month back.  Then the
query count of the same month for a team of 20 rotations with 8 people and one
with 20 rotations of 6 people each (120 people): it must not grow with the
number of members.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection
from scheduling_generate import build

from scheduling.materialize import rotations_materialize
from scheduling.models import (
    Member,
    PayPolicy,
    Rotation,
    RotationParticipant,
    StipendRate,
    Team,
)
from scheduling.pay.closing import month_close, month_statement

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
UNTIL = NOW + dt.timedelta(weeks=10)


def rates(team: Team) -> None:
    StipendRate.objects.create(
        team=team,
        role="primary",
        amount=Decimal(500),
        currency="USD",
        unit="week",
        effective_from=dt.date(2026, 1, 1),
        weekend_multiplier=Decimal("1.5"),
        holiday_multiplier=Decimal(2),
    )
    StipendRate.objects.create(
        team=team,
        role="secondary",
        amount=Decimal("2.5"),
        currency="USD",
        unit="hour",
        effective_from=dt.date(2026, 1, 1),
    )
    PayPolicy.objects.create(team=team, holiday_country="KE", two_roles="both")


def measured(fn):
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    # CPU seconds of this process besides the wall clock: on a busy machine
    # (other jobs on the same cores) the wall clock says more about them.
    return result, f"{elapsed:7.2f} s ({cpu:5.2f} s CPU)", len(queries)


def small_team(slug: str, people_per_rotation: int, shared: bool) -> Team:
    """20 weekly paired rotations: all with the same 6 people, or each its own."""
    team = Team.objects.create(slug=slug, name=slug, time_zone="Africa/Nairobi")
    User = get_user_model()
    pool: list[Member] = []
    rotations = []
    for i in range(20):
        if shared and pool:
            people = pool[:people_per_rotation]
        else:
            people = [
                Member.objects.create(
                    user=User.objects.create(username=f"{slug}{i}-{j}"),
                    phone=f"+2547{len(pool) + j:08d}",
                )
                for j in range(people_per_rotation)
            ]
            pool += people
        rotation = Rotation.objects.create(
            team=team, name=f"r{i}", start_date=dt.date(2026, 1, 5)
        )
        RotationParticipant.objects.bulk_create(
            RotationParticipant(rotation=rotation, member=m, position=p)
            for p, m in enumerate(people)
        )
        rotations.append(rotation)
    rotations_materialize(rotations=rotations, now=NOW, until=UNTIL)
    rates(team)
    return team


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rotations", type=int, default=1000)
    args = parser.parse_args()
    print(f"database: {connection.vendor}")
    rotations = build(args.rotations)
    rotations_materialize(rotations=rotations, now=NOW, until=UNTIL)
    team = Team.objects.get(slug="bench")
    rates(team)

    # The two rules read different timelines: ``both`` each rotation's own (a
    # line per rotation, role and member: the most work), ``highest`` (the
    # default) the team's layered schedule.
    for rule in (PayPolicy.BOTH, PayPolicy.HIGHEST):
        PayPolicy.objects.filter(team=team).update(two_roles=rule)
        statement, elapsed, queries = measured(
            lambda: month_statement(team=team, year=2026, month=2)
        )
        label = f"open month, {args.rotations} rotations, {rule}"
        print(
            f"{label:<40} {elapsed} {queries:5d} queries  "
            f"{len(statement.rows):6d} lines"
        )
    PayPolicy.objects.filter(team=team).update(two_roles=PayPolicy.BOTH)
    _, elapsed, queries = measured(
        lambda: month_close(
            team=team, year=2026, month=2, now=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        )
    )
    print(f"{'close it (compute and store)':<40} {elapsed} {queries:5d} queries")
    _, elapsed, queries = measured(
        lambda: month_statement(team=team, year=2026, month=2)
    )
    print(f"{'read the closed month back':<40} {elapsed} {queries:5d} queries")

    for slug, size, shared in (("few", 6, True), ("many", 6, False)):
        small = small_team(slug, size, shared)
        people = Member.objects.filter(rotations__team=small).distinct().count()
        _, elapsed, queries = measured(
            lambda small=small: month_statement(team=small, year=2026, month=2)
        )
        print(
            f"{'20 rotations, ' + str(people) + ' people':<40} {elapsed} "
            f"{queries:5d} queries"
        )


if __name__ == "__main__":
    main()
