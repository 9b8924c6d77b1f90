"""``manage.py oncall_openslo export [FILE]`` writes the ratio SLOs as OpenSLO v1
YAML; ``manage.py oncall_openslo import FILE --team SLUG`` creates or updates
services and SLOs from one."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from alerts.models import SLO
from alerts.slos.openslo import openslo_export, openslo_import
from scheduling.models import Team


class Command(BaseCommand):
    help = "Export or import SLOs as OpenSLO v1 YAML."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("file", nargs="?", help="export: stdout by default")
        parser.add_argument("--team", help="import: the team owning new services")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            text = openslo_export(
                SLO.objects.select_related("service__team").order_by("pk")
            )
            if options["file"]:
                with open(options["file"], "w", encoding="utf-8") as out:
                    out.write(text)
            else:
                self.stdout.write(text, ending="")
            return
        if not options["file"] or not options["team"]:
            raise CommandError("import needs FILE and --team")
        team = Team.objects.filter(slug=options["team"]).first()
        if team is None:
            raise CommandError(f"no team {options['team']!r}")
        with open(options["file"], encoding="utf-8") as source:
            text = source.read()
        try:
            done = openslo_import(text=text, team=team)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        for line in done or ["nothing to change"]:
            self.stdout.write(line)
