"""Alert intake and incidents.

The shape follows Alertmanager's own identities: an ``Alert`` is one fingerprint of one
integration (a hash of its labels, stable across runs), an ``Incident`` is one
notification group (``groupKey``) while it is open.  ``WebhookDelivery`` is the inbox:
every accepted webhook is a row before we answer 2xx, and processing reads it back.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.routing import MatcherError, compile_matcher
from scheduling.models import Member, Team, free_slug
from scheduling.validators import validate_e164


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
    slug = models.SlugField(
        max_length=100,
        unique=True,
        blank=True,
        help_text="Names the integration in the API and configuration files "
        "(default: team slug and name).",
    )
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A default identifier, not a rule: every way of making one (the
        # services, the admin, fixtures) gets a slug without naming one.
        if not self.slug:
            self.slug = free_slug(Integration, f"{self.team.slug}-{self.name}")
        super().save(*args, **kwargs)


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
    failure_incident = models.ForeignKey(
        "Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The incident that paged somebody because this delivery could "
        "not be processed (at most one per delivery).",
    )

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

    ``urgency`` (else the ``severity`` label: ``warning``, ``info``... are low) is
    the incident's, and decides how its policy pages: high as the steps say, low
    never a call and SMS only in each member's business hours (see
    :class:`EscalationPolicy` and ``alerts/escalation/policies.py``).
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
    slug = models.SlugField(
        max_length=100,
        unique=True,
        blank=True,
        help_text="Names the route in the API and configuration files "
        "(default: the integration's slug and the route's name or position).",
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routes")
    urgency = models.CharField(
        max_length=8, choices=Urgency, default=Urgency.FROM_SEVERITY, blank=True
    )
    escalation_policy = models.ForeignKey(
        "EscalationPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="routes",
        help_text="Who gets paged for incidents of this route. Empty: the team's "
        "default policy (or the built-in one: on-call primary, then secondary).",
    )

    class Meta:
        ordering = ["integration_id", "position", "id"]

    def __str__(self) -> str:
        return self.name or f"route {self.position}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:  # a default identifier (see Integration.save)
            self.slug = free_slug(
                Route, f"{self.integration.slug}-{self.name or self.position}"
            )
        super().save(*args, **kwargs)


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
        UNPROCESSABLE = "unprocessable", "a webhook that could not be processed"
        SLO_BURN = "slo_burn", "an SLO's error budget burning too fast"

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
    suppressed_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suppresses",
        help_text="A slower burn-rate tier (Sloth, Pyrra) of an SLO whose faster "
        "tier is open: recorded, not escalated (alerts/incidents/tiers.py).",
    )
    alerts: models.ManyToManyField[Alert, IncidentAlert] = models.ManyToManyField(
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
            # GET /api/v1/incidents/?team=: a team's newest first, a page at a
            # time (bench/api_incidents.py).
            models.Index(
                fields=["team", "-opened_at", "-id"], name="alerts_incident_team_opened"
            ),
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

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """From open to the first acknowledgement (None if never acknowledged)."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.opened_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.opened_at


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
        ESCALATION = "escalation"
        ESCALATED = "escalated"
        PAGE = "page"
        PAGE_STATUS = "page_status"

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
        indexes = [
            # The insights reports measure MTTA/MTTR from an incident's latest
            # reopening (alerts/insights/incident_figures.py): one lookup per
            # incident in this index, which holds only the (rare) reopens.
            models.Index(
                fields=["incident", "-at"],
                condition=Q(kind="reopened"),
                name="alerts_timeline_reopened",
            )
        ]

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

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.starts_at <= at < self.ends_at


# --- escalation and paging -------------------------------------------------------


def validate_weekdays(value: str) -> None:
    if not value or not set(value) <= set("1234567") or len(set(value)) != len(value):
        raise ValidationError(
            "ISO weekday digits, each at most once: 1 = Monday ... 7 = Sunday "
            "(12345 = Monday to Friday)"
        )


