"""How one Opsgenie object becomes one of ours, or why it cannot: pure
functions over the REST API v2's documented shapes (no HTTP, no database).

Used by :mod:`alerts.importers.opsgenie`, which reads the source and writes."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from alerts.importers.client import SourceError
from alerts.importers.values import source_id, source_instant
from scheduling import plan

SOURCE = "Opsgenie"
UNITS = {"hourly": plan.HOURS, "daily": plan.DAYS, "weekly": plan.WEEKS}
DAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
MINUTES = {"minutes": 1, "hours": 60, "days": 1440}


def sid(source_id: str) -> str:
    """Our slug for an Opsgenie id: a later run finds the object by it."""
    return f"og-{source_id.lower()}"


def instant(value: Any, what: str) -> dt.datetime:
    return source_instant(SOURCE, value, what)


def ident(obj: Any, what: str) -> str:
    return source_id(SOURCE, obj, what)


# --- people ---------------------------------------------------------------------


def username_of(user: dict[str, Any]) -> str:
    """Opsgenie's ``username`` is the user's email; ours is its local part."""
    local = str(user.get("username") or "").split("@")[0].lower()
    return re.sub(r"[^a-z0-9._-]+", "-", local).strip("-") or sid(user["id"])


def e164(to: Any) -> str | None:
    """Opsgenie writes numbers as ``<country code>-<number>`` ("1-5551234567");
    E.164 is ``+15551234567``.  None when it is not a number we can call."""
    if not isinstance(to, str):
        return None
    text = re.sub(r"[\s().]", "", to)
    match = re.fullmatch(r"\+?([1-9]\d{0,2})-(\d{4,14})", text)
    number = (
        "+" + match[1] + match[2]
        if match
        else text
        if re.fullmatch(r"\+[1-9]\d{6,14}", text)
        else ""
    )
    return number if 8 <= len(number) <= 16 else None


def phones(
    contacts: list[dict[str, Any]], who: str, problems: list[str]
) -> list[dict[str, Any]]:
    """SMS and voice contacts as our contact methods, one per number."""
    by_number: dict[str, dict[str, Any]] = {}
    for contact in contacts:
        method = contact.get("method")
        if method not in ("sms", "voice"):
            continue  # email and the mobile app: we page by phone only
        if (contact.get("status") or {}).get("enabled") is False:
            problems.append(f"user {who}: {method} contact disabled there; skipped")
            continue
        number = e164(contact.get("to"))
        if number is None:
            problems.append(
                f"user {who}: {method} contact {contact.get('to')!r} is not a "
                "phone number we can write in E.164; skipped"
            )
            continue
        entry = by_number.setdefault(
            number, {"phone": number, "label": "", "sms": False, "voice": False}
        )
        entry[method] = True
    return list(by_number.values())


# --- rotations -------------------------------------------------------------------


Window = tuple[str, dt.time | None, dt.time | None]  # weekdays, start, end
WEEK_MINUTES = 7 * 1440


def _pieces(window: dict[str, Any]) -> list[tuple[int, int, int]]:
    """A weekday window as (weekday, start minute, end minute) pieces our daily
    windows can hold (shorter than a day; an end past 1440 is past midnight):
    itself when shorter than a day, else twelve-hour pieces from its start (a
    window of exactly 24 hours is one ours refuses: it would end as it starts)."""
    start = DAYS.index(window["startDay"]) * 1440 + (
        int(window["startHour"]) * 60 + int(window.get("startMin") or 0)
    )
    end = DAYS.index(window["endDay"]) * 1440 + (
        int(window["endHour"]) * 60 + int(window.get("endMin") or 0)
    )
    length = (end - start) % WEEK_MINUTES or WEEK_MINUTES
    step = length if length < 1440 else 720
    pieces = []
    while length > 0:
        part = min(length, step)
        day, minute = divmod(start % WEEK_MINUTES, 1440)
        pieces.append((day, minute, minute + part))
        start, length = start + part, length - part
    return pieces


def _time(minute: int) -> dt.time:
    return dt.time((minute // 60) % 24, minute % 60)


def restriction(time_restriction: dict[str, Any] | None) -> list[Window] | str:
    """Our (weekdays, start, end) windows for a ``timeRestriction``: one for a
    ``time-of-day`` one; for ``weekday-and-time-of-day``, one per distinct
    time of day, windows of a day or more cut in twelve hours from their start
    (Friday 20:00 to Monday 08:00 is 20:00-08:00 on Friday, Saturday and
    Sunday, 08:00-20:00 on Saturday and Sunday).  Each becomes a rotation of
    its own with the same turns, so the same person holds them all.  An end
    before the start runs past midnight, in both models."""
    if not time_restriction:
        return [("", None, None)]
    kind = time_restriction.get("type")
    if kind == "time-of-day":
        r = time_restriction["restriction"]
        return [
            (
                "",
                dt.time(int(r["startHour"]) % 24, int(r.get("startMin") or 0)),
                dt.time(int(r["endHour"]) % 24, int(r.get("endMin") or 0)),
            )
        ]
    if kind != "weekday-and-time-of-day":
        return f"a time restriction of type {kind!r}"
    groups: dict[tuple[dt.time, dt.time], set[int]] = {}
    for window in time_restriction.get("restrictions") or []:
        for day, start, end in _pieces(window):
            groups.setdefault((_time(start), _time(end)), set()).add(day)
    if not groups:
        return [("", None, None)]
    return [
        ("".join(str(d) for d in sorted(days)), start, end)
        for (start, end), days in sorted(groups.items())
    ]


def _people(source: dict[str, Any], usernames: dict[str, str]) -> list[str] | str:
    """The rotation's order as our usernames, or why it cannot be ours."""
    people = []
    for participant in source.get("participants") or []:
        kind = participant.get("type")
        if kind == "none":
            return (
                "a 'none' participant, a turn with nobody on call (ours: every "
                "turn has someone)"
            )
        if kind != "user":
            return (
                f"a participant of type {kind!r} (ours: a rotation rolls people, "
                "not teams or escalations)"
            )
        if participant.get("id") not in usernames:
            return "a user who could not be imported"
        people.append(usernames[participant["id"]])
    if not people:
        return "no participants"
    return people


