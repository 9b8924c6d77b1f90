"""``manage.py oncall_import {grafana-oncall,opsgenie,pagerduty} --url URL --token
TOKEN [--team T] [--dry-run] [--phones FILE.csv]``: read another on-call
product's REST API and apply what it holds (teams, people, rotations,
overrides, escalation, integrations and routes) through the same idempotent
path as ``oncall_apply``; then compare who is on call with the source, hour by
hour, over the next 8 weeks.  A second run writes nothing.  The work is
``alerts.importers.run.import_run``, which the admin's import page runs too."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from alerts.importers.grafana_oncall import phones_parse
from alerts.importers.run import (
    IMPORT_ERRORS,
    SOURCES,
    import_error_text,
    import_run,
    report_lines,
)


class Command(BaseCommand):
    help = "Import teams, people, schedules and escalation from another product."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("source", choices=SOURCES)
        parser.add_argument("--url", default=None)
        parser.add_argument("--token", required=True)
        parser.add_argument("--team", default=None)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument(
            "--phones",
            default=None,
            help="CSV of email,phone (E.164) for people the source has no number "
            "for (Grafana OnCall's API has none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_run(
                source=options["source"],
                url=options["url"],
                token=options["token"],
                team=options["team"],
                dry_run=options["dry_run"],
                phones=self._phones(options["phones"]),
            )
        except IMPORT_ERRORS as exc:
            raise CommandError(import_error_text(exc)) from None
        for line in report_lines(report, dry_run=options["dry_run"]):
            self.stdout.write(line)

    def _phones(self, path: str | None) -> dict[str, str]:
        if path is None:
            return {}
        try:
            with open(path, encoding="utf-8") as f:
                return phones_parse(f.read().splitlines())
        except OSError as exc:
            raise CommandError(f"--phones {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(f"--phones {path}: {exc}") from None