class EscalationPolicy(models.Model):
    """Who to page, how, and how long to wait between steps.

    Incidents take a copy (a snapshot) when they open, so editing a policy never
    disturbs an incident in flight.

    Urgency (the incident's, from its route) decides how the steps page:

    * **high**: each step's channels as written (SMS, a call, SMS then a call);
    * **low**: never a call, never outside business hours.  A step's pages become
      one SMS per member, sent at once inside the member's business hours (the
      ``business_*`` fields, read in the *member's* time zone), else held until
      their next business-hours start (a page whose ``due_at`` is then: the
      database is the timer).  The chain waits with them: the next step is due
      its delay after the held SMS goes out, so a night's low-urgency incident
      reaches the primary in the morning, not the whole team at once.
    """

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="escalation_policies"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        blank=True,
        help_text="Names the policy in the API and configuration files "
        "(default: team slug and name).",
    )
    description = models.TextField(blank=True)
    team_default = models.BooleanField(
        default=False,
        help_text="Used for the team's incidents whose route names no policy.",
    )
    repeat = models.PositiveSmallIntegerField(
        default=0,
        help_text="How many more times the whole policy runs after its last step "
        "when nobody acknowledged (0 = once).",
    )
    repeat_until_acknowledged = models.BooleanField(
        default=False,
        help_text="Keep running it again until somebody acknowledges, up to "
        "ESCALATION_MAX_ROUNDS rounds (the 'repeat' count is then ignored).",
    )
    repeat_after = models.DurationField(
        default=timedelta(minutes=5),
        help_text="Wait after the last step before the policy starts over.",
    )
    business_start = models.TimeField(
        default=time(9, 0),
        help_text="Low urgency: SMS only from this local time (the paged member's "
        "time zone); never a call.",
    )
    business_end = models.TimeField(
        default=time(18, 0),
        help_text="Low urgency: ... until this local time; outside it the SMS waits "
        "for the member's next business-hours start.",
    )
    business_weekdays = models.CharField(
        max_length=7,
        default="12345",
        validators=[validate_weekdays],
        help_text="Low urgency: the business days, as ISO weekday digits "
        "(1 = Monday ... 7 = Sunday; 12345 = Monday to Friday).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["team__slug", "name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="alerts_policy_unique_name"
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(team_default=True),
                name="alerts_policy_one_default_per_team",
                violation_error_message="The team already has a default policy.",
            ),
            models.CheckConstraint(
                condition=Q(business_end__gt=models.F("business_start")),
                name="alerts_policy_business_hours_order",
                violation_error_message="Business hours must end after they start.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:  # a default identifier (see Integration.save)
            self.slug = free_slug(EscalationPolicy, f"{self.team.slug}-{self.name}")
        super().save(*args, **kwargs)


class EscalationStep(models.Model):
    class Target(models.TextChoices):
        PRIMARY = "primary", "on-call primary"
        SECONDARY = "secondary", "on-call secondary"
        MEMBER = "member", "a named member"
        TEAM = "team", "every member of the team"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        VOICE = "voice", "voice call"
        SMS_THEN_VOICE = "sms_then_voice", "SMS, then a call if not acknowledged"

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField(default=0)
    delay = models.DurationField(
        default=timedelta(0),
        help_text="Wait after the previous step (for the first step: after the "
        "incident opened; 0 = at once). Format: [DD] [HH:[MM:]]ss.",
    )
    target = models.CharField(max_length=16, choices=Target, default=Target.PRIMARY)
    member = models.ForeignKey(
        Member,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="For 'a named member'.",
    )
    channel = models.CharField(
        max_length=16, choices=Channel, default=Channel.SMS_THEN_VOICE
    )
    voice_after = models.DurationField(
        default=timedelta(minutes=2),
        help_text="For 'SMS, then a call': how long after the SMS to call.",
    )

    class Meta:
        ordering = ["policy_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(target="member") | Q(member__isnull=False),
                name="alerts_step_member_target_has_member",
                violation_error_message="Choose the member this step pages.",
            )
        ]

    def __str__(self) -> str:
        who = self.member if self.target == self.Target.MEMBER else self.target
        return f"step {self.position}: {who} by {self.channel} after {self.delay}"