def rotation(
    *,
    schedule: dict[str, Any],
    source: dict[str, Any],
    layer: int,
    team: str,
    usernames: dict[str, str],
    now: dt.datetime,
) -> list[dict[str, Any]] | str:
    """Primary-only rotations for one Opsgenie rotation (one per restriction
    window time, see :func:`restriction`), or why it cannot be ours.  Opsgenie
    turns hand off at ``startDate``'s wall-clock time in the schedule's zone (so
    across DST too); so do ours."""
    tz = zoneinfo.ZoneInfo(schedule["timezone"])
    unit = UNITS.get(source.get("type", ""))
    if unit is None:
        return f"a rotation type {source.get('type')!r}"
    length = int(source.get("length") or 1)
    if not 0 < length <= 32767:
        return f"a length of {length}"
    order = _people(source, usernames)
    if isinstance(order, str):
        return order
    people = list(dict.fromkeys(order))  # someone twice: see turn_fixes
    windows = restriction(source.get("timeRestriction"))
    if isinstance(windows, str):
        return windows
    begins = instant(source.get("startDate"), "rotation startDate")
    if begins > now:
        return f"it starts later, at {begins:%Y-%m-%d %H:%M}Z (ours: from the start)"
    if source.get("endDate"):
        ends = instant(source["endDate"], "rotation endDate")
        if ends <= now:
            return "it has ended"
        return f"it ends at {ends:%Y-%m-%d %H:%M}Z (ours: rotations do not end)"
    local = begins.astimezone(tz)
    name = f"{schedule['name']} / {source.get('name') or source['id']}"
    made = []
    for n, (weekdays, start, end) in enumerate(windows, start=1):
        made.append(
            {
                "slug": sid(source["id"]) + ("" if n == 1 else f"-{n}"),
                "team": team,
                "name": name if n == 1 else f"{name} ({n})",
                "scheme": plan.PRIMARY_ONLY,
                "participants": people,
                "shift_length": length,
                "shift_unit": unit,
                "start_date": local.date().isoformat(),
                "handoff_time": local.time().isoformat(),
                "handoff_weekday": local.weekday() if unit == plan.WEEKS else None,
                "time_zone": schedule["timezone"],
                "layer": layer,
                "restrict_weekdays": weekdays,
                "restrict_start": None if start is None else start.isoformat(),
                "restrict_end": None if end is None else end.isoformat(),
            }
        )
    return made


