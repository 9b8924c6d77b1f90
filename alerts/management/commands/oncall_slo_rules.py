"""``manage.py oncall_slo_rules [FILE]``: the burn-rate alerts of every ratio SLO
as a Prometheus rules file (stdout by default); ``promtool check rules`` accepts
it."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from alerts.models import SLO
from alerts.slos.rules import slo_rules_yaml


class Command(BaseCommand):
    help = "Write the SLOs' burn-rate alerts as a Prometheus rules file."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", nargs="?", help="write here instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        text = slo_rules_yaml(SLO.objects.select_related("service").order_by("pk"))
        if options["file"]:
            with open(options["file"], "w", encoding="utf-8") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
