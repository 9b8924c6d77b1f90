"""Writing an import: the planned document through ``config_apply`` (the path
``manage.py oncall_apply`` takes), the source's future overrides, then the
faithfulness check, all in one transaction, whichever the source."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction

from alerts.configfile import ConfigError, config_apply
from alerts.importers.report import Check, ImportFailed, ImportReport, OverridePlan
from scheduling.models import Member, Override, Rotation
from scheduling.overrides import override_create, override_update
from scheduling.selectors import team_rows


class _DryRun(Exception):
    pass


def import_apply(
    report: ImportReport,
    *,
    check: Callable[[], list[Check]],
    also: Callable[[], int] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Apply ``report``'s plan in one transaction: the document, the overrides,
    ``also`` (a source's extra writes; returns the overrides it wrote), then
    ``check`` (who is on call, the source's against ours).  ``dry_run``: the
    same, rolled back, with no token shown.  A document the configuration
    refuses raises :class:`ImportFailed` and nothing is written."""
    try:
        with transaction.atomic():
            applied = config_apply(report.document)
            report.created = applied.created
            report.tokens = applied.tokens
            report.overrides_written = apply_overrides(report)
            if also is not None:
                report.overrides_written += also()
            report.checks = check()
            if dry_run:
                raise _DryRun
    except _DryRun:
        report.tokens = {}
    except ConfigError as exc:
        raise ImportFailed(f"{exc.where()}: {exc.message}") from None
    return report


def _holds_role(item: OverridePlan, rotation: Rotation) -> bool:
    _, shifts, _ = team_rows(team=rotation.team, start=item.starts_at, end=item.ends_at)
    return any(s.rotation_id == rotation.pk and s.role == item.role for s in shifts)


def apply_overrides(report: ImportReport) -> int:
    """A source override goes on every layer (rotation) it is about that has
    shifts in its time: whichever layer is on top then, it applies there."""
    written = 0
    for item in report.overrides:
        member = Member.objects.get(user__username=item.username)
        rotations = [Rotation.objects.get(slug=slug) for slug in item.rotation_slugs]
        covering = [r for r in rotations if _holds_role(item, r)]
        if not covering:
            report.problems.append(
                f"override {item.source_id}: no imported layer has a {item.role} "
                "then (an override here changes who, never adds coverage)"
            )
        for rotation in covering:
            slug = rotation.slug
            reason = f"{report.override_reason}:{item.source_id}"
            existing = Override.objects.filter(rotation=rotation, reason=reason).first()
            try:
                if existing is None:
                    override_create(
                        rotation=rotation,
                        role=item.role,
                        reason=reason,
                        member=member,
                        starts_at=item.starts_at,
                        ends_at=item.ends_at,
                    )
                    written += 1
                elif not item.same_as(existing, member):
                    keep_start = item.started and existing.starts_at <= item.starts_at
                    override_update(
                        override=existing,
                        member=member,
                        starts_at=existing.starts_at if keep_start else item.starts_at,
                        ends_at=item.ends_at,
                    )
                    written += 1
            except ValidationError as exc:
                report.problems.append(
                    f"override {item.source_id} on {slug}: {'; '.join(exc.messages)}"
                )
    return written
