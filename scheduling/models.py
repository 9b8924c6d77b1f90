from __future__ import annotations

import calendar
import datetime
import hashlib
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils.text import slugify

from scheduling import plan
from scheduling.validators import validate_e164, validate_time_zone


def free_slug(model: type[models.Model], base: str, *, pk: int | None = None) -> str:
    """A slug of ``base`` that no other row of ``model`` holds: ``base``, else
    ``base-2``, ``base-3``...  (within 100 characters).  The default identifier
    of configuration objects made without one (rotations here; integrations,
    routes and policies in ``alerts``)."""
    root = (slugify(base) or "x")[:90].strip("-") or "x"
    taken = set(
        model._default_manager.filter(slug__startswith=root)
        .exclude(pk=pk)
        .values_list("slug", flat=True)
    )
    candidate, n = root, 1
    while candidate in taken:
        n += 1
        candidate = f"{root}-{n}"
    return candidate


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    members: models.ManyToManyField[Member, TeamMembership] = models.ManyToManyField(
        "Member", through="TeamMembership", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


NO_PHONE = "no phone number"


class Member(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    # Blank is allowed: people imported from a source that holds no phone number
    # (Grafana OnCall's public API) exist and hold shifts; a page to them fails
    # with "no phone number" and the escalation goes on (alerts/paging/send.py).
    phone = models.CharField(
        max_length=16,
        blank=True,
        validators=[validate_e164],
        help_text="E.164, e.g. +254700000001.  Blank: pages to this member fail.",
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    active = models.BooleanField(default=True)
    # Feed options (the member's own feed and their share of team feeds).
    feed_busy = models.BooleanField(
        default=False,
        help_text="Show on-call time as busy (TRANSP:OPAQUE) in calendar feeds "
        "instead of free.",
    )
    feed_alarm_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Minutes before each shift for a calendar reminder (VALARM) in "
        "feeds; empty for none.",
    )

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def paging_warning(self) -> str:
        """Why pages cannot reach this member, or "" (the admin shows it).  Their
        contact methods (``alerts.ContactMethod``) come before the profile phone."""
        if self.phone or self.contact_methods.exists():
            return ""
        return NO_PHONE

    @property
    def username(self) -> str:
        return self.user.get_username()

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    member = models.ForeignKey(Member, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "member"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.team}"


class Rotation(models.Model):
    """A recurring schedule: who is primary and secondary, shift after shift.

    The definition (scheme, participants, length, handoff, start, restriction) is
    all there is; :class:`Shift` rows are materialized from it ahead of time by
    :mod:`scheduling.materialize` and never edited by hand.
    """

    SCHEME_CHOICES = [
        (plan.PAIRED, "paired (pairs in order, roles swap in the second half)"),
        (plan.FOLLOW, "follow (secondary = previous primary)"),
        (plan.PRIMARY_ONLY, "primary only"),
    ]
    UNIT_CHOICES = [(plan.WEEKS, "weeks"), (plan.DAYS, "days"), (plan.HOURS, "hours")]
    WEEKDAY_CHOICES = list(enumerate(calendar.day_name))

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        blank=True,
        help_text="Names the rotation in the API and configuration files "
        "(default: team slug and name).",
    )
    scheme = models.CharField(
        max_length=16, choices=SCHEME_CHOICES, default=plan.PAIRED
    )
    participants: models.ManyToManyField[Member, RotationParticipant] = (
        models.ManyToManyField(
            Member, through="RotationParticipant", related_name="rotations", blank=True
        )
    )
    shift_length = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    shift_unit = models.CharField(
        max_length=8, choices=UNIT_CHOICES, default=plan.WEEKS
    )
    start_date = models.DateField(
        help_text="Local date of the first handoff (weekly rotations: the first "
        "handoff weekday on or after it)."
    )
    handoff_time = models.TimeField(
        default=datetime.time(9, 0), help_text="Local wall-clock time of every handoff."
    )
    handoff_weekday = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=WEEKDAY_CHOICES,
        help_text="Weekly rotations only; blank = the weekday of the start date.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Blank = the team's time zone.  Set it for follow-the-sun layers.",
    )
    layer = models.PositiveSmallIntegerField(
        default=1, help_text="Where rotations overlap, the higher layer wins."
    )
    restrict_weekdays = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^[0-6]*$", "digits 0 (Monday) to 6 (Sunday)")],
        help_text="Covers only on these local weekdays (0 = Monday ... 6 = Sunday), "
        "from restrict_start to restrict_end.  Blank = every day.",
    )
    restrict_start = models.TimeField(null=True, blank=True)
    restrict_end = models.TimeField(
        null=True,
        blank=True,
        help_text="At or before restrict_start: the window runs past midnight.",
    )
    active = models.BooleanField(
        default=True,
        help_text="Inactive rotations generate no future shifts; history stays.",
    )
    generated_until = models.DateTimeField(null=True, blank=True, editable=False)
    generated_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team__slug", "-layer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="unique_rotation_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team.slug} / {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A default identifier, not a rule: every way of making a rotation (the
        # services, the admin, fixtures) gets a slug without naming one.
        if not self.slug:
            self.slug = free_slug(Rotation, f"{self.team.slug}-{self.name}")
        super().save(*args, **kwargs)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone or self.team.time_zone)

    @property
    def roles(self) -> tuple[str, ...]:
        return plan.roles_of(self.scheme)

    @property
    def restriction(self) -> plan.Restriction | None:
        if self.restrict_start is None or self.restrict_end is None:
            return None
        days = self.restrict_weekdays or "0123456"
        return plan.Restriction(
            frozenset(int(d) for d in days), self.restrict_start, self.restrict_end
        )

    def anchor(self) -> datetime.datetime:
        """Naive local wall-clock time of the first handoff."""
        day = self.start_date
        if self.shift_unit == plan.WEEKS and self.handoff_weekday is not None:
            day += datetime.timedelta(days=(self.handoff_weekday - day.weekday()) % 7)
        return datetime.datetime.combine(day, self.handoff_time)

    def build_plan(self, participant_ids: list[int] | None = None) -> plan.RotationPlan:
        """The pure plan of this definition.  ``participant_ids`` in order; read from
        the database (prefetch ``rotationparticipant_set``) when not given."""
        if participant_ids is None:
            participant_ids = [
                p.member_id
                for p in sorted(
                    self.rotationparticipant_set.all(), key=lambda p: p.position
                )
            ]
        return plan.RotationPlan(
            scheme=self.scheme,
            participants=tuple(participant_ids),
            anchor=self.anchor(),
            step=plan.step_of(self.shift_length, self.shift_unit),
            tz=self.tz,
            restriction=self.restriction,
        )

    def fingerprint(self, participant_ids: list[int] | None = None) -> str:
        """Changes exactly when the generated shifts would change."""
        p = self.build_plan(participant_ids)
        raw = repr(
            (
                p.scheme,
                p.participants,
                p.anchor,
                p.step,
                str(p.tz),
                p.restriction,
                self.active,
            )
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (self.restrict_start is None) != (self.restrict_end is None):
            errors["restrict_end"] = (
                "Give both ends of the restriction window, or none."
            )
        elif (
            self.restrict_start is not None and self.restrict_start == self.restrict_end
        ):
            errors["restrict_end"] = (
                "A window that ends when it starts covers nothing; for round-the-clock "
                "coverage leave both blank."
            )
        if self.restrict_weekdays and self.restrict_start is None:
            errors["restrict_weekdays"] = "Weekdays need a restriction window."
        if self.handoff_weekday is not None and self.shift_unit != plan.WEEKS:
            errors["handoff_weekday"] = (
                "A handoff weekday applies to weekly shifts only."
            )
        if errors:
            raise ValidationError(errors)


class RotationParticipant(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE)
    member = models.ForeignKey(Member, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rotation", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "member"], name="unique_rotation_participant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.member}"


class Shift(models.Model):
    """A materialized shift (or, for restricted rotations, the part of one inside a
    window).  Written only by :mod:`scheduling.materialize`; history is never
    rewritten (stipends and reports read it)."""

    ROLE_CHOICES = [(plan.PRIMARY, "primary"), (plan.SECONDARY, "secondary")]

    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="shifts"
    )
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="shifts")
    slot = models.IntegerField(
        help_text="Sequence number of the shift in its rotation."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        # rotation_id, not rotation: ordering through the relation would join
        # Rotation (and its own ordering, Team) into every shift query.
        ordering = ["starts_at", "rotation_id", "role"]
        indexes = [
            # "What covers instant t": ends_at > t AND starts_at <= t.  Leading with
            # ends_at scans only shifts that have not ended -- the materialized
            # future, bounded by the horizon -- so the query does not slow down as
            # years of history pile up.
            models.Index(fields=["rotation", "ends_at"], name="shift_rotation_ends"),
            models.Index(fields=["member", "starts_at"], name="shift_member_starts"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "role", "starts_at"], name="unique_shift_start"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="shift_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.rotation} {self.role} {self.member} {self.starts_at:%Y-%m-%d %H:%M}"
        )

    @classmethod
    def from_plan(cls, rotation_id: int, planned: plan.PlannedShift) -> Shift:
        """The (unsaved) row for one shift of a rotation's plan."""
        return cls(
            rotation_id=rotation_id,
            role=planned.role,
            member_id=planned.member_id,
            slot=planned.slot,
            starts_at=planned.starts_at,
            ends_at=planned.ends_at,
        )

    @property
    def duration(self) -> datetime.timedelta:
        return self.ends_at - self.starts_at


class Override(models.Model):
    """Someone else holds a role of a rotation for an interval.

    Overrides change *who*, never *coverage*: they apply only where the rotation has
    a shift for the role.  Where several overlap, the latest created wins.  A swap is
    two overrides created together sharing ``swap_id``.
    """

    rotation = models.ForeignKey(
        Rotation, on_delete=models.CASCADE, related_name="overrides"
    )
    role = models.CharField(max_length=16, choices=Shift.ROLE_CHOICES)
    member = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        related_name="overrides",
        help_text="Who covers.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    swap_id = models.UUIDField(null=True, blank=True, editable=False, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["rotation", "ends_at"], name="override_rotation_ends"),
            models.Index(fields=["member", "starts_at"], name="override_member_starts"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="override_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.member} covers {self.role} on {self.rotation} from "
            f"{self.starts_at:%Y-%m-%d %H:%M} UTC"
        )


def hash_api_token(secret: str) -> str:
    """The stored form of an API token.

    Secrets are 256-bit random strings, so an unsalted SHA-256 makes a leaked
    database useless for calling the API while a lookup stays one indexed query
    (a slow password hash would buy nothing against a secret nobody chose).
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """A token for the REST API, sent as ``Authorization: Bearer <secret>``.

    Only the hash of the secret is stored; the secret is shown once, when the
    token is made.  A *personal* token is made by its user; a *service* token is
    made by staff for another account (``created_by`` differs from ``user``).
    """

    READ = "read"
    WRITE = "write"
    # Only GET /api/v1/services/<slug>/deploy-gate: what a CI job needs, no more.
    DEPLOY_GATE = "deploy-gate"
    SCOPES = (READ, WRITE, DEPLOY_GATE)
    SCOPE_SETS = ([READ], [READ, WRITE], [DEPLOY_GATE])

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list, help_text='["read"] or ["read", "write"]')
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=12,
        editable=False,
        help_text="First characters of the secret, to tell tokens apart.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["user_id", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_hint}…)"


class ScheduleVersion(models.Model):
    """One row whose ``version`` every change to shifts, overrides, rotations,
    teams and members bumps (see :mod:`scheduling.version`).

    Feeds key their cache on it, so an unchanged feed is answered without reading
    the schedule.  One global counter rather than one per team: the feed lookup
    reads it in the same statement as the token (a subquery by primary key), and
    schedule changes are rare next to polls, so re-rendering every polled feed
    after any change costs less than tracking which feeds a change touches.
    """

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"schedule version {self.version}"


def hash_feed_token(secret: str) -> str:
    """The stored form of a feed token: as for API tokens (a 256-bit random
    secret needs no slow hash), so the lookup stays one indexed query."""
    return hash_api_token(secret)


class FeedToken(models.Model):
    """An iCal subscription: ``/ical/<secret>.ics`` serves the effective shifts of
    one member (across every team), one team or one rotation.

    Only the hash of the secret is stored; the secret -- and so the URL -- is
    shown once, when the feed is made or its token rotated.  ``owner`` is who
    manages it: the member's own user for a member feed, whoever made it for a
    team or rotation feed.
    """

    MEMBER = "member"
    TEAM = "team"
    ROTATION = "rotation"
    KINDS = (MEMBER, TEAM, ROTATION)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feeds"
    )
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds"
    )
    rotation = models.ForeignKey(
        Rotation, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=12,
        editable=False,
        help_text="First characters of the secret, to tell feeds apart.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_user_agent = models.CharField(max_length=200, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["owner_id", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        member__isnull=False, team__isnull=True, rotation__isnull=True
                    )
                    | models.Q(
                        member__isnull=True, team__isnull=False, rotation__isnull=True
                    )
                    | models.Q(
                        member__isnull=True, team__isnull=True, rotation__isnull=False
                    )
                ),
                name="feed_has_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} feed {self.subject} ({self.token_hint}…)"

    @property
    def kind(self) -> str:
        if self.member_id is not None:
            return self.MEMBER
        return self.TEAM if self.team_id is not None else self.ROTATION

    @property
    def subject(self) -> Member | Team | Rotation:
        return self.member or self.team or self.rotation  # type: ignore[return-value]

    @property
    def scope(self) -> str:
        """What the feed shows, whatever its token: the key of its stored events."""
        pk = self.member_id or self.team_id or self.rotation_id
        return f"{self.kind}:{pk}"


class FeedEvent(models.Model):
    """What a feed scope last served for one event (by ``uid``), so ``SEQUENCE``
    and ``LAST-MODIFIED`` can move when -- and only when -- the event changes, and
    an event that disappeared can be served as cancelled for a while."""

    scope = models.CharField(max_length=32)
    uid = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField(default=0)
    modified_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    summary = models.CharField(max_length=300)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "uid"], name="unique_feed_event")
        ]
        indexes = [
            models.Index(fields=["scope", "ends_at"], name="feed_event_scope_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.uid} #{self.sequence}"


class OutOfOfficeCalendar(models.Model):
    """A member's external iCal feed of time off (a PTO or vacation calendar),
    fetched periodically into :class:`Unavailability` rows.

    The outcome of the last fetch is kept here for the admin: a failure's reason
    and time, or the validator (``ETag``) of the last good body for the next
    conditional request.
    """

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="ooo_calendar"
    )
    url = models.URLField(
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="An http(s) iCal URL of the member's time off (PTO calendar).",
    )
    etag = models.CharField(max_length=200, blank=True, editable=False)
    fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    succeeded_at = models.DateTimeField(null=True, blank=True, editable=False)
    error = models.CharField(max_length=300, blank=True, editable=False)
    error_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "out-of-office calendar"

    def __str__(self) -> str:
        return f"out-of-office calendar of {self.member}"


class Unavailability(models.Model):
    """A busy interval of a member, from their out-of-office calendar."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="unavailabilities"
    )
    calendar = models.ForeignKey(
        OutOfOfficeCalendar,
        on_delete=models.CASCADE,
        related_name="unavailabilities",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    summary = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "unavailabilities"
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(
                fields=["member", "ends_at", "starts_at"], name="unavailability_span"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} away {self.starts_at:%Y-%m-%d %H:%M}"


class ShiftChangeNotice(models.Model):
    """A short-notice change to a member's on-call time, to be told by SMS.

    Written by the scheduling services in the same transaction as the change (an
    override, a swap, a roster change) when it moves someone's on-call time in
    the next 24 hours; sent by the paging side (``alerts``), which claims each
    attempt once (``claimed_at``), retries transient failures with backoff a
    bounded number of times and records the outcome.  Calendar apps refresh a
    subscription only every few hours, so a feed alone would tell them too late.
    """

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="shift_notices"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(max_length=600)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Sends tried so far; after a transient failure the next is due at
    # ``next_attempt_at`` (backoff), and after the last one -- or a permanent
    # failure -- ``failed_at`` is set and ``error`` says why.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(
        max_length=300, blank=True, help_text="Why the last attempt failed."
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["sent_at", "claimed_at"], name="shift_notice_unsent"),
        ]

    def __str__(self) -> str:
        return f"notice to {self.member}: {self.text[:40]}"

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.attempts else "pending"


