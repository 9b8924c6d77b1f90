"""Materialize one year of shifts for 1,000 rotations; print the figures.

    .venv/bin/python bench/scheduling_generate.py [--rotations 1000] [--weeks 52]
        [--postgres]

Half the rotations are weekly paired (6 people), a quarter daily follow (4
people), a quarter 12-hourly primary-only with a weekday restriction, spread over
a handful of zones with DST.  Also times the no-op pass (nothing changed: what
the hourly beat task costs) and a regeneration of every rotation's future.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.db import connection

from scheduling.materialize import rotations_materialize
from scheduling.models import Member, Rotation, RotationParticipant, Shift, Team

ZONES = ["Africa/Nairobi", "Europe/Berlin", "America/New_York", "Australia/Sydney"]


def build(n: int) -> list[Rotation]:
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench{i}") for i in range(8)], batch_size=500
    )
    members = Member.objects.bulk_create(
        [Member(user=u, phone=f"+2547000{i:05d}") for i, u in enumerate(users)]
    )
    team = Team.objects.create(slug="bench", name="Bench", time_zone="UTC")
    rotations = []
    for i in range(n):
        kind = i % 4
        rotations.append(
            Rotation(
                team=team,
                name=f"r{i}",
                slug=f"bench-r{i}",  # bulk_create skips save(), which makes one
                scheme=["paired", "paired", "follow", "primary_only"][kind],
                shift_unit=["weeks", "weeks", "days", "hours"][kind],
                shift_length=[1, 1, 1, 12][kind],
                start_date=dt.date(2026, 1, 5),
                time_zone=ZONES[i % len(ZONES)],
                restrict_weekdays="01234" if kind == 3 else "",
                restrict_start=dt.time(8) if kind == 3 else None,
                restrict_end=dt.time(20) if kind == 3 else None,
            )
        )
    rotations = Rotation.objects.bulk_create(rotations, batch_size=500)
    participants = []
    for i, rotation in enumerate(rotations):
        size = [6, 6, 4, 3][i % 4]
        participants += [
            RotationParticipant(rotation=rotation, member=members[j], position=j)
            for j in range(size)
        ]
    RotationParticipant.objects.bulk_create(participants, batch_size=1000)
    return rotations


def timed(label: str, fn) -> None:
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        report = fn()
        elapsed = time.perf_counter() - started
    print(
        f"{label:<44} {elapsed:7.2f} s  {len(queries):6d} queries  "
        f"{report.shifts_created:8d} shifts created  "
        f"{report.shifts_deleted:8d} deleted"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rotations", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    print(f"database: {connection.vendor}")
    rotations = build(args.rotations)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    until = now + dt.timedelta(weeks=args.weeks)
    timed(
        f"first generation, {args.weeks} weeks x {args.rotations} rotations",
        lambda: rotations_materialize(rotations=rotations, now=now, until=until),
    )
    timed(
        "again, nothing changed (the beat task)",
        lambda: rotations_materialize(rotations=rotations, now=now, until=until),
    )
    Rotation.objects.update(handoff_time=dt.time(10))
    later = now + dt.timedelta(weeks=10)
    timed(
        "regenerate every future after a change",
        lambda: rotations_materialize(
            rotations=rotations, now=later, until=later + dt.timedelta(weeks=args.weeks)
        ),
    )
    print(f"shifts stored: {Shift.objects.count()}")


if __name__ == "__main__":
    main()
