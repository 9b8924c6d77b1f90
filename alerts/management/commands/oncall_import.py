"""``manage.py oncall_import {grafana-oncall,opsgenie,pagerduty} --url URL --token
TOKEN [--team T] [--dry-run] [--phones FILE.csv]``: read another on-call
product's REST API and apply what it holds (teams, people, rotations,
overrides, escalation, integrations and routes) through the same idempotent
path as ``oncall_apply``; then compare who is on call with the source, hour by
hour, over the next 8 weeks.  A second run writes nothing."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alerts.importers.client import SourceClient, SourceError
from alerts.importers.grafana_oncall import (
    grafana_oncall_apply,
    grafana_oncall_client,
    grafana_oncall_read,
    phones_parse,
)
from alerts.importers.opsgenie import opsgenie_apply, opsgenie_client, opsgenie_read
from alerts.importers.pagerduty import (
    ImportFailed,
    ImportReport,
    pagerduty_apply,
    pagerduty_client,
    pagerduty_read,
)

SOURCES = ("grafana-oncall", "opsgenie", "pagerduty")
DEFAULT_URLS = {
    # Grafana OnCall OSS's engine on its default port; Grafana Cloud users give
    # their stack's OnCall API URL (Settings -> API URL).
    "grafana-oncall": "http://localhost:8080",
    # Opsgenie's EU accounts: --url https://api.eu.opsgenie.com
    "opsgenie": "https://api.opsgenie.com",
    "pagerduty": "https://api.pagerduty.com",
}
# Each source's (client, read, apply): the same shapes, so the admin's import
# task can call them as this command does.  Only Grafana OnCall's read takes
# ``phones`` (its API has no phone numbers).
Importer = tuple[
    Callable[..., SourceClient],
    Callable[..., ImportReport],
    Callable[..., ImportReport],
]
IMPORTERS: dict[str, Importer] = {
    "grafana-oncall": (
        grafana_oncall_client,
        grafana_oncall_read,
        grafana_oncall_apply,
    ),
    "opsgenie": (opsgenie_client, opsgenie_read, opsgenie_apply),
    "pagerduty": (pagerduty_client, pagerduty_read, pagerduty_apply),
}
SHOWN_DISAGREEMENTS = 10


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
        source = options["source"]
        url = options["url"] or DEFAULT_URLS[source]
        make_client, read, apply = IMPORTERS[source]
        phones = self._phones(options["phones"])
        extra = {"phones": phones} if source == "grafana-oncall" else {}
        now = timezone.now()
        client = make_client(url=url, token=options["token"])
        try:
            report = read(client=client, team=options["team"], now=now, **extra)
            report = apply(
                report=report, client=client, now=now, dry_run=options["dry_run"]
            )
        except (SourceError, ImportFailed) as exc:
            raise CommandError(f"{exc} (nothing was written)") from None
        finally:
            client.close()
        self._print(report, dry_run=options["dry_run"])

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

    def _print(self, report: ImportReport, *, dry_run: bool) -> None:
        out = self.stdout.write
        if dry_run:
            out("dry run: nothing was written; the plan:")
            for section, entries in report.document.items():
                for entry in entries:
                    key = entry.get("slug") or entry.get("username")
                    out(f"  {section}: {key} ({entry.get('name', '')})")
            out(f"  overrides: {len(report.overrides)}")
        verb = "would create" if dry_run else "created"
        for created in report.created:
            out(f"{verb} {created}")
        if not dry_run:
            out(f"overrides written: {report.overrides_written}")
            if not report.created and not report.overrides_written:
                out("nothing changed")
        for slug, token in report.tokens.items():
            out(f"integration {slug}: its token, shown this once: {token}")
        self._print_checks(report)

    def _print_checks(self, report: ImportReport) -> None:
        out = self.stdout.write
        for check in report.checks:
            note = f" ({check.note})" if check.note else ""
            out(f"faithfulness {check.line()}{note}")
            for line in check.disagreements[:SHOWN_DISAGREEMENTS]:
                out(f"  {line}")
        if report.problems:
            out("not imported or not exact:")
            for problem in report.problems:
                out(f"  - {problem}")
