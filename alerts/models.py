"""Alert intake and incidents.

The shape follows Alertmanager's own identities: an ``Alert`` is one fingerprint of one
integration (a hash of its labels, stable across runs), an ``Incident`` is one
notification group (``groupKey``) while it is open.  ``WebhookDelivery`` is the inbox:
every accepted webhook is a row before we answer 2xx, and processing reads it back.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from scheduling.models import Member, Team


def hash_token(token: str) -> str:
    """The stored form of an integration secret.

    Tokens are 256-bit random strings, so an unsalted SHA-256 is enough to make a
    leaked database useless for posting alerts, and lookups stay one indexed query.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def hash_group_key(group_key: str) -> str:
    """Fixed-width key for indexes: a groupKey has no length limit in Alertmanager,
    and a PostgreSQL B-tree entry does (about 2.7 kB)."""
    return hashlib.sha256(group_key.encode()).hexdigest()


class Integration(models.Model):
    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="integrations"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind, default=Kind.ALERTMANAGER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=8,
        editable=False,
        help_text="First characters of the token, to tell integrations apart.",
    )
    enabled = models.BooleanField(
        default=True, help_text="A disabled integration refuses webhooks (401/404)."
    )
    reopen_window = models.PositiveIntegerField(
        default=0,
        help_text="Seconds after an incident resolved during which the same group "
        "firing again reopens it instead of opening a new incident (0 = never).",
    )
    heartbeat_alertname = models.CharField(
        max_length=200,
        default="Watchdog",
        help_text="alertname of the always-firing alert that proves Alertmanager "
        "and Prometheus are alive.",
    )
    heartbeat_interval = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Dead man's switch: open an incident when no heartbeat arrived for "
        "this many minutes. Empty = off. Armed by the first heartbeat received.",
    )
    heartbeat_last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["team__slug", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="alerts_integration_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"


class WebhookDelivery(models.Model):
    """One accepted webhook, stored before the 2xx: the inbox processing reads."""

    class Auth(models.TextChoices):
        PATH = "path", "token in path"
        BEARER = "bearer", "bearer token"
        BASIC = "basic", "basic auth"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries"
    )
    body = models.TextField(help_text="The request body exactly as received.")
    headers = models.JSONField(
        default=dict, help_text="Headers worth keeping; never the credentials."
    )
    auth = models.CharField(max_length=8, choices=Auth)
    group_key = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True, help_text="What processing did.")
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The sweep looks only at the few unprocessed rows; a partial index keeps
            # that query cheap however large the inbox grows.
            models.Index(
                fields=["received_at"],
                condition=Q(processed_at__isnull=True),
                name="alerts_delivery_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.integration_id})"


class Alert(models.Model):
    class Status(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="alerts"
    )
    fingerprint = models.CharField(max_length=64)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    generator_url = models.TextField(blank=True)
    # received_at of the delivery that last changed this alert: a delivery processed
    # late (out of order, after a retry) never overwrites newer news.
    last_received_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["integration_id", "fingerprint"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "fingerprint"], name="alerts_alert_unique_fp"
            )
        ]

    def __str__(self) -> str:
        return f"{self.labels.get('alertname', '?')} {self.fingerprint}"

    @property
    def name(self) -> str:
        """A human label: alertname plus the labels that tell group members apart."""
        return alert_display_name(self.labels)


def alert_display_name(labels: dict[str, str]) -> str:
    alertname = labels.get("alertname", "alert")
    extra = [f"{k}={labels[k]}" for k in ("instance", "pod", "job") if k in labels]
    return " ".join([alertname, *extra[:1]])


class Route(models.Model):
    """One routing rule of an integration: matchers → team and urgency.

    Routes are tried by ``position``; the first whose matchers all match wins.  A
    route without matchers matches everything: the catch-all, which every
    integration keeps (``integration_create`` makes one; the last one cannot be
    given matchers or deleted from the admin).
    """

    class Urgency(models.TextChoices):
        FROM_SEVERITY = "", "from the severity label"
        HIGH = "high", "high"
        LOW = "low", "low"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="routes"
    )
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routes")
    urgency = models.CharField(
        max_length=8, choices=Urgency, default=Urgency.FROM_SEVERITY, blank=True
    )

    class Meta:
        ordering = ["integration_id", "position", "id"]

    def __str__(self) -> str:
        return self.name or f"route {self.position}"


