"""Processing one stored webhook into alerts and incidents.

Processing is idempotent (a processed delivery is never processed again) and safe
under concurrent workers: the partial unique constraint allows one open incident per
group, so a worker that loses the race to open it gets ``IntegrityError``, rolls back
and retries, and then finds the winner's incident.  Alerts carry the receipt time of
the delivery that last changed them, so a delivery processed late never undoes newer
news (a stale "firing" cannot reopen a group that has since resolved).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import (
    IntegrityError,
    OperationalError,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from alerts.bulk_update import update_objects
from alerts.incidents.state import (
    incident_open,
    incident_record_truncation,
    incident_reopen,
    incident_resolve,
)
from alerts.incidents.tiers import burn_tiers_changed
from alerts.intake.deadman import deadman_seen
from alerts.intake.inbox import MAX_ATTEMPTS
from alerts.intake.parse import AlertData, Payload, PayloadError, parse_payload
from alerts.intake.rules import (
    ALERT_UPDATE_FIELDS,
    AlertChange,
    alert_names,
    alerts_dedupe,
    firing_labels,
    incident_spec,
    maintenance_note,
)
from alerts.models import (
    OPEN_STATUSES,
    Alert,
    Incident,
    IncidentAlert,
    Integration,
    TimelineEntry,
    WebhookDelivery,
    hash_group_key,
)
from alerts.routing import choose_route
from alerts.selectors import maintenance_active, route_rules

logger = logging.getLogger(__name__)

_RACE_RETRIES = 5


_FIRING = Alert.Status.FIRING


_RESOLVED = Alert.Status.RESOLVED


def delivery_process_one(delivery_id: int) -> str:
    for attempt in range(1, _RACE_RETRIES + 1):
        try:
            with transaction.atomic():
                return delivery_apply(delivery_id)
        except IntegrityError:
            # Another worker created the same alert or opened the same group's
            # incident between our read and our write.  Start over: we now see it.
            if attempt == _RACE_RETRIES:
                raise
            logger.info("delivery %s lost a race, retrying", delivery_id)
        except OperationalError as exc:
            # SQLite "database is locked" or a PostgreSQL deadlock/serialization
            # failure: transient by nature.
            if attempt == _RACE_RETRIES:
                raise
            logger.info("delivery %s: %s, retrying", delivery_id, exc)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def delivery_record_failure(*, delivery_id: int, error: str) -> None:
    """Remember why processing failed; the sweep tries again later."""
    WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=True).update(
        error=error[:5000],
        attempts=F("attempts") + 1,
        last_attempt_at=timezone.now(),
    )


def _finish(delivery: WebhookDelivery, result: str, now: datetime) -> str:
    delivery.processed_at = now
    delivery.result = result
    delivery.error = ""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.save(
        update_fields=["processed_at", "result", "error", "attempts", "last_attempt_at"]
    )
    return result


def delivery_apply(delivery_id: int) -> str:
    delivery = (
        # of=self: never lock the integration row (webhook INSERTs share-lock it).
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("integration")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        return "gone"
    if delivery.processed_at is not None:
        return "already processed"
    now = timezone.now()
    integration = delivery.integration
    try:
        payload = parse_payload(delivery.body)
    except (ValueError, PayloadError) as exc:
        # Validated at intake, so only a body stored before a check was added gets
        # here.  Retrying cannot help: give up at once, and the inbox sweep pages
        # somebody about it (``intake/unprocessable.py``), as after failed retries.
        error = f"invalid payload: {exc}"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            error=error[:5000], attempts=MAX_ATTEMPTS, last_attempt_at=now
        )
        return f"not processed: {error}"

    received = delivery.received_at
    alerts = alerts_dedupe(payload.alerts)
    notes: list[str] = []
    if integration.heartbeat_alertname:
        beats = [
            a
            for a in alerts
            if a.labels.get("alertname") == integration.heartbeat_alertname
        ]
        if beats:
            alerts = [a for a in alerts if a not in beats]
            if any(a.firing for a in beats):
                deadman_seen(integration=integration, at=received)
                notes.append("heartbeat")
    if not alerts:
        return _finish(delivery, ", ".join(notes) or "nothing to do", now)

    changes, stale = _upsert_alerts(integration, alerts, received, now)
    if stale:
        notes.append(f"{stale} stale alert update(s) ignored")
    result = _apply_to_incident(integration, payload, changes, received, now)
    return _finish(delivery, "; ".join([result, *notes]), now)


def _upsert_alerts(
    integration: Integration,
    alerts: list[AlertData],
    received: datetime,
    now: datetime,
) -> tuple[list[AlertChange], int]:
    """Insert or update one row per fingerprint; returns the changes applied and
    how many updates were older than what we already had."""
    existing = {
        a.fingerprint: a
        for a in Alert.objects.select_for_update()
        .filter(
            integration=integration, fingerprint__in=[a.fingerprint for a in alerts]
        )
        .order_by("pk")
    }
    changes: list[AlertChange] = []
    created: list[Alert] = []
    updated: list[Alert] = []
    stale = 0
    for data in alerts:
        row = existing.get(data.fingerprint)
        if row is None:
            row = Alert(
                integration=integration,
                fingerprint=data.fingerprint,
                labels=data.labels,
                annotations=data.annotations,
                status=data.status,
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                generator_url=data.generator_url,
                last_received_at=received,
                created_at=now,
                updated_at=now,
            )
            created.append(row)
            changes.append(AlertChange(row, None, data.status))
            continue
        if row.last_received_at > received:
            stale += 1
            continue
        before = row.status
        # The latest notification's labels and annotations replace the old ones:
        # Alertmanager re-sends them whole (a resolve may come with none at all).
        row.labels = data.labels
        row.annotations = data.annotations
        row.status = data.status
        row.starts_at = data.starts_at
        row.ends_at = data.ends_at
        row.generator_url = data.generator_url
        row.last_received_at = received
        row.updated_at = now
        updated.append(row)
        changes.append(AlertChange(row, before, data.status))
    if created:
        # A concurrent worker inserting the same fingerprint makes this raise
        # IntegrityError; delivery_process retries and then updates its row.
        Alert.objects.bulk_create(created)
    update_objects(updated, ALERT_UPDATE_FIELDS)
    return changes, stale


def incident_open_or_reopen(
    integration: Integration,
    payload: Payload,
    group_hash: str,
    firing: list[AlertChange],
    received: datetime,
    now: datetime,
) -> tuple[Incident, str, bool]:
    """Open the group's incident, or reopen its recently resolved one; returns
    the incident, what happened, and whether it is brand new.

    Public as the step where two workers race for the same group (the unique
    constraint refuses the loser's insert): tests stand in for the loser here.
    """
    if integration.reopen_window:
        recent = (
            Incident.objects.select_for_update()
            .filter(
                integration=integration,
                group_key_hash=group_hash,
                status=Incident.Status.RESOLVED,
                resolved_at__gte=received
                - timedelta(seconds=integration.reopen_window),
            )
            .order_by("-resolved_at")
            .first()
        )
        if recent is not None:
            incident_reopen(
                incident=recent,
                reason=f"reopened: the group fired again ({alert_names(firing)}) "
                f"within {integration.reopen_window}s of resolving",
                at=now,
                alert_labels=firing_labels(firing),
            )
            return recent, f"reopened incident #{recent.pk}", False

    alert_labels = firing_labels(firing)
    choice = choose_route(
        route_rules(integration_id=integration.pk),
        payload.common_labels or payload.group_labels,
        default_team_id=integration.team_id,
        alert_labels=alert_labels,
    )
    window = maintenance_active(
        integration_id=integration.pk, team_id=choice.team_id, at=received
    )
    spec = incident_spec(payload, choice, alert_labels)
    count = len(firing)
    incident = incident_open(
        integration=integration,
        spec=spec,
        in_maintenance=window is not None,
        maintenance_note=maintenance_note(window),
        opened_text=f"opened by Alertmanager: {count} alert{'s' if count > 1 else ''}"
        f" firing ({alert_names(firing)})",
        at=now,
    )
    return incident, f"opened incident #{incident.pk}", True


def _apply_to_incident(
    integration: Integration,
    payload: Payload,
    changes: list[AlertChange],
    received: datetime,
    now: datetime,
) -> str:
    """Attach the changed alerts to their group's open incident (opening or
    reopening one when an alert fires), and resolve it once none is firing."""
    group_hash = hash_group_key(payload.group_key)
    incident = (
        Incident.objects.select_for_update()
        .filter(
            integration=integration,
            group_key_hash=group_hash,
            status__in=OPEN_STATUSES,
        )
        .first()
    )
    firing = [c for c in changes if c.after == _FIRING]
    opened = brand_new = False
    if incident is None:
        if not firing:
            return _resolved_without_open_incident(
                integration, group_hash, changes, now
            )
        incident, outcome, brand_new = incident_open_or_reopen(
            integration, payload, group_hash, firing, received, now
        )
        opened = True
    else:
        outcome = f"attached to incident #{incident.pk}"
        Incident.objects.filter(pk=incident.pk).update(
            last_notified_at=received, notifications=F("notifications") + 1
        )
    linked = _link_alerts(
        incident, changes, received, now, opened=opened, brand_new=brand_new
    )
    if not opened:
        incident_record_truncation(
            incident=incident, truncated=payload.truncated_alerts, at=now
        )
    if not linked:
        return f"{outcome} (repeat: nothing changed)"
    return _resolve_when_none_firing(incident, changes, outcome, now, opened=opened)


def _link_alerts(
    incident: Incident,
    changes: list[AlertChange],
    received: datetime,
    now: datetime,
    *,
    opened: bool,
    brand_new: bool,
) -> int:
    """Record each change on the incident's alert links, with a timeline entry;
    returns how many links were added or changed."""
    links = (
        {}
        if brand_new
        else {
            link.alert_id: link
            for link in IncidentAlert.objects.filter(
                incident=incident, alert_id__in=[c.alert.pk for c in changes]
            )
        }
    )
    new_links: list[IncidentAlert] = []
    changed_links: list[IncidentAlert] = []
    entries: list[TimelineEntry] = []
    for change in changes:
        alert = change.alert
        link = links.get(alert.pk)
        resolved_at = (alert.ends_at or received) if change.after == _RESOLVED else None
        if link is None:
            new_links.append(
                IncidentAlert(
                    incident=incident,
                    alert=alert,
                    status=change.after,
                    added_at=now,
                    resolved_at=resolved_at,
                )
            )
            if opened and change.after == _FIRING:
                continue  # listed in the "opened" entry already
        elif link.status != change.after:
            link.status = change.after
            link.resolved_at = resolved_at
            changed_links.append(link)
        else:
            continue
        entries.append(
            alert_change_entry(incident, change, now, linked=link is not None)
        )
    if new_links:
        IncidentAlert.objects.bulk_create(new_links)
    update_objects(changed_links, ["status", "resolved_at"])
    if entries:
        TimelineEntry.objects.bulk_create(entries)
    return len(new_links) + len(changed_links)


def alert_change_entry(
    incident: Incident, change: AlertChange, at: datetime, *, linked: bool
) -> TimelineEntry:
    """The timeline entry for one alert changing state on the incident (``linked``:
    it was on the incident already)."""
    name = change.alert.name
    if change.after == _FIRING:
        kind = TimelineEntry.Kind.ALERT_FIRING
        text = f"alert firing again: {name}" if linked else f"alert firing: {name}"
    else:
        kind = TimelineEntry.Kind.ALERT_RESOLVED
        never_seen = not linked and change.before is None
        text = (
            f"alert resolved, never seen firing: {name}"
            if never_seen
            else f"alert resolved: {name}"
        )
    return TimelineEntry(incident=incident, at=at, kind=kind, text=text)


def _resolve_when_none_firing(
    incident: Incident,
    changes: list[AlertChange],
    outcome: str,
    now: datetime,
    *,
    opened: bool,
) -> str:
    still_firing = IncidentAlert.objects.filter(
        incident=incident, status=_FIRING
    ).count()
    if still_firing and not opened:
        # Open with its firing alerts changed: its burn-rate tier may have too
        # (alerts/incidents/tiers.py; no query unless it can carry one).
        burn_tiers_changed(incidents=[incident], at=now)
    if still_firing == 0:
        total = IncidentAlert.objects.filter(incident=incident).count()
        incident_resolve(
            incident=incident,
            how="alerts",
            text=f"resolved: all {total} alert{'s' if total > 1 else ''} resolved",
            at=now,
        )
        return f"{outcome}; resolved it (all alerts resolved)"
    resolved_now = sum(1 for c in changes if c.after == _RESOLVED)
    if resolved_now:
        return f"{outcome}; {still_firing} alert(s) still firing"
    return outcome


def _resolved_without_open_incident(
    integration: Integration, group_hash: str, changes: list[AlertChange], now: datetime
) -> str:
    """Only resolved alerts, and no open incident: a re-sent resolve, or a resolve
    for alerts we never saw.  Record it on the group's last incident if it had these
    alerts; open nothing."""
    latest = (
        Incident.objects.filter(integration=integration, group_key_hash=group_hash)
        .order_by("-opened_at", "-pk")
        .first()
    )
    if latest is None:
        return f"{len(changes)} resolved alert(s) recorded; no incident for the group"
    links = IncidentAlert.objects.filter(
        incident=latest,
        alert_id__in=[c.alert.pk for c in changes],
        status=_FIRING,
    )
    by_alert = {c.alert.pk: c for c in changes}
    entries = []
    for link in links:
        alert = by_alert[link.alert_id].alert
        link.status = _RESOLVED
        link.resolved_at = alert.ends_at or now
        link.save(update_fields=["status", "resolved_at"])
        entries.append(
            TimelineEntry(
                incident=latest,
                at=now,
                kind=TimelineEntry.Kind.ALERT_RESOLVED,
                text=f"alert resolved after the incident was closed: {alert.name}",
            )
        )
    TimelineEntry.objects.bulk_create(entries)
    return (
        f"incident #{latest.pk} already resolved; "
        f"{len(changes)} resolved alert(s) recorded"
    )
