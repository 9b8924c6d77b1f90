from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import models

from scheduling.validators import validate_e164, validate_time_zone


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    members = models.ManyToManyField(
        "Member", through="TeamMembership", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Member(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    phone = models.CharField(
        max_length=16, validators=[validate_e164], help_text="E.164, e.g. +254700000001"
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone]
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def username(self) -> str:
        return self.user.get_username()

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    member = models.ForeignKey(Member, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "member"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.member} in {self.team}"