# --- on-call pay (the rules: scheduling/pay/) --------------------------------------


def validate_currency(code: str) -> None:
    """An ISO 4217 code that CLDR (through babel) knows, so its minor unit is known."""
    from babel.numbers import list_currencies

    if code not in list_currencies():
        raise ValidationError(f"{code!r} is not an ISO 4217 currency code (e.g. USD).")


def validate_holiday_country(code: str) -> None:
    import holidays

    if code and code not in holidays.list_supported_countries():
        raise ValidationError(
            f"{code!r} is not a country the holidays package knows (e.g. KE, GB)."
        )


class StipendRate(models.Model):
    """What holding a role pays, from a local date on (in the team's zone).

    A rate belongs to a team or to one of its rotations; for a rotation, its own
    rates win over the team's.  A new rate applies from its date: periods before
    it never change.  Multipliers apply on weekends and public holidays; where
    both apply the highest wins (never their product).
    """

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    UNIT_CHOICES = [(HOUR, "per hour"), (DAY, "per day"), (WEEK, "per week")]

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="stipend_rates"
    )
    rotation = models.ForeignKey(
        Rotation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="stipend_rates",
        help_text="Blank = every rotation of the team without a rate of its own.",
    )
    role = models.CharField(max_length=16, choices=Shift.ROLE_CHOICES)
    amount = models.DecimalField(
        max_digits=14, decimal_places=4, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(
        max_length=3, validators=[validate_currency], help_text="ISO 4217, e.g. USD"
    )
    unit = models.CharField(max_length=8, choices=UNIT_CHOICES, default=WEEK)
    effective_from = models.DateField(
        help_text="Local date (team's zone) from which this rate applies."
    )
    weekend_multiplier = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=1,
        validators=[MinValueValidator(0)],
        help_text="On the team's weekend days (local).",
    )
    holiday_multiplier = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=1,
        validators=[MinValueValidator(0)],
        help_text="On public and operator-added holidays (local).",
    )
    minimum_per_shift = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Each shift or override held under this rate pays at least this "
        "(in the rate's currency), e.g. a 2-hour override.  Blank = none.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__slug", "rotation_id", "role", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "rotation", "role", "effective_from"],
                name="unique_stipend_rate",
            ),
            models.UniqueConstraint(
                fields=["team", "role", "effective_from"],
                condition=models.Q(rotation__isnull=True),
                name="unique_team_stipend_rate",
            ),
        ]

    def __str__(self) -> str:
        where = self.rotation.name if self.rotation_id and self.rotation else "team"
        return (
            f"{where} {self.role}: {self.amount} {self.currency} per {self.unit} "
            f"from {self.effective_from}"
        )

    def clean(self) -> None:
        if (
            self.rotation_id is not None
            and self.team_id is not None
            and self.rotation is not None
            and self.rotation.team_id != self.team_id
        ):
            raise ValidationError({"rotation": "The rotation is in another team."})


