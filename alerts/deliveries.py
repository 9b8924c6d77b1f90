"""The inbox: store a webhook, process it into alerts and incidents, sweep leftovers.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from alerts import heartbeat
from alerts.incidents import (
    IncidentSpec,
    incident_open,
    incident_record_truncation,
    incident_reopen,
    incident_resolve,
)
from alerts.intake import AlertData, Payload, PayloadError, parse_payload
from alerts.models import (
    OPEN_STATUSES,
    Alert,
    Incident,
    IncidentAlert,
    Integration,
    MaintenanceWindow,
    TimelineEntry,
    WebhookDelivery,
    alert_display_name,
    hash_group_key,
)
from alerts.routing import RouteChoice, choose_route
from alerts.selectors import maintenance_active, route_rules
from oncall.celery import enqueue_on_commit

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 10
# What a newer notification about a known alert updates (one and batch paths).
ALERT_UPDATE_FIELDS = [
    "labels",
    "annotations",
    "status",
    "starts_at",
    "ends_at",
    "generator_url",
    "last_received_at",
    "updated_at",
]
_RACE_RETRIES = 5
_FIRING = Alert.Status.FIRING
_RESOLVED = Alert.Status.RESOLVED


def delivery_receive(
    *,
    integration_id: int,
    body: str,
    headers: dict[str, str],
    auth: str,
    group_key: str,
) -> int:
    """Store an accepted webhook and enqueue its processing once committed.

    This is all the webhook view does after validating: one INSERT, one commit, and
    a publish (or, under a storm, one Redis SET that finds a task already queued:
    see ``alerts.wakeup``).  If the broker is down the publish fails quietly and the
    sweep picks the row up later.
    """
    from alerts import wakeup

    # One INSERT in autocommit mode is its own transaction: the row is committed when
    # create() returns, and the on-commit callback runs at once.  (An explicit atomic
    # block would only add BEGIN/COMMIT round trips on the hottest path we have.)
    # Inside a caller's transaction the wake-up still waits for its commit, which
    # alerts.wakeup relies on.
    values = {
        "integration_id": integration_id,
        "body": body,
        "headers": headers,
        "auth": auth,
        "group_key": group_key,
    }
    delivery_id = _with_reconnect(lambda: _insert(values))
    transaction.on_commit(lambda: wakeup.wake_processing(delivery_id))
    return delivery_id


_INSERT_FIELDS = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
_insert_sql: dict[str, str] = {}


def _insert(values: dict[str, object]) -> int:
    """``INSERT ... RETURNING id`` of a new delivery with these field values (by
    attribute name; the others take their defaults); returns its id.

    What ``Model.save()`` does for a new row (defaults, then each field's own
    conversion to its database value), minus building a model instance and the
    query compiler, which together cost more than the INSERT's round trip on the
    webhook's hot path.  WebhookDelivery has no save signals.
    """
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
        marks = ", ".join(["%s"] * len(_INSERT_FIELDS))
        sql = _insert_sql[connection.vendor] = (
            f"INSERT INTO {quote(WebhookDelivery._meta.db_table)} "  # noqa: S608
            f"({columns}) VALUES ({marks}) RETURNING {quote('id')}"
        )
    params = [
        field.get_db_prep_save(
            values[field.attname] if field.attname in values else field.get_default(),
            connection,
        )
        for field in _INSERT_FIELDS
    ]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _insert_prepared(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _insert_prepared(sql: str, params: list) -> int:
    """The INSERT as a prepared statement with server-side parameters: PostgreSQL
    parses and plans it once per connection instead of once per webhook.  Django's
    own cursors bind parameters client-side (``server_side_binding`` off), which
    suits the rest of the project; this one statement is the hot path."""
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchone()[0]


def _with_reconnect(write: Callable[[], T]) -> T:
    """Run one autocommit write on the request's connection without Django's
    per-request health check, reconnecting once if the connection turns out dead.

    ``CONN_HEALTH_CHECKS`` costs a ``SELECT 1`` round trip before the first query of
    every request: on the webhook, whose only query is its INSERT, that was a
    third of its time under load.  The check exists for a connection that died
    while idle (the database restarted); here the write itself finds that out,
    and is simply made again on a new connection.  If the database is really
    down, the second attempt raises and the client gets the 503 of
    ``oncall.middleware``.  A write repeated after a commit whose answer was lost
    stores the webhook twice, which processing treats as the repeat it is.
    """
    if connection.in_atomic_block:
        return write()  # the caller's transaction: nothing to redo on our own
    if connection.connection is not None:
        connection.health_check_done = True  # Django's flag: "checked this request"
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.is_usable():
            raise
        logger.info("database connection was dead; reconnecting")
        connection.close()
        return write()


# --- processing ---------------------------------------------------------------


# Bounds the time one task spends draining a backlog; a task that runs out hands
# the rest to a fresh task at the back of the queue.  Short, so that during a long
# storm the escalation and paging tasks queued meanwhile run in between: with one
# worker process a page must never wait behind the whole storm.
DRAIN_SECONDS = 2.0


def delivery_process(*, delivery_id: int, batch: bool = True) -> str:
    """Process one delivery; returns what it did (also stored on the row).

    With ``batch`` (the default, what the task does) this drains the inbox first:
    every pending delivery, oldest first, in bulk batches, including this one.
    Under a storm one task serves every webhook stored before it started
    (``alerts.wakeup`` then publishes no task for them at all).
    """
    if batch:
        from alerts import wakeup

        wakeup.queued_task_started()  # before the first claim: see alerts.wakeup
        deliveries_drain()
        result = (
            WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=False)
            .values_list("result", flat=True)
            .first()
        )
        if result is not None:
            return result
    return _process_one(delivery_id)


def deliveries_drain(*, seconds: float = DRAIN_SECONDS) -> int:
    """Process pending deliveries until none is left; returns how many.

    Bulk batches; if a batch fails it rolls back whole, and its deliveries are
    processed one by one instead, each failure recorded on its own row.  Keeps the
    promise of ``alerts.wakeup`` (a last claim at or after the promised time).
    After ``seconds`` with work still pending, hands the rest to a fresh task at
    the back of the queue.
    """
    from alerts.batch import deliveries_process_batch
    from alerts.wakeup import Drain

    deadline = time.monotonic() + seconds
    limit = settings.ALERTMANAGER_BATCH_SIZE
    wait = settings.ALERTMANAGER_BATCH_WAIT_MS / 1000
    drain = Drain()
    drain.promise()
    total = 0
    while True:
        began = time.time()
        try:
            claimed = deliveries_process_batch(limit=limit)
        except Exception:
            logger.warning(
                "batch processing failed; processing one by one", exc_info=True
            )
            claimed = _process_pending_one_by_one()
        if not claimed:
            pause = drain.wait_before_stopping(began)
            if not pause:
                return total
            time.sleep(pause)
            continue
        total += claimed
        if time.monotonic() >= deadline and _hand_over():
            return total
        if claimed < limit and wait:
            # The inbox is empty and webhooks are still arriving (a storm): wait for
            # a fuller batch rather than spend a transaction on every few of them.
            # Per-batch costs are most of a small batch's; under a storm the worker
            # would otherwise take the CPU the web processes need to accept.
            time.sleep(wait)
        drain.promise()


def _hand_over() -> bool:
    """Publish a fresh task for what is still pending (True), so that the escalation
    and paging tasks queued meanwhile run first; False if nothing is pending."""
    oldest = (
        WebhookDelivery.objects.filter(processed_at__isnull=True, error="")
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if oldest is None:
        return False
    from alerts.tasks import process_delivery

    try:
        process_delivery.apply_async(args=(oldest,))
    except Exception:
        logger.warning("could not hand the backlog over; the sweep will")
    return True


def _process_pending_one_by_one(limit: int = 100) -> int:
    ids = list(
        WebhookDelivery.objects.filter(processed_at__isnull=True, error="")
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        try:
            _process_one(pk)
        except Exception as exc:
            # Recorded (so the drain moves on); the sweep retries it later.
            logger.exception("delivery %s failed", pk)
            delivery_record_failure(
                delivery_id=pk, error=f"{type(exc).__name__}: {exc}"
            )
    return len(ids)


def _process_one(delivery_id: int) -> str:
    for attempt in range(1, _RACE_RETRIES + 1):
        try:
            with transaction.atomic():
                return _process(delivery_id)
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


@dataclass
class _Change:
    alert: Alert
    before: str | None  # None: first time we see this fingerprint
    after: str


def _process(delivery_id: int) -> str:
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
    except (ValueError, PayloadError) as exc:  # validated at intake; defensive
        return _finish(delivery, f"not processed: invalid payload: {exc}", now)

    received = delivery.received_at
    alerts = _dedupe(payload.alerts)
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
                heartbeat.heartbeat_seen(integration=integration, at=received)
                notes.append("heartbeat")
    if not alerts:
        return _finish(delivery, ", ".join(notes) or "nothing to do", now)

    changes, stale = _upsert_alerts(integration, alerts, received, now)
    if stale:
        notes.append(f"{stale} stale alert update(s) ignored")
    result = _apply_to_incident(integration, payload, changes, received, now)
    return _finish(delivery, "; ".join([result, *notes]), now)


def _dedupe(alerts: tuple[AlertData, ...]) -> list[AlertData]:
    """One entry per fingerprint (the last wins), in payload order."""
    by_fp: dict[str, AlertData] = {}
    for alert in alerts:
        by_fp[alert.fingerprint] = alert
    return list(by_fp.values())


def _upsert_alerts(
    integration: Integration,
    alerts: list[AlertData],
    received: datetime,
    now: datetime,
) -> tuple[list[_Change], int]:
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
    changes: list[_Change] = []
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
            changes.append(_Change(row, None, data.status))
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
        changes.append(_Change(row, before, data.status))
    if created:
        # A concurrent worker inserting the same fingerprint makes this raise
        # IntegrityError; delivery_process retries and then updates its row.
        Alert.objects.bulk_create(created)
    if updated:
        Alert.objects.bulk_update(updated, ALERT_UPDATE_FIELDS)
    return changes, stale


def _title(payload: Payload) -> str:
    labels = payload.common_labels or payload.group_labels
    alertname = labels.get("alertname") or payload.group_labels.get("alertname")
    summary = payload.common_annotations.get(
        "summary"
    ) or payload.common_annotations.get("description", "")
    if not alertname:
        alertname = ", ".join(f"{k}={v}" for k, v in payload.group_labels.items())
    alertname = alertname or "alert"
    return f"{alertname}: {summary}" if summary else alertname


def incident_spec(payload: Payload, choice: RouteChoice) -> IncidentSpec:
    """What an incident opened for this group records (one- and batch paths)."""
    return IncidentSpec(
        group_key=payload.group_key,
        title=_title(payload),
        team_id=choice.team_id,
        route_id=choice.route_id,
        routing=choice.decision,
        urgency=choice.urgency,
        group_labels=payload.group_labels,
        common_labels=payload.common_labels,
        common_annotations=payload.common_annotations,
        external_url=payload.external_url,
        truncated_alerts=payload.truncated_alerts,
    )


def _names(changes: list[_Change], limit: int = 10) -> str:
    names = [alert_display_name(c.alert.labels) for c in changes[:limit]]
    more = len(changes) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _open_or_reopen(
    integration: Integration,
    payload: Payload,
    group_hash: str,
    firing: list[_Change],
    received: datetime,
    now: datetime,
) -> tuple[Incident, str, bool]:
    """Returns the incident, what happened, and whether it is brand new."""
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
                reason=f"reopened: the group fired again ({_names(firing)}) "
                f"within {integration.reopen_window}s of resolving",
                at=now,
            )
            return recent, f"reopened incident #{recent.pk}", False

    choice = choose_route(
        route_rules(integration_id=integration.pk),
        payload.common_labels or payload.group_labels,
        default_team_id=integration.team_id,
    )
    window = maintenance_active(
        integration_id=integration.pk, team_id=choice.team_id, at=received
    )
    spec = incident_spec(payload, choice)
    count = len(firing)
    incident = incident_open(
        integration=integration,
        spec=spec,
        in_maintenance=window is not None,
        maintenance_note=_maintenance_note(window),
        opened_text=f"opened by Alertmanager: {count} alert{'s' if count > 1 else ''}"
        f" firing ({_names(firing)})",
        at=now,
    )
    return incident, f"opened incident #{incident.pk}", True


def _maintenance_note(window: MaintenanceWindow | None) -> str:
    if window is None:
        return ""
    return (
        f"opened during maintenance window #{window.pk} ({window.reason}, until "
        f"{window.ends_at:%Y-%m-%d %H:%M} UTC): not escalated"
    )


def _apply_to_incident(
    integration: Integration,
    payload: Payload,
    changes: list[_Change],
    received: datetime,
    now: datetime,
) -> str:
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
        incident, outcome, brand_new = _open_or_reopen(
            integration, payload, group_hash, firing, received, now
        )
        opened = True
    else:
        outcome = f"attached to incident #{incident.pk}"
        Incident.objects.filter(pk=incident.pk).update(
            last_notified_at=received, notifications=F("notifications") + 1
        )

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
            if change.after == _FIRING:
                text = f"alert firing: {alert.name}"
            elif change.before is None:
                text = f"alert resolved, never seen firing: {alert.name}"
            else:
                text = f"alert resolved: {alert.name}"
            kind = (
                TimelineEntry.Kind.ALERT_FIRING
                if change.after == _FIRING
                else TimelineEntry.Kind.ALERT_RESOLVED
            )
            entries.append(
                TimelineEntry(incident=incident, at=now, kind=kind, text=text)
            )
        elif link.status != change.after:
            link.status = change.after
            link.resolved_at = resolved_at
            changed_links.append(link)
            if change.after == _FIRING:
                entries.append(
                    TimelineEntry(
                        incident=incident,
                        at=now,
                        kind=TimelineEntry.Kind.ALERT_FIRING,
                        text=f"alert firing again: {alert.name}",
                    )
                )
            else:
                entries.append(
                    TimelineEntry(
                        incident=incident,
                        at=now,
                        kind=TimelineEntry.Kind.ALERT_RESOLVED,
                        text=f"alert resolved: {alert.name}",
                    )
                )
    if new_links:
        IncidentAlert.objects.bulk_create(new_links)
    if changed_links:
        IncidentAlert.objects.bulk_update(changed_links, ["status", "resolved_at"])
    if entries:
        TimelineEntry.objects.bulk_create(entries)
    if not opened:
        incident_record_truncation(
            incident=incident, truncated=payload.truncated_alerts, at=now
        )

    if not (new_links or changed_links):
        return f"{outcome} (repeat: nothing changed)"
    still_firing = IncidentAlert.objects.filter(
        incident=incident, status=_FIRING
    ).count()
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
    integration: Integration, group_hash: str, changes: list[_Change], now: datetime
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


# --- the sweep ----------------------------------------------------------------


def deliveries_sweep(
    *,
    now: datetime | None = None,
    grace: timedelta | None = None,
    limit: int = 1000,
) -> int:
    """Enqueue deliveries nobody processed: the broker was down when they arrived,
    a worker died holding them, or processing failed (up to ``MAX_ATTEMPTS``).

    Marks each as attempted now, so the next sweep leaves it alone for ``grace``
    while it waits in the queue.
    """
    from alerts.tasks import process_delivery

    now = now or timezone.now()
    if grace is None:
        # Younger than two sweep intervals: it may still be waiting in the queue.
        grace = timedelta(seconds=2 * settings.DELIVERY_SWEEP_SECONDS)
    cutoff = now - grace
    ids = list(
        WebhookDelivery.objects.filter(
            Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff),
            processed_at__isnull=True,
            received_at__lt=cutoff,
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return 0
    WebhookDelivery.objects.filter(pk__in=ids).update(last_attempt_at=now)
    for delivery_id in ids:
        process_delivery.apply_async(args=(delivery_id,))
    logger.info("sweep re-enqueued %d unprocessed deliveries", len(ids))
    return len(ids)


def delivery_retry(*, delivery_ids: list[int]) -> int:
    """Operator asked to process these again (admin action): reset and enqueue."""
    from alerts.tasks import process_delivery

    with transaction.atomic():
        count = WebhookDelivery.objects.filter(
            pk__in=delivery_ids, processed_at__isnull=True
        ).update(attempts=0, error="", last_attempt_at=None)
        for delivery_id in delivery_ids:
            enqueue_on_commit(process_delivery, delivery_id)
    return count


def unprocessed_count() -> dict[str, Any]:
    qs = WebhookDelivery.objects.filter(processed_at__isnull=True)
    return {
        "pending": qs.filter(attempts__lt=MAX_ATTEMPTS).count(),
        "failed": qs.filter(attempts__gte=MAX_ATTEMPTS).count(),
    }


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Delete processed deliveries older than the retention period: the inbox is a
    buffer and an audit trail, not an archive (alerts and incidents keep the facts)."""

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ALERTMANAGER_DELIVERY_RETENTION_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(
        processed_at__isnull=False, received_at__lt=cutoff
    ).delete()
    return deleted
