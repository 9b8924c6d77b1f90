"""Process many pending deliveries in one transaction with a few bulk queries.

An alert storm is mostly two kinds of webhook: a group we have never seen (a burst of
new groups) and Alertmanager repeating a group whose state has not changed.  Both are
recognised here and handled in bulk, a handful of queries for the whole batch instead
of a dozen per delivery.  Everything else (a partial resolve, a re-fire, a heartbeat,
a fingerprint shared between groups) goes through ``process.delivery_apply`` one by
one, in receipt order, in the same transaction: the bulk paths are an optimisation
with the same outcome, never a second set of rules.  A group sent several times
within one batch (Alertmanager's repeats under a storm) is handled in rounds, one
delivery per group per round.

If anything in the batch fails, the whole transaction rolls back and each delivery is
processed on its own by its own task, as if batching did not exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.bulk_update import update_from_values, update_objects
from alerts.incidents.state import Opening, incidents_open
from alerts.incidents.tiers import burn_tiers_changed
from alerts.intake.parse import AlertData, Payload, PayloadError, parse_payload
from alerts.intake.process import alert_change_entry, delivery_apply
from alerts.intake.rules import (
    ALERT_UPDATE_FIELDS,
    AlertChange,
    alert_names,
    alerts_dedupe,
    incident_spec,
    maintenance_note,
)
from alerts.models import (
    OPEN_STATUSES,
    Alert,
    Incident,
    IncidentAlert,
    Integration,
    MaintenanceWindow,
    TimelineEntry,
    WebhookDelivery,
    hash_group_key,
)
from alerts.routing import RouteRule, choose_route
from alerts.selectors import route_rules

logger = logging.getLogger(__name__)


@dataclass
class _Item:
    delivery: WebhookDelivery
    payload: Payload
    key: tuple[int, str]  # (integration id, group key hash)
    # Later deliveries of the group with the very same body, with nothing of the
    # group's in between: Alertmanager repeating itself.  Once this one is
    # processed they are repeats, whatever this one did.
    same: list[_Item] = field(default_factory=list)

    def then_same(self) -> _Item | None:
        """The first of ``same``, carrying the rest, to process after this one."""
        if not self.same:
            return None
        first, *rest = self.same
        return _Item(first.delivery, first.payload, first.key, rest)


def deliveries_process_batch(*, limit: int | None = None) -> int:
    """Claim up to ``limit`` pending deliveries and process them; returns how many.

    Raises whatever processing raises, after rolling the whole batch back.
    """
    limit = limit or settings.ALERTMANAGER_BATCH_SIZE
    now = timezone.now()
    with transaction.atomic():
        pending = WebhookDelivery.objects.filter(
            processed_at__isnull=True, error=""
        ).order_by("received_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            # Two workers claim disjoint batches instead of queueing on each other.
            # of=self: lock the deliveries only.  Locking the joined integration
            # row too would block every webhook INSERT (its foreign key check takes
            # a share lock on that row) for as long as this batch runs.
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        batch = list(pending.select_related("integration")[:limit])
        if not batch:
            return 0
        _process(batch, now)
    return len(batch)


def _process(batch: list[WebhookDelivery], now: datetime) -> None:
    items: list[_Item] = []
    unreadable: list[WebhookDelivery] = []
    for delivery in batch:
        try:
            payload = parse_payload(delivery.body)
        except (ValueError, PayloadError):
            unreadable.append(delivery)  # the one-by-one path records the reason
            continue
        key = (delivery.integration_id, hash_group_key(payload.group_key))
        items.append(_Item(delivery, payload, key))

    done: list[WebhookDelivery] = []
    rounds = _rounds(items)
    while rounds:
        round_done, follow = _process_round(rounds.pop(0), now)
        done += round_done
        if follow:
            # Identical re-sends of a group this round opened or changed: now
            # repeats, processed (in bulk) before the group's next delivery.
            rounds.insert(0, follow)
    if done:
        update_from_values(
            WebhookDelivery,
            ["result", "attempts"],
            [(d.pk, d.result, d.attempts) for d in done],
            {"processed_at": now, "error": "", "last_attempt_at": now},
        )
    for delivery in unreadable:
        delivery_apply(delivery.pk)


def _rounds(items: list[_Item]) -> list[list[_Item]]:
    """Split the batch (in receipt order) into rounds in which each group appears
    at most once: round n holds the n-th delivery of every group.  Rounds run one
    after another, so each group's deliveries are still processed in the order
    they arrived, while a storm of repeats (every group several times per batch)
    is still handled in bulk.  A delivery whose body is the same as the group's
    previous one joins that one's ``same`` list instead of a round of its own."""
    rounds: list[list[_Item]] = []
    seen: dict[tuple[int, str], int] = {}
    previous: dict[tuple[int, str], _Item] = {}
    for item in items:
        before = previous.get(item.key)
        if before is not None and before.delivery.body == item.delivery.body:
            before.same.append(item)
            continue
        previous[item.key] = item
        index = seen.get(item.key, 0)
        seen[item.key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(item)
    return rounds


def _process_round(
    items: list[_Item], now: datetime
) -> tuple[list[WebhookDelivery], list[_Item]]:
    """Process one round; returns the deliveries done in bulk (the caller marks
    them processed), having processed the others one by one, and the identical
    re-sends still to process after them."""
    # A fingerprint in several groups, or a heartbeat: the one-by-one path, which
    # handles order and every state.
    per_fp: dict[tuple[int, str], int] = {}
    for item in items:
        for alert in item.payload.alerts:
            fp_key = (item.key[0], alert.fingerprint)
            per_fp[fp_key] = per_fp.get(fp_key, 0) + 1
    simple: list[_Item] = []
    slow: list[_Item] = []
    for item in items:
        heartbeat = item.delivery.integration.heartbeat_alertname
        if any(
            per_fp[(item.key[0], a.fingerprint)] > 1 for a in item.payload.alerts
        ) or (
            heartbeat
            and any(a.labels.get("alertname") == heartbeat for a in item.payload.alerts)
        ):
            slow.append(item)
        else:
            simple.append(item)

    fresh, repeats, rest = groups_classify(simple)
    slow += rest
    done: list[WebhookDelivery] = []
    if fresh:
        done += _open_fresh(fresh, now)
    if repeats:
        done += _apply_repeats(repeats, now)
    for item in sorted(slow, key=lambda i: (i.delivery.received_at, i.delivery.pk)):
        delivery_apply(item.delivery.pk)
    follow = [then for i in fresh + slow if (then := i.then_same()) is not None]
    return done, follow


@dataclass
class _Repeat:
    """A delivery for a group with an open incident, none of whose alerts is stale:
    known alerts (``known``, by fingerprint) may change state and new firing ones
    may join, as long as something is still firing afterwards (a full resolve
    goes one by one).  ``links``: the incident's alert links, by alert id."""

    item: _Item
    incident: Incident
    known: dict[str, Alert]
    links: dict[int, IncidentAlert]


def groups_classify(
    items: list[_Item],
) -> tuple[list[_Item], list[_Repeat], list]:
    """Split into brand-new groups, changes to open incidents that leave them open
    (repeats, changed values, alerts joining, partial resolves), and the rest
    (slow path).

    Public as the moment between the batch's read and its inserts, where another
    worker may open one of the groups: tests make that race happen here.
    """
    if not items:
        return [], [], []
    integration_ids = {i.key[0] for i in items}
    fps = {a.fingerprint for i in items for a in i.payload.alerts}
    alerts: dict[tuple[int, str], Alert] = {
        (a.integration_id, a.fingerprint): a
        for a in Alert.objects.select_for_update()
        .filter(integration_id__in=integration_ids, fingerprint__in=fps)
        .order_by("pk")
    }
    incidents: dict[tuple[int, str], Incident] = {
        (i.integration_id, i.group_key_hash): i
        for i in Incident.objects.select_for_update().filter(
            integration_id__in=integration_ids,
            group_key_hash__in={i.key[1] for i in items},
            status__in=OPEN_STATUSES,
        )
    }
    links: dict[int, dict[int, IncidentAlert]] = {}
    if incidents:
        for link in IncidentAlert.objects.filter(
            incident_id__in=[i.pk for i in incidents.values()]
        ).only("pk", "incident_id", "alert_id", "status", "resolved_at"):
            links.setdefault(link.incident_id, {})[link.alert_id] = link

    fresh: list[_Item] = []
    repeats: list[_Repeat] = []
    rest: list[_Item] = []
    for item in items:
        integration_id = item.key[0]
        incident = incidents.get(item.key)
        known = {
            a.fingerprint: alerts[(integration_id, a.fingerprint)]
            for a in item.payload.alerts
            if (integration_id, a.fingerprint) in alerts
        }
        if (
            incident is None
            and not known
            and all(a.firing for a in item.payload.alerts)
            and not item.delivery.integration.reopen_window
        ):
            fresh.append(item)
            continue
        if incident is not None:
            repeat = _Repeat(item, incident, known, links.get(incident.pk, {}))
            if _stays_open(repeat):
                repeats.append(repeat)
                continue
        rest.append(item)
    return fresh, repeats, rest


def _stays_open(repeat: _Repeat) -> bool:
    """Whether the bulk path may apply this delivery: no alert is stale, each known
    one is on the incident already, each new one fires, the truncation count is
    the same, and the incident keeps a firing alert."""
    item, known, links = repeat.item, repeat.known, repeat.links
    if repeat.incident.truncated_alerts != item.payload.truncated_alerts:
        return False
    status = {alert_id: link.status for alert_id, link in links.items()}
    for a in item.payload.alerts:
        row = known.get(a.fingerprint)
        if row is None:
            if not a.firing:
                return False
            continue
        if row.last_received_at > item.delivery.received_at or row.pk not in links:
            return False
        status[row.pk] = a.status
    joining = sum(1 for a in item.payload.alerts if a.fingerprint not in known)
    return joining + sum(1 for s in status.values() if s == "firing") > 0


def _finish(delivery: WebhookDelivery, result: str, now: datetime) -> WebhookDelivery:
    delivery.processed_at = now
    delivery.result = result
    delivery.error = ""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    return delivery


class _Routing:
    """Route rules and maintenance windows, loaded once per batch."""

    def __init__(self, items: list[_Item]) -> None:
        self.rules: dict[int, list[RouteRule]] = {}
        times = [i.delivery.received_at for i in items]
        integration_ids = {i.key[0] for i in items}
        self.windows = list(
            MaintenanceWindow.objects.filter(
                Q(integration_id__in=integration_ids) | Q(team__isnull=False),
                starts_at__lte=max(times),
                ends_at__gt=min(times),
            )
        )

    def rules_for(self, integration_id: int) -> list[RouteRule]:
        if integration_id not in self.rules:
            self.rules[integration_id] = route_rules(integration_id=integration_id)
        return self.rules[integration_id]

    def window(
        self, *, integration_id: int, team_id: int, at: datetime
    ) -> MaintenanceWindow | None:
        found = [
            w
            for w in self.windows
            if (w.integration_id == integration_id or w.team_id == team_id)
            and w.starts_at <= at < w.ends_at
        ]
        return max(found, key=lambda w: w.ends_at) if found else None


def _open_fresh(items: list[_Item], now: datetime) -> list[WebhookDelivery]:
    routing = _Routing(items)
    new_alerts: list[Alert] = []
    per_item: list[list[Alert]] = []
    for item in items:
        rows = [
            Alert(
                integration_id=item.key[0],
                fingerprint=a.fingerprint,
                labels=a.labels,
                annotations=a.annotations,
                status=a.status,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                generator_url=a.generator_url,
                last_received_at=item.delivery.received_at,
                created_at=now,
                updated_at=now,
            )
            for a in alerts_dedupe(item.payload.alerts)
        ]
        per_item.append(rows)
        new_alerts += rows
    Alert.objects.bulk_create(new_alerts)

    openings: list[Opening] = []
    for item, rows in zip(items, per_item, strict=True):
        integration: Integration = item.delivery.integration
        payload = item.payload
        alert_labels = tuple(row.labels for row in rows)  # all firing
        choice = choose_route(
            routing.rules_for(integration.pk),
            payload.common_labels or payload.group_labels,
            default_team_id=integration.team_id,
            alert_labels=alert_labels,
        )
        window = routing.window(
            integration_id=integration.pk,
            team_id=choice.team_id,
            at=item.delivery.received_at,
        )
        changes = [AlertChange(row, None, row.status) for row in rows]
        count = len(rows)
        openings.append(
            Opening(
                integration_id=integration.pk,
                spec=incident_spec(payload, choice, alert_labels),
                at=now,
                in_maintenance=window is not None,
                maintenance_note=maintenance_note(window),
                opened_text=f"opened by Alertmanager: {count} alert"
                f"{'s' if count > 1 else ''} firing ({alert_names(changes)})",
            )
        )
    opened = incidents_open(openings=openings)
    IncidentAlert.objects.bulk_create(
        [
            IncidentAlert(incident=incident, alert=row, status=row.status, added_at=now)
            for incident, rows in zip(opened, per_item, strict=True)
            for row in rows
        ]
    )
    return [
        _finish(item.delivery, f"opened incident #{incident.pk}", now)
        for item, incident in zip(items, opened, strict=True)
    ]


def _apply_repeats(repeats: list[_Repeat], now: datetime) -> list[WebhookDelivery]:
    """Changes to open incidents that stay open, with the outcome of
    ``delivery_apply``: note when each alert was last reported (the stale guard
    needs it), take new values, count the notification on the incident; record a
    known alert's change of state on its link with a timeline entry, and add new
    alerts (a join) to the incident firing, with theirs."""
    received_by_alert: dict[int, datetime] = {}
    changed: list[Alert] = []
    changed_links: list[IncidentAlert] = []
    joining: list[tuple[Incident, Alert]] = []
    entries: list[TimelineEntry] = []
    notified: dict[int, tuple[int, datetime]] = {}
    moved_on: dict[int, Incident] = {}  # incidents whose firing alerts changed
    done: list[WebhookDelivery] = []
    for repeat in repeats:
        item, incident = repeat.item, repeat.incident
        # Identical re-sends of this one are repeats too: the latest counts.
        received = max(i.delivery.received_at for i in [item, *item.same])
        moved = 0
        for data in item.payload.alerts:
            row = repeat.known.get(data.fingerprint)
            if row is None:
                row = _new_alert(item, data, received, now)
                joining.append((incident, row))
                change = AlertChange(row, None, data.status)
                entries.append(alert_change_entry(incident, change, now, linked=False))
                moved += 1
                continue
            before = row.status
            received_by_alert[row.pk] = received
            if _take_values(row, data):
                row.last_received_at = received
                row.updated_at = now
                changed.append(row)
            link = repeat.links[row.pk]
            if link.status != data.status:
                link.status = data.status
                link.resolved_at = (
                    (row.ends_at or item.delivery.received_at)
                    if data.status == "resolved"
                    else None
                )
                changed_links.append(link)
                change = AlertChange(row, before, data.status)
                entries.append(alert_change_entry(incident, change, now, linked=True))
                moved += 1
        count, last = notified.get(
            incident.pk, (incident.notifications, incident.last_notified_at)
        )
        resent = [item, *item.same]
        notified[incident.pk] = (
            count + len(resent),
            max(last or received, received),
        )
        if moved:
            moved_on[incident.pk] = incident
        outcome = _outcome(repeat, moved)
        done += [
            _finish(
                each.delivery,
                outcome
                if each is item
                else f"attached to incident #{incident.pk} (repeat: nothing changed)",
                now,
            )
            for each in resent
        ]
    if joining:
        Alert.objects.bulk_create([alert for _, alert in joining])
        IncidentAlert.objects.bulk_create(
            IncidentAlert(incident=i, alert=a, status=a.status, added_at=now)
            for i, a in joining
        )
    update_objects(changed_links, ["status", "resolved_at"])
    if entries:
        TimelineEntry.objects.bulk_create(entries)
    # Django's bulk_update writes CASE WHEN per column, which grows with the batch
    # squared and was most of a batch's time; the common case here is one
    # timestamp per row, written with one UPDATE ... FROM a list of values.
    update_from_values(
        Alert,
        ["last_received_at"],
        [(pk, at) for pk, at in received_by_alert.items()],
        {"updated_at": now},
    )
    # New annotation values (a templated value that moved): a quarter of a storm's
    # repeats, so one statement, not bulk_update's CASE per row and field.
    update_objects(changed, ALERT_UPDATE_FIELDS)
    update_from_values(
        Incident,
        ["notifications", "last_notified_at"],
        [(pk, count, last) for pk, (count, last) in notified.items()],
        {},
    )
    # Their burn-rate tiers may have changed (alerts/incidents/tiers.py): no
    # query for incidents that cannot carry one, one per SLO for those that can.
    burn_tiers_changed(incidents=list(moved_on.values()), at=now)
    return done


def _take_values(row: Alert, data: AlertData) -> bool:
    """Give ``row`` the notification's values; True if any changed."""
    fresh = (
        data.labels,
        data.annotations,
        data.status,
        data.starts_at,
        data.ends_at,
        data.generator_url,
    )
    if fresh == (
        row.labels,
        row.annotations,
        row.status,
        row.starts_at,
        row.ends_at,
        row.generator_url,
    ):
        return False
    (
        row.labels,
        row.annotations,
        row.status,
        row.starts_at,
        row.ends_at,
        row.generator_url,
    ) = fresh
    return True


def _outcome(repeat: _Repeat, moved: int) -> str:
    """The delivery's result, worded as ``delivery_apply`` words it."""
    attached = f"attached to incident #{repeat.incident.pk}"
    if not moved:
        return f"{attached} (repeat: nothing changed)"
    alerts = repeat.item.payload.alerts
    if not any(a.status == "resolved" for a in alerts):
        return attached
    firing = sum(1 for link in repeat.links.values() if link.status == "firing")
    firing += sum(1 for a in alerts if a.fingerprint not in repeat.known)
    return f"{attached}; {firing} alert(s) still firing"


def _new_alert(
    item: _Item, data: AlertData, received: datetime, now: datetime
) -> Alert:
    return Alert(
        integration_id=item.key[0],
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