class PayPolicy(models.Model):
    """A team's pay settings: its calendar and the two-roles rule."""

    HIGHEST = "highest"
    BOTH = "both"
    TWO_ROLES_CHOICES = [
        (HIGHEST, "the team's schedule, layers applied: one role at a time"),
        (BOTH, "each rotation its own: two at once pay both"),
    ]

    team = models.OneToOneField(
        Team, on_delete=models.CASCADE, related_name="pay_policy"
    )
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="ISO 3166 code for public holidays (e.g. KE); blank = none.",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="e.g. ENG for England in GB."
    )
    weekend_days = models.CharField(
        max_length=7,
        default="56",
        blank=True,
        validators=[RegexValidator(r"^[0-6]*$", "digits 0 (Monday) to 6 (Sunday)")],
        help_text="Local weekdays paid at the weekend multiplier (5 = Saturday, "
        "6 = Sunday).",
    )
    two_roles = models.CharField(
        max_length=8,
        choices=TWO_ROLES_CHOICES,
        default=HIGHEST,
        help_text="When rotations overlap: pay the team's effective schedule (a "
        "higher layer's holder is paid, not the covered lower layer's; one "
        "role per person at a time, the one the layers give) or every "
        "rotation's own holders (someone on two rotations at once earns both).",
    )
    MONTH = "month"
    QUARTER = "quarter"
    CAP_PERIOD_CHOICES = [(MONTH, "calendar month"), (QUARTER, "calendar quarter")]
    cap_hours = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="At most this many paid hours per member and cap period (e.g. "
        "672 = four weeks); time past it is held but not paid.  Blank = no cap.",
    )
    cap_period = models.CharField(
        max_length=8, choices=CAP_PERIOD_CHOICES, default=QUARTER
    )

    class Meta:
        verbose_name_plural = "pay policies"

    def __str__(self) -> str:
        return f"pay policy of {self.team}"

    def clean(self) -> None:
        import holidays

        if self.holiday_subdivision and not self.holiday_country:
            raise ValidationError(
                {"holiday_subdivision": "A subdivision needs a country."}
            )
        if self.holiday_country and self.holiday_subdivision:
            known = holidays.list_supported_countries().get(self.holiday_country, [])
            if self.holiday_subdivision not in known:
                raise ValidationError(
                    {
                        "holiday_subdivision": f"{self.holiday_country} has no "
                        f"subdivision {self.holiday_subdivision!r}."
                    }
                )