class RouteMatcher(models.Model):
    """A label matcher with Alertmanager's operators and anchored RE2-style regexes."""

    class Op(models.TextChoices):
        EQ = "=", "="
        NE = "!=", "!="
        RE = "=~", "=~"
        NRE = "!~", "!~"

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="matchers")
    label = models.CharField(max_length=200)
    op = models.CharField(max_length=2, choices=Op, default=Op.EQ)
    value = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["route_id", "id"]

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'

    def clean(self) -> None:
        from alerts.routing import MatcherError, compile_matcher

        try:
            compile_matcher(self.label, self.op, self.value)
        except MatcherError as exc:
            raise ValidationError({"value": str(exc)}) from exc


OPEN_STATUSES = ("triggered", "acknowledged")


class Incident(models.Model):
    """One notification group while it is open; its number is its primary key."""

    class Status(models.TextChoices):
        TRIGGERED = "triggered"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    class Urgency(models.TextChoices):
        HIGH = "high"
        LOW = "low"

    class Source(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Alertmanager"
        HEARTBEAT = "heartbeat", "dead man's switch"

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="incidents"
    )
    source = models.CharField(
        max_length=16, choices=Source, default=Source.ALERTMANAGER
    )
    group_key = models.TextField()
    group_key_hash = models.CharField(max_length=64, editable=False)
    title = models.CharField(max_length=500)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="incidents")
    route = models.ForeignKey(
        Route, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    routing = models.TextField(blank=True, help_text="Why this route was chosen.")
    urgency = models.CharField(max_length=8, choices=Urgency)
    status = models.CharField(
        max_length=16, choices=Status, default=Status.TRIGGERED, db_index=True
    )
    group_labels = models.JSONField(default=dict)
    common_labels = models.JSONField(default=dict)
    common_annotations = models.JSONField(default=dict)
    external_url = models.TextField(blank=True)
    truncated_alerts = models.PositiveIntegerField(
        default=0, help_text="Alerts Alertmanager left out of the last notification."
    )
    in_maintenance = models.BooleanField(
        default=False, help_text="Opened during a maintenance window: not escalated."
    )
    alerts = models.ManyToManyField(
        Alert, through="IncidentAlert", related_name="incidents"
    )
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_how = models.CharField(max_length=32, blank=True)
    last_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="Last Alertmanager notification for the group."
    )
    notifications = models.PositiveIntegerField(
        default=0, help_text="Alertmanager notifications received (repeats included)."
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # At most one open incident per group: two workers racing on the same
            # group cannot both open one; the loser retries and attaches.
            models.UniqueConstraint(
                fields=["integration", "group_key_hash"],
                condition=Q(status__in=OPEN_STATUSES),
                name="alerts_incident_one_open_per_group",
            )
        ]
        indexes = [
            models.Index(fields=["team", "status"], name="alerts_incident_team_status"),
            models.Index(
                fields=["integration", "group_key_hash", "-resolved_at"],
                name="alerts_incident_group",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class IncidentAlert(models.Model):
    """An alert's part in one incident: which resolved, and when."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="incident_alerts"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="incident_alerts"
    )
    status = models.CharField(max_length=8, choices=Alert.Status)
    added_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident_id", "alert_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "alert"], name="alerts_incidentalert_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.alert_id} {self.status}"


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened"
        REOPENED = "reopened"
        ROUTED = "routed"
        MAINTENANCE = "maintenance"
        ALERT_FIRING = "alert_firing"
        ALERT_RESOLVED = "alert_resolved"
        TRUNCATED = "truncated"
        ACKNOWLEDGED = "acknowledged"
        UNACKNOWLEDGED = "unacknowledged"
        RESOLVED = "resolved"
        NOTE = "note"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="timeline"
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=32, choices=Kind)
    text = models.TextField()
    actor = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["incident_id", "at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.at:%Y-%m-%d %H:%M:%S} {self.kind}"


class MaintenanceWindow(models.Model):
    """While active, incidents of the team or integration are recorded, flagged and
    not escalated."""

    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_windows",
    )
    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="maintenance_windows",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, integration__isnull=True)
                | Q(team__isnull=True, integration__isnull=False),
                name="alerts_maintenance_team_xor_integration",
                violation_error_message="Choose a team or an integration, not both.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="alerts_maintenance_ends_after_start",
                violation_error_message="The window must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["ends_at"], name="alerts_maintenance_end")]

    def __str__(self) -> str:
        target = self.team or self.integration
        return f"{target}: {self.reason}"

    def is_active(self, at=None) -> bool:  # noqa: ANN001 - datetime or None
        at = at or timezone.now()
        return self.starts_at <= at < self.ends_at