class ContactMethod(models.Model):
    """A phone number of a member, tried in order; a broken one is skipped.

    A member without any uses ``Member.phone`` for SMS and calls.
    """

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="contact_methods"
    )
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=100, blank=True)
    phone = models.CharField(
        max_length=16, validators=[validate_e164], help_text="E.164, e.g. +254700000001"
    )
    sms = models.BooleanField(default=True)
    voice = models.BooleanField(default=True)
    broken_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the provider said the number cannot be reached; "
        "clear it to use the number again.",
    )
    broken_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["member_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "phone"], name="alerts_contact_unique_phone"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.phone}"


class ContactRule(models.Model):
    """A member's own way of being paged, overriding the step's channel:
    e.g. SMS at once, call after 2 minutes."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="contact_rules"
    )
    channel = models.CharField(
        max_length=8,
        choices=[("sms", "SMS"), ("voice", "voice call")],
    )
    delay = models.DurationField(
        default=timedelta(0), help_text="After the step fires (0 = at once)."
    )

    class Meta:
        ordering = ["member_id", "delay", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "channel"], name="alerts_contact_rule_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.channel} after {self.delay}"


class Escalation(models.Model):
    """Where an incident's escalation stands: the database is the timer.

    ``next_action_at`` is when the next step is due; the sweep claims due rows and
    enqueues a short task, which moves the position with a conditional update (so
    two sweeps or a duplicated task cannot fire a step twice) and writes the step's
    pages in the same transaction (so a fired step's pages are never lost).
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        EXHAUSTED = "exhausted", "exhausted (every step and repeat ran)"
        STOPPED = "stopped"

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, primary_key=True, related_name="escalation"
    )
    policy = models.ForeignKey(
        EscalationPolicy,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where the snapshot came from (editing it changes nothing here).",
    )
    snapshot = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State, default=State.ACTIVE)
    # A restart (reopen, end of maintenance) begins a new cycle: its pages have
    # their own keys, so the first cycle's pages cannot block them.
    cycle = models.PositiveIntegerField(default=1)
    next_step = models.PositiveIntegerField(default=0)
    next_round = models.PositiveIntegerField(default=0)
    next_action_at = models.DateTimeField(null=True, blank=True)
    last_step = models.IntegerField(null=True, blank=True)
    last_round = models.IntegerField(null=True, blank=True)
    # Lease of the sweep that last enqueued the row: the next sweeps leave it alone
    # until then, so a backlog in the broker does not pile up duplicate tasks.
    enqueued_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["next_action_at"]
        indexes = [
            models.Index(
                fields=["next_action_at"],
                condition=Q(state="active"),
                name="alerts_escalation_due",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.state} step {self.next_step}"


class PageBundle(models.Model):
    """One SMS, or one call, that stands for several held pages during an alert
    storm: held SMS go out as a bundle SMS, held calls (high urgency) as one call
    that reads how many incidents there are and acknowledges them all on 1."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"  # SMS delivered / call picked up
        ANSWERED = "answered"  # a key pressed on the call acted on the incidents
        FAILED = "failed"  # undelivered, or the call went unanswered
        CANCELLED = "cancelled"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        VOICE = "voice", "voice call"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel, default=Channel.SMS)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    number = models.CharField(max_length=16, blank=True)
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bundle {self.pk} for {self.member}"


class Page(models.Model):
    """One SMS or call to one member for one step of one incident.

    Written before it is sent, then updated with the outcome; the unique key makes
    a second send of the same page impossible by construction.
    """

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        VOICE = "voice", "voice call"

    class Status(models.TextChoices):
        QUEUED = "queued"  # written, due at due_at
        SENDING = "sending"  # claimed by a worker until claimed_until
        SENT = "sent"  # the provider accepted it
        DELIVERED = "delivered"  # SMS delivered / call answered by a person
        ANSWERED = "answered"  # the person acted on it (ack/resolve/escalate)
        HELD = "held"  # storm protection: waiting to go out in a bundle
        BUNDLED = "bundled"  # went out inside a bundle
        UNANSWERED = "unanswered"  # no answer, busy, voicemail, no key pressed
        FAILED = "failed"  # could not be delivered
        CANCELLED = "cancelled"  # the incident was acknowledged or resolved first

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="pages"
    )
    cycle = models.PositiveIntegerField(default=1)
    step = models.PositiveIntegerField()
    repeat = models.PositiveIntegerField(default=0)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="pages")
    channel = models.CharField(max_length=8, choices=Channel)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    step_due_at = models.DateTimeField(
        help_text="When the step was due: created_at minus this is how late it fired."
    )
    due_at = models.DateTimeField(help_text="When this page is to go out.")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    contact_index = models.PositiveSmallIntegerField(
        default=0, help_text="Which of the member's numbers is being tried."
    )
    number = models.CharField(max_length=16, blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    bundle = models.ForeignKey(
        PageBundle,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pages",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "cycle", "step", "repeat", "member", "channel"],
                name="alerts_page_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="alerts_page_due",
            ),
            models.Index(fields=["member", "sent_at"], name="alerts_page_member_sent"),
            models.Index(
                fields=["member", "status"],
                condition=Q(status="held"),
                name="alerts_page_held",
            ),
        ]

    def __str__(self) -> str:
        return f"page {self.pk}: #{self.incident_id} {self.channel} to {self.member}"


# --- written records: handoff notes -----------------------------------------------


class HandoffSettings(models.Model):
    """A team's handoff-note settings; a team without a row uses the defaults."""

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="handoff_settings"
    )
    merge_roles = models.BooleanField(
        default=False,
        help_text="One note per shift change for primary and secondary together "
        "(from and to the primaries), instead of one per role.",
    )
    auto_submit_after = models.DurationField(
        default=timedelta(hours=4),
        validators=[MinValueValidator(timedelta(0))],
        help_text="A draft not submitted this long after the boundary is submitted "
        "as drafted (and marked so).",
    )
    grace = models.DurationField(
        default=timedelta(minutes=30),
        validators=[MinValueValidator(timedelta(0))],
        help_text="A note not acknowledged this long after the boundary re-notifies "
        "the incoming engineer and tells the rotation's secondary.",
    )

    class Meta:
        verbose_name_plural = "handoff settings"

    def __str__(self) -> str:
        return f"handoff settings of {self.team}"