class PayHoliday(models.Model):
    """A holiday an operator adds for one team (besides the country's)."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="pay_holidays"
    )
    date = models.DateField(help_text="Local date in the team's zone.")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["team__slug", "date"]
        constraints = [
            models.UniqueConstraint(fields=["team", "date"], name="unique_pay_holiday")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class PayMonth(models.Model):
    """A team's calendar month (local) that an operator closed: its statements are
    stored (:class:`PayLine`) and never recomputed.  Reopening deletes the stored
    lines and clears ``closed_at``; both actions are logged (:class:`PayLogEntry`).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="pay_months")
    month = models.DateField(help_text="The first day of the month.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["team__slug", "month"]
        constraints = [
            models.UniqueConstraint(fields=["team", "month"], name="unique_pay_month")
        ]

    def __str__(self) -> str:
        state = "closed" if self.closed_at else "open"
        return f"{self.team.slug} {self.month:%Y-%m} ({state})"


class PayLine(models.Model):
    """One stored line of a closed month's statement: as computed when the month
    was closed, or an adjustment for a late change to an earlier closed month."""

    SHIFT = "shift"
    OVERRIDE = "override"
    MINIMUM = "minimum"
    ADJUSTMENT = "adjustment"
    KIND_CHOICES = [
        (SHIFT, "shift"),
        (OVERRIDE, "override"),
        (MINIMUM, "minimum per shift"),
        (ADJUSTMENT, "adjustment"),
    ]

    pay_month = models.ForeignKey(
        PayMonth, on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveIntegerField()
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    rotation = models.ForeignKey(
        Rotation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rotation_name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=Shift.ROLE_CHOICES)
    rate = models.CharField(max_length=60, blank=True)
    multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1)
    reason = models.CharField(max_length=120, blank=True)
    hours = models.DecimalField(max_digits=14, decimal_places=6)
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    rounding = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    refers_to = models.DateField(
        null=True, blank=True, help_text="Adjustments: the closed month changed."
    )
    note = models.CharField(max_length=500, blank=True)
    shift_ids = models.JSONField(default=list)
    override_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["pay_month", "position"]

    def __str__(self) -> str:
        return f"{self.pay_month} #{self.position} {self.kind} {self.amount}"


class PayGivenAway(models.Model):
    """A closed month's "overrides given away": a stretch during which someone
    else held a member's role under an override (no money; it explains a smaller
    line).  Stored with the month's lines when it closes, never recomputed."""

    pay_month = models.ForeignKey(
        PayMonth, on_delete=models.CASCADE, related_name="given_away"
    )
    position = models.PositiveIntegerField()
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    covered_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    rotation = models.ForeignKey(
        Rotation, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rotation_name = models.CharField(max_length=200)
    role = models.CharField(max_length=16, choices=Shift.ROLE_CHOICES)
    # The override's id as it was (a plain number: the override may be deleted
    # later, and the stored month must not change with it).
    override_id = models.PositiveBigIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["pay_month", "position"]
        verbose_name_plural = "pay given away"

    def __str__(self) -> str:
        return f"{self.pay_month} given away #{self.position}"


class PayLogEntry(models.Model):
    """Who closed or reopened which month, when, and why."""

    CLOSE = "close"
    REOPEN = "reopen"
    ACTION_CHOICES = [(CLOSE, "close"), (REOPEN, "reopen")]

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    action = models.CharField(max_length=8, choices=ACTION_CHOICES)
    acted_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-acted_at", "-id"]
        verbose_name_plural = "pay log entries"

    def __str__(self) -> str:
        return f"{self.action} {self.team_id} {self.month:%Y-%m} at {self.acted_at}"
