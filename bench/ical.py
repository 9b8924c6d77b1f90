"""Rendering an iCal feed, and polling one that did not change; print figures.

    .venv/bin/python bench/ical.py [--renders 200] [--polls 2000] [--postgres]

The team: the six-person weekly paired rotation, 26 weeks materialized, with 20
one-day overrides.  "render" is a cache miss: team_schedule, the FeedEvent
reconcile (no writes once the events are stored) and icalendar's writer.  "poll"
is GET /ical/<token>.ics of an unchanged feed through Django's test client, in
this process (with and without If-None-Match): the view's own cost, not a
gunicorn figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import _django  # noqa: F401  (sets up Django on a throwaway database)
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from scheduling.feeds import feed_create
from scheduling.ical import feed_document, forget_local_documents
from scheduling.materialize import rotations_materialize
from scheduling.models import (
    Member,
    Rotation,
    RotationParticipant,
    Team,
    TeamMembership,
)
from scheduling.overrides import override_create
from scheduling.version import schedule_version


def build() -> tuple[Team, list[Member]]:
    User = get_user_model()
    names = ["alice", "bob", "charlie", "david", "eve", "frank"]
    users = User.objects.bulk_create([User(username=n) for n in names])
    members = Member.objects.bulk_create(
        [Member(user=u, phone=f"+25470000000{i}") for i, u in enumerate(users)]
    )
    team = Team.objects.create(
        slug="payments", name="Payments", time_zone="Africa/Nairobi"
    )
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, member=m) for m in members]
    )
    today = timezone.now().date()
    rotation = Rotation.objects.create(
        team=team, name="weekly", start_date=today - dt.timedelta(days=30)
    )
    RotationParticipant.objects.bulk_create(
        [
            RotationParticipant(rotation=rotation, member=m, position=i)
            for i, m in enumerate(members)
        ]
    )
    rotations_materialize(rotations=[rotation])
    made, day = 0, 0
    start = timezone.now().replace(hour=6, minute=0, second=0, microsecond=0)
    while made < 20:
        at = start + dt.timedelta(days=day * 5 + 1)
        for member in members:
            try:
                override_create(
                    rotation=rotation,
                    role="primary",
                    member=member,
                    starts_at=at,
                    ends_at=at + dt.timedelta(days=1),
                )
            except ValidationError:
                continue
            made += 1
            break
        day += 1
    return team, members


def ms(samples: list[float]) -> str:
    samples = sorted(samples)
    return (
        f"p50 {statistics.median(samples) * 1e3:7.2f} ms  "
        f"p99 {samples[int(len(samples) * 0.99)] * 1e3:7.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--polls", type=int, default=2000)
    args = parser.parse_args()
    team, members = build()
    issued = feed_create(subject=team, owner=members[0].user, created_by=None)
    version, now = schedule_version(), timezone.now()
    started = time.perf_counter()
    doc = feed_document(feed=issued.feed, version=version, now=now)
    first = time.perf_counter() - started
    events = doc.body.count(b"BEGIN:VEVENT")
    print(
        f"database: {connection.vendor}; team feed of {events} events, "
        f"{len(doc.body)} bytes"
    )
    print(f"first render (stores the events):  {first * 1e3:7.2f} ms")
    times = []
    for _ in range(args.renders):
        cache.clear()
        forget_local_documents()  # and this process's copy: a real miss
        started = time.perf_counter()
        feed_document(feed=issued.feed, version=version, now=now)
        times.append(time.perf_counter() - started)
    print(f"render, cache miss ({args.renders}x):     {ms(times)}")
    client, path = Client(HTTP_HOST="localhost"), f"/ical/{issued.secret}.ics"
    first_poll = client.get(path)
    assert first_poll.status_code == 200, first_poll.status_code
    etag = first_poll["ETag"]
    for label, headers in (
        ("poll, 200", {}),
        ("poll, 304", {"HTTP_IF_NONE_MATCH": etag}),
    ):
        times = []
        for _ in range(args.polls):
            started = time.perf_counter()
            response = client.get(path, **headers)
            times.append(time.perf_counter() - started)
        assert response.status_code in (200, 304)
        rate = len(times) / sum(times)
        print(f"{label} ({args.polls}x, in-process):  {ms(times)}  {rate:6.0f}/s")


if __name__ == "__main__":
    main()