class HandoffNote(models.Model):
    """The note an outgoing on-call engineer leaves the incoming one at a shift
    boundary.  Drafted by the periodic task (``alerts.handoff.draft``), edited and
    submitted by the outgoing engineer, acknowledged by the incoming one.

    ``open_incidents``, ``pages``, ``maintenance`` are snapshots taken when drafted
    (lists and dicts of plain values, see ``alerts.handoff.draft``); ``ongoing`` is
    a list of ``{"text": str, "watch": bool}``, edited by the outgoing engineer.
    """

    class Role(models.TextChoices):
        PRIMARY = "primary"
        SECONDARY = "secondary"
        BOTH = "both", "primary and secondary"

    class Status(models.TextChoices):
        DRAFT = "draft"
        SUBMITTED = "submitted"
        ACKNOWLEDGED = "acknowledged"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    rotation = models.ForeignKey(
        "scheduling.Rotation", on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=16, choices=Role)
    boundary = models.DateTimeField(help_text="The shift change (UTC inside).")
    outgoing = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="handoffs_written"
    )
    incoming = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="handoffs_received"
    )
    shift_start = models.DateTimeField(help_text="When the outgoing shift began.")
    next_shift_end = models.DateTimeField(help_text="When the incoming shift ends.")
    status = models.CharField(
        max_length=16, choices=Status, default=Status.DRAFT, db_index=True
    )
    open_incidents = models.JSONField(default=list, blank=True)
    pages = models.JSONField(default=dict, blank=True)
    maintenance = models.JSONField(default=list, blank=True)
    ongoing = models.JSONField(default=list, blank=True)
    tips = models.TextField(blank=True)
    drafted_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    auto_submitted = models.BooleanField(
        default=False, help_text="Submitted as drafted: nobody submitted it in time."
    )
    outgoing_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the outgoing engineer was told of it."
    )
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the incoming engineer was notified."
    )
    reminded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the unacknowledged note was sent again (and the "
        "secondary told).",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-boundary", "-id"]
        constraints = [
            # One note per boundary and role, however often or late the periodic
            # task runs: the second insert fails here, not in a check-then-insert.
            models.UniqueConstraint(
                fields=["rotation", "role", "boundary"],
                name="alerts_handoff_once_per_boundary",
            )
        ]
        indexes = [
            models.Index(fields=["team", "-boundary"], name="alerts_handoff_team"),
        ]

    def __str__(self) -> str:
        return (
            f"On-call handoff ({self.role}): {self.outgoing} → {self.incoming}, "
            f"{self.boundary:%Y-%m-%d %H:%M} UTC"
        )

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class HandoffLink(models.Model):
    """A single-use link to a note, sent by SMS or email.  The URL carries a
    signed, timestamped ``nonce`` (``alerts.handoff.links``); this row is the
    used-marker that makes it single-use."""

    note = models.ForeignKey(HandoffNote, on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link to handoff {self.note_id} for {self.member}"


# --- written records: postmortems ---------------------------------------------------


class Postmortem(models.Model):
    """A blameless postmortem, drafted from a resolved incident (``incident``, at
    most one postmortem each) and possibly covering more (``incidents``).

    ``timeline`` is pre-filled from the incidents' timeline entries, a list of
    ``{"at": ISO 8601 UTC, "incident": id, "kind": str, "text": str}`` in order;
    the Markdown shows it in the team's zone (``alerts.postmortems.markdown``).
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        FINAL = "final"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    incident = models.OneToOneField(
        Incident,
        on_delete=models.PROTECT,
        related_name="postmortem",
        help_text="The incident it was drafted from.",
    )
    incidents: models.ManyToManyField[Incident, Any] = models.ManyToManyField(
        Incident, related_name="postmortems", blank=True
    )
    title = models.CharField(max_length=500)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    severity = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    impact = models.TextField(blank=True)
    timeline = models.JSONField(default=list, blank=True)
    root_cause = models.TextField(blank=True)
    went_well = models.TextField("what went well", blank=True)
    went_wrong = models.TextField("what went wrong", blank=True)
    lessons = models.TextField("lessons learned", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Postmortem: {self.title}"

    @property
    def duration(self) -> timedelta:
        return self.ended_at - self.started_at


class ActionItem(models.Model):
    """Something to do so it does not happen again; tracked until done."""

    class Priority(models.TextChoices):
        P0 = "P0"
        P1 = "P1"
        P2 = "P2"

    class Status(models.TextChoices):
        OPEN = "open"
        DONE = "done"

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="action_items"
    )
    text = models.CharField(max_length=1000)
    owner = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="action_items"
    )
    priority = models.CharField(max_length=2, choices=Priority, default=Priority.P1)
    due = models.DateField(help_text="Overdue from the next day, in the team's zone.")
    status = models.CharField(
        max_length=8, choices=Status, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the owner was told it is overdue (once).",
    )

    class Meta:
        ordering = ["due", "priority", "id"]
        indexes = [
            models.Index(
                fields=["due"],
                condition=Q(status="open"),
                name="alerts_actionitem_open_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.priority} {self.text}"


# --- insights ----------------------------------------------------------------------


class InsightSettings(models.Model):
    """A team's thresholds for the insights reports (``alerts/insights/``).

    A team without a row uses the defaults below: PagerDuty's operational-review
    hours (business 08:00-18:00 Monday to Friday, sleep 22:00-08:00, the rest
    off-hours), DESIGN.md §7's expected load (above 10 pages an on-call week is
    flagged), and a 10-minute flapping window.  Hours are read in each paged
    member's own time zone.
    """

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="insight_settings"
    )
    business_start = models.TimeField(default=time(8, 0))
    business_end = models.TimeField(default=time(18, 0))
    business_weekdays = models.CharField(
        max_length=7,
        default="12345",
        validators=[validate_weekdays],
        help_text="ISO weekday digits (1 = Monday ... 7 = Sunday).",
    )
    sleep_start = models.TimeField(
        default=time(22, 0), help_text="Sleep hours start (every day)."
    )
    sleep_end = models.TimeField(
        default=time(8, 0), help_text="Sleep hours end (the next morning)."
    )
    max_pages_per_week = models.PositiveIntegerField(
        default=10, help_text="An on-call week with more pages is flagged."
    )
    max_sleep_interruptions_per_week = models.PositiveIntegerField(
        default=2,
        help_text="An on-call week with more sleep-hour interruptions is flagged.",
    )
    flap_window = models.DurationField(
        default=timedelta(minutes=10),
        help_text="An alert group firing again within this long after it resolved "
        "counts as flapping.",
    )

    class Meta:
        verbose_name_plural = "insight settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(business_end__gt=models.F("business_start")),
                name="alerts_insights_business_hours_order",
                violation_error_message="Business hours must end after they start.",
            ),
        ]

    def __str__(self) -> str:
        return f"insight settings of {self.team}"


# --- SLOs and error budgets --------------------------------------------------------

LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
# A Prometheus ratio SLI's queries are counter selectors: the evaluator wraps them
# in increase(...[window]) and the exported rules in rate(...[5m]).
COUNTER_SELECTOR = r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?"


def validate_match_labels(value: Any) -> None:
    """``{"service": "payments-api"}``: label names as Prometheus spells them,
    string values; an incident belongs to the service when its common labels
    carry every one of them."""
    if not isinstance(value, dict) or not value:
        raise ValidationError('give at least one label, e.g. {"service": "api"}')
    for name, wanted in value.items():
        if not isinstance(name, str) or not re.match(LABEL_NAME, name):
            raise ValidationError(f"{name!r} is not a label name")
        if not isinstance(wanted, str) or not wanted:
            raise ValidationError(f"label {name!r} needs a non-empty string value")


class Service(models.Model):
    """Something a team ships and deploys; its incidents are those whose common
    labels carry all of ``match_labels``."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    match_labels = models.JSONField(
        default=dict,
        validators=[validate_match_labels],
        help_text='Labels an incident must carry, e.g. {"service": "payments-api"}.',
    )
    integration = models.ForeignKey(
        Integration,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Burn-rate incidents follow this integration's routes and "
        "escalation; empty: the team's first enabled integration.",
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class SLO(models.Model):
    """An objective for a service over a window, with its error-budget policy.

    The policy's defaults are the usual ones: more than half the budget left,
    deploy freely; between a quarter and a half (both included), at most
    ``limited_deploys_per_day`` deploys a day; under a quarter, freeze.
    """

    class Window(models.TextChoices):
        ROLLING_28D = "rolling_28d", "rolling 28 days"
        ROLLING_30D = "rolling_30d", "rolling 30 days"
        CALENDAR_MONTH = "calendar_month", "calendar month (team time zone)"

    class Source(models.TextChoices):
        INCIDENT_TIME = "incident_time", "incident time"
        PROMETHEUS_RATIO = "prometheus_ratio", "Prometheus good/total ratio"

    class Urgency(models.TextChoices):
        HIGH = "high", "high-urgency incidents"
        ANY = "any", "any incident"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="slos")
    name = models.CharField(max_length=200)
    objective = models.DecimalField(
        max_digits=7,
        decimal_places=5,
        help_text="Percent of good time or events, e.g. 99.9.",
        validators=[MinValueValidator(0)],
    )
    window = models.CharField(max_length=16, choices=Window, default=Window.ROLLING_30D)
    source = models.CharField(
        max_length=20, choices=Source, default=Source.INCIDENT_TIME
    )
    incident_urgency = models.CharField(
        max_length=8,
        choices=Urgency,
        default=Urgency.HIGH,
        help_text="Incident-time SLIs: which incidents count as bad time.",
    )
    good_query = models.TextField(
        blank=True,
        help_text="Prometheus ratio SLIs: the counter of good events, as a "
        'selector (http_requests_total{code!~"5.."}).',
    )
    total_query = models.TextField(
        blank=True,
        help_text="Prometheus ratio SLIs: the counter of all events, as a selector.",
    )
    allow_above = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=0.5,
        help_text="Budget left (fraction) above which deploys are allowed freely.",
    )
    freeze_below = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=0.25,
        help_text="Budget left (fraction) under which deploys are frozen.",
    )
    limited_deploys_per_day = models.PositiveIntegerField(
        default=1, help_text="Deploys a day (team time zone) while limited."
    )
    # The newest evaluation, kept by alerts/slos/evaluate.py: the deploy gate
    # reads it with a join instead of a latest-per-SLO subquery.
    latest_evaluation = models.ForeignKey(
        "SLOEvaluation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # How far thinning has got (alerts/slos/evaluate.py, evaluations_prune): the
    # evaluations before this instant are one an hour.  None: not thinned yet.
    evaluations_thinned_until = models.DateTimeField(
        null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = "SLO"
        ordering = ["service__slug", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "name"], name="alerts_slo_one_name_per_service"
            ),
            models.CheckConstraint(
                condition=Q(objective__gt=0) & Q(objective__lt=100),
                name="alerts_slo_objective_percent",
                violation_error_message="The objective is a percentage below 100.",
            ),
            models.CheckConstraint(
                condition=Q(freeze_below__lte=models.F("allow_above")),
                name="alerts_slo_policy_order",
                violation_error_message="Freeze below must not exceed allow above.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}: {self.name}"

    def clean(self) -> None:
        if self.source != self.Source.PROMETHEUS_RATIO:
            return
        errors = {}
        for name in ("good_query", "total_query"):
            value = getattr(self, name).strip()
            if not re.fullmatch(COUNTER_SELECTOR, value):
                errors[name] = (
                    "a counter's selector, e.g. "
                    'http_requests_total{job="api",code!~"5.."}'
                )
        if errors:
            raise ValidationError(errors)


class SLOEvaluation(models.Model):
    """One evaluation of an SLO: what the deploy gate and the API read.

    ``stale`` marks an evaluation that could not be computed (its source failed):
    the figures are then copied from the last good one, and ``error`` says why.
    """

    slo = models.ForeignKey(SLO, on_delete=models.CASCADE, related_name="evaluations")
    evaluated_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    budget_seconds = models.FloatField(
        help_text="Bad time the objective allows over the whole window."
    )
    bad_seconds = models.FloatField(help_text="Bad time spent so far in the window.")
    budget_remaining = models.FloatField(
        help_text="Fraction of the budget left (negative when overspent)."
    )
    burn_1h = models.FloatField(null=True, blank=True)
    burn_6h = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=8)
    stale = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    # Who the gate says would be paged, stored so that the gate does no schedule
    # work per call (alerts/slos/oncall.py): valid from ``oncall_since`` until
    # ``oncall_until`` under schedule version ``oncall_version``; all None until
    # computed.
    oncall_primary = models.CharField(max_length=150, null=True, blank=True)
    oncall_in_sleep_hours = models.BooleanField(null=True, blank=True)
    oncall_since = models.DateTimeField(null=True, blank=True)
    oncall_until = models.DateTimeField(null=True, blank=True)
    oncall_version = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [
            # The gate reads the latest evaluation of an SLO.
            models.Index(
                fields=["slo", "-evaluated_at", "-id"], name="alerts_sloeval_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slo} at {self.evaluated_at:%Y-%m-%d %H:%M}: {self.decision}"


class Deploy(models.Model):
    """A deploy that CI/CD recorded through the API (the limited rule counts them)."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="deploys"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    ref = models.CharField(max_length=200, blank=True, help_text="Version or commit.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decision = models.CharField(
        max_length=8, help_text="The gate's decision when the deploy was recorded."
    )
    break_glass = models.BooleanField(
        default=False, help_text="Recorded by staff against the gate's decision."
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.service.slug} deploy at {self.at:%Y-%m-%d %H:%M}"


class ImportRun(models.Model):
    """One import from another product started from the admin (issue 19), run by
    a Celery worker (``alerts.importers.runs``).

    The source's API token is never stored here, nor anywhere else in clear: the
    admin hands it to the worker sealed (encrypted with a key derived from
    ``SECRET_KEY``, valid :data:`alerts.importers.token_seal.TOKEN_TTL`) inside the
    task message, and the worker forgets it when the run ends.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    source = models.CharField(max_length=32)
    url = models.URLField(max_length=500)
    team = models.CharField(
        max_length=200, blank=True, help_text="Only this team of the source."
    )
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    stage = models.CharField(max_length=100, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        dry = " (dry run)" if self.dry_run else ""
        return f"{self.source} import #{self.pk}{dry}"

    @property
    def percent(self) -> int:
        if self.status in (self.Status.SUCCEEDED, self.Status.FAILED):
            return 100
        return int(100 * self.done / self.total) if self.total else 0
