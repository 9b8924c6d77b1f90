"""What an importer plans and reports, whatever the source: the document's
companions (the overrides to write, each team's schedules), the faithfulness
check's lines, and the failure that means nothing was written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from scheduling.models import Member, Override

WEEK = 7 * 86400
DAY = 86400
HOUR = 3600
# The faithfulness check compares who is on call at every hour of 8 weeks.
CHECK_HOURS = 8 * 7 * 24  # 1344


@dataclass
class OverridePlan:
    source_id: str
    rotation_slugs: list[str]
    role: str
    username: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    # Under way already: its start is cut to now, so a later run, cutting at a
    # later now, must not take the different start for a change.
    started: bool = False

    def same_as(self, override: Override, member: Member) -> bool:
        start_same = override.starts_at == self.starts_at or (
            self.started and override.starts_at <= self.starts_at
        )
        return (
            start_same
            and override.ends_at == self.ends_at
            and override.member_id == member.pk
        )


@dataclass
class TeamPlan:
    slug: str
    policy_id: str
    primary_schedule: str
    secondary_schedule: str | None
    secondary_in_rotation: bool


@dataclass
class Check:
    team: str
    agree: int
    total: int
    disagreements: list[str]
    note: str = ""

    def line(self) -> str:
        return f"{self.team}: {self.agree}/{self.total} hours agree"


@dataclass
class ImportReport:
    document: dict[str, list[dict[str, Any]]]
    overrides: list[OverridePlan]
    teams: list[TeamPlan]
    problems: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    overrides_written: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    usernames: dict[str, str] = field(default_factory=dict)  # source id -> ours
    # Overrides are found again by their reason, "<override_reason>:<source id>".
    override_reason: str = "pagerduty"


class ImportFailed(Exception):
    """The import wrote nothing; the message says why."""
