"""``oncall_at`` on a team with ten years of history vs one year; print figures.

    .venv/bin/python bench/oncall_at.py [--calls 2000] [--postgres]

Each team has a 2-hourly follow rotation (the most rows per year a realistic
rotation makes) under a weekly paired layer, plus an override every week of its
history.  If the answer's cost grew with history, the ten-year team would be ~10x
slower; the (rotation, ends_at) index keeps both at the cost of the materialized
future.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection

from scheduling.materialize import rotations_materialize
from scheduling.models import (
    Member,
    Override,
    Rotation,
    RotationParticipant,
    Shift,
    Team,
    TeamMembership,
)
from scheduling.selectors import oncall_at

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def build(slug: str, years: int, members: list[Member]) -> Team:
    team = Team.objects.create(slug=slug, name=slug, time_zone="Europe/Berlin")
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, member=m) for m in members]
    )
    start = (NOW - dt.timedelta(days=365 * years)).date()
    fast = Rotation.objects.create(
        team=team,
        name="2-hourly",
        scheme="follow",
        shift_unit="hours",
        shift_length=2,
        start_date=start,
        layer=1,
    )
    weekly = Rotation.objects.create(
        team=team,
        name="weekly",
        scheme="paired",
        start_date=start,
        layer=2,
        restrict_weekdays="01234",
        restrict_start=dt.time(9),
        restrict_end=dt.time(17),
    )
    for rotation in (fast, weekly):
        RotationParticipant.objects.bulk_create(
            [
                RotationParticipant(rotation=rotation, member=m, position=i)
                for i, m in enumerate(members)
            ]
        )
    rotations_materialize(rotations=[fast, weekly], now=NOW)
    # An override on one afternoon of every week of history.
    overrides = []
    t = dt.datetime.combine(start, dt.time(13), tzinfo=dt.UTC)
    while t < NOW:
        overrides.append(
            Override(
                rotation=fast,
                role="primary",
                member=members[-1],
                starts_at=t,
                ends_at=t + dt.timedelta(minutes=30),
            )
        )
        t += dt.timedelta(weeks=1)
    Override.objects.bulk_create(overrides, batch_size=500)
    return team


def measure(team: Team, calls: int) -> None:
    rows = Shift.objects.filter(rotation__team=team).count()
    history = Shift.objects.filter(rotation__team=team, ends_at__lte=NOW).count()
    instants = [NOW + dt.timedelta(minutes=37 * i) for i in range(calls)]
    executed: list[str] = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        oncall_at(team=team, at=instants[0])
    per_call = len(executed)
    times = []
    for at in instants:
        started = time.perf_counter()
        oncall_at(team=team, at=at)
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"{team.slug:<10} {rows:8d} shifts ({history:7d} in the past)  "
        f"{per_call} queries/call  median {statistics.median(times) * 1e3:6.3f} ms  "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"u{i}") for i in range(6)])
    members = Member.objects.bulk_create(
        [Member(user=u, phone=f"+25470000000{i}") for i, u in enumerate(users)]
    )
    print(
        f"database: {connection.vendor}; oncall_at over the next "
        f"{args.calls * 37 / 60 / 24:.0f} days, {args.calls} calls per team"
    )
    one = build("1-year", 1, members)
    ten = build("10-years", 10, members)
    for team in (one, ten):
        measure(team, args.calls)
    # What the database does for "which shifts cover now" (the query that would
    # grow with history without the (rotation, ends_at) index).
    qs = Shift.objects.filter(
        rotation_id__in=[ten.pk], ends_at__gt=NOW, starts_at__lte=NOW
    )
    print("plan:", qs.order_by().explain())


if __name__ == "__main__":
    main()