def turn_fixes(
    *,
    schedule: dict[str, Any],
    source: dict[str, Any],
    made: list[dict[str, Any]],
    usernames: dict[str, str],
    since: dt.datetime,
    until: dt.datetime,
) -> list[tuple[int, dt.datetime, dt.datetime, str]]:
    """Someone twice in an Opsgenie order ("alice, bob, alice, carol") is not
    a rotation of ours (each person once): the rotation is imported with the
    first-appearance order, and each turn in [since, until) whose person there
    differs from ours here is (turn number, start, end, their person) -- an
    override, so the coming weeks are exact.  Computed here from the source's
    definition, not by our resolver."""
    order = _people(source, usernames)
    if isinstance(order, str) or len(set(order)) == len(order) or not made:
        return []
    first = made[0]
    tz = zoneinfo.ZoneInfo(schedule["timezone"])
    turn = plan.step_of(first["shift_length"], first["shift_unit"])
    anchor = instant(source["startDate"], "rotation startDate").astimezone(tz)
    anchor = anchor.replace(tzinfo=None)
    restrictions = [
        plan.Restriction(
            frozenset(int(d) for d in (r["restrict_weekdays"] or "0123456")),
            dt.time.fromisoformat(r["restrict_start"]),
            dt.time.fromisoformat(r["restrict_end"]),
        )
        for r in made
        if r["restrict_start"] is not None
    ]
    ours = first["participants"]
    k = (since.astimezone(tz).replace(tzinfo=None) - anchor) // turn
    fixes: list[tuple[int, dt.datetime, dt.datetime, str]] = []
    while True:
        start = plan.wall_to_utc(anchor + k * turn, tz)
        end = plan.wall_to_utc(anchor + (k + 1) * turn, tz)
        if start >= until:
            return fixes
        covered = not restrictions or any(
            next(r.windows(tz, start, end), None) for r in restrictions
        )
        theirs = order[k % len(order)]
        if covered and end > since and theirs != ours[k % len(ours)]:
            fixes.append((k, start, end, theirs))
        k += 1


# --- escalation --------------------------------------------------------------------


def delay_minutes(rule: dict[str, Any]) -> int:
    """A rule's delay, counted (in Opsgenie) from when the alert was created."""
    delay = rule.get("delay") or {}
    unit = delay.get("timeUnit", "minutes")
    if unit not in MINUTES:
        raise SourceError(f"{SOURCE}: an escalation delay in {unit!r}")
    return int(delay.get("timeAmount") or 0) * MINUTES[unit]


# --- notification rules ------------------------------------------------------------


def applies_to_every_alert(rule: dict[str, Any]) -> bool:
    """A new-alert rule with no conditions and no time restriction: the one that
    says how this person is reached for any alert (ours has one such list)."""
    criteria = rule.get("criteria") or {}
    return (
        rule.get("actionType") == "create-alert"
        and rule.get("enabled") is not False
        and criteria.get("type", "match-all") == "match-all"
        and not rule.get("timeRestriction")
    )


def notification_phones(
    numbers: list[dict[str, Any]],
    rule: dict[str, Any],
    who: str,
    problems: list[str],
) -> list[dict[str, Any]]:
    """Our contact methods ordered and flagged as the person's new-alert rule
    reaches them: the numbers its enabled SMS and voice steps use, by their
    ``sendAfter`` (then step order), each with SMS or voice as the steps have
    them; the person's other numbers after those, as they were.  Delays (ours
    pages every channel of a step at once, falling through on failure) and
    steps that are not a phone are reported."""
    steps = [s for s in rule.get("steps") or [] if s.get("enabled") is not False]
    steps.sort(key=lambda s: int((s.get("sendAfter") or {}).get("timeAmount") or 0))
    known = {n["phone"]: n for n in numbers}
    ordered: dict[str, dict[str, Any]] = {}
    rest: list[str] = []
    for step in steps:
        contact = step.get("contact") or {}
        method = contact.get("method")
        after = int((step.get("sendAfter") or {}).get("timeAmount") or 0)
        number = e164(contact.get("to")) if method in ("sms", "voice") else None
        if number is None or number not in known:
            rest.append(f"{method} {contact.get('to')!r}")
            continue
        entry = ordered.setdefault(
            number, {**known[number], "sms": False, "voice": False}
        )
        entry[str(method)] = True
        if after:
            rest.append(f"{method} {contact.get('to')!r} after {after} min")
    name = rule.get("name") or rule.get("id")
    if not ordered:
        problems.append(
            f"user {who}: notification rule {name!r} reaches them by no phone "
            f"({', '.join(rest) or 'no steps'}); ours pages by phone: their "
            "numbers are kept as their contacts list them"
        )
        return numbers
    if rest:
        problems.append(
            f"user {who}: notification rule {name!r}: not imported: "
            f"{', '.join(rest)} (ours pages a member's numbers in order, each "
            "by SMS and/or voice at the step's time)"
        )
    return [*ordered.values(), *(n for n in numbers if n["phone"] not in ordered)]
