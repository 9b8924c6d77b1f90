from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scheduling.models import Member, Team
from scheduling.selectors import oncall_at
from scheduling.timeparse import InstantError, parse_instant


class Command(BaseCommand):
    help = "Who is on call for a team now (or --at an ISO 8601 instant with offset)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="team slug, e.g. payments")
        parser.add_argument(
            "--at",
            help="ISO 8601 with a UTC offset or Z, e.g. 2026-01-12T09:00:00+03:00",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            known = ", ".join(Team.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no team {options['team']!r} (teams: {known})")
        try:
            at = parse_instant(options["at"]) if options["at"] else timezone.now()
        except InstantError as exc:
            raise CommandError(str(exc)) from None
        answer = oncall_at(team=team, at=at)
        tz = team.tz

        def when(value: dt.datetime) -> str:
            local = value.astimezone(tz)
            return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"

        def who(member: Member | None) -> str:
            if member is None:
                return "nobody"
            phone = member.phone or "no phone number"
            return f"{member.display_name} ({member.username}, {phone})"

        out = self.stdout.write
        out(f"{team.name} ({team.slug}, {team.time_zone})")
        out(f"at:        {when(answer.at)}  ({answer.at:%Y-%m-%d %H:%M} UTC)")
        out(f"primary:   {who(answer.primary)}")
        out(f"secondary: {who(answer.secondary)}")
        if answer.shift_start and answer.shift_end:
            out(f"shift:     {when(answer.shift_start)} -> {when(answer.shift_end)}")
        if answer.rotation is not None:
            out(f"rotation:  {answer.rotation.name} (layer {answer.rotation.layer})")
        out(f"override:  {'yes' if answer.override else 'no'}")
