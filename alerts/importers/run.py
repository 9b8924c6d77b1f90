"""One way to run an import, whatever starts it: ``manage.py oncall_import`` and
the admin's import page (through a Celery task) both call :func:`import_run`.

Each source module offers the same entry points -- ``<source>_client(url=,
token=)``, ``<source>_read(client=, team=, now=)`` and ``<source>_apply(report=,
client=, now=, dry_run=)`` (which ends with the faithfulness check) -- and is one
row of :data:`IMPORTERS`.  :func:`report_lines` is the report as text, the same
for the command's output and the admin page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from alerts.importers.client import SourceClient, SourceError
from alerts.importers.grafana_oncall import (
    grafana_oncall_apply,
    grafana_oncall_client,
    grafana_oncall_read,
)
from alerts.importers.opsgenie import opsgenie_apply, opsgenie_client, opsgenie_read
from alerts.importers.pagerduty import (
    pagerduty_apply,
    pagerduty_client,
    pagerduty_read,
)
from alerts.importers.report import ImportFailed, ImportReport

# (stage, done, total): called as each stage starts, and once at the end with
# done == total.
Progress = Callable[[str, int, int], None]

STAGE_READ = "reading the source"
STAGE_APPLY = "applying, then checking who is on call hour by hour"
STAGE_DONE = "done"
STAGES = 2

# What an import refuses with: a clear message, nothing written.
IMPORT_ERRORS: tuple[type[Exception], ...] = (SourceError, ImportFailed)
SHOWN_DISAGREEMENTS = 10


@dataclass(frozen=True)
class Importer:
    client: Callable[..., SourceClient]
    read: Callable[..., ImportReport]
    apply: Callable[..., ImportReport]
    default_url: str
    # The source's API has no phone numbers: its read takes ``phones`` (email ->
    # E.164) from the operator.
    takes_phones: bool = False


IMPORTERS: dict[str, Importer] = {
    "grafana-oncall": Importer(
        client=grafana_oncall_client,
        read=grafana_oncall_read,
        apply=grafana_oncall_apply,
        # Grafana OnCall OSS's engine on its default port; Grafana Cloud users
        # give their stack's OnCall API URL (Settings -> API URL).
        default_url="http://localhost:8080",
        takes_phones=True,
    ),
    "opsgenie": Importer(
        client=opsgenie_client,
        read=opsgenie_read,
        apply=opsgenie_apply,
        default_url="https://api.opsgenie.com",  # EU: https://api.eu.opsgenie.com
    ),
    "pagerduty": Importer(
        client=pagerduty_client,
        read=pagerduty_read,
        apply=pagerduty_apply,
        default_url="https://api.pagerduty.com",
    ),
}
SOURCES = tuple(IMPORTERS)


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def import_run(
    *,
    source: str,
    url: str | None,
    token: str,
    team: str | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    progress: Progress = _quiet,
    phones: dict[str, str] | None = None,
) -> ImportReport:
    """Read ``source`` at ``url`` (its public API by default) and apply what it
    holds, then check it hour by hour; ``dry_run`` rolls the writes back.  Raises
    one of :data:`IMPORT_ERRORS` with nothing written."""
    importer = IMPORTERS.get(source)
    if importer is None:
        raise ImportFailed(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    now = now or timezone.now()
    client = importer.client(url=url or importer.default_url, token=token)
    try:
        progress(STAGE_READ, 0, STAGES)
        extra = {"phones": phones or {}} if importer.takes_phones else {}
        report = importer.read(client=client, team=team or None, now=now, **extra)
        progress(STAGE_APPLY, 1, STAGES)
        report = importer.apply(report=report, client=client, now=now, dry_run=dry_run)
    finally:
        client.close()
    progress(STAGE_DONE, STAGES, STAGES)
    return report


def report_lines(
    report: ImportReport, *, dry_run: bool, show_tokens: bool = True
) -> list[str]:
    """The report as lines of text: the plan (dry run) or what was written, new
    integrations' tokens (only when ``show_tokens``: the command prints them once;
    the admin stores its report, so it never holds them), the faithfulness check
    per team with its first disagreements, and what could not be imported."""
    out: list[str] = []
    if dry_run:
        out.append("dry run: nothing was written; the plan:")
        for section, entries in report.document.items():
            for entry in entries:
                key = entry.get("slug") or entry.get("username")
                out.append(f"  {section}: {key} ({entry.get('name', '')})")
        out.append(f"  overrides: {len(report.overrides)}")
    verb = "would create" if dry_run else "created"
    out += [f"{verb} {created}" for created in report.created]
    if not dry_run:
        out.append(f"overrides written: {report.overrides_written}")
        # Grafana OnCall's notification rules, as contact rules.
        rules = getattr(report, "contact_rules_written", 0)
        if rules:
            out.append(f"contact rules written: {rules}")
        if not report.created and not report.overrides_written and not rules:
            out.append("nothing changed")
    for slug, token in report.tokens.items():
        if show_tokens:
            out.append(f"integration {slug}: its token, shown this once: {token}")
        else:
            out.append(
                f"integration {slug}: a token was made and not kept; rotate it on "
                "the integration's admin page to see a new one"
            )
    out += _check_lines(report)
    return out


def _check_lines(report: ImportReport) -> list[str]:
    out = []
    for check in report.checks:
        note = f" ({check.note})" if check.note else ""
        out.append(f"faithfulness {check.line()}{note}")
        out += [f"  {line}" for line in check.disagreements[:SHOWN_DISAGREEMENTS]]
    if report.problems:
        out.append("not imported or not exact:")
        out += [f"  - {problem}" for problem in report.problems]
    return out


def import_error_text(exc: Exception) -> str:
    return f"{exc} (nothing was written)"
